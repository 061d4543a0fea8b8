/*
 * virtio_balloon.h - sbx-vmm's virtio-balloon device (virtio ID 5): live
 * memory resize within the size the VM booted with.
 *
 * Queues: inflate 0, deflate 1 (no statistics queue, no free page hints
 * or reporting, no DEFLATE_ON_OOM: a ballooned guest stays small until
 * the host lets it grow). Config space: le32 num_pages (the target: 4 KiB
 * pages the guest should hand over; written by the VMM) and le32 actual
 * (pages it has handed over; written by the guest driver).
 *
 * Each inflate buffer is an array of le32 page frame numbers. Every PFN is
 * guest-controlled: one outside guest RAM is ignored and counted
 * (bad_pfns), never trusted; a valid one is given back to the host with
 * madvise(MADV_DONTNEED) on the guest RAM mapping (anonymous RAM reads
 * back as zeroes; a snapshot's MAP_PRIVATE file mapping falls back to the
 * file: the guest never reads a page it ballooned, and a page it takes
 * back is a free page whose content it does not rely on). Deflate buffers
 * are accepted and counted: the page faults back in when the guest
 * touches it. Ballooned pages are not marked dirty for snapshots, for the
 * same reason (a diff snapshot may keep their old bytes).
 *
 * Threads: the ops run under the device lock like every virtio device
 * (virtio.h); virtio_balloon_set_target() and virtio_balloon_info() take
 * the lock themselves and may be called from any thread.
 */
#ifndef SBX_KVM_VMM_VIRTIO_BALLOON_H
#define SBX_KVM_VMM_VIRTIO_BALLOON_H

#include <stdint.h>

#include <jansson.h>

struct sbx_err;
struct virtio_dev;
struct vmm;

#define VIRTIO_ID_BALLOON 5
#define BALLOON_PAGE 4096ULL
/* The smallest target the control op accepts (the VMM's --memory min). */
#define BALLOON_MIN_TARGET (64ULL << 20)

/* What the device knows; also its snapshot state (snapstate.c). */
struct balloon_info {
	uint32_t num_pages;	/* target: pages the guest should give */
	uint32_t actual;	/* pages the guest says it has given */
	uint64_t inflated;	/* valid PFNs given back (counter) */
	uint64_t deflated;	/* PFNs taken back (counter) */
	uint64_t bad_pfns;	/* PFNs outside guest RAM, ignored */
	uint64_t released;	/* pages madvise(MADV_DONTNEED) dropped */
};

/* Creates the device for a guest of `mem_bytes` of RAM. */
struct virtio_dev *virtio_balloon_new(uint64_t mem_bytes, struct sbx_err *e);

/*
 * Sets the target to `pages` 4 KiB pages (at most the RAM's pages) and
 * raises a configuration-change interrupt when the driver is up and the
 * value changed. Returns 0, or SBX_EINVAL for too many pages.
 */
int virtio_balloon_set_target(struct virtio_dev *d, uint64_t pages,
    struct sbx_err *e);
void virtio_balloon_info(struct virtio_dev *d, struct balloon_info *out);
/*
 * Restores the state a snapshot recorded (counters included). Called
 * before the vCPUs start; SBX_ECORRUPT if num_pages or actual exceed RAM.
 */
int virtio_balloon_restore(struct virtio_dev *d,
    const struct balloon_info *in, struct sbx_err *e);

/* The VM's balloon device, or NULL when it was started without one. */
struct virtio_dev *virtio_balloon_find(struct vmm *vm);

/*
 * Control op "balloon" ({"op":"balloon","target":BYTES} sets the guest's
 * usable memory; without "target" it only reports): returns the reply
 * (its figures: virtio_balloon_json), or NULL when `op` is not
 * "balloon". I/O thread.
 */
json_t *virtio_balloon_control(struct vmm *vm, const char *op, json_t *req);
/*
 * The figures for the `balloon` and `stats` replies: "driver" (the guest
 * driver is up), "memory" (boot RAM), "target" and "actual" (guest-usable
 * bytes asked for and reached), and page counts and counters.
 */
json_t *virtio_balloon_json(struct virtio_dev *d, uint64_t mem_bytes);

#endif
