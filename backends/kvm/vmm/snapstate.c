/*
 * snapstate.c - device state records (snapstate.h).
 */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/snapstate.h"
#include "kvm/vmm/virtio_balloon.h"
#include "kvm/vmm/vmm.h"
#include "kvm/vmm/vsock.h"
#include "core/banned.h"

struct snap_serial {
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr, thri_pending;
	uint8_t rx[SERIAL_FIFO];
	uint8_t pad[2];
	uint32_t rx_head, rx_len;
	int32_t irq_level;
};

struct snap_i8042 {
	uint8_t ctr, outp, obuf, want;
	int32_t obf;
};

struct snap_vq {
	uint16_t num, last_avail, used_idx, ready;
	uint64_t desc, avail, used;
};

struct snap_virtio {
	uint32_t device_id, status, dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t isr, config_gen, failed;
	uint64_t driver_features;
	struct snap_vq q[VIRTIO_MAX_QUEUES];
};

void
snapstate_save_devices(struct vmm *vm, struct sbx_buf *b)
{
	struct snap_serial s;
	struct snap_i8042 k;
	unsigned i, q;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&vm->serial.lock);
	s.ier = vm->serial.ier;
	s.lcr = vm->serial.lcr;
	s.mcr = vm->serial.mcr;
	s.lsr = vm->serial.lsr;
	s.msr = vm->serial.msr;
	s.scr = vm->serial.scr;
	s.dll = vm->serial.dll;
	s.dlm = vm->serial.dlm;
	s.fcr = vm->serial.fcr;
	s.thri_pending = vm->serial.thri_pending;
	memcpy(s.rx, vm->serial.rx, sizeof(s.rx));
	s.rx_head = vm->serial.rx_head;
	s.rx_len = vm->serial.rx_len;
	s.irq_level = vm->serial.irq_level;
	pthread_mutex_unlock(&vm->serial.lock);
	snap_rec_add(b, SNAP_T_SERIAL, 0, &s, sizeof(s));

	memset(&k, 0, sizeof(k));
	pthread_mutex_lock(&vm->kbd.lock);
	k.ctr = vm->kbd.ctr;
	k.outp = vm->kbd.outp;
	k.obuf = vm->kbd.obuf;
	k.want = vm->kbd.want;
	k.obf = vm->kbd.obf;
	pthread_mutex_unlock(&vm->kbd.lock);
	snap_rec_add(b, SNAP_T_I8042, 0, &k, sizeof(k));

	for (i = 0; i < vm->nvdev; i++) {
		struct virtio_dev *d = vm->vdev[i];
		struct snap_virtio v;

		memset(&v, 0, sizeof(v));
		pthread_mutex_lock(&d->lock);
		v.device_id = d->ops->device_id;
		v.status = d->status;
		v.dev_feat_sel = d->dev_feat_sel;
		v.drv_feat_sel = d->drv_feat_sel;
		v.queue_sel = d->queue_sel;
		v.isr = __atomic_load_n(&d->isr, __ATOMIC_SEQ_CST);
		v.config_gen = d->config_gen;
		v.failed = d->failed;
		v.driver_features = d->driver_features;
		for (q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			v.q[q].num = d->vq[q].num;
			v.q[q].last_avail = d->vq[q].last_avail;
			v.q[q].used_idx = d->vq[q].used_idx;
			v.q[q].ready = d->vq[q].ready;
			v.q[q].desc = d->vq[q].desc;
			v.q[q].avail = d->vq[q].avail;
			v.q[q].used = d->vq[q].used;
		}
		pthread_mutex_unlock(&d->lock);
		snap_rec_add(b, SNAP_T_VIRTIO, d->slot, &v, sizeof(v));
		if (d->ops->device_id == VIRTIO_ID_BALLOON) {
			struct balloon_info bi;

			virtio_balloon_info(d, &bi);
			snap_rec_add(b, SNAP_T_BALLOON, d->slot, &bi,
			    sizeof(bi));
		}
	}
}

int
snapstate_load_devices(struct vmm *vm, const struct snap_image *img,
    struct sbx_err *e)
{
	const struct snap_serial *s;
	const struct snap_i8042 *k;
	unsigned i, q;

	s = snap_find(img, SNAP_T_SERIAL, 0, sizeof(*s), NULL);
	k = snap_find(img, SNAP_T_I8042, 0, sizeof(*k), NULL);
	if (!s || !k)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot state lacks "
		    "the serial or i8042 record");
	if (s->rx_head >= SERIAL_FIFO || s->rx_len > SERIAL_FIFO)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot serial FIFO "
		    "state is out of range");
	vm->serial.ier = s->ier;
	vm->serial.lcr = s->lcr;
	vm->serial.mcr = s->mcr;
	vm->serial.lsr = s->lsr;
	vm->serial.msr = s->msr;
	vm->serial.scr = s->scr;
	vm->serial.dll = s->dll;
	vm->serial.dlm = s->dlm;
	vm->serial.fcr = s->fcr;
	vm->serial.thri_pending = s->thri_pending;
	memcpy(vm->serial.rx, s->rx, sizeof(s->rx));
	vm->serial.rx_head = s->rx_head;
	vm->serial.rx_len = s->rx_len;
	vm->serial.irq_level = s->irq_level != 0;
	vm->kbd.ctr = k->ctr;
	vm->kbd.outp = k->outp;
	vm->kbd.obuf = k->obuf;
	vm->kbd.want = k->want;
	vm->kbd.obf = k->obf;

	for (i = 0; i < vm->nvdev; i++) {
		struct virtio_dev *d = vm->vdev[i];
		const struct snap_virtio *v;

		v = snap_find(img, SNAP_T_VIRTIO, d->slot, sizeof(*v), NULL);
		if (!v || v->device_id != d->ops->device_id)
			return sbx_err_set(e, SBX_EINVAL, "snapshot has no "
			    "virtio-%s device in slot %u", d->ops->name,
			    d->slot);
		d->status = v->status;
		d->dev_feat_sel = v->dev_feat_sel;
		d->drv_feat_sel = v->drv_feat_sel;
		d->queue_sel = v->queue_sel;
		d->isr = v->isr;
		d->config_gen = v->config_gen;
		d->failed = v->failed != 0;
		d->driver_features = v->driver_features;
		for (q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			if (v->q[q].num > d->vq[q].num_max ||
			    (v->q[q].num & (v->q[q].num - 1)))
				return sbx_err_set(e, SBX_ECORRUPT, "snapshot "
				    "virtio-%s queue %u has size %u",
				    d->ops->name, q, v->q[q].num);
			d->vq[q].num = v->q[q].num;
			d->vq[q].last_avail = v->q[q].last_avail;
			d->vq[q].used_idx = v->q[q].used_idx;
			d->vq[q].ready = v->q[q].ready != 0;
			d->vq[q].desc = v->q[q].desc;
			d->vq[q].avail = v->q[q].avail;
			d->vq[q].used = v->q[q].used;
		}
		if (d->ops->device_id == VIRTIO_ID_BALLOON) {
			struct balloon_info bi;
			const void *p;

			p = snap_find(img, SNAP_T_BALLOON, d->slot,
			    sizeof(bi), NULL);
			if (!p)
				return sbx_err_set(e, SBX_ECORRUPT, "snapshot "
				    "lacks the state of virtio-balloon in slot "
				    "%u", d->slot);
			memcpy(&bi, p, sizeof(bi));	/* 4-byte aligned */
			if (virtio_balloon_restore(d, &bi, e) < 0)
				return SBX_ECORRUPT;
		}
	}
	for (i = 0; i < img->nrec; i++)
		if (img->rec[i].tag == SNAP_T_VIRTIO &&
		    (img->rec[i].idx >= vm->nvdev))
			return sbx_err_set(e, SBX_EINVAL, "snapshot has a "
			    "virtio device in slot %u that this VM lacks",
			    img->rec[i].idx);
	return 0;
}

void
snapstate_after_restore(struct vmm *vm)
{
	struct kvm_irq_level lv = { .irq = SERIAL_IRQ,
	    .level = vm->serial.irq_level };
	unsigned i, q;

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &lv);
	for (i = 0; i < vm->nvdev; i++) {
		struct virtio_dev *d = vm->vdev[i];
		uint64_t one = 1;

		if (d->ops->device_id == VIRTIO_ID_VSOCK &&
		    (d->status & VIRTIO_STAT_DRIVER_OK))
			virtio_vsock_transport_reset(d);
		pthread_mutex_lock(&d->lock);
		if (d->isr && d->irqfd >= 0 &&
		    write(d->irqfd, &one, sizeof(one)) < 0) {
			/* the guest polls ISR on its next interrupt anyway */
		}
		for (q = 0; q < d->ops->num_queues; q++)
			if (virtio_queue_live(d, q))
				d->ops->queue_notify(d, q);
		pthread_mutex_unlock(&d->lock);
	}
}
