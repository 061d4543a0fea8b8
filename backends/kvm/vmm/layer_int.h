/*
 * layer_int.h - what layer.c (the stack) and layer_file.c (frozen layer
 * files) share; not an API (layer.h is).
 *
 * Bitmaps are held as 64-bit words whose bit i%64 of word i/64 is block
 * i: on a little-endian host that is the files' byte layout, so they are
 * copied in and out with memcpy. A frozen layer also keeps rank[w], the
 * blocks present in the words before w, so a block's offset in the file
 * is one popcount away.
 */
#ifndef SBX_KVM_VMM_LAYER_INT_H
#define SBX_KVM_VMM_LAYER_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/le.h"
#include "kvm/vmm/layer.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the data disk assumes a little-endian host (bitmap words, headers)"
#endif

#define HDR_SIZE 4096ULL
#define WBUF_BLOCKS 256		/* a writer's buffer: 1 MiB */

struct layer {
	int fd;
	char *path;
	uint64_t size, nblocks, count;
	uint64_t *bits;		/* words(nblocks) words */
	uint64_t *rank;		/* rank[w]: blocks present before word w */
	uint64_t data;		/* file offset of the first block */
};

/* A frozen layer being written to a temporary name (freeze, from_raw). */
struct layer_writer {
	int fd;
	char *path, *tmp;
	uint64_t size, nblocks, count;
	uint64_t *bits;
	uint8_t *buf;
	size_t nbuf;
	uint64_t wpos;		/* file offset of the next block */
};

static inline uint64_t
words(uint64_t nblocks)
{
	return (nblocks + 63) / 64;
}

/* Bitmap bytes in a file: one bit a block. */
static inline uint64_t
map_bytes(uint64_t nblocks)
{
	return (nblocks + 7) / 8;
}

/* The bitmap region of a frozen layer, padded to a multiple of 4096. */
static inline uint64_t
map_padded(uint64_t nblocks)
{
	return (map_bytes(nblocks) + HDR_SIZE - 1) / HDR_SIZE * HDR_SIZE;
}

static inline bool
bit_get(const uint64_t *bits, uint64_t b)
{
	return bits[b / 64] >> (b % 64) & 1;
}

static inline uint64_t
popcount_all(const uint64_t *bits, uint64_t nwords)
{
	uint64_t i, n = 0;

	for (i = 0; i < nwords; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

static inline bool
size_ok(uint64_t size)
{
	return size && size % LAYER_BLOCK == 0 && size <= LAYER_MAX_SIZE;
}


/* File offset of block `b` (which must be present) in `l`. */
static inline uint64_t
layer_off(const struct layer *l, uint64_t b)
{
	uint64_t w = b / 64, below = l->bits[w] & ((1ULL << (b % 64)) - 1);

	return l->data + (l->rank[w] + (uint64_t)__builtin_popcountll(below)) *
	    LAYER_BLOCK;
}

/* Full pread/pwrite at `off`; 0 or -1 (errno; EIO for end of file). */
int layer_full_io(int fd, bool write, void *p, size_t len, uint64_t off);
/* The same over `iov[0..n)`, which is consumed (modified). */
int layer_full_iov(int fd, bool write, struct iovec *iov, int n,
    uint64_t off);
/* fsync of the directory holding `path` (after a rename into it). */
void layer_fsync_parent(const char *path);
/* True if the 4096 bytes at `p` are all zero. */
bool layer_block_zero(const uint8_t *p);

/*
 * Writing a frozen layer to PATH.tmp: begin, then per block (ascending)
 * fill layer_writer_slot() and layer_writer_add(); finish writes bitmap
 * and header, fsyncs and renames to PATH; abort removes PATH.tmp. All
 * but slot return 0 or a negative SBX_E (finish aborts on failure).
 */
int layer_writer_begin(struct layer_writer *w, const char *path,
    uint64_t size, struct sbx_err *e);
uint8_t *layer_writer_slot(struct layer_writer *w);
int layer_writer_add(struct layer_writer *w, uint64_t b, struct sbx_err *e);
int layer_writer_finish(struct layer_writer *w, struct sbx_err *e);
void layer_writer_abort(struct layer_writer *w);

#endif
