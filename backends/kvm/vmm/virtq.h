/*
 * virtq.h - split virtqueue (virtio 1.x, section 2.7) on guest memory.
 *
 * The ring lives in guest RAM and is untrusted. virtq_pop() validates a
 * whole descriptor chain before it returns it: every index below the queue
 * size, every buffer inside guest RAM (through gmem), no loop (the chain is
 * capped at the queue size), readable buffers before writable ones, and no
 * INDIRECT descriptors (sbx-vmm never offers VIRTIO_RING_F_INDIRECT_DESC).
 * A malformed chain makes it return VIRTQ_EBAD with a reason; the caller
 * (the transport, via virtio_fail()) then puts the device in NEEDS_RESET
 * and stops touching the queue. Nothing here can crash the VMM.
 *
 * EVENT_IDX is not offered either: interrupts are suppressed only through
 * VRING_AVAIL_F_NO_INTERRUPT.
 *
 * Threads: a queue belongs to its device; callers hold the device lock.
 */
#ifndef SBX_KVM_VMM_VIRTQ_H
#define SBX_KVM_VMM_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

struct gmem;

#define VIRTQ_MAX_SIZE 256	/* largest QueueNumMax sbx-vmm offers */

struct virtq {
	uint16_t num_max;	/* QueueNumMax, a power of two */
	uint16_t num;		/* QueueNum chosen by the driver */
	bool ready;		/* QueueReady */
	uint64_t desc;		/* descriptor table GPA */
	uint64_t avail;		/* driver area GPA */
	uint64_t used;		/* device area GPA */
	uint16_t last_avail;	/* next avail ring slot to consume */
	uint16_t used_idx;	/* next used ring slot to fill */
};

/* One guest buffer of a chain; `host` is valid while the VM exists. */
struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
	void *host;		/* bounds-checked host pointer to len bytes */
};

/*
 * A validated chain: readable segments first (nread of them), then
 * writable ones; rlen/wlen are their byte totals.
 */
struct virtq_chain {
	uint16_t head;
	unsigned nseg, nread;
	uint64_t rlen, wlen;
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

enum {
	VIRTQ_EMPTY = 0,	/* nothing available */
	VIRTQ_OK = 1,		/* *c holds a chain */
	VIRTQ_EBAD = -1,	/* malformed ring or chain; see *why */
};

/* Forgets all queue state (device reset); keeps num_max. */
void virtq_reset(struct virtq *q);
/*
 * Checks that a queue the driver set QueueReady on is usable: num a power
 * of two in [1, num_max] and all three areas inside guest RAM.
 * Returns 0, or -1 with *why set.
 */
int virtq_check(const struct virtq *q, const struct gmem *m, const char **why);
/*
 * Takes the next available chain. Writable segments are marked dirty.
 * Returns VIRTQ_OK, VIRTQ_EMPTY or VIRTQ_EBAD (with *why set).
 */
int virtq_pop(struct virtq *q, struct gmem *m, struct virtq_chain *c,
    const char **why);
/* Returns a chain to the driver with `len` bytes written into it. */
int virtq_push(struct virtq *q, struct gmem *m, uint16_t head, uint32_t len);
/* True unless the driver asked for no interrupt (call after pushes). */
bool virtq_want_irq(const struct virtq *q, const struct gmem *m);

/*
 * Copy helpers over a chain: read `len` bytes of the readable part from
 * byte offset `off`, or write into the writable part at `off`. Return the
 * number of bytes copied (short at the end of the chain).
 */
uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off,
    void *dst, uint64_t len);
uint64_t virtq_chain_write(struct virtq_chain *c, uint64_t off,
    const void *src, uint64_t len);

#endif
