/*
 * virtio.h - the virtio-mmio (version 2) transport shared by every virtio
 * device of sbx-vmm, and the ops interface a device implements.
 *
 * A device file (virtio_blk.c, virtio_rng.c, vsock.c, ...) fills a
 * `struct virtio_dev_ops`, embeds or allocates a `struct virtio_dev`, and
 * registers it with virtio_mmio_add(), which gives it a 4 KiB MMIO window
 * at VIRTIO_MMIO_BASE + slot * 0x1000 and GSI VIRTIO_MMIO_GSI0 + slot; the
 * ACPI DSDT announces every registered device as an "LNRO0005" node, in
 * registration order (register the root disk first so it becomes vda).
 *
 * The transport owns: the register file, feature negotiation (it adds
 * VIRTIO_F_VERSION_1 to the device's features and refuses drivers that do
 * not accept it), the status machine and reset, queue setup and checks,
 * the interrupt status register and the interrupt line (an irqfd when KVM
 * has one, KVM_IRQ_LINE pulses otherwise), and queue notifications (an
 * ioeventfd per queue, read on the I/O thread; or the trapped QueueNotify
 * write). A device only sees: config space accesses, "queue q has work",
 * activate (DRIVER_OK) and reset.
 *
 * Locking: every call into a device's ops is made with d->lock held, and
 * the device must hold d->lock whenever it touches its queues or calls
 * virtio_* helpers from its own callbacks (for example a vsock socket that
 * became readable on the I/O thread). Ops run on a vCPU thread (register
 * accesses) or on the I/O thread (queue_notify); they must not block for
 * long (disk I/O on the I/O thread is acceptable).
 *
 * Errors: a device that finds the driver misbehaving (malformed chain,
 * bad request header) calls virtio_fail(); the device then reports
 * NEEDS_RESET in its status, signals a configuration change, ignores its
 * queues until the driver resets it, and the VMM logs the reason once.
 */
#ifndef SBX_KVM_VMM_VIRTIO_H
#define SBX_KVM_VMM_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "kvm/vmm/virtq.h"

struct gmem;
struct loop;
struct sbx_err;
struct virtio_dev;

#define VIRTIO_MMIO_BASE 0xD0000000ULL
#define VIRTIO_MMIO_SIZE 0x1000ULL
#define VIRTIO_MMIO_GSI0 5
#define VIRTIO_MMIO_SLOTS 8
#define VIRTIO_MAX_QUEUES 4

/* Device IDs (virtio 1.x section 5). */
#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_VSOCK 19

/* Transport feature bits a device may include in ops->features. */
#define VIRTIO_F_VERSION_1_BIT 32

/* Device status bits. */
#define VIRTIO_STAT_ACK 1
#define VIRTIO_STAT_DRIVER 2
#define VIRTIO_STAT_DRIVER_OK 4
#define VIRTIO_STAT_FEATURES_OK 8
#define VIRTIO_STAT_NEEDS_RESET 64
#define VIRTIO_STAT_FAILED 128

struct virtio_dev_ops {
	const char *name;	/* "blk", "rng", "vsock": for logs and stats */
	uint32_t device_id;	/* VIRTIO_ID_* */
	unsigned num_queues;	/* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_max;	/* QueueNumMax, power of two <= VIRTQ_MAX_SIZE */
	/* Device-specific feature bits (VERSION_1 is added by the transport). */
	uint64_t features;
	/*
	 * Device config space, `off` relative to 0x100, len 1/2/4/8. Reads
	 * beyond the config return 0 (fill zeroes); writes may be ignored.
	 * config_write may be NULL (read-only config).
	 */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *data,
	    uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off,
	    const void *data, uint32_t len);
	/* The driver made buffers available on queue q (q < num_queues). */
	void (*queue_notify)(struct virtio_dev *d, unsigned q);
	/*
	 * DRIVER_OK was set: queues are configured (d->vq[i].ready tells
	 * which) and d->driver_features is final. Return 0, or -1 to mark
	 * the device failed (after virtio_fail() with the reason). May be NULL.
	 */
	int (*activate)(struct virtio_dev *d);
	/* The driver wrote status 0: drop all per-session state. May be NULL. */
	void (*reset)(struct virtio_dev *d);
	/* Frees the device's own state at VMM teardown. May be NULL. */
	void (*free)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv;			/* the device's own state */
	pthread_mutex_t lock;		/* see "Locking" above */
	struct gmem *mem;		/* guest RAM: the only way in */
	struct loop *loop;		/* the VMM's I/O thread */

	/* Transport state; devices read these, only virtio_mmio.c writes. */
	unsigned slot;			/* window index; gsi = GSI0 + slot */
	uint64_t base;			/* MMIO window GPA */
	uint32_t status;
	uint64_t driver_features;	/* accepted at FEATURES_OK */
	uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
	uint32_t isr;			/* InterruptStatus, atomic */
	uint32_t config_gen;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool failed;			/* NEEDS_RESET raised, queues ignored */

	/* Plumbing, owned by virtio_mmio.c. */
	int vm_fd;			/* for KVM_IRQ_LINE / ioeventfd setup */
	int irqfd;			/* eventfd bound to the GSI, or -1 */
	int notify_fd[VIRTIO_MAX_QUEUES];	/* ioeventfds, or -1 */
	struct virtio_notify {			/* loop callback argument */
		struct virtio_dev *d;
		unsigned q;
	} notify_arg[VIRTIO_MAX_QUEUES];
	uint64_t notifies, irqs;	/* counters for `stats` */
};

/*
 * Initialises `d` for `ops` (lock, queues with num_max = ops->queue_max)
 * before registration. `priv` is stored in d->priv.
 */
void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
    void *priv);

/* True if the driver accepted feature bit `bit`. */
static inline bool
virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
	return (d->driver_features >> bit) & 1;
}

/*
 * Returns chain(s) to the driver and raises the used-buffer interrupt when
 * the driver wants one: call after one or more virtq_push() on queue q.
 */
void virtio_queue_notify_guest(struct virtio_dev *d, unsigned q);
/* Raises the configuration-change interrupt (bumps config_gen). */
void virtio_config_changed(struct virtio_dev *d);
/*
 * Puts the device in the error state described above; `fmt` says what the
 * driver did wrong (logged with the device name). Safe to call repeatedly.
 */
void virtio_fail(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* True when queue q is ready and the device is live (DRIVER_OK, no error). */
bool virtio_queue_live(const struct virtio_dev *d, unsigned q);
/*
 * Pops the next chain of queue q; on a malformed chain calls virtio_fail()
 * and returns VIRTQ_EBAD. Returns VIRTQ_OK / VIRTQ_EMPTY otherwise.
 */
int virtio_pop(struct virtio_dev *d, unsigned q, struct virtq_chain *c);

/*
 * MMIO register access from a vCPU thread (the VMM's bus calls these);
 * `off` is relative to d->base, len 1..8.
 */
void virtio_mmio_read(struct virtio_dev *d, uint64_t off, void *data,
    unsigned len);
void virtio_mmio_write(struct virtio_dev *d, uint64_t off, const void *data,
    unsigned len);

/*
 * Wires `d` to the VM at window `slot`: GSI, irqfd and one ioeventfd per
 * queue watched by `loop`. vm_fd < 0 (unit tests) keeps the plain trapped
 * path with no interrupt delivery. Returns 0 or negative SBX_E code.
 */
int virtio_mmio_attach(struct virtio_dev *d, unsigned slot, int vm_fd,
    struct gmem *mem, struct loop *loop, struct sbx_err *e);
/* Undoes virtio_mmio_attach() and calls ops->free. */
void virtio_mmio_detach(struct virtio_dev *d);

#endif
