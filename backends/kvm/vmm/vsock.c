/*
 * vsock.c - the virtio-vsock device: moves packets between the virtqueues
 * and the connection logic of vsock-mux.c (see vsock.h).
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/vsock-mux.h"
#include "kvm/vmm/vsock.h"
#include "core/banned.h"

#define Q_RX 0
#define Q_TX 1
#define Q_EVENT 2
#define VSOCK_EVENT_TRANSPORT_RESET 0

struct vsock_dev;

/* One loop registration: which device, and the mux's cookie. */
struct vwatch {
	struct vsock_dev *v;
	void *cookie;
	bool used;
};

struct vsock_dev {
	struct virtio_dev dev;
	struct vsock_mux *mux;
	struct loop *loop;
	uint64_t cid;
	bool reset_event;		/* a TRANSPORT_RESET is owed */
	uint64_t dropped;		/* malformed TX packets */
	struct virtq_chain chain;
	uint8_t pkt[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];
	struct vwatch w[VSOCK_MAX_CONNS + 1];
};

/* Hands the guest every packet the mux has, while RX buffers last. */
static void
rx_fill(struct vsock_dev *v)
{
	struct virtio_dev *d = &v->dev;
	int n = 0;

	while (virtio_queue_live(d, Q_RX) && vsock_mux_rx_pending(v->mux)) {
		size_t cap, len;

		if (virtio_pop(d, Q_RX, &v->chain) != VIRTQ_OK)
			break;
		cap = v->chain.wlen < sizeof(v->pkt) ? v->chain.wlen :
		    sizeof(v->pkt);
		if (cap < VSOCK_HDR_SIZE + 1) {
			virtio_fail(d, "rx buffer of %llu bytes is smaller "
			    "than a vsock packet",
			    (unsigned long long)v->chain.wlen);
			return;
		}
		len = vsock_mux_rx(v->mux, v->pkt, cap);
		virtq_chain_write(&v->chain, 0, v->pkt, len);
		virtq_push(&d->vq[Q_RX], d->mem, v->chain.head, (uint32_t)len);
		n++;
	}
	if (n)
		virtio_queue_notify_guest(d, Q_RX);
}

static void
tx_drain(struct vsock_dev *v)
{
	struct virtio_dev *d = &v->dev;
	int n = 0;

	while (virtio_pop(d, Q_TX, &v->chain) == VIRTQ_OK) {
		uint64_t len = virtq_chain_read(&v->chain, 0, v->pkt,
		    sizeof(v->pkt));
		const char *why = NULL;

		if (vsock_mux_tx(v->mux, v->pkt, (size_t)len, &why) < 0 &&
		    v->dropped++ == 0)
			vmm_log("vsock: dropped a packet: %s", why);
		virtq_push(&d->vq[Q_TX], d->mem, v->chain.head, 0);
		n++;
	}
	if (n)
		virtio_queue_notify_guest(d, Q_TX);
}

/* Delivers a pending TRANSPORT_RESET event if the driver gave a buffer. */
static void
event_send(struct vsock_dev *v)
{
	struct virtio_dev *d = &v->dev;
	uint8_t ev[4] = { VSOCK_EVENT_TRANSPORT_RESET, 0, 0, 0 };

	if (!v->reset_event || !virtio_queue_live(d, Q_EVENT))
		return;
	if (virtio_pop(d, Q_EVENT, &v->chain) != VIRTQ_OK)
		return;
	virtq_chain_write(&v->chain, 0, ev, sizeof(ev));
	virtq_push(&d->vq[Q_EVENT], d->mem, v->chain.head, sizeof(ev));
	v->reset_event = false;
	virtio_queue_notify_guest(d, Q_EVENT);
}

static void
vsock_notify(struct virtio_dev *d, unsigned q)
{
	struct vsock_dev *v = d->priv;

	if (q == Q_TX)
		tx_drain(v);
	else if (q == Q_EVENT)
		event_send(v);
	rx_fill(v);
}

static void
vsock_config_read(struct virtio_dev *d, uint32_t off, void *data,
    uint32_t len)
{
	struct vsock_dev *v = d->priv;
	uint8_t cfg[8];
	uint32_t i;

	for (i = 0; i < 8; i++)
		cfg[i] = (v->cid >> (8 * i)) & 0xff;
	memset(data, 0, len);
	if (off < sizeof(cfg))
		memcpy(data, cfg + off, len < sizeof(cfg) - off ? len :
		    sizeof(cfg) - off);
}

static int
vsock_activate(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;

	rx_fill(v);
	event_send(v);
	return 0;
}

static void
vsock_reset(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;

	vsock_mux_reset(v->mux);
	v->reset_event = false;
}

static void
vsock_free(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;

	vsock_mux_free(v->mux);
	free(v);
}

/* A watched socket is ready: runs on the I/O thread. */
static void
on_socket(void *arg, uint32_t events)
{
	struct vwatch *w = arg;
	struct vsock_dev *v = w->v;

	pthread_mutex_lock(&v->dev.lock);
	vsock_mux_on_host(v->mux, w->cookie, events);
	rx_fill(v);
	pthread_mutex_unlock(&v->dev.lock);
}

static int
io_watch(void *owner, int fd, uint32_t events, void *cookie)
{
	struct vsock_dev *v = owner;
	struct vwatch *w = NULL;
	size_t i;

	if (!v->loop)
		return 0;
	for (i = 0; i < sizeof(v->w) / sizeof(v->w[0]); i++) {
		if (v->w[i].used && v->w[i].cookie == cookie) {
			w = &v->w[i];
			break;
		}
		if (!v->w[i].used && !w)
			w = &v->w[i];
	}
	if (!w)
		return -1;
	w->v = v;
	w->cookie = cookie;
	w->used = true;
	return loop_add(v->loop, fd, events, on_socket, w);
}

static int
io_modify(void *owner, int fd, uint32_t events)
{
	struct vsock_dev *v = owner;

	return v->loop ? loop_mod(v->loop, fd, events) : 0;
}

static void
io_unwatch(void *owner, int fd)
{
	struct vsock_dev *v = owner;

	if (v->loop)
		loop_del(v->loop, fd);
}

static const struct vsock_mux_ops mux_ops = {
	.watch = io_watch,
	.modify = io_modify,
	.unwatch = io_unwatch,
};

static const struct virtio_dev_ops vsock_ops = {
	.name = "vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.num_queues = 3,
	.queue_max = 256,
	.config_read = vsock_config_read,
	.queue_notify = vsock_notify,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.free = vsock_free,
};

struct virtio_dev *
virtio_vsock_new(uint64_t cid, const char *uds_path, struct loop *loop,
    struct sbx_err *e)
{
	struct vsock_dev *v = xcalloc(1, sizeof(*v));

	v->cid = cid;
	v->loop = loop;
	virtio_dev_init(&v->dev, &vsock_ops, v);
	v->mux = vsock_mux_new(cid, uds_path, &mux_ops, v, e);
	if (!v->mux) {
		free(v);
		return NULL;
	}
	return &v->dev;
}

void
virtio_vsock_transport_reset(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;

	pthread_mutex_lock(&d->lock);
	vsock_mux_reset(v->mux);
	v->reset_event = true;
	event_send(v);
	pthread_mutex_unlock(&d->lock);
}

int
virtio_vsock_rebind(struct virtio_dev *d, const char *uds_path,
    struct sbx_err *e)
{
	struct vsock_dev *v = d->priv;
	int r;

	pthread_mutex_lock(&d->lock);
	vsock_mux_reset(v->mux);
	r = vsock_mux_rebind(v->mux, uds_path, e);
	v->reset_event = true;
	event_send(v);
	pthread_mutex_unlock(&d->lock);
	return r;
}

uint64_t
virtio_vsock_nopened(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;
	uint64_t n;

	pthread_mutex_lock(&d->lock);
	n = vsock_mux_nopened(v->mux);
	pthread_mutex_unlock(&d->lock);
	return n;
}

unsigned
virtio_vsock_nconns(struct virtio_dev *d)
{
	struct vsock_dev *v = d->priv;
	unsigned n;

	pthread_mutex_lock(&d->lock);
	n = vsock_mux_nconns(v->mux);
	pthread_mutex_unlock(&d->lock);
	return n;
}
