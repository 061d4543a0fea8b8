/*
 * devices.h - constructors of the devices sbx-vmm can attach.
 *
 * Legacy devices (serial.c, i8042.c) sit on the port-I/O bus (bus.h); the
 * virtio devices return a `struct virtio_dev` that the VMM registers with
 * virtio_mmio_attach(). Constructors fill `e` and return NULL on failure.
 * Ownership: the returned device belongs to the VMM, freed through
 * virtio_mmio_detach() (ops->free).
 */
#ifndef SBX_KVM_VMM_DEVICES_H
#define SBX_KVM_VMM_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

struct layer_stack;
struct loop;
struct sbx_err;
struct virtio_dev;

/*
 * virtio-blk over a raw image file opened read-write (or read-only: the
 * device then offers VIRTIO_BLK_F_RO and refuses writes). FLUSH is
 * honoured with fdatasync(). The size must be a multiple of 512.
 */
struct virtio_dev *virtio_blk_new(const char *path, bool readonly,
    struct sbx_err *e);

/*
 * virtio-blk over a layer stack (the data disk, layer.h), read-write with
 * FLUSH (fdatasync of the top, then its map). The device owns `ls` from
 * here on, also on failure, and flushes it when freed. ID "sbx-vdb".
 */
struct virtio_dev *virtio_blk_layers_new(struct layer_stack *ls,
    struct sbx_err *e);

/* virtio-rng: fills the driver's buffers from getrandom(). */
struct virtio_dev *virtio_rng_new(struct sbx_err *e);

#endif
