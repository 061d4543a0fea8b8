/*
 * boot.h - Linux x86 64-bit boot protocol for a bzImage
 * (Documentation/arch/x86/boot.rst): header checks, the zero page with
 * its e820 map, command line and initrd placement.
 *
 * Pure functions over guest memory; no KVM. The vCPU register set-up that
 * goes with it (entry point, rsi = zero page) is in cpu.h.
 */
#ifndef SBX_KVM_VMM_BOOT_H
#define SBX_KVM_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

struct gmem;
struct sbx_err;

/* What the setup header of a bzImage says (after validation). */
struct bzimage {
	const uint8_t *data;	/* the whole file (not owned) */
	size_t size;
	uint16_t version;	/* boot protocol, e.g. 0x20f */
	size_t payload_off;	/* (setup_sects + 1) * 512 */
	size_t payload_size;
	uint32_t init_size;	/* memory the kernel needs from its load addr */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint16_t xloadflags;
};

/*
 * Validates `data` as a 64-bit-capable bzImage (HdrS magic, protocol
 * >= 2.12, XLF_KERNEL_64, relocatable) and fills `bz`.
 * `name` is used in error messages.
 */
int boot_parse(const uint8_t *data, size_t size, const char *name,
    struct bzimage *bz, struct sbx_err *e);

/*
 * Fills `tab` (room for `max` entries) with the e820 map for `m`:
 * low RAM below 0x9fc00, the reserved BIOS/ACPI area, RAM from 1 MiB to
 * the hole, RAM above 4 GiB. Returns the number of entries.
 */
int boot_e820(const struct gmem *m, struct boot_e820_entry *tab, int max);

/*
 * Lays out a bzImage boot: payload at 1 MiB, command line, initrd at the
 * top of low RAM (below initrd_addr_max, above the kernel's init_size),
 * and the zero page at LAYOUT_ZERO_PAGE (header copied from the image,
 * loader type 0xff, CAN_USE_HEAP, e820, acpi_rsdp_addr = rsdp).
 * initrd may be NULL. Returns the 64-bit entry point in *entry.
 */
int boot_load(struct gmem *m, const struct bzimage *bz,
    const uint8_t *initrd, size_t initrd_size, const char *cmdline,
    uint64_t rsdp, uint64_t *entry, struct sbx_err *e);

#endif
