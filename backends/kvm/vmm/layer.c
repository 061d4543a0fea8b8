/*
 * layer.c - the layer stack of the data disk: the writable top and its
 * map, reads through the layers, copy-up writes, freeze and commit
 * (layer.h, doc/snapshot-format.md). Frozen layer files: layer_file.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/layer_int.h"
#include "core/banned.h"

/* TOP.map */
#define MAP_MAGIC "SBXTMAP\x01"
#define MAP_VERSION 1
#define MAP_HDR 40

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
	sbx_le_put32(buf + 8, MAP_VERSION);
	sbx_le_put32(buf + 12, MAP_HDR);
	sbx_le_put64(buf + 16, s->size);
	sbx_le_put64(buf + 24, count);
	memcpy(buf + MAP_HDR, bits, nb);
	sbx_le_put32(buf + 32, sbx_crc32c(0, buf + MAP_HDR, nb));
	sbx_le_put32(buf + 36, sbx_crc32c(0, buf, 36));
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		r = sbx_err_sys(e, "cannot create '%s'", tmp);
	else if (layer_full_io(fd, true, buf, MAP_HDR + nb, 0) < 0)
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
		layer_fsync_parent(s->map_path);
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
	if (layer_full_io(fd, false, buf, MAP_HDR, 0) < 0) {
		r = sbx_err_sys(e, "cannot read '%s'", p);
	} else if (memcmp(buf, MAP_MAGIC, 8)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "'%s' is not an sbx top map "
		    "(bad magic)", p);
	} else if (sbx_le_get32(buf + 36) != sbx_crc32c(0, buf, 36)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': header "
		    "checksum mismatch", p);
	} else if (sbx_le_get32(buf + 8) != MAP_VERSION || sbx_le_get32(buf + 12) !=
	    MAP_HDR) {
		r = sbx_err_set(e, SBX_ENOTSUP, "top map '%s': format version "
		    "%u, this sbx reads version %u", p, sbx_le_get32(buf + 8),
		    MAP_VERSION);
	} else if (sbx_le_get64(buf + 16) != s->size) {
		r = sbx_err_set(e, SBX_EINVAL, "top map '%s' is for a disk of "
		    "%llu bytes, the disk has %llu", p,
		    (unsigned long long)sbx_le_get64(buf + 16),
		    (unsigned long long)s->size);
	} else if ((uint64_t)st.st_size != want) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s' is %s: %lld "
		    "bytes, want %llu", p, (uint64_t)st.st_size < want ?
		    "truncated" : "padded", (long long)st.st_size,
		    (unsigned long long)want);
	} else if (layer_full_io(fd, false, buf + MAP_HDR, nb, MAP_HDR) < 0) {
		r = sbx_err_sys(e, "cannot read '%s'", p);
	} else if (sbx_le_get32(buf + 32) != sbx_crc32c(0, buf + MAP_HDR, nb)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': bitmap "
		    "checksum mismatch", p);
	} else if (s->nblocks % 8 && buf[MAP_HDR + nb - 1] >>
	    (s->nblocks % 8)) {
		r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': bitmap marks "
		    "blocks past the end of the disk", p);
	} else {
		memcpy(s->top_bits, buf + MAP_HDR, nb);
		n = popcount_all(s->top_bits, words(s->nblocks));
		if (n != sbx_le_get64(buf + 24))
			r = sbx_err_set(e, SBX_ECORRUPT, "top map '%s': bitmap "
			    "has %llu blocks, the header says %llu", p,
			    (unsigned long long)n,
			    (unsigned long long)sbx_le_get64(buf + 24));
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
		} else if (layer_full_iov(fd, false, s->scratch, k, foff +
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
			if (layer_full_iov(s->top_fd, true, s->scratch, k, pos) < 0)
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
			if (layer_full_io(s->top_fd, true, s->bounce, LAYER_BLOCK,
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
	struct layer_writer w;
	uint64_t wi, nw = words(s->nblocks);
	int r;

	*out = NULL;
	if ((r = layer_stack_flush(s, e)) < 0)
		return r;
	if ((r = layer_writer_begin(&w, path, s->size, e)) < 0)
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
			uint8_t *p = layer_writer_slot(&w);

			any &= any - 1;
			if (layer_full_io(fd, false, p, LAYER_BLOCK, foff) < 0) {
				r = sbx_err_sys(e, "cannot read block %llu of "
				    "the data disk", (unsigned long long)b);
				layer_writer_abort(&w);
				return r;
			}
			/* With nothing under it, a zero block is a hole. */
			if (flatten && layer_block_zero(p))
				continue;
			if ((r = layer_writer_add(&w, b, e)) < 0) {
				layer_writer_abort(&w);
				return r;
			}
		}
	}
	if ((r = layer_writer_finish(&w, e)) < 0)
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
