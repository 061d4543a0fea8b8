/*
 * vcpu.c - vCPU creation, run loop, exit dispatch, pause/kick (vmm.h).
 *
 * Kick: the controller sets a flag and sends SIGUSR1 to the vCPU thread;
 * the handler sets kvm_run.immediate_exit so that a KVM_RUN entered after
 * the flag was checked returns EINTR at once. After any I/O exit the
 * thread re-enters KVM_RUN before parking, so KVM completes the access
 * (KVM api.rst, "immediate_exit").
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/err.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/acpi.h"
#include "kvm/vmm/cpu.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define KICK_SIGNAL SIGUSR1

static __thread struct kvm_run *tls_run;

static void
kick_handler(int sig)
{
	(void)sig;
	if (tls_run)
		tls_run->immediate_exit = 1;
}

int
vcpu_signals_init(struct sbx_err *e)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(KICK_SIGNAL, &sa, NULL) < 0)
		return sbx_err_sys(e, "sigaction");
	return 0;
}

int
vcpu_create(struct vmm *vm, unsigned i, uint64_t entry, struct sbx_err *e)
{
	struct vcpu *c = &vm->vcpu[i];
	void *p;
	int r;

	c->vm = vm;
	c->index = i;
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
	if (c->fd < 0)
		return sbx_err_sys(e, "KVM_CREATE_VCPU %u", i);
	p = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    c->fd, 0);
	if (p == MAP_FAILED)
		return sbx_err_sys(e, "cannot map kvm_run of vCPU %u", i);
	c->run = p;
	r = cpu_init_vcpu(c->fd, vm->cpuid, i, vm->nvcpu, e);
	if (r < 0)
		return r;
	if (i == 0)
		return cpu_setup_bsp(c->fd, entry, e);
	return 0;
}

void
vcpu_kick(struct vcpu *c)
{
	if (c->started)
		pthread_kill(c->thread, KICK_SIGNAL);
}

/* Port I/O: COM1, i8042, the ACPI sleep register; others read 0xff. */
static void
vcpu_pio(struct vcpu *c, uint16_t port, uint8_t *data, int in, unsigned size)
{
	struct vmm *vm = c->vm;

	if (port >= SERIAL_COM1 && port < SERIAL_COM1 + 8 && size == 1) {
		if (in)
			*data = serial_read(&vm->serial, port - SERIAL_COM1);
		else
			serial_write(&vm->serial, port - SERIAL_COM1, *data);
		return;
	}
	if ((port == I8042_DATA || port == I8042_CMD) && size == 1) {
		if (in)
			*data = i8042_read(&vm->kbd, port);
		else
			i8042_write(&vm->kbd, port, *data);
		return;
	}
	if (port == ACPI_SLEEP_PORT && size == 1) {
		if (in)
			*data = 0;
		else if ((*data & ACPI_SLEEP_EN) &&
		    ((*data >> 2) & 7) == ACPI_S5_TYPE)
			vmm_exit(vm, vm->panic_seen ? SBX_VMM_EXIT_PANIC :
			    SBX_VMM_EXIT_POWEROFF);
		return;
	}
	if (in)
		memset(data, 0xff, size);
}

static void
vcpu_mmio(struct vcpu *c)
{
	struct vmm *vm = c->vm;
	uint64_t a = c->run->mmio.phys_addr;
	unsigned len = c->run->mmio.len, i;

	for (i = 0; i < vm->nvdev; i++) {
		struct virtio_dev *d = vm->vdev[i];

		if (a >= d->base && a - d->base < VIRTIO_MMIO_SIZE) {
			if (c->run->mmio.is_write)
				virtio_mmio_write(d, a - d->base,
				    c->run->mmio.data, len);
			else
				virtio_mmio_read(d, a - d->base,
				    c->run->mmio.data, len);
			return;
		}
	}
	if (!c->run->mmio.is_write)
		memset(c->run->mmio.data, 0, sizeof(c->run->mmio.data));
}

/* Logs the registers of a vCPU that KVM could not run. */
static void
vcpu_dump(struct vcpu *c, const char *what)
{
	struct kvm_regs r;
	struct kvm_sregs sr;

	if (ioctl(c->fd, KVM_GET_REGS, &r) == 0 &&
	    ioctl(c->fd, KVM_GET_SREGS, &sr) == 0)
		vmm_log("vCPU %u: %s at rip 0x%llx rsp 0x%llx rflags 0x%llx "
		    "cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx "
		    "after %llu exits", c->index, what,
		    (unsigned long long)r.rip, (unsigned long long)r.rsp,
		    (unsigned long long)r.rflags, (unsigned long long)sr.cr0,
		    (unsigned long long)sr.cr2, (unsigned long long)sr.cr3,
		    (unsigned long long)sr.cr4, (unsigned long long)sr.efer,
		    (unsigned long long)c->exits);
	else
		vmm_log("vCPU %u: %s", c->index, what);
}

/* Handles one exit; returns 0 to continue, -1 when the VM is done. */
static int
vcpu_exit(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	struct vmm *vm = c->vm;
	unsigned i;

	c->exits++;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		c->io_exits++;
		for (i = 0; i < run->io.count; i++)
			vcpu_pio(c, run->io.port, (uint8_t *)run +
			    run->io.data_offset + i * run->io.size,
			    run->io.direction == KVM_EXIT_IO_IN, run->io.size);
		return 0;
	case KVM_EXIT_MMIO:
		c->mmio_exits++;
		vcpu_mmio(c);
		return 0;
	case KVM_EXIT_HLT:
		return 0;
	case KVM_EXIT_SHUTDOWN:
		/*
		 * A triple fault: where, for the log. On AMD, KVM has already
		 * INIT the vCPU (the VMCB is undefined after a shutdown), so
		 * the registers are the reset state (rip 0xfff0) and only a
		 * KVM exit trace shows where the guest was (tests/rig/suite).
		 */
		vcpu_dump(c, "triple fault (KVM_EXIT_SHUTDOWN; on AMD the "
		    "registers below are KVM's INIT state)");
		vmm_exit(vm, vm->panic_seen ? SBX_VMM_EXIT_PANIC :
		    SBX_VMM_EXIT_REBOOT);
		return -1;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vmm_exit(vm, SBX_VMM_EXIT_POWEROFF);
			break;
		case KVM_SYSTEM_EVENT_CRASH:
			vmm_exit(vm, SBX_VMM_EXIT_PANIC);
			break;
		default:
			vmm_exit(vm, vm->panic_seen ? SBX_VMM_EXIT_PANIC :
			    SBX_VMM_EXIT_REBOOT);
		}
		return -1;
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_dump(c, "KVM internal error");
		vmm_log("vCPU %u: internal error suberror %u", c->index,
		    run->internal.suberror);
		vmm_exit(vm, SBX_VMM_EXIT_ERROR);
		return -1;
	case KVM_EXIT_FAIL_ENTRY:
		vcpu_dump(c, "KVM entry failure");
		vmm_log("vCPU %u: hardware entry failure reason 0x%llx",
		    c->index, (unsigned long long)
		    run->fail_entry.hardware_entry_failure_reason);
		vmm_exit(vm, SBX_VMM_EXIT_ERROR);
		return -1;
	default:
		vcpu_dump(c, "unexpected exit");
		vmm_log("vCPU %u: unhandled KVM exit reason %u", c->index,
		    run->exit_reason);
		vmm_exit(vm, SBX_VMM_EXIT_ERROR);
		return -1;
	}
}

/* Parks the calling vCPU while a pause is requested. */
static void
vcpu_park(struct vcpu *c)
{
	struct vmm *vm = c->vm;

	/* Tell the guest's kvmclock it was stopped (no soft lockups). */
	if (ioctl(c->fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
		vmm_log("vCPU %u: KVM_KVMCLOCK_CTRL: %s", c->index,
		    strerror(errno));
	pthread_mutex_lock(&vm->lock);
	vm->nparked++;
	pthread_cond_broadcast(&vm->cond);
	while (vm->pause_req && !vm->exiting)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->nparked--;
	pthread_mutex_unlock(&vm->lock);
}

void *
vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vmm *vm = c->vm;
	sigset_t set;
	bool io_pending = false;

	tls_run = c->run;
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	for (;;) {
		bool pause, exiting;

		pthread_mutex_lock(&vm->lock);
		pause = vm->pause_req;
		exiting = vm->exiting;
		pthread_mutex_unlock(&vm->lock);
		if (exiting)
			break;
		if (pause) {
			if (io_pending) {
				/* Complete the I/O inside KVM first. */
				c->run->immediate_exit = 1;
			} else {
				vcpu_park(c);
				continue;
			}
		}
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			c->run->immediate_exit = 0;
			io_pending = false;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vmm_log("vCPU %u: KVM_RUN: %s", c->index,
			    strerror(errno));
			vmm_exit(vm, SBX_VMM_EXIT_ERROR);
			break;
		}
		io_pending = c->run->exit_reason == KVM_EXIT_IO ||
		    c->run->exit_reason == KVM_EXIT_MMIO;
		if (vcpu_exit(c) < 0)
			break;
	}
	return NULL;
}
