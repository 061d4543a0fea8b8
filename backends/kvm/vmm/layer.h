/*
 * layer.h - the layered data disk: frozen layer files, a writable top
 * (sparse file + allocation bitmap) and the stack that reads each block
 * from the topmost layer holding it (doc/snapshot-format.md, "Data disk").
 *
 * Depends only on src/core and libc: sbx links it too (layer_from_raw
 * makes the base layer of a data disk, layer_open checks a store object).
 *
 * Frozen layer file (little endian; immutable once renamed into place):
 *   0  magic "SBXLAYR\x01"      32 u64 blocks present
 *   8  u32 version 1            40 u32 CRC32C of the padded bitmap
 *   12 u32 header size 4096     44 u32 CRC32C of bytes 0..43
 *   16 u64 disk size (bytes, a multiple of 4096)
 *   24 u32 block size 4096      28 u32 reserved 0
 * zero padding to 4096; the bitmap (bit i of byte i/8 = block i, zero
 * padded to a multiple of 4096); the present blocks in ascending order.
 *
 * Threads: a stack is used by one thread at a time (the VMM's device
 * thread, or the I/O thread while the vCPUs are parked).
 */
#ifndef SBX_KVM_VMM_LAYER_H
#define SBX_KVM_VMM_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct sbx_err;

#define LAYER_BLOCK 4096ULL
#define LAYER_MAGIC "SBXLAYR\x01"
#define LAYER_VERSION 1
#define LAYER_MAX_SIZE (1ULL << 42)	/* 4 TiB: a 128 MiB bitmap */
#define LAYER_MAX_DEPTH 256		/* frozen layers in one stack */

/* One frozen layer, open read-only. */
struct layer;
/* Frozen layers (bottom first) under a writable top. */
struct layer_stack;

/* Counters for the control socket's "stats" (data_disk). */
struct layer_stats {
	uint64_t reads, writes, flushes, rbytes, wbytes;
	uint64_t top_blocks;	/* blocks present in the top */
	unsigned layers;	/* frozen layers under the top */
	uint64_t size;		/* disk size in bytes */
};

/*
 * Opens and validates the frozen layer at `path` (header, CRCs, bitmap
 * count, exact file size); errors name the file and the field.
 */
struct layer *layer_open(const char *path, struct sbx_err *e);
/* Disk size in bytes and present blocks of a layer. */
uint64_t layer_size(const struct layer *l);
uint64_t layer_blocks(const struct layer *l);
void layer_free(struct layer *l);

/*
 * Converts a raw (sparse) image of `size` bytes (a multiple of 4096) read
 * from `rawfd` into a frozen layer at `outpath` holding only its non-zero
 * blocks; holes are skipped with SEEK_DATA/SEEK_HOLE. Written through a
 * temporary name, fsync'd and renamed. 0 or a negative SBX_E.
 */
int layer_from_raw(int rawfd, uint64_t size, const char *outpath,
    struct sbx_err *e);

/*
 * Opens a stack: the frozen layers `paths[0..n)` (bottom first; all must
 * have one size) under the writable top at `top` (TOP and TOP.map; TOP is
 * created if absent, and a TOP without TOP.map is an empty top). `size`
 * is the disk size when n == 0 (a non-zero multiple of 4096), else 0 or
 * the layers' size. NULL and `e` on failure.
 */
struct layer_stack *layer_stack_open(const char *top,
    const char *const *paths, size_t n, uint64_t size, struct sbx_err *e);
/* Flushes (layer_stack_flush) and frees; NULL is a no-op. */
void layer_stack_free(struct layer_stack *s);

/*
 * Reads or writes `len` bytes at byte `off` (both multiples of 512, inside
 * the disk) to or from the buffers `iov[0..n)`. Reads come from the
 * topmost layer holding each block, runs coalesced into one preadv;
 * writes go to the top, a partially written block first copied up.
 * 0, or -1 with errno set.
 */
int layer_stack_rw(struct layer_stack *s, bool write, const struct iovec *iov,
    int n, uint64_t off, uint64_t len);
/* fdatasync(TOP), then TOP.map written atomically. 0 or negative SBX_E. */
int layer_stack_flush(struct layer_stack *s, struct sbx_err *e);

/*
 * Writes the top's present blocks (or, with `flatten`, the topmost copy
 * of every non-zero block of the whole stack) as a frozen layer at
 * `path` (temporary name, fsync, rename, directory fsync) and opens it
 * in *out. The stack is unchanged: the caller commits the layer with
 * layer_stack_commit() once it is safely referenced. The top is flushed
 * first. 0 or a negative SBX_E.
 */
int layer_stack_freeze(struct layer_stack *s, const char *path, bool flatten,
    struct layer **out, struct sbx_err *e);
/*
 * Puts `l` (from layer_stack_freeze; the stack takes it) on top of the
 * frozen layers - in place of all of them if `flatten` - and empties
 * the top (a new empty TOP.map first, then TOP truncated), and starts a
 * new disk mark. 0 or a negative SBX_E (the stack is then unchanged
 * but for the top, which may already be empty).
 */
int layer_stack_commit(struct layer_stack *s, struct layer *l, bool flatten,
    struct sbx_err *e);
/*
 * The disk mark: this stack's instance id and generation, changed by
 * every commit. A freeze of the top alone is a layer over the chain the
 * mark was handed out with.
 */
const char *layer_stack_mark(const struct layer_stack *s);
void layer_stack_stats(const struct layer_stack *s, struct layer_stats *st);
uint64_t layer_stack_size(const struct layer_stack *s);

#endif
