/*
 * virtio_net.c - virtio-net over libslirp with an egress policy
 * (virtio_net.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/net_policy.h"
#include "kvm/vmm/net_slirp.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/virtio_net.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define Q_RX 0
#define Q_TX 1
#define VIRTIO_NET_F_MAC 5
#define NET_HDR_LEN 12		/* virtio_net_hdr_v1 */
#define FRAME_MAX 65536		/* no TSO: frames are at most MTU + 14 */

struct vnet {
	struct virtio_dev dev;
	struct net_slirp *slirp;
	struct net_policy policy;
	struct loop *loop;
	pthread_t io_thread;
	int kick_fd;		/* eventfd: transmit work for the I/O thread */
	uint8_t mac[6];
	struct virtq_chain rxc, txc;
	uint8_t frame[NET_HDR_LEN + FRAME_MAX];
	uint8_t reply[NET_REPLY_MAX];
	/* Counters (stats, logs). */
	uint64_t rx_frames, rx_dropped, tx_frames, tx_dropped, denied;
};

/* slirp -> guest: one frame into one rx chain, or dropped. */
static void
net_to_guest(void *arg, const uint8_t *frame, size_t len)
{
	struct vnet *v = arg;
	struct virtio_dev *d = &v->dev;
	uint8_t hdr[NET_HDR_LEN] = { 0 };
	int r;

	/* DNS answers teach domain rules the guest's addresses. */
	if (v->policy.ndom)
		net_snoop_rx(&v->policy, frame, len, sbx_clock_ms());
	pthread_mutex_lock(&d->lock);
	if (!virtio_queue_live(d, Q_RX) ||
	    (r = virtio_pop(d, Q_RX, &v->rxc)) != VIRTQ_OK) {
		v->rx_dropped++;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (v->rxc.wlen < NET_HDR_LEN + len) {
		/* A buffer too small for the frame: give it back empty. */
		v->rx_dropped++;
		virtq_push(&d->vq[Q_RX], d->mem, v->rxc.head, 0);
	} else {
		hdr[10] = 1;		/* num_buffers, little endian */
		virtq_chain_write(&v->rxc, 0, hdr, NET_HDR_LEN);
		virtq_chain_write(&v->rxc, NET_HDR_LEN, frame, len);
		virtq_push(&d->vq[Q_RX], d->mem, v->rxc.head,
		    (uint32_t)(NET_HDR_LEN + len));
		v->rx_frames++;
	}
	virtio_queue_notify_guest(d, Q_RX);
	pthread_mutex_unlock(&d->lock);
}

/* Takes every frame the guest queued for sending (I/O thread, locked). */
static void
tx_drain(struct vnet *v)
{
	struct virtio_dev *d = &v->dev;
	int n = 0;

	while (virtio_pop(d, Q_TX, &v->txc) == VIRTQ_OK) {
		uint64_t len = virtq_chain_read(&v->txc, 0, v->frame,
		    sizeof(v->frame));
		size_t rlen;

		virtq_push(&d->vq[Q_TX], d->mem, v->txc.head, 0);
		n++;
		if (len <= NET_HDR_LEN || v->txc.rlen > sizeof(v->frame)) {
			v->tx_dropped++;
			continue;
		}
		len -= NET_HDR_LEN;
		switch (net_filter_tx(&v->policy, v->frame + NET_HDR_LEN,
		    (size_t)len, v->reply, &rlen)) {
		case NET_PASS:
			v->tx_frames++;
			net_slirp_input(v->slirp, v->frame + NET_HDR_LEN,
			    (size_t)len);
			break;
		case NET_REPLY:
			v->denied++;
			net_to_guest(v, v->reply, rlen);
			break;
		case NET_DROP:
			v->tx_dropped++;
			break;
		}
	}
	if (n) {
		virtio_queue_notify_guest(d, Q_TX);
		net_slirp_sync(v->slirp);
	}
}

/* The transmit eventfd: work handed over from another thread. */
static void
on_kick(void *arg, uint32_t events)
{
	struct vnet *v = arg;
	uint64_t n;

	(void)events;
	if (read(v->kick_fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	pthread_mutex_lock(&v->dev.lock);
	tx_drain(v);
	pthread_mutex_unlock(&v->dev.lock);
}

static void
vnet_notify(struct virtio_dev *d, unsigned q)
{
	struct vnet *v = d->priv;
	uint64_t one = 1;

	if (q != Q_TX)
		return;		/* new rx buffers: used on the next frame */
	if (pthread_equal(pthread_self(), v->io_thread)) {
		tx_drain(v);
	} else if (write(v->kick_fd, &one, sizeof(one)) < 0) {
		vmm_log("net: cannot wake the I/O thread: %s",
		    strerror(errno));
	}
}

static void
vnet_config_read(struct virtio_dev *d, uint32_t off, void *data,
    uint32_t len)
{
	struct vnet *v = d->priv;

	memset(data, 0, len);
	if (off < sizeof(v->mac))
		memcpy(data, v->mac + off, len < sizeof(v->mac) - off ? len :
		    sizeof(v->mac) - off);
}

static void
vnet_free(struct virtio_dev *d)
{
	struct vnet *v = d->priv;

	if (v->loop && v->kick_fd >= 0)
		loop_del(v->loop, v->kick_fd);
	if (v->kick_fd >= 0)
		close(v->kick_fd);
	net_slirp_free(v->slirp);
	net_policy_release(&v->policy);
	free(v);
}

static const struct virtio_dev_ops vnet_ops = {
	.name = "net",
	.device_id = VIRTIO_ID_NET,
	.num_queues = 2,
	.queue_max = 256,
	.features = 1ULL << VIRTIO_NET_F_MAC,
	.config_read = vnet_config_read,
	.queue_notify = vnet_notify,
	.free = vnet_free,
};

struct virtio_dev *
virtio_net_new(const char *policy, struct loop *loop, struct sbx_err *e)
{
	static const uint8_t mac[6] = VIRTIO_NET_MAC;
	struct vnet *v = xcalloc(1, sizeof(*v));
	pthread_mutexattr_t ma;

	virtio_dev_init(&v->dev, &vnet_ops, v);
	pthread_mutex_destroy(&v->dev.lock);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&v->dev.lock, &ma);
	pthread_mutexattr_destroy(&ma);
	memcpy(v->mac, mac, sizeof(mac));
	v->loop = loop;
	v->io_thread = pthread_self();
	v->kick_fd = -1;
	net_policy_init(&v->policy);
	if (net_policy_parse(&v->policy, policy ? policy : "", e) < 0)
		goto fail;
	v->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->kick_fd < 0) {
		sbx_err_sys(e, "net: eventfd");
		goto fail;
	}
	if (loop && loop_add(loop, v->kick_fd, EPOLLIN, on_kick, v) < 0) {
		sbx_err_sys(e, "net: cannot watch an eventfd");
		goto fail;
	}
	v->slirp = net_slirp_new(loop, net_to_guest, v, e);
	if (!v->slirp || net_policy_start(&v->policy, e) < 0)
		goto fail;
	return &v->dev;
fail:
	vnet_free(&v->dev);
	return NULL;
}

/* The network device of `vm`, or NULL. */
static struct vnet *
find_net(struct vmm *vm)
{
	unsigned i;

	for (i = 0; i < vm->nvdev; i++)
		if (vm->vdev[i]->ops == &vnet_ops)
			return vm->vdev[i]->priv;
	return NULL;
}

json_t *
virtio_net_control(struct vmm *vm, const char *op, json_t *req)
{
	struct vnet *v;
	struct sbx_err e = { 0 };
	json_t *g, *hp;
	const char *host;
	json_int_t guest, hport = 0;
	unsigned bound;
	int r;

	if (strcmp(op, "port") && strcmp(op, "unport") && strcmp(op, "net"))
		return NULL;
	v = find_net(vm);
	if (!v)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "this VM has "
		    "no network (started without --net)");
	if (!strcmp(op, "net"))
		return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I}", "ok", 1,
		    "rx_frames", (json_int_t)v->rx_frames,
		    "rx_dropped", (json_int_t)v->rx_dropped,
		    "tx_frames", (json_int_t)v->tx_frames,
		    "tx_dropped", (json_int_t)v->tx_dropped,
		    "denied", (json_int_t)v->denied);
	g = json_object_get(req, "guest");
	hp = json_object_get(req, "host_port");
	host = json_string_value(json_object_get(req, "host"));
	if (!strcmp(op, "unport")) {
		/* {"op":"unport","host":ADDR,"host_port":N}: stop listening. */
		if (!host || !json_is_integer(hp))
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "'host' (an address) and 'host_port' are required");
		hport = json_integer_value(hp);
		pthread_mutex_lock(&v->dev.lock);
		r = hport < 1 || hport > 65535 ? sbx_err_set(&e, SBX_EUSAGE,
		    "'host_port' must be in 1..65535") :
		    net_slirp_unforward(v->slirp, host, (unsigned)hport, &e);
		pthread_mutex_unlock(&v->dev.lock);
		if (r < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
		vmm_log("net: no longer forwarding %s:%u", host,
		    (unsigned)hport);
		return json_pack("{s:b, s:s, s:i}", "ok", 1, "host", host,
		    "host_port", (int)hport);
	}
	guest = json_integer_value(g);
	if (hp)
		hport = json_integer_value(hp);
	if (!json_is_integer(g) || guest < 1 || guest > 65535 ||
	    (hp && (!json_is_integer(hp) || hport < 0 || hport > 65535)))
		return json_pack("{s:b, s:s}", "ok", 0, "error", "'guest' must "
		    "be a port in 1..65535 and 'host_port' in 0..65535");
	if (json_object_get(req, "unix")) {
		const char *path = json_string_value(json_object_get(req,
		    "unix"));

		pthread_mutex_lock(&v->dev.lock);
		r = net_slirp_forward_unix(v->slirp, path, (unsigned)guest, &e);
		pthread_mutex_unlock(&v->dev.lock);
		if (r < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
		vmm_log("net: forwarding unix socket %s to guest port %u",
		    path, (unsigned)guest);
		return json_pack("{s:b, s:s, s:i}", "ok", 1, "unix", path,
		    "guest", (int)guest);
	}
	if (!host)
		host = "127.0.0.1";
	pthread_mutex_lock(&v->dev.lock);
	r = net_slirp_forward(v->slirp, host, (unsigned)hport,
	    (unsigned)guest, &bound, &e);
	pthread_mutex_unlock(&v->dev.lock);
	if (r < 0)
		return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
	vmm_log("net: forwarding %s:%u to guest port %u", host, bound,
	    (unsigned)guest);
	return json_pack("{s:b, s:s, s:i, s:i}", "ok", 1, "host", host,
	    "host_port", (int)bound, "guest", (int)guest);
}
