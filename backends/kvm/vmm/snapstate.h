/*
 * snapstate.h - device state (serial, i8042, virtio-mmio transports) as
 * snapshot records, and the live-fork control op (fork.c).
 *
 * Threads: save runs on the I/O thread with every vCPU parked; load and
 * snapstate_after_restore() run on the main thread before the vCPUs start
 * (after the KVM state was replayed, so re-raised interrupts stick).
 */
#ifndef SBX_KVM_VMM_SNAPSTATE_H
#define SBX_KVM_VMM_SNAPSTATE_H

#include <jansson.h>

struct sbx_buf;
struct sbx_err;
struct snap_image;
struct vmm;

void snapstate_save_devices(struct vmm *vm, struct sbx_buf *b);
/* Devices must match the snapshot's (same kinds in the same slots). */
int snapstate_load_devices(struct vmm *vm, const struct snap_image *img,
    struct sbx_err *e);
/*
 * Re-drives the serial IRQ line, re-raises pending virtio interrupts,
 * re-kicks every live queue (a notification may have been in flight) and
 * resets the vsock transport (host connections did not survive).
 */
void snapstate_after_restore(struct vmm *vm);

/* Control op "fork" (fork.c). */
json_t *snapfork_control(struct vmm *vm, json_t *req);

#endif
