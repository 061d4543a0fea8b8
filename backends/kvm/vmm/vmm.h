/*
 * vmm.h - one KVM virtual machine: its memory, vCPU threads, legacy and
 * virtio devices, lifecycle (run, pause, resume, stop) and exit reason.
 *
 * Threads: the main thread builds the VM (vmm_create), then runs the I/O
 * loop (loop.h) which also serves the control socket; each vCPU has its
 * own thread (vcpu.c). vmm_pause()/vmm_resume() are called from the I/O
 * thread; vmm_exit() from any thread.
 */
#ifndef SBX_KVM_VMM_VMM_H
#define SBX_KVM_VMM_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "kvm/vmm/i8042.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/serial.h"
#include "kvm/vmm/virtio.h"

struct layer_stack;
struct loop;
struct sbx_err;
struct vmm;

#define VMM_MAX_VCPUS 64

struct vmm_config {
	const char *kernel;	/* bzImage path, required */
	const char *initrd;	/* NULL: none */
	const char *cmdline;
	uint64_t memory;	/* bytes */
	unsigned vcpus;
	const char *disk;	/* NULL: no virtio-blk */
	bool disk_ro;
	const char *data_top;	/* data disk (layer.h): its writable top,
				   or NULL: none */
	const char *const *data_layers;	/* its frozen layers, bottom first */
	size_t ndata_layers;
	uint64_t data_size;	/* disk size: required without layers,
				   else 0 or the layers' size */
	bool rng;		/* attach virtio-rng */
	bool balloon;		/* attach virtio-balloon (last slot) */
	const char *vsock;	/* host unix socket of virtio-vsock, or NULL */
	uint64_t cid;		/* guest CID for vsock */
	const char *net;	/* NULL: no virtio-net; else its egress
				   policy (net_policy.h text, "" = all) */
	const char *serial_log;	/* NULL: none */
	bool console;		/* serial on stdin/stdout */
	const char *id;		/* sandbox id, for logs */
	bool restoring;		/* RAM and registers come from a snapshot:
				   no kernel, initrd or tables to load */
};

struct vcpu {
	struct vmm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* Counters (written by the vCPU thread, read racily by stats). */
	uint64_t exits, io_exits, mmio_exits;
};

/* Why the VM stopped (0 while running); values from proto/control.h + 1. */
struct vmm {
	int kvm_fd, vm_fd;
	int run_size;
	struct kvm_cpuid2 *cpuid;
	struct gmem mem;
	unsigned nvcpu;
	struct vcpu vcpu[VMM_MAX_VCPUS];
	struct serial serial;
	struct i8042 kbd;
	struct virtio_dev *vdev[VIRTIO_MMIO_SLOTS];
	unsigned nvdev;
	struct layer_stack *data_disk;	/* owned by its device, or NULL */
	unsigned data_slot;		/* its MMIO slot */
	struct loop *loop;
	uint64_t start_ns;	/* CLOCK_MONOTONIC at vmm_start */

	pthread_mutex_t lock;	/* guards the fields below */
	pthread_cond_t cond;
	bool pause_req;
	unsigned nparked;
	int exit_status;	/* enum sbx_vmm_exit, valid when exiting */
	bool exiting;
	bool panic_seen;	/* "Kernel panic" on the console */
	void (*on_event)(struct vmm *vm, const char *event, void *arg);
	void *event_arg;
};

/* Builds the VM from `cfg` (nothing runs yet). NULL and `e` on failure. */
struct vmm *vmm_create(const struct vmm_config *cfg, struct loop *loop,
    struct sbx_err *e);
/* Starts the vCPU threads. */
int vmm_start(struct vmm *vm, struct sbx_err *e);
/*
 * Parks every vCPU outside KVM_RUN (KVM_KVMCLOCK_CTRL on each) and
 * returns once all are parked, or SBX_ETIMEDOUT after timeout_ms.
 */
int vmm_pause(struct vmm *vm, unsigned timeout_ms, struct sbx_err *e);
void vmm_resume(struct vmm *vm);
bool vmm_paused(struct vmm *vm);
/*
 * Records why the VM ends (the first call wins), kicks the vCPUs and
 * stops the I/O loop. Any thread.
 */
void vmm_exit(struct vmm *vm, int status);
/*
 * (Re)registers guest RAM as KVM memory slots 0 (low) and 1 (high) with
 * `flags` (0, or KVM_MEM_LOG_DIRTY_PAGES: dirty.c).
 */
int vmm_set_memslots(struct vmm *vm, uint32_t flags, struct sbx_err *e);
/* Joins the vCPU threads and frees everything. */
void vmm_destroy(struct vmm *vm);
/* Name of an exit status for events ("poweroff", "panic", ...). */
const char *vmm_exit_name(int status);
/* Logs why the guest stopped, after how long, and its KVM exits. */
void vmm_log_summary(struct vmm *vm, int status);

/* vcpu.c: creates vCPU i (fd, kvm_run mapping, CPUID, MSRs, ...). */
int vcpu_create(struct vmm *vm, unsigned i, uint64_t entry,
    struct sbx_err *e);
/* vcpu.c: thread body and kick (signal + immediate_exit). */
void *vcpu_thread(void *arg);
void vcpu_kick(struct vcpu *c);
/* vcpu.c: installs the kick signal handler (once, before threads). */
int vcpu_signals_init(struct sbx_err *e);

#endif
