/*
 * layout.h - guest-physical layout of an sbx-vmm VM (x86-64).
 *
 *   0x500       boot GDT          0x520   empty IDT
 *   0x7000      boot_params       0x8ff0  initial stack
 *   0x9000..    PML4, PDPT, PD (identity map of the first 1 GiB)
 *   0x20000     kernel command line
 *   0x9fc00..0xfffff  reserved: ACPI tables (0xe0000: RSDP)
 *   0x100000    protected-mode kernel (bzImage payload)
 *   top of low RAM  initrd
 *   0xC0000000..4 GiB  MMIO hole: virtio-mmio windows (virtio.h),
 *               IOAPIC, LAPIC, TSS
 *   4 GiB..     the rest of RAM
 */
#ifndef SBX_KVM_VMM_LAYOUT_H
#define SBX_KVM_VMM_LAYOUT_H

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_IDT 0x520ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL		/* reserved from here ... */
#define LAYOUT_HIMEM 0x100000ULL	/* ... to here; kernel loads here */
#define LAYOUT_ACPI 0xe0000ULL		/* RSDP, then the other tables */
#define LAYOUT_ACPI_END 0x100000ULL
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_TSS 0xfffbd000ULL

#endif
