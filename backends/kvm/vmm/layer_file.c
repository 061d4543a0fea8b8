/*
 * layer_file.c - frozen layer files: CRC32C, validation on open, writing
 * (freeze, layer_from_raw) (layer.h, layer_int.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/layer_int.h"
#include "core/banned.h"

/* Full preadv/pwritev at `off`; `iov` is consumed (modified). */
int
layer_full_iov(int fd, bool write, struct iovec *iov, int n, uint64_t off)
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

int
layer_full_io(int fd, bool write, void *p, size_t len, uint64_t off)
{
	struct iovec iov = { p, len };

	return len ? layer_full_iov(fd, write, &iov, 1, off) : 0;
}

/* fsync of the directory holding `path` (after a rename into it). */
void
layer_fsync_parent(const char *path)
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
	if (layer_full_io(l->fd, false, h, sizeof(h), 0) < 0)
		return sbx_err_sys(e, "cannot read layer '%s'", p);
	if (memcmp(h, LAYER_MAGIC, 8))
		return sbx_err_set(e, SBX_ECORRUPT, "'%s' is not an sbx disk "
		    "layer (bad magic)", p);
	if (sbx_le_get32(h + 44) != sbx_crc32c(0, h, 44))
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': header "
		    "checksum mismatch", p);
	if (sbx_le_get32(h + 8) != LAYER_VERSION)
		return sbx_err_set(e, SBX_ENOTSUP, "layer '%s': format version "
		    "%u, this sbx reads version %u", p, sbx_le_get32(h + 8),
		    LAYER_VERSION);
	if (sbx_le_get32(h + 12) != HDR_SIZE)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': header size "
		    "%u, want 4096", p, sbx_le_get32(h + 12));
	if (sbx_le_get32(h + 24) != LAYER_BLOCK)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': block size "
		    "%u, want 4096", p, sbx_le_get32(h + 24));
	if (sbx_le_get32(h + 28) != 0)
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': reserved "
		    "field is %u, want 0", p, sbx_le_get32(h + 28));
	l->size = sbx_le_get64(h + 16);
	if (!size_ok(l->size))
		return sbx_err_set(e, SBX_ECORRUPT, "layer '%s': disk size "
		    "%llu is not a non-zero multiple of 4096 up to 4 TiB", p,
		    (unsigned long long)l->size);
	l->nblocks = l->size / LAYER_BLOCK;
	l->count = sbx_le_get64(h + 32);
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
	if (layer_full_io(l->fd, false, bm, pad, HDR_SIZE) < 0) {
		free(bm);
		return sbx_err_sys(e, "cannot read the bitmap of layer '%s'",
		    p);
	}
	if (sbx_le_get32(h + 40) != sbx_crc32c(0, bm, pad)) {
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


/* --- writing frozen layers ------------------------------------------- */

int
layer_writer_begin(struct layer_writer *w, const char *path, uint64_t size,
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

void
layer_writer_abort(struct layer_writer *w)
{
	close(w->fd);
	unlink(w->tmp);
	free(w->path);
	free(w->tmp);
	free(w->bits);
	free(w->buf);
}

static int
writer_drain(struct layer_writer *w, struct sbx_err *e)
{
	if (w->nbuf && layer_full_io(w->fd, true, w->buf, w->nbuf * LAYER_BLOCK,
	    w->wpos) < 0)
		return sbx_err_sys(e, "cannot write '%s'", w->tmp);
	w->wpos += w->nbuf * LAYER_BLOCK;
	w->nbuf = 0;
	return 0;
}

/* Where the caller puts the next block's 4096 bytes. */
uint8_t *
layer_writer_slot(struct layer_writer *w)
{
	return w->buf + w->nbuf * LAYER_BLOCK;
}

/* Takes the slot's bytes as block `b` (ascending order). */
int
layer_writer_add(struct layer_writer *w, uint64_t b, struct sbx_err *e)
{
	w->bits[b / 64] |= 1ULL << (b % 64);
	w->count++;
	if (++w->nbuf == WBUF_BLOCKS)
		return writer_drain(w, e);
	return 0;
}

/* Bitmap and header, fsync, rename into place, fsync the directory. */
int
layer_writer_finish(struct layer_writer *w, struct sbx_err *e)
{
	uint64_t pad = map_padded(w->nblocks);
	uint8_t h[HDR_SIZE], *bm;
	int r;

	if ((r = writer_drain(w, e)) < 0) {
		layer_writer_abort(w);
		return r;
	}
	bm = xcalloc(1, pad);
	memcpy(bm, w->bits, map_bytes(w->nblocks));
	memset(h, 0, sizeof(h));
	memcpy(h, LAYER_MAGIC, 8);
	sbx_le_put32(h + 8, LAYER_VERSION);
	sbx_le_put32(h + 12, HDR_SIZE);
	sbx_le_put64(h + 16, w->size);
	sbx_le_put32(h + 24, LAYER_BLOCK);
	sbx_le_put64(h + 32, w->count);
	sbx_le_put32(h + 40, sbx_crc32c(0, bm, pad));
	sbx_le_put32(h + 44, sbx_crc32c(0, h, 44));
	if (layer_full_io(w->fd, true, bm, pad, HDR_SIZE) < 0 ||
	    layer_full_io(w->fd, true, h, sizeof(h), 0) < 0)
		r = sbx_err_sys(e, "cannot write '%s'", w->tmp);
	else if (fsync(w->fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", w->tmp);
	else if (rename(w->tmp, w->path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", w->tmp,
		    w->path);
	free(bm);
	if (r < 0) {
		layer_writer_abort(w);
		return r;
	}
	layer_fsync_parent(w->path);
	close(w->fd);
	free(w->path);
	free(w->tmp);
	free(w->bits);
	free(w->buf);
	return 0;
}

bool
layer_block_zero(const uint8_t *p)
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
	struct layer_writer w;
	off_t data, hole;
	uint64_t b;
	int r;

	if (!size_ok(size))
		return sbx_err_set(e, SBX_EINVAL, "raw image size %llu is not "
		    "a non-zero multiple of 4096 up to 4 TiB",
		    (unsigned long long)size);
	if ((r = layer_writer_begin(&w, outpath, size, e)) < 0)
		return r;
	for (data = lseek(rawfd, 0, SEEK_DATA); ; data = lseek(rawfd, hole,
	    SEEK_DATA)) {
		if (data < 0 && errno == ENXIO)
			break;		/* no data past here */
		if (data < 0) {
			layer_writer_abort(&w);
			return sbx_err_sys(e, "cannot seek in the raw image");
		}
		if ((uint64_t)data >= size)
			break;
		hole = lseek(rawfd, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		for (b = (uint64_t)data / LAYER_BLOCK;
		    b * LAYER_BLOCK < (uint64_t)hole; b++) {
			uint8_t *p = layer_writer_slot(&w);
			ssize_t n;
			size_t got = 0;

			while (got < LAYER_BLOCK) {
				n = pread(rawfd, p + got, LAYER_BLOCK - got,
				    (off_t)(b * LAYER_BLOCK + got));
				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0) {
					layer_writer_abort(&w);
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
			if (!layer_block_zero(p) && (r = layer_writer_add(&w, b, e)) < 0) {
				layer_writer_abort(&w);
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
	return layer_writer_finish(&w, e);
}
