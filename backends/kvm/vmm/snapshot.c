/*
 * snapshot.c - the state file format and saving a VM to a directory
 * (snapshot.h, doc/snapshot-format.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/le.h"
#include "core/xmalloc.h"
#include "kvm/vmm/datadisk.h"
#include "kvm/vmm/delta.h"
#include "kvm/vmm/dirty.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/snapstate.h"
#include "kvm/vmm/state.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

static const struct vmm_config *saved_cfg;

void
snap_set_config(const struct vmm_config *cfg)
{
	saved_cfg = cfg;
}

void
snap_rec_add(struct sbx_buf *b, uint32_t tag, uint32_t idx, const void *p,
    size_t len)
{
	uint8_t h[12];
	static const uint8_t pad[8];

	sbx_le_put32(h, tag);
	sbx_le_put32(h + 4, idx);
	sbx_le_put32(h + 8, (uint32_t)len);
	sbx_buf_add(b, h, sizeof(h));
	sbx_buf_add(b, p, len);
	sbx_buf_add(b, pad, (8 - (len + 12) % 8) % 8);
}

const void *
snap_find(const struct snap_image *img, uint32_t tag, uint32_t idx,
    size_t len, size_t *len_out)
{
	size_t i;

	for (i = 0; i < img->nrec; i++) {
		const struct snap_rec *r = &img->rec[i];

		if (r->tag != tag || r->idx != idx)
			continue;
		if (len && r->len != len)
			return NULL;
		if (len_out)
			*len_out = r->len;
		return r->p;
	}
	return NULL;
}

/*
 * Header (32 bytes, little endian): magic[8], version u32, header size
 * u32, body length u64, body CRC32C u32, header CRC32C u32 (over bytes
 * 0..27).
 */
static void
header_fill(struct sbx_buf *out)
{
	uint8_t *h = (uint8_t *)out->buf;
	uint64_t body = out->len - SNAP_HDR_SIZE;

	memcpy(h, SNAP_MAGIC, 8);
	sbx_le_put32(h + 8, SNAP_VERSION);
	sbx_le_put32(h + 12, SNAP_HDR_SIZE);
	memcpy(h + 16, &body, 8);
	sbx_le_put32(h + 24, sbx_crc32c(0, h + SNAP_HDR_SIZE, body));
	sbx_le_put32(h + 28, sbx_crc32c(0, h, 28));
}

int
snap_image_parse(struct snap_image *img, char *data, size_t len,
    const char *what, struct sbx_err *e)
{
	const uint8_t *h = (const uint8_t *)data;
	uint64_t body;
	size_t off, cap = 64;

	memset(img, 0, sizeof(*img));
	img->data = data;
	img->len = len;
	if (len < SNAP_HDR_SIZE || memcmp(h, SNAP_MAGIC, 8) != 0)
		return sbx_err_set(e, SBX_ECORRUPT, "%s is not an sbx "
		    "snapshot state file (bad magic)", what);
	if (sbx_le_get32(h + 28) != sbx_crc32c(0, h, 28))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: header checksum "
		    "mismatch", what);
	if (sbx_le_get32(h + 8) != SNAP_VERSION || sbx_le_get32(h + 12) != SNAP_HDR_SIZE)
		return sbx_err_set(e, SBX_ENOTSUP, "%s: snapshot format "
		    "version %u, this sbx-vmm reads version %u", what,
		    sbx_le_get32(h + 8), SNAP_VERSION);
	memcpy(&body, h + 16, 8);
	if (body != len - SNAP_HDR_SIZE)
		return sbx_err_set(e, SBX_ECORRUPT, "%s is truncated or "
		    "padded: %zu bytes of records, header says %llu", what,
		    len - SNAP_HDR_SIZE, (unsigned long long)body);
	if (sbx_le_get32(h + 24) != sbx_crc32c(0, h + SNAP_HDR_SIZE, body))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: checksum mismatch "
		    "(the state file is corrupted)", what);
	img->rec = xcalloc(cap, sizeof(*img->rec));
	for (off = SNAP_HDR_SIZE; off < len;) {
		struct snap_rec r;
		size_t step;

		if (len - off < 12)
			return sbx_err_set(e, SBX_ECORRUPT, "%s: record header "
			    "cut at byte %zu", what, off);
		r.tag = sbx_le_get32(data + off);
		r.idx = sbx_le_get32(data + off + 4);
		r.len = sbx_le_get32(data + off + 8);
		step = 12 + (size_t)r.len;
		step += (8 - step % 8) % 8;
		if (r.len > len - off - 12 || step > len - off)
			return sbx_err_set(e, SBX_ECORRUPT, "%s: record %u at "
			    "byte %zu overruns the file", what, r.tag, off);
		r.p = data + off + 12;
		if (img->nrec == cap) {
			cap *= 2;
			img->rec = xrealloc(img->rec, cap * sizeof(*img->rec));
		}
		img->rec[img->nrec++] = r;
		off += step;
	}
	return 0;
}

void
snap_image_free(struct snap_image *img)
{
	free(img->data);
	free(img->rec);
	memset(img, 0, sizeof(*img));
}

static json_t *
config_json(const struct vmm_config *c)
{
	json_t *j = json_pack("{s:s, s:s, s:I, s:i, s:b, s:I, s:b}",
	    "kernel", c->kernel, "cmdline", c->cmdline,
	    "memory", (json_int_t)c->memory, "vcpus", (int)c->vcpus,
	    "rng", c->rng, "cid", (json_int_t)c->cid, "disk_ro", c->disk_ro);

	if (c->initrd)
		json_object_set_new(j, "initrd", json_string(c->initrd));
	if (c->disk)
		json_object_set_new(j, "disk", json_string(c->disk));
	if (c->vsock)
		json_object_set_new(j, "vsock", json_string(c->vsock));
	if (c->net)	/* virtio-net and its egress policy */
		json_object_set_new(j, "net", json_string(c->net));
	if (c->balloon)	/* absent: restores without one, as before */
		json_object_set_new(j, "balloon", json_true());
	return j;
}

int
snap_capture(struct vmm *vm, struct sbx_buf *out, struct sbx_err *e)
{
	struct snap_mem sm = { vm->mem.size, vm->mem.low, vm->mem.high,
	    vm->mem.size };
	static const uint8_t zero[SNAP_HDR_SIZE];
	json_t *cfg;
	char *s;
	unsigned i;
	int r;

	if (!saved_cfg)
		return sbx_err_set(e, SBX_ENOTSUP, "this VM's configuration "
		    "is unknown: cannot snapshot it");
	sbx_buf_reset(out);
	sbx_buf_add(out, zero, sizeof(zero));
	cfg = config_json(saved_cfg);
	if (vm->data_disk)	/* absent: no data disk, as before */
		json_object_set_new(cfg, "data_disk",
		    datadisk_config_json(vm));
	s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(cfg);
	snap_rec_add(out, SNAP_T_CONFIG, 0, s, strlen(s));
	free(s);
	snap_rec_add(out, SNAP_T_MEM, 0, &sm, sizeof(sm));
	/* Devices first: saving them may still raise an interrupt. */
	snapstate_save_devices(vm, out);
	for (i = 0; i < vm->nvcpu; i++)
		if ((r = state_save_vcpu(vm->kvm_fd, vm->vm_fd, vm->vcpu[i].fd,
		    i, out, e)) < 0)
			return r;
	if ((r = state_save_vm(vm->vm_fd, out, e)) < 0)
		return r;
	header_fill(out);
	return 0;
}

static bool
page_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < GMEM_PAGE / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

/*
 * Writes RAM [start, start + len) to `fd` at file offset 0, skipping zero
 * pages (they stay holes); returns the bytes written.
 */
static int64_t
write_range(const struct gmem *m, uint64_t start, uint64_t len, int fd,
    struct sbx_err *e)
{
	const uint8_t *base = m->host + start;
	uint64_t off = 0, run, written = 0;

	while (off < len) {
		if (page_zero(base + off)) {
			off += GMEM_PAGE;
			continue;
		}
		for (run = off; run < len && !page_zero(base + run);
		    run += GMEM_PAGE)
			;
		while (off < run) {
			ssize_t w = pwrite(fd, base + off, run - off, off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return sbx_err_sys(e, "cannot write the memory "
				    "file");
			off += w;
			written += w;
		}
	}
	if (ftruncate(fd, len) < 0)
		return sbx_err_sys(e, "cannot size the memory file");
	return written;
}

/* True if RAM [start, start + len) is all zero pages. */
static bool
range_zero(const struct gmem *m, uint64_t start, uint64_t len)
{
	uint64_t off;

	for (off = 0; off < len; off += GMEM_PAGE)
		if (!page_zero(m->host + start + off))
			return false;
	return true;
}

/*
 * The chunked layout: DIR/memory.d/<offset as 16 hex digits>, one file per
 * `chunk` bytes of RAM that are not all zero (the last may be shorter).
 * The store keeps each as its own object, so a chunk that did not change
 * between two snapshots is stored once.
 *
 * A diff snapshot (bits != NULL) writes the changed pages of a chunk to
 * the page delta DIR/delta (delta.h) instead of the whole chunk, while
 * the chunk has few of them. The delta is cumulative: it holds every
 * page that moved into a delta since its chunk was last written whole
 * (delta_acc), so a restore applies exactly one delta over the chunks,
 * however long the chain of diffs. A chunk with more than 1/DELTA_DIV of
 * its pages in the delta is written whole again (and its pages leave the
 * delta), and the delta never exceeds DELTA_MAX_PAGES: both bound what
 * each later diff rewrites and what a restore reads.
 */
#define DELTA_DIV 4
#define DELTA_MAX_PAGES 4096	/* 16 MiB */

/*
 * Pages whose newest copy is in the last diff's delta (bit i = host page
 * i), or NULL after a full snapshot. Only a diff against this VMM's own
 * last snapshot uses it, and that one's manifest holds exactly these.
 */
static uint64_t *delta_acc;

static bool
page_set(const uint64_t *bits, uint64_t page)
{
	return bits && (bits[page / 64] >> (page % 64) & 1);
}

/* Pages of [start, start + len) that are in `bits` or `acc`. */
static uint64_t
range_count(const uint64_t *bits, const uint64_t *acc, uint64_t start,
    uint64_t len)
{
	uint64_t p, n = 0;

	for (p = start / GMEM_PAGE; p < (start + len) / GMEM_PAGE; p++)
		n += page_set(bits, p) || page_set(acc, p);
	return n;
}

/* What goes into one snapshot file (state, memory, a chunk, the delta). */
struct file_body {
	const struct gmem *m;
	uint64_t off, len;		/* memory or a chunk: RAM [off, +len) */
	const uint64_t *offs;		/* a delta: these pages */
	size_t n;
	const void *p;			/* the state: these bytes (m NULL) */
	size_t plen;
};

static int64_t
body_write(const struct file_body *b, int fd, struct sbx_err *e)
{
	size_t off = 0;

	if (b->offs)
		return delta_write(fd, b->m->host, b->m->size, b->offs, b->n,
		    e);
	if (b->m)
		return write_range(b->m, b->off, b->len, fd, e);
	while (off < b->plen) {
		ssize_t w = write(fd, (const char *)b->p + off, b->plen - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return sbx_err_sys(e, "cannot write the state file");
		off += (size_t)w;
	}
	return (int64_t)b->plen;
}

/*
 * Writes `b` as DIR/NAME through DIR/.NAME.tmp, fsync and rename, so a
 * crash leaves the whole file or none; the bytes written, or < 0.
 */
static int64_t
write_snap_file(const char *dir, const char *name, const struct file_body *b,
    struct sbx_err *e)
{
	char tmp[4200], path[4200];
	int64_t w;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return sbx_err_sys(e, "cannot create '%s'", tmp);
	w = body_write(b, fd, e);
	if (w < 0)
		r = (int)w;
	else if (fsync(fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", tmp);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s'", tmp);
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return w;
}

/*
 * The most delta pages a chunk may have and stay out of a rewrite: at
 * most 1/DELTA_DIV of a chunk, halved until the whole delta fits
 * DELTA_MAX_PAGES (0: every changed chunk is written whole).
 */
static uint64_t
delta_limit(const struct gmem *m, uint64_t chunk, const uint64_t *bits,
    const uint64_t *acc)
{
	uint64_t lim = chunk / GMEM_PAGE / DELTA_DIV, nch, *cnt, i, total;

	nch = (m->size + chunk - 1) / chunk;
	cnt = xcalloc(nch, sizeof(*cnt));
	for (i = 0; i < nch; i++) {
		uint64_t off = i * chunk;

		cnt[i] = range_count(bits, acc, off, m->size - off < chunk ?
		    m->size - off : chunk);
	}
	for (;;) {
		for (total = 0, i = 0; i < nch; i++)
			if (cnt[i] <= lim)
				total += cnt[i];
		if (total <= DELTA_MAX_PAGES || lim == 0)
			break;
		lim /= 2;
	}
	free(cnt);
	return lim;
}

/*
 * With `bits` (a diff against the last chunked snapshot, dirty.h), only
 * chunks with a changed page or pages in the delta are looked at: the
 * offsets of those written whole (or all zero now) go to `dirty`, the
 * others keep the parent's chunk and put their pages in DIR/delta.
 * *acc_out is the new delta_acc (NULL for a full snapshot), for the
 * caller to keep once the snapshot succeeded.
 */
static int
write_chunks(const struct gmem *m, const char *dir, uint64_t chunk,
    const uint64_t *bits, json_t *dirty, int64_t *bytes, unsigned *nfiles,
    uint64_t *dpages, uint64_t **acc_out, struct sbx_err *e)
{
	char d[4096], path[4200];
	uint64_t off, lim = 0, *offs = NULL, *acc = NULL;
	size_t noffs = 0, cap = 0;
	int r = 0;

	*bytes = 0;
	*nfiles = 0;
	*dpages = 0;
	*acc_out = NULL;
	snprintf(d, sizeof(d), "%s/memory.d", dir);
	if (mkdir(d, 0700) < 0 && errno != EEXIST)
		return sbx_err_sys(e, "cannot create '%s'", d);
	if (bits) {
		lim = delta_limit(m, chunk, bits, delta_acc);
		acc = xcalloc(gmem_dirty_words(m), sizeof(*acc));
	}
	for (off = 0; off < m->size && r == 0; off += chunk) {
		uint64_t len = m->size - off < chunk ? m->size - off : chunk;
		uint64_t n = 0, p;
		int64_t w;

		snprintf(path, sizeof(path), "%s/%016llx", d,
		    (unsigned long long)off);
		if (bits) {
			n = range_count(bits, delta_acc, off, len);
			if (n == 0)
				continue;
		}
		if (bits && n <= lim && !range_zero(m, off, len)) {
			/* Few pages: they go to the delta, the chunk stays. */
			for (p = off / GMEM_PAGE; p < (off + len) / GMEM_PAGE;
			    p++) {
				if (!page_set(bits, p) && !page_set(delta_acc, p))
					continue;
				if (noffs == cap) {
					cap = cap ? cap * 2 : 1024;
					offs = xrealloc(offs, cap *
					    sizeof(*offs));
				}
				offs[noffs++] = p * GMEM_PAGE;
				acc[p / 64] |= 1ULL << (p % 64);
			}
			continue;
		}
		if (bits)
			json_array_append_new(dirty, json_integer(
			    (json_int_t)off));
		if (range_zero(m, off, len)) {
			unlink(path);
			continue;
		}
		{
			struct file_body b = { .m = m, .off = off, .len = len };
			char name[17];

			snprintf(name, sizeof(name), "%016llx",
			    (unsigned long long)off);
			w = write_snap_file(d, name, &b, e);
		}
		if (w < 0) {
			r = (int)w;
			break;
		}
		*bytes += w;
		(*nfiles)++;
	}
	snprintf(path, sizeof(path), "%s/delta", dir);
	unlink(path);	/* a delta from an earlier snapshot in `dir` */
	if (r == 0 && noffs) {
		struct file_body b = { .m = m, .offs = offs, .n = noffs };
		int64_t w = write_snap_file(dir, "delta", &b, e);

		if (w < 0) {
			r = -1;
		} else {
			*bytes += w;
			(*nfiles)++;
			*dpages = noffs;
		}
	}
	free(offs);
	if (r == 0) {
		int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
		*acc_out = acc;
	} else {
		free(acc);
	}
	return r;
}

static uint64_t
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return ((t.tv_sec - t0->tv_sec) * 1000000000LL +
	    (t.tv_nsec - t0->tv_nsec)) / 1000000;
}

/*
 * Snapshot to `dir`: memory first, then state (its presence = complete).
 * `chunk` 0 writes one DIR/memory file, else DIR/memory.d/ (write_chunks);
 * then, when `since` is the mark of the last chunked snapshot (dirty.h),
 * only the chunks that changed since are written.
 */
static json_t *
snap_save(struct vmm *vm, const char *dir, uint64_t chunk, const char *since,
    const char *disk_since)
{
	struct datadisk_snap ds = { 0 };
	struct sbx_err e = { 0 };
	struct sbx_buf st = SBX_BUF_INIT;
	struct timespec t0;
	int64_t mbytes = 0, sbytes = 0;
	uint64_t pause_ms, *bits = NULL, *acc = NULL, dpages = 0;
	unsigned nfiles = 1;
	json_t *dirty = json_array(), *rep;
	const char *mark;
	int dfd, r;
	char path[4096];

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		json_decref(dirty);
		return json_pack("{s:b, s:s}", "ok", 0, "error",
		    "cannot create the snapshot directory");
	}
	snprintf(path, sizeof(path), "%s/state", dir);
	unlink(path);	/* an old state must never pair with new memory */
	snprintf(path, sizeof(path), "%s/delta", dir);
	unlink(path);	/* nor an old page delta */
	snprintf(path, sizeof(path), "%s/disk", dir);
	unlink(path);	/* nor an old disk layer */
	if (vmm_pause(vm, 5000, &e) < 0)
		goto fail;
	r = snap_capture(vm, &st, &e);
	mark = dirty_mark();
	if (r == 0 && chunk && since && mark && !strcmp(since, mark))
		r = dirty_collect(vm, &bits, &e);
	if (r == 0 && chunk) {
		r = write_chunks(&vm->mem, dir, chunk, bits, dirty, &mbytes,
		    &nfiles, &dpages, &acc, &e);
	} else if (r == 0) {
		struct file_body b = { .m = &vm->mem, .len = vm->mem.size };

		mbytes = write_snap_file(dir, "memory", &b, &e);
		r = mbytes < 0 ? (int)mbytes : 0;
	}
	if (r == 0 && getenv("SBX_VMM_MEMHASH")) {
		char h[GMEM_HASH_TEXT];

		gmem_hash_text(&vm->mem, h);	/* still paused */
		vmm_log("snapshot %s: memory hash %s", dir, h);
	}
	if (r == 0 && chunk)
		r = dirty_start(vm, &e);	/* the next diff is from here */
	if (r == 0 && chunk) {
		free(delta_acc);
		delta_acc = acc;	/* what the next diff's delta carries */
		acc = NULL;
	} else if (r < 0 && bits) {
		dirty_forget();	/* the logs are spent: no diff from the mark */
	}
	free(acc);
	/*
	 * The data disk: DIR/disk, then the state (still paused, so no
	 * write lands in the top between the two), and only then the top
	 * becomes a layer of the stack and is emptied.
	 */
	if (r == 0 && vm->data_disk) {
		struct file_body b = { .p = st.buf, .plen = st.len };

		snprintf(path, sizeof(path), "%s/disk", dir);
		r = datadisk_freeze(vm, path, disk_since, &ds, &e);
		if (r == 0 && (sbytes = write_snap_file(dir, "state", &b,
		    &e)) < 0)
			r = (int)sbytes;
		if (r == 0)
			r = datadisk_commit(vm, &ds, &e);
		datadisk_release(&ds);
		if (r < 0) {	/* the snapshot is incomplete: no state */
			snprintf(path, sizeof(path), "%s/state", dir);
			unlink(path);
		}
	}
	vmm_resume(vm);
	if (r < 0)
		goto fail;
	pause_ms = ms_since(&t0);
	if (!vm->data_disk) {
		struct file_body b = { .p = st.buf, .plen = st.len };

		if ((sbytes = write_snap_file(dir, "state", &b, &e)) < 0)
			goto fail;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	sbx_buf_release(&st);
	rep = json_pack("{s:b, s:I, s:I, s:I, s:I, s:i, s:b}", "ok", 1,
	    "memory_bytes", (json_int_t)mbytes, "state_bytes",
	    (json_int_t)sbytes, "pause_ms", (json_int_t)pause_ms,
	    "ms", (json_int_t)ms_since(&t0), "memory_files", (int)nfiles,
	    "diff", bits != NULL);
	if (chunk)
		json_object_set_new(rep, "mark", json_string(dirty_mark()));
	if (vm->data_disk)
		datadisk_reply(rep, &ds);
	if (bits) {
		size_t i, words = gmem_dirty_words(&vm->mem);
		json_int_t pages = 0;

		for (i = 0; i < words; i++)
			pages += __builtin_popcountll(bits[i]);
		json_object_set(rep, "dirty", dirty);
		json_object_set_new(rep, "dirty_pages", json_integer(pages));
		json_object_set_new(rep, "delta_pages",
		    json_integer((json_int_t)dpages));
	}
	json_decref(dirty);
	free(bits);
	return rep;
fail:
	json_decref(dirty);
	free(bits);
	sbx_buf_release(&st);
	return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
}

json_t *
snap_control(struct vmm *vm, const char *op, json_t *req)
{
	if (!strcmp(op, "snapshot")) {
		const char *dir = json_string_value(json_object_get(req,
		    "dir"));

		json_t *c = json_object_get(req, "chunk");
		json_int_t chunk = json_integer_value(c);

		if (!dir || !*dir)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "snapshot needs a 'dir' string");
		if (c && (!json_is_integer(c) || chunk < 65536 ||
		    chunk > (1LL << 30) || (chunk & (chunk - 1))))
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "'chunk' must be a power of two from 65536 to "
			    "1073741824");
		if (json_object_get(req, "disk_since") &&
		    !json_is_string(json_object_get(req, "disk_since")))
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "'disk_since' must be a string");
		return snap_save(vm, dir, c ? (uint64_t)chunk : 0,
		    json_string_value(json_object_get(req, "since")),
		    json_string_value(json_object_get(req, "disk_since")));
	}
	if (!strcmp(op, "fork"))
		return snapfork_control(vm, req);
	return NULL;
}
