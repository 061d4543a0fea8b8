/*
 * layer.c - the layered data disk (layer.h, doc/snapshot-format.md).
 *
 * Bitmaps are held as 64-bit words whose bit i%64 of word i/64 is block
 * i: on a little-endian host that is the file's byte layout, so they are
 * copied in and out with memcpy. A frozen layer also keeps rank[w], the
 * blocks present in the words before w, so a block's offset in the file
 * is one popcount away.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/layer.h"
#include "core/banned.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "layer.c assumes a little-endian host (bitmap words, header fields)"
#endif

#define HDR_SIZE 4096ULL
#define MAP_MAGIC "SBXTMAP\x01"
#define MAP_VERSION 1
#define MAP_HDR 40
#define WBUF_BLOCKS 256		/* a writer's buffer: 1 MiB */

struct layer {
	int fd;
	char *path;
	uint64_t size, nblocks, count;
	uint64_t *bits;		/* words(nblocks) words */
	uint64_t *rank;		/* rank[w]: blocks present before word w */
	uint64_t data;		/* file offset of the first block */
};

struct layer_stack {
	uint64_t size, nblocks;
	struct layer **lay;	/* bottom first */
	size_t nlay;
	int top_fd;
	char *top_path, *map_path;
	uint64_t *top_bits;
	uint64_t top_count;
	bool data_dirty;	/* TOP written since the last fdatasync */
	bool map_dirty;		/* top_bits differ from TOP.map */
	struct iovec *scratch;	/* iovec slices for one request */
	size_t nscratch;
	uint8_t *bounce;	/* one block, for copy-up */
	uint64_t instance, gen;
	char mark[48];
	struct layer_stats st;
};

/* A frozen layer being written to a temporary name (freeze, from_raw). */
struct writer {
	int fd;
	char *path, *tmp;
	uint64_t size, nblocks, count;
	uint64_t *bits;
	uint8_t *buf;
	size_t nbuf;
	uint64_t first;		/* block number of buf's first block */
	uint64_t wpos;		/* file offset of the next block */
};

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		for (c = i, j = 0; j < 8; j++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78 : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
layer_crc32c(uint32_t crc, const void *p, size_t len)
{
	const uint8_t *b = p;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void
put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint64_t
words(uint64_t nblocks)
{
	return (nblocks + 63) / 64;
}

/* Bitmap bytes in a file: one bit a block. */
static uint64_t
map_bytes(uint64_t nblocks)
{
	return (nblocks + 7) / 8;
}

/* The bitmap region of a frozen layer, padded to a multiple of 4096. */
static uint64_t
map_padded(uint64_t nblocks)
{
	return (map_bytes(nblocks) + HDR_SIZE - 1) / HDR_SIZE * HDR_SIZE;
}

static bool
bit_get(const uint64_t *bits, uint64_t b)
{
	return bits[b / 64] >> (b % 64) & 1;
}

static uint64_t
popcount_all(const uint64_t *bits, uint64_t nwords)
{
	uint64_t i, n = 0;

	for (i = 0; i < nwords; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

static bool
size_ok(uint64_t size)
{
	return size && size % LAYER_BLOCK == 0 && size <= LAYER_MAX_SIZE;
}

/* Full pread/pwrite at `off`; 0 or -1 (errno; EIO for end of file). */
static int
full_io(int fd, bool write, void *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t r = write ? pwrite(fd, p, len, (off_t)off) :
		    pread(fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = EIO;
		if (r <= 0)
			return -1;
		p = (char *)p + r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Full preadv/pwritev; `iov` is consumed (modified). */
static int
full_iov(int fd, bool write, struct iovec *iov, int n, uint64_t off)
{
	while (n > 0) {
		ssize_t r = write ? pwritev(fd, iov, n, (off_t)off) :
		    preadv(fd, iov, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = EIO;
		if (r <= 0)
			return -1;
		off += (uint64_t)r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* fsync of the directory holding `path` (after a rename into it). */
static void
fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 :
	    (size_t)(slash - path)) : xstrdup(".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

/* --- frozen layers ---------------------------------------------------- */

static int
layer_parse(struct layer *l, struct sbx_err *e)
{
	uint8_t h[HDR_SIZE];
	const char *p = l->path;
	struct stat st;
	uint64_t pad, nw, want, i, n, bytes;
	uint8_t *bm;

	if (fstat(l->fd, &st) < 0)
		return sbx_err_sys(e, "cannot stat layer '%s'", p);
	if (!S_ISREG(st.st_mode))
		return sbx_err_set(e, SBX_EINVAL, "layer '%s' is not a "
		    "regular file", p);
	if ((uint64_t)st.st_size < HDR_SIZE)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s' is truncated: "
		    "%lld bytes, shorter than its 4096-byte header", p,
		    (long long)st.st_size);
	if (full_io(l->fd, false, h, sizeof(h), 0) < 0)
		return sbx_err_sys(e, "cannot read layer '%s'", p);
	if (memcmp(h, LAYER_MAGIC, 8))
		return sbx_err_set(e, SBX_ECORRUPT, "'%s' is not an sbx disk "
		    "layer (bad magic)", p);
	if (get32(h + 44) != layer_crc32c(0, h, 44))
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': header "
		    "checksum mismatch", p);
	if (get32(h + 8) != LAYER_VERSION)
		return sbx_err_set(e, SBX_ENOTSUP, "layer '%s': format version "
		    "%u, this sbx reads version %u", p, get32(h + 8),
		    LAYER_VERSION);
	if (get32(h + 12) != HDR_SIZE)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': header size "
		    "%u, want 4096", p, get32(h + 12));
	if (get32(h + 24) != LAYER_BLOCK)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': block size "
		    "%u, want 4096", p, get32(h + 24));
	if (get32(h + 28) != 0)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': reserved "
		    "field is %u, want 0", p, get32(h + 28));
	l->size = get64(h + 16);
	if (!size_ok(l->size))
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': disk size "
		    "%llu is not a non-zero multiple of 4096 up to 4 TiB", p,
		    (unsigned long long)l->size);
	l->nblocks = l->size / LAYER_BLOCK;
	l->count = get64(h + 32);
	if (l->count > l->nblocks)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': block count "
		    "%llu exceeds the disk's %llu blocks", p,
		    (unsigned long long)l->count,
		    (unsigned long long)l->nblocks);
	pad = map_padded(l->nblocks);
	l->data = HDR_SIZE + pad;
	want = l->data + l->count * LAYER_BLOCK;
	if ((uint64_t)st.st_size != want)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s' is %s: file "
		    "size %lld, header, bitmap and %llu blocks make %llu", p,
		    (uint64_t)st.st_size < want ? "truncated" : "padded",
		    (long long)st.st_size, (unsigned long long)l->count,
		    (unsigned long long)want);
	bm = xmalloc(pad);
	if (full_io(l->fd, false, bm, pad, HDR_SIZE) < 0) {
		free(bm);
		return sbx_err_sys(e, "cannot read the bitmap of layer '%s'",
		    p);
	}
	if (get32(h + 40) != layer_crc32c(0, bm, pad)) {
		free(bm);
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': bitmap "
		    "checksum mismatch", p);
	}
	bytes = map_bytes(l->nblocks);
	for (i = bytes; i < pad && !bm[i]; i++)
		;
	if (i < pad || (l->nblocks % 8 && bm[bytes - 1] >> (l->nblocks % 8))) {
		free(bm);
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': bitmap marks "
		    "blocks past the end of the disk", p);
	}
	nw = words(l->nblocks);
	l->bits = xcalloc(nw, 8);
	memcpy(l->bits, bm, bytes);
	free(bm);
	l->rank = xcalloc(nw, 8);
	for (i = 0, n = 0; i < nw; i++) {
		l->rank[i] = n;
		n += (uint64_t)__builtin_popcountll(l->bits[i]);
	}
	if (n != l->count)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': bitmap has "
		    "%llu blocks, the header says %llu", p,
		    (unsigned long long)n, (unsigned long long)l->count);
	return 0;
}

struct layer *
layer_open(const char *path, struct sbx_err *e)
{
	struct layer *l = xcalloc(1, sizeof(*l));

	l->path = xstrdup(path);
	l->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->fd < 0) {
		sbx_err_sys(e, "cannot open layer '%s'", path);
		layer_free(l);
		return NULL;
	}
	if (layer_parse(l, e) < 0) {
		layer_free(l);
		return NULL;
	}
	return l;
}

uint64_t
layer_size(const struct layer *l)
{
	return l->size;
}

uint64_t
layer_blocks(const struct layer *l)
{
	return l->count;
}

void
layer_free(struct layer *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l->path);
	free(l->bits);
	free(l->rank);
	free(l);
}

/* File offset of block `b` (which must be present) in `l`. */
static uint64_t
layer_off(const struct layer *l, uint64_t b)
{
	uint64_t w = b / 64, below = l->bits[w] & ((1ULL << (b % 64)) - 1);

	return l->data + (l->rank[w] + (uint64_t)__builtin_popcountll(below)) *
	    LAYER_BLOCK;
}

/* --- writing frozen layers ------------------------------------------- */

static int
writer_begin(struct writer *w, const char *path, uint64_t size,
    struct sbx_err *e)
{
	memset(w, 0, sizeof(*w));
	w->path = xstrdup(path);
	w->tmp = xasprintf("%s.tmp", path);
	w->size = size;
	w->nblocks = size / LAYER_BLOCK;
	w->wpos = HDR_SIZE + map_padded(w->nblocks);
	unlink(w->tmp);
	w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		int r = sbx_err_sys(e, "cannot create '%s'", w->tmp);

		free(w->path);
		free(w->tmp);
		return r;
	}
	w->bits = xcalloc(words(w->nblocks), 8);
	w->buf = xmalloc(WBUF_BLOCKS * LAYER_BLOCK);
	return 0;
}

static void
writer_abort(struct writer *w)
{
	close(w->fd);
	unlink(w->tmp);
	free(w->path);
	free(w->tmp);
	free(w->bits);
	free(w->buf);
}

static int
writer_drain(struct writer *w, struct sbx_err *e)
{
	if (w->nbuf && full_io(w->fd, true, w->buf, w->nbuf * LAYER_BLOCK,
	    w->wpos) < 0)
		return sbx_err_sys(e, "cannot write '%s'", w->tmp);
	w->wpos += w->nbuf * LAYER_BLOCK;
	w->nbuf = 0;
	return 0;
}

/* Where the caller puts the next block's 4096 bytes. */
static uint8_t *
writer_slot(struct writer *w)
{
	return w->buf + w->nbuf * LAYER_BLOCK;
}

/* Takes the slot's bytes as block `b` (ascending order). */
static int
writer_add(struct writer *w, uint64_t b, struct sbx_err *e)
{
	w->bits[b / 64] |= 1ULL << (b % 64);
	w->count++;
	if (++w->nbuf == WBUF_BLOCKS)
		return writer_drain(w, e);
	return 0;
}

/* Bitmap and header, fsync, rename into place, fsync the directory. */
static int
writer_finish(struct writer *w, struct sbx_err *e)
{
	uint64_t pad = map_padded(w->nblocks);
	uint8_t h[HDR_SIZE], *bm;
	int r;

	if ((r = writer_drain(w, e)) < 0) {
		writer_abort(w);
		return r;
	}
	bm = xcalloc(1, pad);
	memcpy(bm, w->bits, map_bytes(w->nblocks));
	memset(h, 0, sizeof(h));
	memcpy(h, LAYER_MAGIC, 8);
	put32(h + 8, LAYER_VERSION);
	put32(h + 12, HDR_SIZE);
	put64(h + 16, w->size);
	put32(h + 24, LAYER_BLOCK);
	put64(h + 32, w->count);
	put32(h + 40, layer_crc32c(0, bm, pad));
	put32(h + 44, layer_crc32c(0, h, 44));
	if (full_io(w->fd, true, bm, pad, HDR_SIZE) < 0 ||
	    full_io(w->fd, true, h, sizeof(h), 0) < 0)
		r = sbx_err_sys(e, "cannot write '%s'", w->tmp);
	else if (fsync(w->fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", w->tmp);
	else if (rename(w->tmp, w->path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", w->tmp,
		    w->path);
	free(bm);
	if (r < 0) {
		writer_abort(w);
		return r;
	}
	fsync_parent(w->path);
	close(w->fd);
	free(w->path);
	free(w->tmp);
	free(w->bits);
	free(w->buf);
	return 0;
}

static bool
block_zero(const uint8_t *p)
{
	uint64_t q[LAYER_BLOCK / 8];
	size_t i;

	memcpy(q, p, sizeof(q));
	for (i = 0; i < LAYER_BLOCK / 8; i++)
		if (q[i])
			return false;
	return true;
}

int
layer_from_raw(int rawfd, uint64_t size, const char *outpath,
    struct sbx_err *e)
{
	struct writer w;
	off_t data, hole;
	uint64_t b;
	int r;

	if (!size_ok(size))
		return sbx_err_set(e, SBX_EINVAL, "raw image size %llu is not "
		    "a non-zero multiple of 4096 up to 4 TiB",
		    (unsigned long long)size);
	if ((r = writer_begin(&w, outpath, size, e)) < 0)
		return r;
	for (data = lseek(rawfd, 0, SEEK_DATA); ; data = lseek(rawfd, hole,
	    SEEK_DATA)) {
		if (data < 0 && errno == ENXIO)
			break;		/* no data past here */
		if (data < 0) {
			writer_abort(&w);
			return sbx_err_sys(e, "cannot seek in the raw image");
		}
		if ((uint64_t)data >= size)
			break;
		hole = lseek(rawfd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		for (b = (uint64_t)data / LAYER_BLOCK;
		    b * LAYER_BLOCK < (uint64_t)hole; b++) {
			uint8_t *p = writer_slot(&w);
			ssize_t n;
			size_t got = 0;

			while (got < LAYER_BLOCK) {
				n = pread(rawfd, p + got, LAYER_BLOCK - got,
				    (off_t)(b * LAYER_BLOCK + got));
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					writer_abort(&w);
					return sbx_err_sys(e, "cannot read the "
					    "raw image at byte %llu",
					    (unsigned long long)(b *
					    LAYER_BLOCK));
				}
				if (n == 0)
					break;
				got += (size_t)n;
			}
			memset(p + got, 0, LAYER_BLOCK - got);
			if (!block_zero(p) && (r = writer_add(&w, b, e)) < 0) {
				writer_abort(&w);
				return r;
			}
		}
		/* Always forward, whatever SEEK_HOLE said. */
		hole = (off_t)(b * LAYER_BLOCK);
		if (hole <= data)
			hole = data + (off_t)LAYER_BLOCK;
		if ((uint64_t)hole >= size)
			break;
	}
	return writer_finish(&w, e);
}

/* --- the writable top -------------------------------------------------- */

/* Writes TOP.map from `bits` (`count` blocks) atomically. */
static int
map_write(struct layer_stack *s, const uint64_t *bits, uint64_t count,
    struct sbx_err *e)
{
	uint64_t nb = map_bytes(s->nblocks);
	uint8_t *buf = xmalloc(MAP_HDR + nb);
	char *tmp = xasprintf("%s.tmp", s->map_path);
	int fd, r = 0;

	memcpy(buf, MAP_MAGIC, 8);
	put32(buf + 8, MAP_VERSION);
	put32(buf + 12, MAP_HDR);
	put64(buf + 16, s->size);
	put64(buf + 24, count);
	memcpy(buf + MAP_HDR, bits, nb);
	put32(buf + 32, layer_crc32c(0, buf + MAP_HDR, nb));
	put32(buf + 36, layer_crc32c(0, buf, 36));
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		r = sbx_err_sys(e, "cannot create '%s'", tmp);
	else if (full_io(fd, true, buf, MAP_HDR + nb, 0) < 0)
		r = sbx_err_sys(e, "cannot write '%s'", tmp);
	else if (fsync(fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", tmp);
	if (fd >= 0)
		close(fd);
	if (r == 0 && rename(tmp, s->map_path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s'", tmp);
	if (r < 0)
		unlink(tmp);
	else
		fsync_parent(s->map_path);
	free(tmp);
	free(buf);
	return r;
}

/* Loads and checks TOP.map; 1 if there is none, 0, or negative SBX_E. */
static int
map_read(struct layer_stack *s, struct sbx_err *e)
{
	const char *p = s->map_path;
	uint64_t nb = map_bytes(s->nblocks), want = MAP_HDR + nb, n;
	struct stat st;
	uint8_t *buf;
	int fd, r = 0;

	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", p);
	if (fstat(fd, &st) < 0) {
		r = sbx_err_sys(e, "cannot stat '%s'", p);
		close(fd);
		return r;
	}
	if ((uint64_t)st.st_size < MAP_HDR) {
		close(fd);
		return sbx_err_set(e, SBX_ECORRUPT, "top map '%s' is "
		    "truncated: %lld bytes, shorter than its header", p,
		    (long long)st.st_size);
	}
	buf = xmalloc((uint64_t)st.st_size < want ? MAP_HDR : want);
	if (full_io(fd, false, buf, MAP_HDR, 0) < 0) {
		r = sbx_err_sys(e, "cannot read '%s'", p);
	} else if (memcmp(buf, MAP_MAGIC, 8)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "'%s' is not an sbx top map "
		    "(bad magic)", p);
	} else if (get32(buf + 36) != layer_crc32c(0, buf, 36)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': header "
		    "checksum mismatch", p);
	} else if (get32(buf + 8) != MAP_VERSION || get32(buf + 12) !=
	    MAP_HDR) {
		r = sbx_err_set(e, SBX_ENOTSUP, "top map '%s': format version "
		    "%u, this sbx reads version %u", p, get32(buf + 8),
		    MAP_VERSION);
	} else if (get64(buf + 16) != s->size) {
		r = sbx_err_set(e, SBX_EINVAL, "top map '%s' is for a disk of "
		    "%llu bytes, the disk has %llu", p,
		    (unsigned long long)get64(buf + 16),
		    (unsigned long long)s->size);
	} else if ((uint64_t)st.st_size != want) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s' is %s: %lld "
		    "bytes, want %llu", p, (uint64_t)st.st_size < want ?
		    "truncated" : "padded", (long long)st.st_size,
		    (unsigned long long)want);
	} else if (full_io(fd, false, buf + MAP_HDR, nb, MAP_HDR) < 0) {
		r = sbx_err_sys(e, "cannot read '%s'", p);
	} else if (get32(buf + 32) != layer_crc32c(0, buf + MAP_HDR, nb)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': bitmap "
		    "checksum mismatch", p);
	} else if (s->nblocks % 8 && buf[MAP_HDR + nb - 1] >>
	    (s->nblocks % 8)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': bitmap marks "
		    "blocks past the end of the disk", p);
	} else {
		memcpy(s->top_bits, buf + MAP_HDR, nb);
		n = popcount_all(s->top_bits, words(s->nblocks));
		if (n != get64(buf + 24))
			r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': bitmap "
			    "has %llu blocks, the header says %llu", p,
			    (unsigned long long)n,
			    (unsigned long long)get64(buf + 24));
		s->top_count = n;
	}
	free(buf);
	close(fd);
	return r;
}

static void
mark_update(struct layer_stack *s)
{
	snprintf(s->mark, sizeof(s->mark), "%016llx-%llu",
	    (unsigned long long)s->instance, (unsigned long long)s->gen);
}

/* Opens (or creates) TOP and loads or starts its map. */
static int
top_open(struct layer_stack *s, const char *top, struct sbx_err *e)
{
	struct stat st;
	int r;

	s->top_path = xstrdup(top);
	s->map_path = xasprintf("%s.map", top);
	s->top_bits = xcalloc(words(s->nblocks), 8);
	s->top_fd = open(top, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->top_fd < 0)
		return sbx_err_sys(e, "cannot open disk top '%s'", top);
	if (fstat(s->top_fd, &st) < 0)
		return sbx_err_sys(e, "cannot stat disk top '%s'", top);
	if (!S_ISREG(st.st_mode))
		return sbx_err_set(e, SBX_EINVAL, "disk top '%s' is not a "
		    "regular file", top);
	r = map_read(s, e);
	if (r < 0)
		return r;
	if (r == 1 || s->top_count == 0) {
		/* An empty top: whatever TOP holds is stale. */
		if (ftruncate(s->top_fd, 0) < 0 ||
		    ftruncate(s->top_fd, (off_t)s->size) < 0)
			return sbx_err_sys(e, "cannot size disk top '%s'", top);
		return r == 1 ? map_write(s, s->top_bits, 0, e) : 0;
	}
	if ((uint64_t)st.st_size != s->size)
		return sbx_err_set(e, SBX_ECORRUPT, "disk top '%s' has %lld "
		    "bytes, its map says the disk has %llu", top,
		    (long long)st.st_size, (unsigned long long)s->size);
	return 0;
}

struct layer_stack *
layer_stack_open(const char *top, const char *const *paths, size_t n,
    uint64_t size, struct sbx_err *e)
{
	struct layer_stack *s = xcalloc(1, sizeof(*s));
	size_t i;

	s->top_fd = -1;
	if (n > LAYER_MAX_DEPTH) {
		sbx_err_set(e, SBX_EINVAL, "%zu disk layers: at most %d", n,
		    LAYER_MAX_DEPTH);
		goto fail;
	}
	s->lay = xcalloc(n ? n : 1, sizeof(*s->lay));
	for (i = 0; i < n; i++) {
		if (!(s->lay[i] = layer_open(paths[i], e)))
			goto fail;
		s->nlay++;
		if (!size && i == 0)
			size = s->lay[0]->size;
		if (s->lay[i]->size != size) {
			sbx_err_set(e, SBX_EINVAL, "layer '%s' is a disk of "
			    "%llu bytes, not %llu like %s", paths[i],
			    (unsigned long long)s->lay[i]->size,
			    (unsigned long long)size, i ? "the layers under "
			    "it" : "the size asked for");
			goto fail;
		}
	}
	if (!size_ok(size)) {
		sbx_err_set(e, SBX_EINVAL, "disk size %llu is not a non-zero "
		    "multiple of 4096 up to 4 TiB", (unsigned long long)size);
		goto fail;
	}
	s->size = size;
	s->nblocks = size / LAYER_BLOCK;
	if (top_open(s, top, e) < 0)
		goto fail;
	s->bounce = xmalloc(LAYER_BLOCK);
	if (getrandom(&s->instance, sizeof(s->instance), 0) !=
	    sizeof(s->instance))
		s->instance = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	mark_update(s);
	return s;
fail:
	layer_stack_free(s);
	return NULL;
}

void
layer_stack_free(struct layer_stack *s)
{
	struct sbx_err e = { 0 };
	size_t i;

	if (!s)
		return;
	if (s->top_fd >= 0) {
		layer_stack_flush(s, &e);
		close(s->top_fd);
	}
	for (i = 0; i < s->nlay; i++)
		layer_free(s->lay[i]);
	free(s->lay);
	free(s->top_path);
	free(s->map_path);
	free(s->top_bits);
	free(s->scratch);
	free(s->bounce);
	free(s);
}

int
layer_stack_flush(struct layer_stack *s, struct sbx_err *e)
{
	s->st.flushes++;
	if (s->data_dirty && fdatasync(s->top_fd) < 0)
		return sbx_err_sys(e, "cannot sync disk top '%s'",
		    s->top_path);
	s->data_dirty = false;
	if (s->map_dirty) {
		int r = map_write(s, s->top_bits, s->top_count, e);

		if (r < 0)
			return r;
		s->map_dirty = false;
	}
	return 0;
}

/* --- reads and writes -------------------------------------------------- */

/*
 * Where block `b` is: the fd and file offset of the topmost copy, or
 * fd -1 (never written: zeros).
 */
static int
locate(const struct layer_stack *s, uint64_t b, uint64_t *off)
{
	size_t i;

	if (bit_get(s->top_bits, b)) {
		*off = b * LAYER_BLOCK;
		return s->top_fd;
	}
	for (i = s->nlay; i-- > 0;)
		if (bit_get(s->lay[i]->bits, b)) {
			*off = layer_off(s->lay[i], b);
			return s->lay[i]->fd;
		}
	*off = 0;
	return -1;
}

/* A position in a caller's iovec array. */
struct cursor {
	const struct iovec *iov;
	int n, i;
	size_t skip;
};

/* The next `len` bytes of `c` as iovecs in s->scratch; their count. */
static int
cursor_take(struct layer_stack *s, struct cursor *c, uint64_t len)
{
	int k = 0;

	if (s->nscratch < (size_t)c->n) {
		s->nscratch = (size_t)c->n;
		s->scratch = xreallocarray(s->scratch, s->nscratch,
		    sizeof(*s->scratch));
	}
	while (len && c->i < c->n) {
		size_t avail = c->iov[c->i].iov_len - c->skip;
		size_t take = avail < len ? avail : (size_t)len;

		if (take) {
			s->scratch[k].iov_base = (char *)c->iov[c->i].iov_base +
			    c->skip;
			s->scratch[k++].iov_len = take;
		}
		c->skip += take;
		len -= take;
		if (c->skip == c->iov[c->i].iov_len) {
			c->i++;
			c->skip = 0;
		}
	}
	return k;
}

static int
stack_read(struct layer_stack *s, struct cursor *c, uint64_t pos,
    uint64_t end)
{
	while (pos < end) {
		uint64_t b = pos / LAYER_BLOCK, foff, off2, run, len;
		int fd = locate(s, b, &foff), k, i;

		/* Extend over blocks that continue the same file range. */
		for (run = (b + 1) * LAYER_BLOCK; run < end; run += LAYER_BLOCK) {
			uint64_t nb = run / LAYER_BLOCK;

			if (locate(s, nb, &off2) != fd || (fd >= 0 &&
			    off2 != foff + (nb - b) * LAYER_BLOCK))
				break;
		}
		if (run > end)
			run = end;
		len = run - pos;
		k = cursor_take(s, c, len);
		if (fd < 0) {
			for (i = 0; i < k; i++)
				memset(s->scratch[i].iov_base, 0,
				    s->scratch[i].iov_len);
		} else if (full_iov(fd, false, s->scratch, k, foff +
		    pos % LAYER_BLOCK) < 0) {
			return -1;
		}
		pos = run;
	}
	return 0;
}

static void
top_set(struct layer_stack *s, uint64_t b)
{
	if (!bit_get(s->top_bits, b)) {
		s->top_bits[b / 64] |= 1ULL << (b % 64);
		s->top_count++;
		s->map_dirty = true;
	}
}

static int
stack_write(struct layer_stack *s, struct cursor *c, uint64_t pos,
    uint64_t end)
{
	while (pos < end) {
		uint64_t b = pos / LAYER_BLOCK, start = b * LAYER_BLOCK, i, nb,
		    len;
		int k, j;

		s->data_dirty = true;
		if (pos == start && end - pos >= LAYER_BLOCK) {
			nb = (end - pos) / LAYER_BLOCK;
			k = cursor_take(s, c, nb * LAYER_BLOCK);
			if (full_iov(s->top_fd, true, s->scratch, k, pos) < 0)
				return -1;
			for (i = 0; i < nb; i++)
				top_set(s, b + i);
			pos += nb * LAYER_BLOCK;
			continue;
		}
		/* A partial block: copy it up, then patch it. */
		{
			struct iovec one = { s->bounce, LAYER_BLOCK };
			struct cursor bc = { &one, 1, 0, 0 };
			uint8_t *dst;

			if (stack_read(s, &bc, start, start + LAYER_BLOCK) < 0)
				return -1;
			len = (end < start + LAYER_BLOCK ? end :
			    start + LAYER_BLOCK) - pos;
			k = cursor_take(s, c, len);
			dst = s->bounce + (pos - start);
			for (j = 0; j < k; j++) {
				memcpy(dst, s->scratch[j].iov_base,
				    s->scratch[j].iov_len);
				dst += s->scratch[j].iov_len;
			}
			if (full_io(s->top_fd, true, s->bounce, LAYER_BLOCK,
			    start) < 0)
				return -1;
			top_set(s, b);
			pos += len;
		}
	}
	return 0;
}

int
layer_stack_rw(struct layer_stack *s, bool write, const struct iovec *iov,
    int n, uint64_t off, uint64_t len)
{
	struct cursor c = { iov, n, 0, 0 };
	int r;

	if (off % 512 || len % 512 || off > s->size || len > s->size - off) {
		errno = EINVAL;
		return -1;
	}
	r = write ? stack_write(s, &c, off, off + len) :
	    stack_read(s, &c, off, off + len);
	if (r == 0 && write) {
		s->st.writes++;
		s->st.wbytes += len;
	} else if (r == 0) {
		s->st.reads++;
		s->st.rbytes += len;
	}
	return r;
}

/* --- freeze and commit ------------------------------------------------- */

int
layer_stack_freeze(struct layer_stack *s, const char *path, bool flatten,
    struct layer **out, struct sbx_err *e)
{
	struct writer w;
	uint64_t wi, nw = words(s->nblocks);
	int r;

	*out = NULL;
	if ((r = layer_stack_flush(s, e)) < 0)
		return r;
	if ((r = writer_begin(&w, path, s->size, e)) < 0)
		return r;
	for (wi = 0; wi < nw; wi++) {
		uint64_t any = s->top_bits[wi];
		size_t i;

		if (flatten)
			for (i = 0; i < s->nlay; i++)
				any |= s->lay[i]->bits[wi];
		while (any) {
			uint64_t b = wi * 64 + (uint64_t)__builtin_ctzll(any),
			    foff;
			int fd = locate(s, b, &foff);
			uint8_t *p = writer_slot(&w);

			any &= any - 1;
			if (full_io(fd, false, p, LAYER_BLOCK, foff) < 0) {
				r = sbx_err_sys(e, "cannot read block %llu of "
				    "the data disk", (unsigned long long)b);
				writer_abort(&w);
				return r;
			}
			/* With nothing under it, a zero block is a hole. */
			if (flatten && block_zero(p))
				continue;
			if ((r = writer_add(&w, b, e)) < 0) {
				writer_abort(&w);
				return r;
			}
		}
	}
	if ((r = writer_finish(&w, e)) < 0)
		return r;
	*out = layer_open(path, e);
	return *out ? 0 : SBX_ECORRUPT;
}

int
layer_stack_commit(struct layer_stack *s, struct layer *l, bool flatten,
    struct sbx_err *e)
{
	uint64_t *zero;
	size_t i;
	int r;

	if (l->size != s->size)
		return sbx_err_set(e, SBX_EINVAL, "layer '%s' is a disk of "
		    "%llu bytes, the stack's is %llu", l->path,
		    (unsigned long long)l->size, (unsigned long long)s->size);
	if (!flatten && s->nlay >= LAYER_MAX_DEPTH)
		return sbx_err_set(e, SBX_EINVAL, "the data disk already has "
		    "%d layers: take a full snapshot", LAYER_MAX_DEPTH);
	/* The empty map first: a crash then finds an empty top. */
	zero = xcalloc(words(s->nblocks), 8);
	r = map_write(s, zero, 0, e);
	free(zero);
	if (r < 0)
		return r;
	if (flatten) {
		for (i = 0; i < s->nlay; i++)
			layer_free(s->lay[i]);
		s->nlay = 0;
	}
	s->lay = xreallocarray(s->lay, s->nlay + 1, sizeof(*s->lay));
	s->lay[s->nlay++] = l;
	memset(s->top_bits, 0, words(s->nblocks) * 8);
	s->top_count = 0;
	s->map_dirty = false;
	s->data_dirty = false;
	/* Stale bytes in TOP are never read (the map is empty): best effort. */
	if (ftruncate(s->top_fd, 0) < 0 ||
	    ftruncate(s->top_fd, (off_t)s->size) < 0) {
		/* nothing: the top is empty whatever TOP still holds */
	}
	s->gen++;
	mark_update(s);
	return 0;
}

const char *
layer_stack_mark(const struct layer_stack *s)
{
	return s->mark;
}

void
layer_stack_stats(const struct layer_stack *s, struct layer_stats *st)
{
	*st = s->st;
	st->top_blocks = s->top_count;
	st->layers = (unsigned)s->nlay;
	st->size = s->size;
}

uint64_t
layer_stack_size(const struct layer_stack *s)
{
	return s->size;
}
