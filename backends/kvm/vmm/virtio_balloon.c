/*
 * virtio_balloon.c - memory balloon: inflate gives guest pages back to the
 * host, deflate lets the guest have them again (virtio_balloon.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/virtio_balloon.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define Q_INFLATE 0
#define Q_DEFLATE 1
#define PFN_BATCH 256		/* PFNs read from a chain at a time */

struct balloon {
	struct virtio_dev dev;
	uint64_t mem_pages;	/* guest RAM in 4 KiB pages */
	struct balloon_info st;
	bool madvise_failed;	/* logged once */
	struct virtq_chain chain;
};

/* A run of host-contiguous pages waiting for one madvise(). */
struct run {
	uint8_t *start;
	uint64_t len;
};

/* Gives a run's pages back to the host. */
static void
run_flush(struct balloon *b, struct run *r)
{
	if (!r->len)
		return;
	if (madvise(r->start, r->len, MADV_DONTNEED) == 0) {
		b->st.released += r->len / BALLOON_PAGE;
	} else if (!b->madvise_failed) {
		b->madvise_failed = true;
		vmm_log("virtio-balloon: madvise(MADV_DONTNEED) of %llu "
		    "bytes failed: %s (pages stay resident)",
		    (unsigned long long)r->len, strerror(errno));
	}
	r->len = 0;
}

/* One inflate PFN: checked against guest RAM, merged into the run. */
static void
inflate_pfn(struct balloon *b, uint32_t pfn, struct run *r)
{
	uint8_t *p = gmem_ptr(b->dev.mem, (uint64_t)pfn * BALLOON_PAGE,
	    BALLOON_PAGE);

	if (!p) {
		b->st.bad_pfns++;
		return;
	}
	b->st.inflated++;
	if (r->len && p == r->start + r->len) {
		r->len += BALLOON_PAGE;
		return;
	}
	run_flush(b, r);
	r->start = p;
	r->len = BALLOON_PAGE;
}

/*
 * Walks the PFN array of one chain: whole le32 entries of its readable
 * part (trailing bytes of a short buffer count as one bad PFN).
 */
static void
chain_pfns(struct balloon *b, unsigned q, const struct virtq_chain *c)
{
	uint32_t pfn[PFN_BATCH];
	uint64_t off = 0, n, i;
	struct run r = { NULL, 0 };

	while (off + 4 <= c->rlen) {
		n = (c->rlen - off) / 4;
		if (n > PFN_BATCH)
			n = PFN_BATCH;
		n = virtq_chain_read(c, off, pfn, n * 4) / 4;
		if (n == 0)
			break;
		off += n * 4;
		for (i = 0; i < n; i++) {
			if (q == Q_INFLATE)
				inflate_pfn(b, pfn[i], &r);
			else if (gmem_valid(b->dev.mem,
			    (uint64_t)pfn[i] * BALLOON_PAGE, BALLOON_PAGE))
				b->st.deflated++;
			else
				b->st.bad_pfns++;
		}
	}
	run_flush(b, &r);
	if (off < c->rlen)
		b->st.bad_pfns++;
}

static void
balloon_notify(struct virtio_dev *d, unsigned q)
{
	struct balloon *b = d->priv;
	int done = 0;

	while (virtio_pop(d, q, &b->chain) == VIRTQ_OK) {
		chain_pfns(b, q, &b->chain);
		virtq_push(&d->vq[q], d->mem, b->chain.head, 0);
		done++;
	}
	if (done)
		virtio_queue_notify_guest(d, q);
}

/* Config: le32 num_pages at 0, le32 actual at 4 (x86 is little endian). */
static void
balloon_config_read(struct virtio_dev *d, uint32_t off, void *data,
    uint32_t len)
{
	struct balloon *b = d->priv;
	uint32_t cfg[2] = { b->st.num_pages, b->st.actual };

	if (off >= sizeof(cfg))
		return;
	if (len > sizeof(cfg) - off)
		len = sizeof(cfg) - off;
	memcpy(data, (uint8_t *)cfg + off, len);
}

/* Only `actual` is the driver's to write; byte-wise, any width. */
static void
balloon_config_write(struct virtio_dev *d, uint32_t off, const void *data,
    uint32_t len)
{
	struct balloon *b = d->priv;
	uint32_t cfg[2] = { b->st.num_pages, b->st.actual };
	uint32_t i;

	for (i = 0; i < len; i++)
		if (off + i >= 4 && off + i < sizeof(cfg))
			((uint8_t *)cfg)[off + i] = ((const uint8_t *)data)[i];
	b->st.actual = cfg[1];
}

/* A reset driver holds no balloon pages (Linux empties it first). */
static void
balloon_reset(struct virtio_dev *d)
{
	struct balloon *b = d->priv;

	b->st.actual = 0;
}

static void
balloon_free(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.num_queues = 2,
	.queue_max = 128,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_notify,
	.reset = balloon_reset,
	.free = balloon_free,
};

struct virtio_dev *
virtio_balloon_new(uint64_t mem_bytes, struct sbx_err *e)
{
	struct balloon *b;

	if (mem_bytes / BALLOON_PAGE > UINT32_MAX) {
		sbx_err_set(e, SBX_EINVAL, "a balloon cannot cover %llu bytes "
		    "of guest memory", (unsigned long long)mem_bytes);
		return NULL;
	}
	b = xcalloc(1, sizeof(*b));
	b->mem_pages = mem_bytes / BALLOON_PAGE;
	virtio_dev_init(&b->dev, &balloon_ops, b);
	return &b->dev;
}

int
virtio_balloon_set_target(struct virtio_dev *d, uint64_t pages,
    struct sbx_err *e)
{
	struct balloon *b = d->priv;

	if (pages > b->mem_pages)
		return sbx_err_set(e, SBX_EINVAL, "a balloon of %llu pages is "
		    "larger than guest memory (%llu pages)",
		    (unsigned long long)pages,
		    (unsigned long long)b->mem_pages);
	pthread_mutex_lock(&d->lock);
	if (b->st.num_pages != pages) {
		b->st.num_pages = (uint32_t)pages;
		if (d->status & VIRTIO_STAT_DRIVER_OK)
			virtio_config_changed(d);
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

void
virtio_balloon_info(struct virtio_dev *d, struct balloon_info *out)
{
	struct balloon *b = d->priv;

	pthread_mutex_lock(&d->lock);
	*out = b->st;
	pthread_mutex_unlock(&d->lock);
}

int
virtio_balloon_restore(struct virtio_dev *d, const struct balloon_info *in,
    struct sbx_err *e)
{
	struct balloon *b = d->priv;

	if (in->num_pages > b->mem_pages || in->actual > b->mem_pages)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot balloon state "
		    "(target %u pages, actual %u) exceeds guest memory (%llu "
		    "pages)", in->num_pages, in->actual,
		    (unsigned long long)b->mem_pages);
	pthread_mutex_lock(&d->lock);
	b->st = *in;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

struct virtio_dev *
virtio_balloon_find(struct vmm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nvdev; i++)
		if (vm->vdev[i]->ops == &balloon_ops)
			return vm->vdev[i];
	return NULL;
}

/* Guest-usable bytes when `pages` are in the balloon (never negative). */
static uint64_t
usable(uint64_t mem_bytes, uint64_t pages)
{
	uint64_t out = pages * BALLOON_PAGE;

	return out >= mem_bytes ? 0 : mem_bytes - out;
}

json_t *
virtio_balloon_json(struct virtio_dev *d, uint64_t mem_bytes)
{
	struct balloon_info st;
	bool driver;

	virtio_balloon_info(d, &st);
	pthread_mutex_lock(&d->lock);
	driver = (d->status & VIRTIO_STAT_DRIVER_OK) && !d->failed;
	pthread_mutex_unlock(&d->lock);
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "driver", driver, "memory", (json_int_t)mem_bytes,
	    "target", (json_int_t)usable(mem_bytes, st.num_pages),
	    "actual", (json_int_t)usable(mem_bytes, st.actual),
	    "target_pages", (json_int_t)st.num_pages,
	    "actual_pages", (json_int_t)st.actual,
	    "inflated_pages", (json_int_t)st.inflated,
	    "deflated_pages", (json_int_t)st.deflated,
	    "released_pages", (json_int_t)st.released,
	    "bad_pfns", (json_int_t)st.bad_pfns);
}

json_t *
virtio_balloon_control(struct vmm *vm, const char *op, json_t *req)
{
	struct virtio_dev *d;
	struct sbx_err e = { 0 };
	json_t *t, *rep;
	json_int_t target;
	uint64_t size = vm->mem.size;

	if (strcmp(op, "balloon"))
		return NULL;
	d = virtio_balloon_find(vm);
	if (!d)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "this VM has "
		    "no balloon device (started without --balloon)");
	t = json_object_get(req, "target");
	if (t) {
		target = json_integer_value(t);
		if (!json_is_integer(t) || target < (json_int_t)
		    BALLOON_MIN_TARGET || (uint64_t)target > size) {
			char msg[160];

			snprintf(msg, sizeof(msg), "'target' must be an "
			    "integer from %llu to %llu (bytes of guest memory; "
			    "the VM booted with %llu)",
			    (unsigned long long)BALLOON_MIN_TARGET,
			    (unsigned long long)size,
			    (unsigned long long)size);
			return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
		}
		if (virtio_balloon_set_target(d, (size - (uint64_t)target) /
		    BALLOON_PAGE, &e) < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
	}
	rep = virtio_balloon_json(d, size);
	json_object_set_new(rep, "ok", json_true());
	return rep;
}
