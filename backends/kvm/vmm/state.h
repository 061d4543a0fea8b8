/*
 * state.h - KVM state of vCPUs and of the VM (irqchip, PIT, clock) as
 * snapshot records (snapshot.h), in the orders of VMM-NOTES 9.2 and 9.3.
 *
 * Threads: the caller guarantees no vCPU is inside KVM_RUN (all parked, or
 * not started yet); the calls are then made from the I/O or main thread.
 */
#ifndef SBX_KVM_VMM_STATE_H
#define SBX_KVM_VMM_STATE_H

#include <stdint.h>

struct sbx_buf;
struct sbx_err;
struct snap_image;

/*
 * vCPU `idx`: MP_STATE first, ..., VCPU_EVENTS last; MSRs from
 * KVM_GET_MSR_INDEX_LIST (those KVM refuses to read are dropped), a zero
 * IA32_TSC_DEADLINE replaced by the vCPU's IA32_TSC.
 */
int state_save_vcpu(int kvm_fd, int vm_fd, int vcpu_fd, unsigned idx,
    struct sbx_buf *b, struct sbx_err *e);
/* CPUID2, MP_STATE, REGS, SREGS, XSAVE, XCRS, DEBUGREGS, LAPIC, MSRs
 * (TSC_DEADLINE last), VCPU_EVENTS. */
int state_load_vcpu(int vcpu_fd, unsigned idx, const struct snap_image *img,
    struct sbx_err *e);

/* PIT2, CLOCK, PIC master, PIC slave, IOAPIC. */
int state_save_vm(int vm_fd, struct sbx_buf *b, struct sbx_err *e);
/* Same order; the clock continues where it stopped (flags 0). */
int state_load_vm(int vm_fd, const struct snap_image *img,
    struct sbx_err *e);

#endif
