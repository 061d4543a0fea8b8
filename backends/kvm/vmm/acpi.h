/*
 * acpi.h - ACPI tables for a hardware-reduced x86 guest: RSDP (rev 2),
 * XSDT, FADT (rev 6, HW_REDUCED_ACPI, sleep control/status registers for
 * S5 poweroff), MADT (one LAPIC per vCPU, one IOAPIC) and a DSDT whose AML
 * is generated here (no build-time iasl): \_SB.COM1 (PNP0501, 0x3f8, IRQ 4),
 * one LNRO0005 device per virtio-mmio window (what Debian's virtio_mmio
 * module binds to) and \_S5.
 *
 * Pure functions writing into a caller-provided area that will appear at
 * guest-physical `gpa`; unit-tested with checksums and `iasl -d`.
 */
#ifndef SBX_KVM_VMM_ACPI_H
#define SBX_KVM_VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

struct sbx_err;

/*
 * I/O port of the FADT sleep control/status register: a guest writing
 * SLP_EN (0x20) with SLP_TYP 5 here is powering off (acpi_poweroff()).
 */
#define ACPI_SLEEP_PORT 0x600
#define ACPI_SLEEP_EN 0x20
#define ACPI_S5_TYPE 5

struct acpi_mmio_dev {
	uint64_t base;		/* MMIO window GPA (4 KiB) */
	uint32_t gsi;		/* edge, active high */
};

/*
 * Builds all tables in `area` (`size` bytes, guest address `gpa`; the
 * RSDP comes first, at `gpa`, 16-byte aligned). Returns the number of
 * bytes used, or a negative SBX_E code when `size` is too small.
 * `offsets` (may be NULL) receives the offsets of XSDT, FADT, MADT and
 * DSDT within the area, in that order, for tests.
 */
long acpi_build(uint8_t *area, size_t size, uint64_t gpa, unsigned ncpu,
    const struct acpi_mmio_dev *devs, unsigned ndev, size_t offsets[4],
    struct sbx_err *e);

#endif
