/*
 * check_vmm_boot.c - bzImage header checks, zero page, e820 and initrd
 * placement (boot.c), CPUID normalisation (cpu.c). No KVM needed.
 *
 * The real-kernel test reads Debian's bzImage from $SBX_TEST_KERNEL, the
 * rig's cache or /boot, and says so on stderr when none is there; the
 * synthetic-header tests always run.
 */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kvm.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "kvm/vmm/boot.h"
#include "kvm/vmm/cpu.h"
#include "kvm/vmm/layout.h"
#include "kvm/vmm/mem.h"
#include "core/banned.h"

/* A minimal valid header: protocol 2.15, 64-bit, relocatable. */
static uint8_t *
fake_bzimage(size_t size)
{
	uint8_t *k = calloc(1, size);
	struct setup_header h;

	memset(&h, 0, sizeof(h));
	h.setup_sects = 3;
	h.boot_flag = 0xaa55;
	h.header = 0x53726448;
	h.version = 0x20f;
	h.relocatable_kernel = 1;
	h.xloadflags = 1;
	h.init_size = 8 << 20;
	h.cmdline_size = 2047;
	h.initrd_addr_max = 0x7fffffff;
	h.loadflags = LOADED_HIGH;
	memcpy(k + 0x1f1, &h, sizeof(h));
	k[0x201] = 0x6a;	/* jump over the header to 0x26c */
	memset(k + 0x800, 0xcc, size - 0x800);
	return k;
}

START_TEST(test_parse_rejects)
{
	struct bzimage bz;
	struct sbx_err e = { 0 };
	uint8_t *k = fake_bzimage(64 << 10);

	ck_assert_int_eq(boot_parse(k, 100, "k", &bz, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "too small"), "%s", e.msg);
	k[0x202] = 'X';
	ck_assert_int_eq(boot_parse(k, 64 << 10, "k", &bz, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "'k' is not a bzImage"), "%s", e.msg);
	k[0x202] = 'H';
	k[0x236] = 0;		/* xloadflags: no 64-bit entry */
	ck_assert_int_eq(boot_parse(k, 64 << 10, "k", &bz, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "XLF_KERNEL_64"), "%s", e.msg);
	k[0x236] = 1;
	k[0x206] = 0x0a;	/* protocol 2.10 */
	ck_assert_int_eq(boot_parse(k, 64 << 10, "k", &bz, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "2.10"), "%s", e.msg);
	k[0x206] = 0x0f;
	k[0x1f1] = 200;		/* setup_sects past the end */
	ck_assert_int_eq(boot_parse(k, 64 << 10, "k", &bz, &e), SBX_EINVAL);
	k[0x1f1] = 3;
	ck_assert_int_eq(boot_parse(k, 64 << 10, "k", &bz, &e), 0);
	ck_assert_uint_eq(bz.payload_off, 2048);
	free(k);
}
END_TEST

static void
check_e820(const struct gmem *m, const struct boot_params *bp)
{
	uint64_t ram = 0;
	unsigned i;

	ck_assert_uint_ge(bp->e820_entries, 3);
	ck_assert_uint_eq(bp->e820_table[0].addr, 0);
	ck_assert_uint_eq(bp->e820_table[0].size, LAYOUT_EBDA);
	ck_assert_uint_eq(bp->e820_table[1].type, 2);
	ck_assert_uint_eq(bp->e820_table[2].addr, LAYOUT_HIMEM);
	for (i = 0; i < bp->e820_entries; i++) {
		const struct boot_e820_entry *x = &bp->e820_table[i];

		if (x->type == 1)
			ram += x->size;
		/* Nothing in the MMIO hole is RAM. */
		ck_assert(x->type != 1 || x->addr + x->size <= GMEM_HOLE_START ||
		    x->addr >= GMEM_HIGH_START);
		if (i)
			ck_assert_uint_ge(x->addr, bp->e820_table[i - 1].addr +
			    bp->e820_table[i - 1].size);
	}
	ck_assert_uint_eq(ram, m->size - (LAYOUT_HIMEM - LAYOUT_EBDA));
}

START_TEST(test_load_fake)
{
	struct gmem m;
	struct bzimage bz;
	struct sbx_err e = { 0 };
	uint8_t *k = fake_bzimage(1 << 20), initrd[8192];
	const struct boot_params *bp;
	uint64_t entry;
	char longcmd[3000];

	ck_assert_int_eq(gmem_init(&m, 64 << 20, NULL), 0);
	ck_assert_int_eq(boot_parse(k, 1 << 20, "k", &bz, &e), 0);
	memset(initrd, 0x5a, sizeof(initrd));
	ck_assert_int_eq(boot_load(&m, &bz, initrd, sizeof(initrd),
	    "console=ttyS0", 0xe0000, &entry, &e), 0);
	ck_assert_uint_eq(entry, 0x100200);
	bp = gmem_ptr(&m, LAYOUT_ZERO_PAGE, sizeof(*bp));
	ck_assert_uint_eq(bp->hdr.type_of_loader, 0xff);
	ck_assert(bp->hdr.loadflags & CAN_USE_HEAP);
	ck_assert_uint_eq(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	ck_assert_str_eq((char *)m.host + LAYOUT_CMDLINE, "console=ttyS0");
	ck_assert_uint_eq(bp->acpi_rsdp_addr, 0xe0000);
	ck_assert_uint_eq(bp->hdr.ramdisk_size, sizeof(initrd));
	/* initrd: page aligned, at the top of RAM, clear of the kernel. */
	ck_assert_uint_eq(bp->hdr.ramdisk_image % 4096, 0);
	ck_assert_uint_eq(bp->hdr.ramdisk_image, (64 << 20) - 8192);
	ck_assert_uint_ge(bp->hdr.ramdisk_image, LAYOUT_HIMEM + (8 << 20));
	ck_assert(memcmp(m.host + bp->hdr.ramdisk_image, initrd, 8192) == 0);
	ck_assert(memcmp(m.host + LAYOUT_HIMEM, k + 2048, 4096) == 0);
	check_e820(&m, bp);

	/* Too long a command line, too little memory. */
	memset(longcmd, 'a', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = 0;
	ck_assert_int_eq(boot_load(&m, &bz, NULL, 0, longcmd, 0, &entry, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "at most 2046"), "%s", e.msg);
	gmem_release(&m);
	ck_assert_int_eq(gmem_init(&m, 8 << 20, NULL), 0);
	ck_assert_int_eq(boot_load(&m, &bz, NULL, 0, "", 0, &entry, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "too small"), "%s", e.msg);
	gmem_release(&m);
	ck_assert_int_eq(gmem_init(&m, 12 << 20, NULL), 0);
	ck_assert_int_eq(boot_load(&m, &bz, initrd, 4 << 20, "", 0, &entry,
	    &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "initrd"), "%s", e.msg);
	gmem_release(&m);
	free(k);
}
END_TEST

START_TEST(test_e820_high)
{
	struct gmem m;
	struct boot_e820_entry t[8];
	int n;

	ck_assert_int_eq(gmem_init(&m, GMEM_HOLE_START + (64 << 20), NULL), 0);
	n = boot_e820(&m, t, 8);
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(t[2].addr + t[2].size, GMEM_HOLE_START);
	ck_assert_uint_eq(t[3].addr, GMEM_HIGH_START);
	ck_assert_uint_eq(t[3].size, 64 << 20);
	gmem_release(&m);
}
END_TEST

/* Finds Debian's bzImage: $SBX_TEST_KERNEL, the rig cache, /boot. */
static char *
find_kernel(void)
{
	const char *env = getenv("SBX_TEST_KERNEL"), *home = getenv("HOME");
	char pat[512];
	glob_t g;
	char *r = NULL;

	if (env && *env)
		return strdup(env);
	snprintf(pat, sizeof(pat), "%s/.cache/sbx/rig/linux-image-*/vmlinuz",
	    home ? home : "/");
	if (glob(pat, 0, NULL, &g) != 0 &&
	    glob("/boot/vmlinuz-*", 0, NULL, &g) != 0)
		return NULL;
	if (g.gl_pathc)
		r = strdup(g.gl_pathv[0]);
	globfree(&g);
	return r;
}

START_TEST(test_debian_kernel)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e = { 0 };
	struct bzimage bz;
	struct gmem m;
	uint64_t entry;
	char *path = find_kernel();
	const struct boot_params *bp;

	if (!path || sbx_buf_read_file(&b, path, &e) < 0) {
		fprintf(stderr, "check_vmm_boot: no Debian kernel found (set "
		    "SBX_TEST_KERNEL); real-header test not run\n");
		free(path);
		return;
	}
	ck_assert_msg(boot_parse((uint8_t *)b.buf, b.len, path, &bz, &e) == 0,
	    "%s: %s", path, e.msg);
	ck_assert_uint_ge(bz.version, 0x20c);
	ck_assert(bz.xloadflags & 1);
	ck_assert_uint_ge(bz.init_size, 16 << 20);
	ck_assert_uint_eq(bz.payload_off % 512, 0);
	ck_assert_int_eq(gmem_init(&m, 256 << 20, NULL), 0);
	ck_assert_msg(boot_load(&m, &bz, (uint8_t *)"x", 1, "console=ttyS0",
	    0xe0000, &entry, &e) == 0, "%s", e.msg);
	bp = gmem_ptr(&m, LAYOUT_ZERO_PAGE, sizeof(*bp));
	ck_assert_uint_eq(bp->hdr.version, bz.version);
	ck_assert_uint_eq(bp->hdr.header, 0x53726448);
	ck_assert_uint_ge(bp->hdr.ramdisk_image, LAYOUT_HIMEM + bz.init_size);
	check_e820(&m, bp);
	gmem_release(&m);
	sbx_buf_release(&b);
	free(path);
}
END_TEST

static struct kvm_cpuid_entry2 *
find(struct kvm_cpuid_entry2 *t, unsigned n, uint32_t fn, uint32_t idx)
{
	unsigned i;

	for (i = 0; i < n; i++)
		if (t[i].function == fn && t[i].index == idx)
			return &t[i];
	ck_abort_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

START_TEST(test_cpuid)
{
	struct kvm_cpuid_entry2 t[] = {
		{ .function = 1, .ebx = 0x12345678, .ecx = 1u << 15,
		  .edx = 0 },
		{ .function = 6, .eax = 0x7, .ecx = 0xf },
		{ .function = 0xa, .eax = 0x07300805, .ebx = 1, .edx = 3 },
		{ .function = 0xb, .index = 0, .eax = 1, .ebx = 2, .edx = 9 },
		{ .function = 0xb, .index = 1, .eax = 4, .ebx = 16, .edx = 9 },
		{ .function = 0xb, .index = 2, .eax = 4, .ebx = 16, .edx = 9 },
		{ .function = 0x8000001e, .eax = 7, .ebx = 0x105 },
	};
	unsigned n = sizeof(t) / sizeof(t[0]);
	struct kvm_cpuid_entry2 *c;

	cpu_cpuid_normalize(t, n, 2, 3);
	c = find(t, n, 1, 0);
	ck_assert_uint_eq(c->ebx >> 24, 2);		/* APIC id */
	ck_assert_uint_eq((c->ebx >> 16) & 0xff, 4);	/* pow2 >= 3 */
	ck_assert_uint_eq((c->ebx >> 8) & 0xff, 8);	/* CLFLUSH 64 B */
	ck_assert(c->ecx & 1u << 24);			/* TSC deadline */
	ck_assert(c->ecx & 1u << 31);			/* hypervisor */
	ck_assert(!(c->ecx & 1u << 15));		/* no PDCM */
	ck_assert(c->edx & 1u << 28);			/* HTT */
	c = find(t, n, 6, 0);
	ck_assert_uint_eq(c->eax, 0x5);
	ck_assert_uint_eq(c->ecx, 0x7);
	c = find(t, n, 0xa, 0);
	ck_assert_uint_eq(c->eax | c->ebx | c->ecx | c->edx, 0);
	c = find(t, n, 0xb, 0);
	ck_assert_uint_eq(c->edx, 2);
	ck_assert_uint_eq(c->ebx, 1);
	c = find(t, n, 0xb, 1);
	ck_assert_uint_eq(c->eax, 2);			/* shift for 3 CPUs */
	ck_assert_uint_eq(c->ebx, 3);
	ck_assert_uint_eq(c->edx, 2);
	c = find(t, n, 0xb, 2);
	ck_assert_uint_eq(c->ebx, 0);
	ck_assert_uint_eq(c->ecx, 2);			/* invalid level */
	c = find(t, n, 0x8000001e, 0);
	ck_assert_uint_eq(c->eax, 2);

	/* One vCPU: no HTT. */
	cpu_cpuid_normalize(t, n, 0, 1);
	c = find(t, n, 1, 0);
	ck_assert(!(c->edx & 1u << 28));
	ck_assert_uint_eq((c->ebx >> 16) & 0xff, 1);
}
END_TEST

/*
 * The memory hash of SBX_VMM_MEMHASH: equal RAM, equal text; one byte
 * changed in the sixth eighth changes the whole hash and r5 only.
 */
START_TEST(test_mem_hash)
{
	struct gmem a, b;
	char ha[GMEM_HASH_TEXT], hb[GMEM_HASH_TEXT];
	char wa[9][20], wb[9][20];
	int i;

	ck_assert_int_eq(gmem_init(&a, 16 << 20, NULL), 0);
	ck_assert_int_eq(gmem_init(&b, 16 << 20, NULL), 0);
	for (i = 0; i < (16 << 20); i += 4093)
		a.host[i] = b.host[i] = (uint8_t)(i * 31);
	gmem_hash_text(&a, ha);
	gmem_hash_text(&b, hb);
	ck_assert_str_eq(ha, hb);
	ck_assert_int_eq(strlen(ha), 16 + 8 * 9);
	b.host[(10u << 20) + 12345] ^= 1;
	gmem_hash_text(&b, hb);
	ck_assert_int_eq(sscanf(ha, "%19s %19s %19s %19s %19s %19s %19s %19s "
	    "%19s", wa[0], wa[1], wa[2], wa[3], wa[4], wa[5], wa[6], wa[7],
	    wa[8]), 9);
	ck_assert_int_eq(sscanf(hb, "%19s %19s %19s %19s %19s %19s %19s %19s "
	    "%19s", wb[0], wb[1], wb[2], wb[3], wb[4], wb[5], wb[6], wb[7],
	    wb[8]), 9);
	ck_assert_str_ne(wa[0], wb[0]);
	for (i = 1; i < 9; i++)
		if (i == 1 + 5)
			ck_assert_str_ne(wa[i], wb[i]);
		else
			ck_assert_str_eq(wa[i], wb[i]);
	gmem_release(&a);
	gmem_release(&b);
}
END_TEST

Suite *suite_vmm_boot(void)
{
	Suite *s = suite_create("vmm_boot");
	TCase *t = tcase_create("boot");

	tcase_set_timeout(t, 30);
	tcase_add_test(t, test_parse_rejects);
	tcase_add_test(t, test_load_fake);
	tcase_add_test(t, test_e820_high);
	tcase_add_test(t, test_debian_kernel);
	tcase_add_test(t, test_cpuid);
	tcase_add_test(t, test_mem_hash);
	suite_add_tcase(s, t);
	return s;
}
