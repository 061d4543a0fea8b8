/*
 * check_vmm_delta.c - page deltas (delta.c): a delta written from RAM
 * and applied over other RAM gives back exactly the listed pages; every
 * malformed file (bad magic, checksums, version, RAM size, truncated,
 * padded, index entries past RAM, unaligned, overlapping, a page count
 * that would overflow) is refused with a message and no crash.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "kvm/vmm/delta.h"
#include "core/banned.h"

#define PAGES 64
#define RAM (PAGES * DELTA_PAGE)

static uint8_t *src, *dst;
static char path[4200];
static const uint64_t offs[] = { 0, 3 * DELTA_PAGE, 4 * DELTA_PAGE,
    5 * DELTA_PAGE, (PAGES - 1) * DELTA_PAGE };
#define NOFFS (sizeof(offs) / sizeof(offs[0]))

static void
setup(void)
{
	size_t i;

	src = malloc(RAM);
	dst = malloc(RAM);
	for (i = 0; i < RAM; i++)
		src[i] = (uint8_t)(i * 7 + i / DELTA_PAGE);
	memset(dst, 0xaa, RAM);
	snprintf(path, sizeof(path), "%s/delta", unit_tmpdir());
}

static void
teardown(void)
{
	free(src);
	free(dst);
}

/* Writes the standard delta to `path`; returns its size. */
static int64_t
write_std(void)
{
	struct sbx_err e = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int64_t n;

	ck_assert_int_ge(fd, 0);
	n = delta_write(fd, src, RAM, offs, NOFFS, &e);
	close(fd);
	ck_assert_msg(n >= 0, "%s", e.msg);
	return n;
}

/* Applies `path` to dst; returns the result, the message in `e`. */
static int64_t
apply(struct sbx_err *e)
{
	int fd = open(path, O_RDONLY);
	int64_t n;

	ck_assert_int_ge(fd, 0);
	memset(e, 0, sizeof(*e));
	n = delta_apply(fd, dst, RAM, path, e);
	close(fd);
	return n;
}

static uint8_t *
load(size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = malloc(n ? n : 1);
	ck_assert_int_eq(fread(p, 1, n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Saves `p`, first recomputing both checksums if `fix` (a forgery). */
static void
save(uint8_t *p, size_t len, int fix)
{
	FILE *f;

	if (fix) {
		uint32_t c = sbx_crc32c(0, p + DELTA_HDR_SIZE,
		    len - DELTA_HDR_SIZE);

		memcpy(p + 32, &c, 4);
		c = sbx_crc32c(0, p, 36);
		memcpy(p + 36, &c, 4);
	}
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(p, 1, len, f), len);
	fclose(f);
}

static void
set64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* Refused, with `want` in the message, and RAM untouched if `clean`. */
static void
refused(const char *want, int clean)
{
	struct sbx_err e;
	size_t i;

	ck_assert_int_lt(apply(&e), 0);
	ck_assert_msg(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg,
	    want);
	for (i = 0; clean && i < RAM; i++)
		ck_assert_int_eq(dst[i], 0xaa);
}

START_TEST(test_roundtrip)
{
	struct sbx_err e;
	size_t i, k;

	ck_assert_int_eq(write_std(), DELTA_HDR_SIZE + NOFFS *
	    DELTA_PAGE_COST);
	ck_assert_int_eq(apply(&e), NOFFS);
	for (i = 0; i < PAGES; i++) {
		int listed = 0;

		for (k = 0; k < NOFFS; k++)
			listed |= offs[k] == i * DELTA_PAGE;
		if (!listed)
			ck_assert_int_eq(dst[i * DELTA_PAGE + 17], 0xaa);
		else
			ck_assert_int_eq(memcmp(dst + i * DELTA_PAGE,
			    src + i * DELTA_PAGE, DELTA_PAGE), 0);
	}
}
END_TEST

START_TEST(test_empty)
{
	struct sbx_err e = { 0 };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_eq(delta_write(fd, src, RAM, NULL, 0, &e),
	    DELTA_HDR_SIZE);
	close(fd);
	ck_assert_int_eq(apply(&e), 0);
	ck_assert_int_eq(dst[0], 0xaa);
}
END_TEST

START_TEST(test_write_refuses)
{
	static const uint64_t bad[][2] = {
		{ 0, 100 },			/* unaligned */
		{ 0, RAM },			/* past RAM */
		{ DELTA_PAGE, DELTA_PAGE },	/* repeated */
		{ 2 * DELTA_PAGE, DELTA_PAGE },	/* out of order */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbx_err e = { 0 };
		int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

		ck_assert_int_lt(delta_write(fd, src, RAM, bad[i], 2, &e), 0);
		ck_assert_ptr_nonnull(strstr(e.msg, "entry 1"));
		close(fd);
	}
}
END_TEST

START_TEST(test_header)
{
	uint8_t *p;
	size_t len;

	write_std();
	p = load(&len);
	p[0] = 'X';
	save(p, len, 1);
	refused("bad magic", 1);
	p[0] = 'S';
	p[5] ^= 1;	/* inside the magic, checksums left */
	save(p, len, 0);
	refused("bad magic", 1);
	p[5] ^= 1;
	p[20] ^= 1;	/* RAM size, header checksum left stale */
	save(p, len, 0);
	refused("header checksum mismatch", 1);
	save(p, len, 1);
	refused("bytes of RAM", 1);
	p[20] ^= 1;
	p[8] = 2;	/* version */
	save(p, len, 1);
	refused("format version 2", 1);
	free(p);
	/* Too short for a header at all. */
	save((uint8_t *)"SBXDLTA", 7, 0);
	refused("truncated", 1);
}
END_TEST

START_TEST(test_truncated)
{
	uint8_t *p;
	size_t len;

	write_std();
	p = load(&len);
	save(p, len - 1, 0);
	refused("truncated or padded", 1);
	save(p, len - DELTA_PAGE_COST, 0);
	refused("truncated or padded", 1);
	save(p, DELTA_HDR_SIZE + 8, 0);
	refused("truncated or padded", 1);
	p = realloc(p, len + DELTA_PAGE);
	memset(p + len, 0, DELTA_PAGE);
	save(p, len + DELTA_PAGE, 0);
	refused("truncated or padded", 1);
	free(p);
}
END_TEST

START_TEST(test_count_overflow)
{
	uint8_t *p;
	size_t len;

	write_std();
	p = load(&len);
	/* count * cost wraps to the real size modulo 2^64 */
	set64(p + 24, NOFFS + (UINT64_MAX / DELTA_PAGE_COST + 1));
	save(p, len, 1);
	refused("truncated or padded", 1);
	set64(p + 24, UINT64_MAX);
	save(p, len, 1);
	refused("truncated or padded", 1);
	free(p);
}
END_TEST

START_TEST(test_index)
{
	static const struct {
		size_t entry;
		uint64_t value;
	} bad[] = {
		{ 1, 3 * DELTA_PAGE + 8 },	/* unaligned */
		{ 4, RAM },			/* past RAM */
		{ 4, UINT64_MAX & ~(DELTA_PAGE - 1) },
		{ 2, 3 * DELTA_PAGE },		/* overlaps entry 1 */
		{ 1, 0 },			/* overlaps entry 0 */
		{ 3, 2 * DELTA_PAGE },		/* out of order */
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *p;
		size_t len;
		char want[32];

		write_std();
		p = load(&len);
		set64(p + DELTA_HDR_SIZE + bad[i].entry * 8, bad[i].value);
		save(p, len, 1);
		snprintf(want, sizeof(want), "entry %zu", bad[i].entry);
		refused(want, 1);
		free(p);
	}
}
END_TEST

START_TEST(test_data_corrupt)
{
	uint8_t *p;
	size_t len;

	write_std();
	p = load(&len);
	p[len - 100] ^= 0x40;	/* in the last page */
	save(p, len, 0);
	refused("checksum mismatch", 0);
	p[len - 100] ^= 0x40;
	p[DELTA_HDR_SIZE + 9] ^= 0x10;	/* index, still a valid offset */
	save(p, len, 0);
	refused("checksum mismatch", 0);
	free(p);
}
END_TEST

Suite *suite_vmm_delta(void)
{
	Suite *s_ = suite_create("vmm_delta");
	TCase *t = tcase_create("delta");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_roundtrip);
	tcase_add_test(t, test_empty);
	tcase_add_test(t, test_write_refuses);
	tcase_add_test(t, test_header);
	tcase_add_test(t, test_truncated);
	tcase_add_test(t, test_count_overflow);
	tcase_add_test(t, test_index);
	tcase_add_test(t, test_data_corrupt);
	suite_add_tcase(s_, t);
	return s_;
}
