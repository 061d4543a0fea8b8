/*
 * virtio_net.h - sbx-vmm's virtio-net device (virtio ID 1) on libslirp.
 *
 * Features: MAC only (no checksum or segmentation offloads, no mergeable
 * buffers, no control queue); every frame carries the 12-byte
 * virtio_net_hdr_v1. Queues: rx 0, tx 1. Frames from slirp fill the
 * driver's rx buffers and are dropped when there is none (TCP retries);
 * frames the guest sends pass the egress policy (net_policy.h) and go to
 * slirp (net_slirp.h). A malformed chain or frame is dropped or fails the
 * device (virtio_fail), never the VMM.
 *
 * Threads: slirp and the policy checks run on the I/O thread only; a
 * transmit notification that arrives on another thread (the trapped
 * QueueNotify write, DRIVER_OK on a vCPU) is handed to the I/O thread
 * through an eventfd. The device's lock is recursive because slirp may
 * answer a transmitted frame at once (receive inside transmit).
 */
#ifndef SBX_KVM_VMM_VIRTIO_NET_H
#define SBX_KVM_VMM_VIRTIO_NET_H

#include <jansson.h>

struct loop;
struct sbx_err;
struct virtio_dev;
struct vmm;

/* The guest's MAC address (locally administered, the same in every VM). */
#define VIRTIO_NET_MAC { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }

/*
 * Creates the device with egress `policy` (net_policy.h text form; ""
 * allows everything). Must be called on the thread that will run `loop`.
 * NULL with `e` filled on a bad policy or when slirp cannot start.
 */
struct virtio_dev *virtio_net_new(const char *policy, struct loop *loop,
    struct sbx_err *e);

/*
 * Control-socket ops of the network ({"op":"port","guest":N,
 * "host":"127.0.0.1","host_port":0} -> {"ok":true,"host_port":P,...}):
 * returns the reply, or NULL when `op` is not one of them. I/O thread.
 */
json_t *virtio_net_control(struct vmm *vm, const char *op, json_t *req);

#endif
