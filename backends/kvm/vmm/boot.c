/*
 * boot.c - bzImage loading and the zero page (boot.h).
 */
#include <string.h>

#include "core/err.h"
#include "kvm/vmm/boot.h"
#include "kvm/vmm/layout.h"
#include "kvm/vmm/mem.h"
#include "core/banned.h"

#define HDR_OFF 0x1f1		/* setup header in the file and zero page */
#define HDRS_MAGIC 0x53726448	/* "HdrS" */
#define E820_RAM 1
#define E820_RESERVED 2

int
boot_parse(const uint8_t *data, size_t size, const char *name,
    struct bzimage *bz, struct sbx_err *e)
{
	struct setup_header h;
	size_t hdr_end;

	memset(bz, 0, sizeof(*bz));
	if (size < 0x1000)
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel '%s' is too small to be a bzImage", name);
	memcpy(&h, data + HDR_OFF, sizeof(h));
	if (h.header != HDRS_MAGIC || h.boot_flag != 0xaa55)
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel '%s' is not a bzImage (no 'HdrS' setup header)",
		    name);
	if (h.version < 0x20c)
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel '%s' uses boot protocol %u.%u; 2.12 or later "
		    "is needed", name, h.version >> 8, h.version & 0xff);
	if (!(h.xloadflags & XLF_KERNEL_64))
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel '%s' has no 64-bit entry point (XLF_KERNEL_64)",
		    name);
	if (!h.relocatable_kernel)
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel '%s' is not relocatable", name);
	hdr_end = 0x202 + data[0x201];
	bz->payload_off = ((size_t)(h.setup_sects ? h.setup_sects : 4) + 1)
	    * 512;
	if (hdr_end > bz->payload_off || bz->payload_off >= size)
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel '%s': setup_sects %u points past the file", name,
		    h.setup_sects);
	bz->data = data;
	bz->size = size;
	bz->version = h.version;
	bz->payload_size = size - bz->payload_off;
	bz->init_size = h.init_size;
	bz->initrd_addr_max = h.initrd_addr_max ? h.initrd_addr_max :
	    0x37ffffff;
	bz->cmdline_size = h.cmdline_size ? h.cmdline_size : 255;
	bz->xloadflags = h.xloadflags;
	if (bz->init_size < bz->payload_size)
		bz->init_size = bz->payload_size;
	return 0;
}

static int
e820_add(struct boot_e820_entry *tab, int n, int max, uint64_t addr,
    uint64_t size, uint32_t type)
{
	if (n >= max || size == 0)
		return n;
	tab[n].addr = addr;
	tab[n].size = size;
	tab[n].type = type;
	return n + 1;
}

int
boot_e820(const struct gmem *m, struct boot_e820_entry *tab, int max)
{
	int n = 0;

	n = e820_add(tab, n, max, 0, LAYOUT_EBDA, E820_RAM);
	n = e820_add(tab, n, max, LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA,
	    E820_RESERVED);
	if (m->low > LAYOUT_HIMEM)
		n = e820_add(tab, n, max, LAYOUT_HIMEM,
		    m->low - LAYOUT_HIMEM, E820_RAM);
	if (m->high)
		n = e820_add(tab, n, max, GMEM_HIGH_START, m->high, E820_RAM);
	return n;
}

int
boot_load(struct gmem *m, const struct bzimage *bz, const uint8_t *initrd,
    size_t initrd_size, const char *cmdline, uint64_t rsdp, uint64_t *entry,
    struct sbx_err *e)
{
	struct boot_params *bp;
	size_t hdr_len = 0x202 + bz->data[0x201] - HDR_OFF;
	size_t clen = strlen(cmdline);
	uint64_t kend = LAYOUT_HIMEM + bz->init_size, top, at = 0;

	if (clen >= bz->cmdline_size || clen >= LAYOUT_CMDLINE_MAX)
		return sbx_err_set(e, SBX_EINVAL,
		    "kernel command line is %zu bytes; the kernel accepts "
		    "at most %u", clen, bz->cmdline_size - 1);
	if (kend > m->low)
		return sbx_err_set(e, SBX_EINVAL,
		    "guest memory too small: the kernel needs %llu MiB "
		    "below 3 GiB", (unsigned long long)(kend >> 20) + 1);
	if (gmem_write(m, LAYOUT_HIMEM, bz->data + bz->payload_off,
	    bz->payload_size) < 0)
		return sbx_err_set(e, SBX_EINVAL, "kernel does not fit in RAM");
	gmem_write(m, LAYOUT_CMDLINE, cmdline, clen + 1);
	if (initrd && initrd_size) {
		top = m->low;
		if (top > (uint64_t)bz->initrd_addr_max + 1)
			top = (uint64_t)bz->initrd_addr_max + 1;
		if (initrd_size > top || top - initrd_size < kend)
			return sbx_err_set(e, SBX_EINVAL,
			    "guest memory too small for the kernel (%llu MiB) "
			    "and a %zu MiB initrd", (unsigned long long)
			    (kend >> 20) + 1, (initrd_size >> 20) + 1);
		at = (top - initrd_size) & ~(GMEM_PAGE - 1);
		gmem_write(m, at, initrd, initrd_size);
	}

	bp = gmem_ptr_w(m, LAYOUT_ZERO_PAGE, sizeof(*bp));
	memset(bp, 0, sizeof(*bp));
	memcpy((uint8_t *)bp + HDR_OFF, bz->data + HDR_OFF, hdr_len);
	bp->hdr.type_of_loader = 0xff;
	bp->hdr.loadflags |= CAN_USE_HEAP | LOADED_HIGH;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.cmd_line_ptr = LAYOUT_CMDLINE;
	bp->hdr.code32_start = LAYOUT_HIMEM;
	bp->hdr.ramdisk_image = (uint32_t)at;
	bp->hdr.ramdisk_size = initrd ? (uint32_t)initrd_size : 0;
	bp->hdr.vid_mode = 0xffff;
	bp->acpi_rsdp_addr = rsdp;
	bp->e820_entries = boot_e820(m, bp->e820_table,
	    E820_MAX_ENTRIES_ZEROPAGE);
	*entry = LAYOUT_HIMEM + 0x200;
	return 0;
}
