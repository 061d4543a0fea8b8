/*
 * virtio_blk.c - virtio block device over a raw image file, or over a
 * layer stack (the data disk, layer.h) (devices.h).
 *
 * Requests (virtio 1.x section 5.2.6): a 16-byte readable header {type,
 * reserved, sector}, data, and a final device-writable status byte. The
 * layout of those bytes across descriptors is not assumed. Requests are
 * served synchronously on the thread that delivered the notification.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/devices.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "core/banned.h"

#define BLK_F_SEG_MAX 2
#define BLK_F_RO 5
#define BLK_F_BLK_SIZE 6
#define BLK_F_FLUSH 9

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8

#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

#define QSIZE 128
#define SECTOR 512ULL

struct blk {
	struct virtio_dev dev;
	struct virtio_dev_ops ops;
	int fd;			/* the raw image, or -1 */
	struct layer_stack *ls;	/* the data disk's layers, or NULL */
	bool ro;
	uint64_t bytes;		/* image size */
	struct virtq_chain chain;
	struct iovec iov[VIRTQ_MAX_SIZE];
	uint64_t reads, writes, flushes, rbytes, wbytes;
};

struct blk_req {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* iovecs for bytes [off, off+len) of the readable or writable part. */
static int
chain_iov(struct virtq_chain *c, bool write, uint64_t off, uint64_t len,
    struct iovec *iov)
{
	unsigned i = write ? c->nread : 0, end = write ? c->nseg : c->nread;
	int n = 0;

	for (; i < end && len; i++) {
		struct virtq_seg *s = &c->seg[i];
		uint64_t take;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		take = s->len - off;
		if (take > len)
			take = len;
		iov[n].iov_base = (char *)s->host + off;
		iov[n].iov_len = take;
		n++;
		len -= take;
		off = 0;
	}
	return n;
}

/* Full preadv/pwritev at `pos`, retrying short transfers. */
static int
blk_rw(struct blk *b, bool write, struct iovec *iov, int n, uint64_t pos,
    uint64_t len)
{
	if (b->ls)
		return layer_stack_rw(b->ls, write, iov, n, pos, len);
	while (n > 0) {
		ssize_t r = write ? pwritev(b->fd, iov, n, pos) :
		    preadv(b->fd, iov, n, pos);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		pos += r;
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return 0;
}

/* Serves one request; returns bytes written to the guest or -1 (fail). */
static int64_t
blk_request(struct blk *b, struct virtq_chain *c)
{
	struct blk_req h;
	uint64_t len, pos;
	uint8_t st = S_OK;
	int n;

	if (virtq_chain_read(c, 0, &h, sizeof(h)) != sizeof(h)) {
		virtio_fail(&b->dev, "request header shorter than 16 bytes");
		return -1;
	}
	if (c->wlen < 1) {
		virtio_fail(&b->dev, "request without a status byte");
		return -1;
	}
	pos = h.sector * SECTOR;
	switch (h.type) {
	case T_IN:
	case T_OUT:
		len = h.type == T_IN ? c->wlen - 1 : c->rlen - sizeof(h);
		if (h.sector > b->bytes / SECTOR || len > b->bytes - pos) {
			st = S_IOERR;
			break;
		}
		if (h.type == T_OUT && b->ro) {
			st = S_IOERR;
			break;
		}
		n = h.type == T_IN ? chain_iov(c, true, 0, len, b->iov) :
		    chain_iov(c, false, sizeof(h), len, b->iov);
		if (blk_rw(b, h.type == T_OUT, b->iov, n, pos, len) < 0) {
			vmm_log("virtio-blk: %s at byte %llu: %s",
			    h.type == T_IN ? "read" : "write",
			    (unsigned long long)pos, strerror(errno));
			st = S_IOERR;
			break;
		}
		if (h.type == T_IN) {
			b->reads++;
			b->rbytes += len;
		} else {
			b->writes++;
			b->wbytes += len;
			len = 0;
		}
		virtq_chain_write(c, c->wlen - 1, &st, 1);
		return (int64_t)len + 1;
	case T_FLUSH:
		b->flushes++;
		if (b->ls) {
			struct sbx_err e = { 0 };

			if (layer_stack_flush(b->ls, &e) < 0) {
				vmm_log("virtio-blk: flush: %s", e.msg);
				st = S_IOERR;
			}
		} else if (!b->ro && fdatasync(b->fd) < 0) {
			vmm_log("virtio-blk: flush: %s", strerror(errno));
			st = S_IOERR;
		}
		break;
	case T_GET_ID: {
		char id[20] = "sbx-vda";

		if (b->ls)
			id[6] = 'b';

		len = c->wlen - 1 < sizeof(id) ? c->wlen - 1 : sizeof(id);
		virtq_chain_write(c, 0, id, len);
		virtq_chain_write(c, c->wlen - 1, &st, 1);
		return (int64_t)len + 1;
	}
	default:
		st = S_UNSUPP;
	}
	virtq_chain_write(c, c->wlen - 1, &st, 1);
	return 1;
}

static void
blk_notify(struct virtio_dev *d, unsigned q)
{
	struct blk *b = d->priv;
	int done = 0;

	while (virtio_pop(d, q, &b->chain) == VIRTQ_OK) {
		int64_t n = blk_request(b, &b->chain);

		if (n < 0)
			return;
		virtq_push(&d->vq[q], d->mem, b->chain.head, (uint32_t)n);
		done++;
	}
	if (done)
		virtio_queue_notify_guest(d, q);
}

static void
blk_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct blk *b = d->priv;
	uint8_t cfg[24];
	uint64_t cap = b->bytes / SECTOR;
	uint32_t seg_max = QSIZE - 2, blk_size = SECTOR;

	memset(cfg, 0, sizeof(cfg));
	memcpy(cfg, &cap, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	if (off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, cfg + off, len);
}

static void
blk_free(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	if (b->fd >= 0)
		close(b->fd);
	layer_stack_free(b->ls);	/* flushes the top: a clean exit */
	free(b);
}

/* The device around an open image or layer stack. */
static struct virtio_dev *
blk_make(int fd, struct layer_stack *ls, bool ro, uint64_t bytes)
{
	struct blk *b = xcalloc(1, sizeof(*b));

	b->fd = fd;
	b->ls = ls;
	b->ro = ro;
	b->bytes = bytes;
	b->ops = (struct virtio_dev_ops){
		.name = ls ? "blk-data" : "blk",
		.device_id = VIRTIO_ID_BLOCK,
		.num_queues = 1,
		.queue_max = QSIZE,
		.features = 1ULL << BLK_F_SEG_MAX | 1ULL << BLK_F_BLK_SIZE |
		    1ULL << BLK_F_FLUSH | (ro ? 1ULL << BLK_F_RO : 0),
		.config_read = blk_config_read,
		.queue_notify = blk_notify,
		.free = blk_free,
	};
	virtio_dev_init(&b->dev, &b->ops, b);
	return &b->dev;
}

struct virtio_dev *
virtio_blk_layers_new(struct layer_stack *ls, struct sbx_err *e)
{
	if (!ls) {
		sbx_err_set(e, SBX_EINVAL, "no layer stack for the data disk");
		return NULL;
	}
	return blk_make(-1, ls, false, layer_stack_size(ls));
}

struct virtio_dev *
virtio_blk_new(const char *path, bool ro, struct sbx_err *e)
{
	struct stat st;
	int fd;

	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		sbx_err_sys(e, "cannot open disk image '%s'", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		sbx_err_set(e, SBX_EINVAL, "disk image '%s' is not a regular "
		    "file", path);
		close(fd);
		return NULL;
	}
	if (st.st_size == 0 || st.st_size % SECTOR) {
		sbx_err_set(e, SBX_EINVAL, "disk image '%s' is %lld bytes, "
		    "not a non-zero multiple of 512", path,
		    (long long)st.st_size);
		close(fd);
		return NULL;
	}
	return blk_make(fd, NULL, ro, (uint64_t)st.st_size);
}
