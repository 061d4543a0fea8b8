/*
 * mem.h - guest RAM and the one bounds-checked accessor every device uses.
 *
 * Guest RAM is one private anonymous mapping (MAP_PRIVATE|MAP_ANONYMOUS|
 * MAP_NORESERVE, never MADV_DONTFORK: fork clones share it copy-on-write).
 * It is split into at most two guest-physical regions: [0, low) below the
 * 32-bit MMIO hole and [4 GiB, 4 GiB + high) above it; the host mapping is
 * contiguous (host offset = gpa for low RAM, gpa - 4 GiB + low for high).
 *
 * Rules for devices (STYLE.md 5): never dereference a guest address
 * yourself. Ask gmem_ptr()/gmem_ptr_w() for a host pointer to a whole
 * [gpa, gpa + len) range (NULL when any byte of it is not RAM or the range
 * crosses a region end), or copy with gmem_read()/gmem_write(). Everything
 * handed out for writing is recorded in the VMM dirty bitmap, because KVM's
 * dirty log does not see writes made by the VMM (snapshots OR both).
 *
 * Threads: the mapping and the geometry never change after gmem_init(), so
 * every function here may be called from any thread. The dirty bitmap is
 * updated with atomic ORs.
 */
#ifndef SBX_KVM_VMM_MEM_H
#define SBX_KVM_VMM_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;

#define GMEM_PAGE 4096ULL
#define GMEM_HOLE_START 0xC0000000ULL	/* 32-bit MMIO hole, 1 GiB */
#define GMEM_HIGH_START 0x100000000ULL	/* RAM resumes at 4 GiB */

struct gmem {
	uint8_t *host;		/* base of the mapping, size bytes */
	uint64_t size;		/* total RAM, a multiple of GMEM_PAGE */
	uint64_t low;		/* bytes at GPA 0 (min(size, hole start)) */
	uint64_t high;		/* bytes at GMEM_HIGH_START (size - low) */
	uint64_t *dirty;	/* 1 bit per page, indexed by host offset */
};

/*
 * Maps `size` bytes (rounded up to a page; at least 1 MiB) of guest RAM.
 * Returns 0 or a negative SBX_E code with `e` filled.
 */
int gmem_init(struct gmem *m, uint64_t size, struct sbx_err *e);
/* Unmaps the RAM and frees the bitmap; safe on a zeroed struct. */
void gmem_release(struct gmem *m);

/* Host pointer for [gpa, gpa+len) if it all lies in one RAM region. */
void *gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len);
/* Same, and marks the range dirty (use for anything the VMM writes). */
void *gmem_ptr_w(struct gmem *m, uint64_t gpa, uint64_t len);
/* Copies out of / into guest RAM; 0 on success, -1 if out of bounds. */
int gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len);
int gmem_write(struct gmem *m, uint64_t gpa, const void *src, uint64_t len);
/* True if [gpa, gpa+len) is guest RAM (len 0 counts as in bounds). */
bool gmem_valid(const struct gmem *m, uint64_t gpa, uint64_t len);

/* Marks [gpa, gpa+len) dirty in the VMM bitmap (bounds already checked). */
void gmem_mark_dirty(struct gmem *m, uint64_t gpa, uint64_t len);
/*
 * Snapshot hook: copies the VMM dirty bitmap into `out` (gmem_dirty_words()
 * uint64_t words, bit i = host page i) and clears it.
 */
size_t gmem_dirty_words(const struct gmem *m);
void gmem_dirty_take(struct gmem *m, uint64_t *out);

/*
 * A 64-bit hash of all of guest RAM and of each eighth of it, as text
 * ("H r0 r1 ... r7", hex) in `out` (at least GMEM_HASH_TEXT bytes): a
 * debugging aid that tells whether a restored VM's memory is the memory
 * its snapshot was taken from (SBX_VMM_MEMHASH, doc/vmm-control.md). Reads
 * every page; call it with the vCPUs stopped.
 */
#define GMEM_HASH_TEXT 160
void gmem_hash_text(const struct gmem *m, char *out);

#endif
