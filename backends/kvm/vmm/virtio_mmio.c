/*
 * virtio_mmio.c - virtio-mmio version 2 transport (virtio.h).
 *
 * Register layout: virtio 1.x section 4.2.2 (<linux/virtio_mmio.h>).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "core/err.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "core/banned.h"

#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR_ID 0x00c
#define R_DEV_FEAT 0x010
#define R_DEV_FEAT_SEL 0x014
#define R_DRV_FEAT 0x020
#define R_DRV_FEAT_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_DESC_LO 0x080
#define R_DESC_HI 0x084
#define R_AVAIL_LO 0x090
#define R_AVAIL_HI 0x094
#define R_USED_LO 0x0a0
#define R_USED_HI 0x0a4
#define R_SHM_LEN_LO 0x0b0
#define R_SHM_LEN_HI 0x0b4
#define R_CONFIG_GEN 0x0fc
#define R_CONFIG 0x100

#define MAGIC 0x74726976	/* "virt" */
#define VENDOR 0x00584253	/* "SBX" */

#define ISR_USED 1
#define ISR_CONFIG 2

void
virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
    void *priv)
{
	unsigned i;

	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->priv = priv;
	pthread_mutex_init(&d->lock, NULL);
	d->vm_fd = -1;
	d->irqfd = -1;
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		d->notify_fd[i] = -1;
		d->vq[i].num_max = ops->queue_max;
		virtq_reset(&d->vq[i]);
	}
}

static uint64_t
offered(const struct virtio_dev *d)
{
	return d->ops->features | 1ULL << VIRTIO_F_VERSION_1_BIT;
}

/* Raises interrupt reason `bit` on the device's GSI. */
static void
virtio_signal(struct virtio_dev *d, uint32_t bit)
{
	uint64_t one = 1;

	__atomic_fetch_or(&d->isr, bit, __ATOMIC_SEQ_CST);
	d->irqs++;
	if (d->irqfd >= 0) {
		if (write(d->irqfd, &one, sizeof(one)) < 0)
			vmm_log("virtio-%s: irqfd write: %s", d->ops->name,
			    strerror(errno));
	} else if (d->vm_fd >= 0) {
		struct kvm_irq_level lv = {
			.irq = VIRTIO_MMIO_GSI0 + d->slot, .level = 1
		};

		ioctl(d->vm_fd, KVM_IRQ_LINE, &lv);
		lv.level = 0;
		ioctl(d->vm_fd, KVM_IRQ_LINE, &lv);
	}
}

bool
virtio_queue_live(const struct virtio_dev *d, unsigned q)
{
	return q < d->ops->num_queues && !d->failed &&
	    (d->status & VIRTIO_STAT_DRIVER_OK) && d->vq[q].ready;
}

void
virtio_queue_notify_guest(struct virtio_dev *d, unsigned q)
{
	if (q < d->ops->num_queues && virtq_want_irq(&d->vq[q], d->mem))
		virtio_signal(d, ISR_USED);
}

void
virtio_config_changed(struct virtio_dev *d)
{
	d->config_gen++;
	virtio_signal(d, ISR_CONFIG);
}

void
virtio_fail(struct virtio_dev *d, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (d->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmm_log("virtio-%s: device needs reset: %s", d->ops->name, msg);
	d->failed = true;
	d->status |= VIRTIO_STAT_NEEDS_RESET;
	if (d->status & VIRTIO_STAT_DRIVER_OK)
		virtio_config_changed(d);
}

int
virtio_pop(struct virtio_dev *d, unsigned q, struct virtq_chain *c)
{
	const char *why;
	int r;

	if (!virtio_queue_live(d, q))
		return VIRTQ_EMPTY;
	r = virtq_pop(&d->vq[q], d->mem, c, &why);
	if (r == VIRTQ_EBAD)
		virtio_fail(d, "queue %u: %s", q, why);
	return r;
}

/* Status 0: the driver resets the device. */
static void
virtio_reset(struct virtio_dev *d)
{
	unsigned i;

	if (d->ops->reset)
		d->ops->reset(d);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->vq[i]);
	d->status = 0;
	d->driver_features = 0;
	d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
	__atomic_store_n(&d->isr, 0, __ATOMIC_SEQ_CST);
	d->failed = false;
}

static void
virtio_set_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t old = d->status;
	unsigned i;

	if (v == 0) {
		virtio_reset(d);
		return;
	}
	if ((v & VIRTIO_STAT_FEATURES_OK) && !(old & VIRTIO_STAT_FEATURES_OK)) {
		if ((d->driver_features & ~offered(d)) ||
		    !virtio_has_feature(d, VIRTIO_F_VERSION_1_BIT))
			v &= ~VIRTIO_STAT_FEATURES_OK;	/* refused */
	}
	d->status = (v & 0xff) | (old & VIRTIO_STAT_NEEDS_RESET);
	if ((v & VIRTIO_STAT_DRIVER_OK) && !(old & VIRTIO_STAT_DRIVER_OK) &&
	    !d->failed) {
		for (i = 0; i < d->ops->num_queues; i++) {
			const char *why;

			if (d->vq[i].ready &&
			    virtq_check(&d->vq[i], d->mem, &why) < 0) {
				virtio_fail(d, "queue %u: %s", i, why);
				return;
			}
		}
		if (d->ops->activate && d->ops->activate(d) < 0) {
			d->status |= VIRTIO_STAT_FAILED;
			return;
		}
		/* Buffers made available before DRIVER_OK are served now. */
		for (i = 0; i < d->ops->num_queues; i++)
			if (virtio_queue_live(d, i))
				d->ops->queue_notify(d, i);
	}
}

/* Sets the low or high half of a 64-bit queue address. */
static void
set_half(uint64_t *p, int hi, uint32_t v)
{
	if (hi)
		*p = (*p & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*p = (*p & ~0xffffffffULL) | v;
}

static uint32_t
reg_read(struct virtio_dev *d, uint64_t off)
{
	struct virtq *q = d->queue_sel < d->ops->num_queues ?
	    &d->vq[d->queue_sel] : NULL;

	switch (off) {
	case R_MAGIC:
		return MAGIC;
	case R_VERSION:
		return 2;
	case R_DEVICE_ID:
		return d->ops->device_id;
	case R_VENDOR_ID:
		return VENDOR;
	case R_DEV_FEAT:
		return d->dev_feat_sel > 1 ? 0 :
		    (uint32_t)(offered(d) >> (32 * d->dev_feat_sel));
	case R_QUEUE_NUM_MAX:
		return q ? q->num_max : 0;
	case R_QUEUE_READY:
		return q ? q->ready : 0;
	case R_ISR:
		return __atomic_load_n(&d->isr, __ATOMIC_SEQ_CST);
	case R_STATUS:
		return d->status;
	case R_SHM_LEN_LO:
	case R_SHM_LEN_HI:
		return 0xffffffff;	/* no shared memory regions */
	case R_CONFIG_GEN:
		return d->config_gen;
	}
	return 0;
}

static void
reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtq *q = d->queue_sel < d->ops->num_queues ?
	    &d->vq[d->queue_sel] : NULL;
	bool qsetup = q && !q->ready && !(d->status & VIRTIO_STAT_DRIVER_OK);
	const char *why;

	switch (off) {
	case R_DEV_FEAT_SEL:
		d->dev_feat_sel = v;
		break;
	case R_DRV_FEAT_SEL:
		d->drv_feat_sel = v;
		break;
	case R_DRV_FEAT:
		if (d->drv_feat_sel < 2 &&
		    !(d->status & VIRTIO_STAT_FEATURES_OK))
			set_half(&d->driver_features, d->drv_feat_sel, v);
		break;
	case R_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case R_QUEUE_NUM:
		if (qsetup)
			q->num = v > 0xffff ? 0 : v;
		break;
	case R_QUEUE_READY:
		if (!q)
			break;
		if (v == 0) {
			q->ready = false;
			break;
		}
		if (q->ready)
			break;
		if (virtq_check(q, d->mem, &why) < 0) {
			virtio_fail(d, "queue %u: %s", d->queue_sel, why);
			break;
		}
		q->last_avail = q->used_idx = 0;
		q->ready = true;
		break;
	case R_QUEUE_NOTIFY:
		/* Only reached without an ioeventfd for this queue. */
		d->notifies++;
		if (virtio_queue_live(d, v))
			d->ops->queue_notify(d, v);
		break;
	case R_ISR_ACK:
		__atomic_fetch_and(&d->isr, ~v, __ATOMIC_SEQ_CST);
		break;
	case R_STATUS:
		virtio_set_status(d, v);
		break;
	case R_DESC_LO:
	case R_DESC_HI:
		if (qsetup)
			set_half(&q->desc, off == R_DESC_HI, v);
		break;
	case R_AVAIL_LO:
	case R_AVAIL_HI:
		if (qsetup)
			set_half(&q->avail, off == R_AVAIL_HI, v);
		break;
	case R_USED_LO:
	case R_USED_HI:
		if (qsetup)
			set_half(&q->used, off == R_USED_HI, v);
		break;
	}
}

void
virtio_mmio_read(struct virtio_dev *d, uint64_t off, void *data, unsigned len)
{
	uint32_t v;

	memset(data, 0, len);
	pthread_mutex_lock(&d->lock);
	if (off >= R_CONFIG) {
		if (d->ops->config_read)
			d->ops->config_read(d, off - R_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		v = reg_read(d, off);
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

void
virtio_mmio_write(struct virtio_dev *d, uint64_t off, const void *data,
    unsigned len)
{
	uint32_t v;

	pthread_mutex_lock(&d->lock);
	if (off >= R_CONFIG) {
		if (d->ops->config_write)
			d->ops->config_write(d, off - R_CONFIG, data, len);
	} else if (len == 4 && !(off & 3)) {
		memcpy(&v, data, 4);
		reg_write(d, off, v);
	}
	pthread_mutex_unlock(&d->lock);
}

/* I/O thread: the driver kicked queue q through its ioeventfd. */
static void
virtio_ioeventfd_ready(void *arg, uint32_t events)
{
	struct virtio_notify *na = arg;
	struct virtio_dev *d = na->d;
	uint64_t cnt;

	if (read(d->notify_fd[na->q], &cnt, sizeof(cnt)) != sizeof(cnt))
		return;
	pthread_mutex_lock(&d->lock);
	d->notifies++;
	if (virtio_queue_live(d, na->q))
		d->ops->queue_notify(d, na->q);
	pthread_mutex_unlock(&d->lock);
}

int
virtio_mmio_attach(struct virtio_dev *d, unsigned slot, int vm_fd,
    struct gmem *mem, struct loop *loop, struct sbx_err *e)
{
	unsigned i;

	if (slot >= VIRTIO_MMIO_SLOTS)
		return sbx_err_set(e, SBX_EINVAL,
		    "too many virtio devices (at most %d)", VIRTIO_MMIO_SLOTS);
	d->slot = slot;
	d->base = VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_SIZE;
	d->mem = mem;
	d->loop = loop;
	d->vm_fd = vm_fd;
	if (vm_fd < 0 || !loop)
		return 0;
	d->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->irqfd < 0)
		return sbx_err_sys(e, "virtio-%s: eventfd", d->ops->name);
	{
		struct kvm_irqfd irq = {
			.fd = d->irqfd, .gsi = VIRTIO_MMIO_GSI0 + slot
		};

		if (ioctl(vm_fd, KVM_IRQFD, &irq) < 0)
			return sbx_err_sys(e, "virtio-%s: KVM_IRQFD",
			    d->ops->name);
	}
	for (i = 0; i < d->ops->num_queues; i++) {
		struct kvm_ioeventfd io = {
			.datamatch = i,
			.addr = d->base + R_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		d->notify_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (d->notify_fd[i] < 0)
			return sbx_err_sys(e, "virtio-%s: eventfd",
			    d->ops->name);
		io.fd = d->notify_fd[i];
		if (ioctl(vm_fd, KVM_IOEVENTFD, &io) < 0)
			return sbx_err_sys(e, "virtio-%s: KVM_IOEVENTFD",
			    d->ops->name);
		d->notify_arg[i].d = d;
		d->notify_arg[i].q = i;
		if (loop_add(loop, d->notify_fd[i], EPOLLIN,
		    virtio_ioeventfd_ready, &d->notify_arg[i]) < 0)
			return sbx_err_sys(e, "virtio-%s: epoll", d->ops->name);
	}
	return 0;
}

void
virtio_mmio_detach(struct virtio_dev *d)
{
	unsigned i;

	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		if (d->notify_fd[i] < 0)
			continue;
		if (d->loop)
			loop_del(d->loop, d->notify_fd[i]);
		close(d->notify_fd[i]);
		d->notify_fd[i] = -1;
	}
	if (d->irqfd >= 0)
		close(d->irqfd);
	d->irqfd = -1;
	if (d->ops->free)
		d->ops->free(d);
}
