/*
 * check_vmm_acpi.c - ACPI tables of sbx-vmm (acpi.c): structure and
 * checksums always; with iasl (Debian acpica-tools) installed, every table
 * must also decompile with `iasl -d` and the DSDT must declare what Debian's
 * kernel looks for.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/run.h"
#include "kvm/vmm/acpi.h"
#include "core/banned.h"

#define GPA 0xe0000ULL
#define AREA 0x20000

static uint8_t area[AREA];
static size_t off[4];
static long used;

static const struct acpi_mmio_dev devs[] = {
	{ 0xd0000000, 5 }, { 0xd0001000, 6 }, { 0xd0002000, 7 },
};

static uint8_t
sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint32_t
le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void
build(unsigned ncpu)
{
	struct sbx_err e = { 0 };

	memset(area, 0xee, sizeof(area));
	used = acpi_build(area, AREA, GPA, ncpu, devs, 3, off, &e);
	ck_assert_msg(used > 0, "acpi_build: %s", e.msg);
}

START_TEST(test_checksums)
{
	const uint8_t *r = area;
	static const char *sig[4] = { "XSDT", "FACP", "APIC", "DSDT" };
	unsigned i;

	build(4);
	ck_assert(memcmp(r, "RSD PTR ", 8) == 0);
	ck_assert_uint_eq(sum(r, 20), 0);
	ck_assert_uint_eq(sum(r, 36), 0);
	ck_assert_uint_eq(r[15], 2);
	ck_assert_uint_eq(le64(r + 24), GPA + off[0]);
	for (i = 0; i < 4; i++) {
		const uint8_t *t = area + off[i];

		ck_assert_msg(memcmp(t, sig[i], 4) == 0, "table %u", i);
		ck_assert_msg(sum(t, le32(t + 4)) == 0, "%s checksum", sig[i]);
		ck_assert_uint_le(off[i] + le32(t + 4), (size_t)used);
	}
	/* XSDT -> FADT, MADT; FADT -> DSDT (32 and 64 bit). */
	ck_assert_uint_eq(le64(area + off[0] + 36), GPA + off[1]);
	ck_assert_uint_eq(le64(area + off[0] + 44), GPA + off[2]);
	ck_assert_uint_eq(le32(area + off[1] + 40), GPA + off[3]);
	ck_assert_uint_eq(le64(area + off[1] + 140), GPA + off[3]);
	/* FADT: hardware-reduced with a sleep register. */
	ck_assert(le32(area + off[1] + 112) & 1u << 20);
	ck_assert_uint_eq(le64(area + off[1] + 244 + 4), ACPI_SLEEP_PORT);
	/* MADT: 4 enabled LAPICs with ids 0..3, then the IOAPIC. */
	ck_assert_uint_eq(le32(area + off[2] + 4), 36 + 8 + 4 * 8 + 12);
	for (i = 0; i < 4; i++) {
		const uint8_t *l = area + off[2] + 44 + 8 * i;

		ck_assert_uint_eq(l[0], 0);
		ck_assert_uint_eq(l[3], i);
		ck_assert_uint_eq(le32(l + 4), 1);
	}
	ck_assert_uint_eq(area[off[2] + 44 + 32], 1);
	ck_assert_uint_eq(le32(area + off[2] + 44 + 32 + 4), 0xfec00000);
}
END_TEST

START_TEST(test_too_small)
{
	struct sbx_err e = { 0 };

	ck_assert_int_lt(acpi_build(area, 200, GPA, 1, devs, 3, NULL, &e), 0);
	ck_assert_msg(strstr(e.msg, "do not fit"), "%s", e.msg);
	ck_assert_int_lt(acpi_build(area, AREA, GPA, 0, devs, 3, NULL, &e), 0);
}
END_TEST

/* Many devices push the DSDT scope past 63 bytes: 2-byte PkgLength. */
START_TEST(test_many_devices)
{
	struct acpi_mmio_dev many[8];
	struct sbx_err e = { 0 };
	unsigned i;

	for (i = 0; i < 8; i++) {
		many[i].base = 0xd0000000 + i * 0x1000;
		many[i].gsi = 5 + i;
	}
	used = acpi_build(area, AREA, GPA, 64, many, 8, off, &e);
	ck_assert_int_gt(used, 0);
	ck_assert_uint_eq(sum(area + off[3], le32(area + off[3] + 4)), 0);
	ck_assert_uint_eq(sum(area + off[2], le32(area + off[2] + 4)), 0);
}
END_TEST

static void
write_table(const char *dir, const char *name, const uint8_t *t)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, t, le32(t + 4)), (ssize_t)le32(t + 4));
	close(fd);
}

/* Runs `iasl -d FILE` in dir; returns its exit status. */
static int
iasl(const char *dir, const char *file, struct sbx_buf *out)
{
	struct sbx_run r;
	struct sbx_err e = { 0 };
	int st;

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "iasl", "-d", file, NULL);
	r.cwd = dir;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = out;
	r.err = SBX_RUN_TO_OUT;
	r.timeout_ms = 20000;
	st = sbx_run(&r, &e);
	sbx_run_release(&r);
	return st;
}

START_TEST(test_iasl_roundtrip)
{
	static const char *names[4] = { "xsdt.dat", "facp.dat", "apic.dat",
	    "dsdt.dat" };
	const char *dir;
	char *found = sbx_run_find_in_path("iasl", NULL), path[512];
	struct sbx_buf out = SBX_BUF_INIT, dsl = SBX_BUF_INIT;
	unsigned i;

	if (!found) {
		fprintf(stderr, "check_vmm_acpi: iasl not installed "
		    "(apt-get install acpica-tools); round trip not run\n");
		return;
	}
	free(found);
	build(2);
	dir = unit_tmpdir();
	for (i = 0; i < 4; i++) {
		write_table(dir, names[i], area + off[i]);
		sbx_buf_reset(&out);
		ck_assert_msg(iasl(dir, names[i], &out) == 0,
		    "iasl -d %s failed:\n%s", names[i], out.buf);
		ck_assert_msg(!strstr(out.buf, "Error") &&
		    !strstr(out.buf, "Invalid"), "iasl -d %s:\n%s", names[i],
		    out.buf);
	}
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	ck_assert_int_eq(sbx_buf_read_file(&dsl, path, NULL), 0);
	ck_assert_msg(strstr(dsl.buf, "\"LNRO0005\""), "%s", dsl.buf);
	ck_assert_msg(strstr(dsl.buf, "Memory32Fixed (ReadWrite,") &&
	    strstr(dsl.buf, "0xD0002000"), "%s", dsl.buf);
	ck_assert_msg(strstr(dsl.buf, "EisaId (\"PNP0501\")"), "%s", dsl.buf);
	ck_assert_msg(strstr(dsl.buf, "Device (V002)"), "%s", dsl.buf);
	ck_assert_msg(strstr(dsl.buf, "Name (\\_S5, Package (0x02)"), "%s", dsl.buf);
	sbx_buf_release(&out);
	sbx_buf_release(&dsl);
}
END_TEST

Suite *suite_vmm_acpi(void)
{
	Suite *s = suite_create("vmm_acpi");
	TCase *t = tcase_create("acpi");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_checksums);
	tcase_add_test(t, test_too_small);
	tcase_add_test(t, test_many_devices);
	tcase_add_test(t, test_iasl_roundtrip);
	suite_add_tcase(s, t);
	return s;
}
