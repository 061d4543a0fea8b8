/*
 * virtio_rng.c - entropy device: fills device-writable buffers from
 * getrandom() (devices.h).
 */
#include <stdlib.h>
#include <sys/random.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/devices.h"
#include "kvm/vmm/virtio.h"
#include "core/banned.h"

struct rng {
	struct virtio_dev dev;
	struct virtq_chain chain;
};

static void
rng_notify(struct virtio_dev *d, unsigned q)
{
	struct rng *r = d->priv;
	int done = 0;

	while (virtio_pop(d, q, &r->chain) == VIRTQ_OK) {
		uint64_t total = 0;
		unsigned i;

		for (i = r->chain.nread; i < r->chain.nseg; i++) {
			struct virtq_seg *s = &r->chain.seg[i];
			ssize_t n = getrandom(s->host, s->len, 0);

			if (n > 0)
				total += n;
			if (n != (ssize_t)s->len)
				break;
		}
		virtq_push(&d->vq[q], d->mem, r->chain.head, (uint32_t)total);
		done++;
	}
	if (done)
		virtio_queue_notify_guest(d, q);
}

static void
rng_free(struct virtio_dev *d)
{
	free(d->priv);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.num_queues = 1,
	.queue_max = 64,
	.queue_notify = rng_notify,
	.free = rng_free,
};

struct virtio_dev *
virtio_rng_new(struct sbx_err *e)
{
	struct rng *r = xcalloc(1, sizeof(*r));

	(void)e;
	virtio_dev_init(&r->dev, &rng_ops, r);
	return &r->dev;
}
