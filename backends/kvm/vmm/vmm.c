/*
 * vmm.c - building, running and tearing down one KVM VM (vmm.h).
 *
 * Construction follows VMM-NOTES checklist A: API version and
 * capabilities, supported CPUID, VM, TSS, in-kernel irqchip, PIT, guest
 * RAM, ACPI tables and kernel, devices, vCPUs. vmm_destroy() unwinds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/acpi.h"
#include "kvm/vmm/boot.h"
#include "kvm/vmm/cpu.h"
#include "kvm/vmm/devices.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/layout.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/virtio_balloon.h"
#include "kvm/vmm/virtio_net.h"
#include "kvm/vmm/vmm.h"
#include "kvm/vmm/vsock.h"
#include "core/banned.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "IRQCHIP" },
	{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
	{ KVM_CAP_IRQFD, "IRQFD" },
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
	{ KVM_CAP_PIT2, "PIT2" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "MP_STATE" },
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int
kvm_open(struct vmm *vm, struct sbx_err *e)
{
	size_t i;
	int n = 256;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		sbx_err_sys(e, "cannot open '/dev/kvm'");
		sbx_err_hint(e, "sbx-vmm needs KVM: load kvm_intel or kvm_amd "
		    "and give this user access to /dev/kvm");
		return SBX_EIO;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return sbx_err_set(e, SBX_ENOTSUP, "unsupported KVM API version");
	for (i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
		    required_caps[i].cap) <= 0)
			return sbx_err_set(e, SBX_ENOTSUP,
			    "KVM lacks the %s capability", required_caps[i].name);
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0)
		return sbx_err_sys(e, "KVM_GET_VCPU_MMAP_SIZE");
	for (;;) {
		vm->cpuid = xrealloc(vm->cpuid, sizeof(*vm->cpuid) +
		    n * sizeof(vm->cpuid->entries[0]));
		vm->cpuid->nent = n;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) == 0)
			break;
		if (errno != E2BIG || n > 4096)
			return sbx_err_sys(e, "KVM_GET_SUPPORTED_CPUID");
		n *= 2;
	}
	return 0;
}

static int
vm_setup(struct vmm *vm, struct sbx_err *e)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return sbx_err_sys(e, "KVM_CREATE_VM");
	fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC);
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)LAYOUT_TSS) < 0)
		return sbx_err_sys(e, "KVM_SET_TSS_ADDR");
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return sbx_err_sys(e, "KVM_CREATE_IRQCHIP");
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return sbx_err_sys(e, "KVM_CREATE_PIT2");
	return vmm_set_memslots(vm, 0, e);
}

int
vmm_set_memslots(struct vmm *vm, uint32_t flags, struct sbx_err *e)
{
	struct kvm_userspace_memory_region r = { 0 };

	r.flags = flags;
	r.slot = 0;
	r.guest_phys_addr = 0;
	r.memory_size = vm->mem.low;
	r.userspace_addr = (uintptr_t)vm->mem.host;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return sbx_err_sys(e, "KVM_SET_USER_MEMORY_REGION");
	if (vm->mem.high) {
		r.slot = 1;
		r.guest_phys_addr = GMEM_HIGH_START;
		r.memory_size = vm->mem.high;
		r.userspace_addr = (uintptr_t)vm->mem.host + vm->mem.low;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
			return sbx_err_sys(e, "KVM_SET_USER_MEMORY_REGION");
	}
	return 0;
}

/* Reads a whole file for the loader; `what` names it in errors. */
static int
read_image(const char *path, const char *what, struct sbx_buf *b,
    struct sbx_err *e)
{
	int r = sbx_buf_read_file(b, path, e);

	if (r < 0)
		sbx_err_prefix(e, "%s", what);
	return r;
}

/* Serial IRQ line (level) from the UART model. */
static void
serial_irq(void *arg, int level)
{
	struct vmm *vm = arg;
	struct kvm_irq_level lv = { .irq = SERIAL_IRQ, .level = level };

	ioctl(vm->vm_fd, KVM_IRQ_LINE, &lv);
}

/* Console lines: notice kernel panics before the reset that follows. */
static void
serial_line(void *arg, const char *line, size_t len)
{
	struct vmm *vm = arg;

	(void)len;
	if (strstr(line, "Kernel panic - not syncing")) {
		bool first;

		pthread_mutex_lock(&vm->lock);
		first = !vm->panic_seen;
		vm->panic_seen = true;
		pthread_mutex_unlock(&vm->lock);
		if (first && vm->on_event)
			vm->on_event(vm, "panic", vm->event_arg);
	}
}

static void
kbd_reset(void *arg)
{
	struct vmm *vm = arg;

	vmm_log("the guest reset itself through the keyboard controller%s",
	    vm->panic_seen ? " after a kernel panic" : "");
	vmm_exit(vm, vm->panic_seen ? SBX_VMM_EXIT_PANIC : SBX_VMM_EXIT_REBOOT);
}

/* Puts device `d` (NULL: its constructor failed) in the next slot. */
static int
device_add(struct vmm *vm, struct virtio_dev *d, struct sbx_err *e)
{
	if (!d)
		return SBX_EINVAL;
	vm->vdev[vm->nvdev++] = d;
	return virtio_mmio_attach(d, vm->nvdev - 1, vm->vm_fd, &vm->mem,
	    vm->loop, e);
}

static int
devices_setup(struct vmm *vm, const struct vmm_config *cfg,
    struct sbx_err *e)
{
	struct virtio_dev *d;
	int r;

	vm->serial.set_irq = serial_irq;
	vm->serial.on_line = serial_line;
	vm->serial.arg = vm;
	if (cfg->serial_log) {
		vm->serial.log_fd = open(cfg->serial_log, O_WRONLY | O_CREAT |
		    O_APPEND | O_CLOEXEC, 0644);
		if (vm->serial.log_fd < 0)
			return sbx_err_sys(e, "cannot open serial log '%s'",
			    cfg->serial_log);
	}
	if (cfg->console)
		vm->serial.console_fd = 1;
	i8042_init(&vm->kbd);
	vm->kbd.reset = kbd_reset;
	vm->kbd.arg = vm;

	/* The disk first: it becomes /dev/vda. */
	if (cfg->disk) {
		d = virtio_blk_new(cfg->disk, cfg->disk_ro, e);
		if ((r = device_add(vm, d, e)) < 0)
			return r;
	}
	/* The data disk next: /dev/vdb. */
	if (cfg->data_top) {
		struct layer_stack *ls = layer_stack_open(cfg->data_top,
		    cfg->data_layers, cfg->ndata_layers, cfg->data_size, e);

		if (!ls)
			return SBX_EINVAL;
		d = virtio_blk_layers_new(ls, e);
		if ((r = device_add(vm, d, e)) < 0)
			return r;
		vm->data_disk = ls;
		vm->data_slot = vm->nvdev - 1;
	}
	if (cfg->vsock) {
		d = virtio_vsock_new(cfg->cid, cfg->vsock, vm->loop, e);
		if ((r = device_add(vm, d, e)) < 0)
			return r;
	}
	if (cfg->rng) {
		d = virtio_rng_new(e);
		if ((r = device_add(vm, d, e)) < 0)
			return r;
	}
	if (cfg->net) {
		d = virtio_net_new(cfg->net, vm->loop, e);
		if ((r = device_add(vm, d, e)) < 0)
			return r;
	}
	/* Last, so the other devices keep the slots they always had. */
	if (cfg->balloon) {
		d = virtio_balloon_new(vm->mem.size, e);
		if ((r = device_add(vm, d, e)) < 0)
			return r;
	}
	return 0;
}

/* ACPI tables at LAYOUT_ACPI describing vCPUs and virtio devices. */
static int
acpi_setup(struct vmm *vm, struct sbx_err *e)
{
	struct acpi_mmio_dev devs[VIRTIO_MMIO_SLOTS];
	uint64_t size = LAYOUT_ACPI_END - LAYOUT_ACPI;
	unsigned i;
	long r;

	for (i = 0; i < vm->nvdev; i++) {
		devs[i].base = vm->vdev[i]->base;
		devs[i].gsi = VIRTIO_MMIO_GSI0 + vm->vdev[i]->slot;
	}
	r = acpi_build(gmem_ptr_w(&vm->mem, LAYOUT_ACPI, size), size,
	    LAYOUT_ACPI, vm->nvcpu, devs, vm->nvdev, NULL, e);
	return r < 0 ? (int)r : 0;
}

struct vmm *
vmm_create(const struct vmm_config *cfg, struct loop *loop,
    struct sbx_err *e)
{
	struct vmm *vm = xcalloc(1, sizeof(*vm));
	struct sbx_buf kernel = SBX_BUF_INIT, initrd = SBX_BUF_INIT;
	struct bzimage bz;
	uint64_t entry;
	unsigned i;

	vm->kvm_fd = vm->vm_fd = -1;
	for (i = 0; i < VMM_MAX_VCPUS; i++)
		vm->vcpu[i].fd = -1;
	serial_init(&vm->serial);
	vm->loop = loop;
	vm->nvcpu = cfg->vcpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	entry = 0;	/* a restore replays the registers instead */
	if (!cfg->restoring) {
		if (read_image(cfg->kernel, "kernel", &kernel, e) < 0)
			goto fail;
		if (boot_parse((const uint8_t *)kernel.buf, kernel.len,
		    cfg->kernel, &bz, e) < 0)
			goto fail;
		if (cfg->initrd && read_image(cfg->initrd, "initrd", &initrd,
		    e) < 0)
			goto fail;
	}
	if (kvm_open(vm, e) < 0 || gmem_init(&vm->mem, cfg->memory, e) < 0 ||
	    vm_setup(vm, e) < 0 || vcpu_signals_init(e) < 0)
		goto fail;
	if (devices_setup(vm, cfg, e) < 0)
		goto fail;
	/* Tables and images go into RAM, which a restore replaces. */
	if (!cfg->restoring) {
		if (acpi_setup(vm, e) < 0 || boot_load(&vm->mem, &bz,
		    cfg->initrd ? (uint8_t *)initrd.buf : NULL, initrd.len,
		    cfg->cmdline, LAYOUT_ACPI, &entry, e) < 0)
			goto fail;
		cpu_write_boot_tables(&vm->mem);
	}
	for (i = 0; i < vm->nvcpu; i++)
		if (vcpu_create(vm, i, entry, e) < 0)
			goto fail;
	sbx_buf_release(&kernel);
	sbx_buf_release(&initrd);
	return vm;
fail:
	sbx_buf_release(&kernel);
	sbx_buf_release(&initrd);
	vmm_destroy(vm);
	return NULL;
}

int
vmm_start(struct vmm *vm, struct sbx_err *e)
{
	char name[16];
	unsigned i;
	int r;

	vm->start_ns = now_ns();
	for (i = 0; i < vm->nvcpu; i++) {
		r = pthread_create(&vm->vcpu[i].thread, NULL, vcpu_thread,
		    &vm->vcpu[i]);
		if (r) {
			errno = r;
			return sbx_err_sys(e, "cannot start vCPU thread %u", i);
		}
		vm->vcpu[i].started = true;
		/* "vcpu0"...: ps -L and /proc/PID/task tell the threads apart. */
		snprintf(name, sizeof(name), "vcpu%u", i);
		pthread_setname_np(vm->vcpu[i].thread, name);
	}
	return 0;
}

int
vmm_pause(struct vmm *vm, unsigned timeout_ms, struct sbx_err *e)
{
	struct timespec dl;
	unsigned i;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = true;
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nvcpu; i++)
		vcpu_kick(&vm->vcpu[i]);
	pthread_mutex_lock(&vm->lock);
	while (vm->nparked < vm->nvcpu && !vm->exiting && r == 0)
		r = pthread_cond_timedwait(&vm->cond, &vm->lock, &dl);
	pthread_mutex_unlock(&vm->lock);
	if (r == ETIMEDOUT) {
		vmm_resume(vm);
		return sbx_err_set(e, SBX_ETIMEDOUT,
		    "vCPUs did not stop within %u ms", timeout_ms);
	}
	return 0;
}

void
vmm_resume(struct vmm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

bool
vmm_paused(struct vmm *vm)
{
	bool p;

	pthread_mutex_lock(&vm->lock);
	p = vm->pause_req && vm->nparked == vm->nvcpu;
	pthread_mutex_unlock(&vm->lock);
	return p;
}

/* One line for logs and benchmarks: why, how long, how many exits. */
void
vmm_log_summary(struct vmm *vm, int status)
{
	struct timespec ts;
	uint64_t exits = 0, io = 0, mmio = 0, ms;
	unsigned i;

	for (i = 0; i < vm->nvcpu; i++) {
		exits += vm->vcpu[i].exits;
		io += vm->vcpu[i].io_exits;
		mmio += vm->vcpu[i].mmio_exits;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec -
	    vm->start_ns) / 1000000;
	vmm_log("guest %s (exit status %d) after %llu ms; KVM exits %llu "
	    "(io %llu, mmio %llu)", vmm_exit_name(status), status,
	    (unsigned long long)ms, (unsigned long long)exits,
	    (unsigned long long)io, (unsigned long long)mmio);
}

const char *
vmm_exit_name(int status)
{
	switch (status) {
	case SBX_VMM_EXIT_POWEROFF:
		return "poweroff";
	case SBX_VMM_EXIT_REBOOT:
		return "reboot";
	case SBX_VMM_EXIT_PANIC:
		return "panic";
	case SBX_VMM_EXIT_STOPPED:
		return "stopped";
	}
	return "error";
}

void
vmm_exit(struct vmm *vm, int status)
{
	unsigned i;
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = !vm->exiting;
	if (first) {
		vm->exiting = true;
		vm->exit_status = status;
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (!first)
		return;
	for (i = 0; i < vm->nvcpu; i++)
		if (!pthread_equal(vm->vcpu[i].thread, pthread_self()))
			vcpu_kick(&vm->vcpu[i]);
	if (vm->loop)
		loop_stop(vm->loop);
}

void
vmm_destroy(struct vmm *vm)
{
	unsigned i;

	if (!vm)
		return;
	if (!vm->exiting)
		vmm_exit(vm, SBX_VMM_EXIT_STOPPED);
	for (i = 0; i < vm->nvcpu; i++) {
		struct vcpu *c = &vm->vcpu[i];

		if (c->started)
			pthread_join(c->thread, NULL);
		if (c->run)
			munmap(c->run, vm->run_size);
		if (c->fd >= 0)
			close(c->fd);
	}
	for (i = 0; i < vm->nvdev; i++)
		virtio_mmio_detach(vm->vdev[i]);
	serial_flush(&vm->serial);
	if (vm->serial.log_fd >= 0)
		close(vm->serial.log_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	gmem_release(&vm->mem);
	free(vm->cpuid);
	free(vm);
}
