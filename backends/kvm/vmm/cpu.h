/*
 * cpu.h - per-vCPU set-up for a 64-bit Linux boot: CPUID normalisation,
 * boot MSRs, FPU, LAPIC LINT0/LINT1, and for the boot vCPU the GDT, page
 * tables and registers of the 64-bit boot protocol entry.
 *
 * Call order per vCPU (before its first KVM_RUN): cpu_set_cpuid(),
 * cpu_init_vcpu(); on the BSP also cpu_setup_bsp() after
 * cpu_write_boot_tables() wrote the tables into guest RAM once.
 * Called from the main thread during VM construction.
 */
#ifndef SBX_KVM_VMM_CPU_H
#define SBX_KVM_VMM_CPU_H

#include <stdint.h>

#include <linux/kvm.h>

struct gmem;
struct sbx_err;

/*
 * Rewrites a KVM_GET_SUPPORTED_CPUID table in place for vCPU `index` of
 * `count`: APIC ids and topology (leaves 1, 4, 0xB, 0x1F, AMD 0x80000008,
 * 0x8000001E), TSC-deadline and hypervisor bits, no PDCM, no turbo/EPB,
 * no architectural PMU (leaf 0xA). Pure function, unit-tested.
 */
void cpu_cpuid_normalize(struct kvm_cpuid_entry2 *ent, unsigned n,
    unsigned index, unsigned count);

/* Writes the boot GDT, IDT and identity page tables (layout.h). */
void cpu_write_boot_tables(struct gmem *m);

/*
 * Normalises a copy of `supported` for this vCPU and sets it with
 * KVM_SET_CPUID2; then boot MSRs, FPU and LAPIC LINT0=ExtINT,
 * LINT1=NMI. Returns 0 or a negative SBX_E code.
 */
int cpu_init_vcpu(int vcpu_fd, const struct kvm_cpuid2 *supported,
    unsigned index, unsigned count, struct sbx_err *e);

/* Boot vCPU: long-mode sregs and regs entering at `entry`. */
int cpu_setup_bsp(int vcpu_fd, uint64_t entry, struct sbx_err *e);

#endif
