/*
 * virtq.c - split virtqueue parsing over untrusted guest memory (virtq.h).
 */
#include <string.h>

#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtq.h"
#include "core/banned.h"

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void
virtq_reset(struct virtq *q)
{
	uint16_t max = q->num_max;

	memset(q, 0, sizeof(*q));
	q->num_max = max;
	q->num = max;
}

int
virtq_check(const struct virtq *q, const struct gmem *m, const char **why)
{
	uint64_t n = q->num;

	if (n == 0 || n > q->num_max || (n & (n - 1))) {
		*why = "queue size is not a power of two within QueueNumMax";
		return -1;
	}
	if ((q->desc & 15) || !gmem_valid(m, q->desc, 16 * n)) {
		*why = "descriptor table outside guest memory or misaligned";
		return -1;
	}
	if ((q->avail & 1) || !gmem_valid(m, q->avail, 6 + 2 * n)) {
		*why = "driver area outside guest memory or misaligned";
		return -1;
	}
	if ((q->used & 3) || !gmem_valid(m, q->used, 6 + 8 * n)) {
		*why = "device area outside guest memory or misaligned";
		return -1;
	}
	return 0;
}

/* Loads avail->idx with acquire semantics (pairs with the driver). */
static int
avail_idx(const struct virtq *q, const struct gmem *m, uint16_t *idx)
{
	uint16_t *p = gmem_ptr(m, q->avail + 2, 2);

	if (!p)
		return -1;
	*idx = __atomic_load_n(p, __ATOMIC_ACQUIRE);
	return 0;
}

int
virtq_pop(struct virtq *q, struct gmem *m, struct virtq_chain *c,
    const char **why)
{
	uint16_t idx, head, i;
	struct vring_desc d;
	unsigned n;

	*why = NULL;
	if (avail_idx(q, m, &idx) < 0) {
		*why = "driver area outside guest memory";
		return VIRTQ_EBAD;
	}
	if (idx == q->last_avail)
		return VIRTQ_EMPTY;
	if ((uint16_t)(idx - q->last_avail) > q->num) {
		*why = "available index moved past the queue size";
		return VIRTQ_EBAD;
	}
	if (gmem_read(m, q->avail + 4 + 2 * (uint64_t)(q->last_avail % q->num),
	    &head, 2) < 0) {
		*why = "driver area outside guest memory";
		return VIRTQ_EBAD;
	}
	if (head >= q->num) {
		*why = "available ring names a descriptor past the queue size";
		return VIRTQ_EBAD;
	}
	c->head = head;
	c->nseg = c->nread = 0;
	c->rlen = c->wlen = 0;
	i = head;
	for (n = 0;; n++) {
		struct virtq_seg *s;

		if (n >= q->num) {
			*why = "descriptor chain longer than the queue (loop?)";
			return VIRTQ_EBAD;
		}
		if (gmem_read(m, q->desc + 16 * (uint64_t)i, &d, sizeof(d)) < 0) {
			*why = "descriptor table outside guest memory";
			return VIRTQ_EBAD;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			*why = "indirect descriptor but INDIRECT_DESC not offered";
			return VIRTQ_EBAD;
		}
		s = &c->seg[c->nseg];
		s->gpa = d.addr;
		s->len = d.len;
		s->write = d.flags & VRING_DESC_F_WRITE;
		if (s->write)
			s->host = gmem_ptr_w(m, d.addr, d.len);
		else
			s->host = gmem_ptr(m, d.addr, d.len);
		if (!s->host) {
			*why = "descriptor buffer outside guest memory";
			return VIRTQ_EBAD;
		}
		if (!s->write) {
			if (c->nseg != c->nread) {
				*why = "readable descriptor after a writable one";
				return VIRTQ_EBAD;
			}
			c->nread++;
			c->rlen += d.len;
		} else {
			c->wlen += d.len;
		}
		c->nseg++;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->num) {
			*why = "descriptor next index past the queue size";
			return VIRTQ_EBAD;
		}
		i = d.next;
	}
	q->last_avail++;
	return VIRTQ_OK;
}

int
virtq_push(struct virtq *q, struct gmem *m, uint16_t head, uint32_t len)
{
	uint32_t elem[2] = { head, len };
	uint16_t *idx;

	if (gmem_write(m, q->used + 4 + 8 * (uint64_t)(q->used_idx % q->num),
	    elem, sizeof(elem)) < 0)
		return -1;
	idx = gmem_ptr_w(m, q->used + 2, 2);
	if (!idx)
		return -1;
	q->used_idx++;
	__atomic_store_n(idx, q->used_idx, __ATOMIC_RELEASE);
	return 0;
}

bool
virtq_want_irq(const struct virtq *q, const struct gmem *m)
{
	uint16_t flags;

	/* Order the used->idx store before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (gmem_read(m, q->avail, &flags, 2) < 0)
		return true;
	return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
}

uint64_t
virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst,
    uint64_t len)
{
	uint64_t done = 0;
	unsigned i;

	for (i = 0; i < c->nread && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((char *)dst + done, (const char *)s->host + off, n);
		done += n;
		off = 0;
	}
	return done;
}

uint64_t
virtq_chain_write(struct virtq_chain *c, uint64_t off, const void *src,
    uint64_t len)
{
	uint64_t done = 0;
	unsigned i;

	for (i = c->nread; i < c->nseg && done < len; i++) {
		struct virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((char *)s->host + off, (const char *)src + done, n);
		done += n;
		off = 0;
	}
	return done;
}
