/*
 * vsock.h - sbx-vmm's userspace virtio-vsock device (virtio ID 19).
 *
 * Queues: rx 0, tx 1, event 2; config space: le64 guest_cid. The host
 * side is one unix socket per VM (`uds_path`, the sandbox's vsock.sock)
 * speaking Firecracker's "CONNECT <port>\n" -> "OK <n>\n" handshake; the
 * connection logic lives in vsock-mux.c. The device registers its
 * sockets with `loop` (the VMM's I/O thread) at construction, so host
 * clients may connect before the guest driver is up: their REQUEST goes
 * out when the driver activates the device.
 *
 * Ownership and threads as for every virtio device (virtio.h): the VMM
 * owns the returned device and frees it through virtio_mmio_detach();
 * socket events run on the I/O thread under the device lock.
 */
#ifndef SBX_KVM_VMM_VSOCK_H
#define SBX_KVM_VMM_VSOCK_H

#include <stdint.h>

struct loop;
struct sbx_err;
struct virtio_dev;

/*
 * Creates the device for guest CID `cid` (3 .. 2^32-2) listening on
 * `uds_path`. `loop` may be NULL (unit tests: nothing is watched).
 * Returns NULL with `e` filled when the socket cannot be created.
 */
struct virtio_dev *virtio_vsock_new(uint64_t cid, const char *uds_path,
    struct loop *loop, struct sbx_err *e);

/*
 * Drops every connection and tells the guest with a TRANSPORT_RESET event
 * (after a restore or in a fork child: guest sockets must not survive).
 * Any thread; takes the device lock.
 */
void virtio_vsock_transport_reset(struct virtio_dev *d);
/* Open host<->guest connections (auto-hibernation looks at this). */
unsigned virtio_vsock_nconns(struct virtio_dev *d);
/* Connections made so far (vsock_mux_nopened). */
uint64_t virtio_vsock_nopened(struct virtio_dev *d);

/*
 * For a fork child: listens on `uds_path` instead of the parent's socket
 * and resets the transport as above. 0 or a negative SBX_E code.
 */
int virtio_vsock_rebind(struct virtio_dev *d, const char *uds_path,
    struct sbx_err *e);

#endif
