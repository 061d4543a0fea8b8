/* check_parse.c - sizes, durations, integers: units, ranges, overflow. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/banned.h"

#define K UINT64_C(1024)

static const struct {
	const char *in;
	uint64_t want;
} good_sizes[] = {
	{ "0", 0 }, { "512", 512 }, { "512B", 512 }, { "1b", 1 },
	{ "512K", 512 * K }, { "512k", 512 * K }, { "1KiB", K },
	{ "1KB", K }, { "512M", 512 * K * K }, { "1MB", K * K },
	{ "1MiB", K * K }, { "2G", 2 * K * K * K }, { "2gib", 2 * K * K * K },
	{ "1T", K * K * K * K }, { "1TB", K * K * K * K },
	{ "1.5G", 3 * K * K * K / 2 }, { "0.5K", 512 }, { ".5M", K * K / 2 },
	{ "007", 7 }, { "18446744073709551615", UINT64_MAX },
	{ "16777215.9999999999T", UINT64_MAX - 109 },
};

START_TEST(test_size_good)
{
	struct sbx_err e;
	uint64_t v = 12345;
	int rc;

	sbx_err_clear(&e);
	rc = sbx_parse_size(good_sizes[_i].in, 0, UINT64_MAX, &v, &e);
	ck_assert_msg(rc == 0, "parse_size('%s') failed: %s",
	    good_sizes[_i].in, e.msg);
	ck_assert_msg(v == good_sizes[_i].want,
	    "parse_size('%s') = %ju, want %ju", good_sizes[_i].in,
	    (uintmax_t)v, (uintmax_t)good_sizes[_i].want);
}
END_TEST

static const char *const bad_sizes[] = {
	"", "abc", "M", "-1", "+1", " 1", "1 ", "1 M", "1X", "1MM", "1.5",
	"1.5B", "1.", "1.M", "0x10", "1e3", "1Kb2", "1Mi", "1.2.3G", "--1",
};

START_TEST(test_size_bad)
{
	struct sbx_err e;
	uint64_t v = 777;
	char want[256];
	int rc;

	sbx_err_clear(&e);
	rc = sbx_parse_size(bad_sizes[_i], 0, UINT64_MAX, &v, &e);
	ck_assert_msg(rc == SBX_EINVAL, "parse_size('%s') = %d, want EINVAL",
	    bad_sizes[_i], rc);
	ck_assert_msg(v == 777, "parse_size('%s') wrote the output",
	    bad_sizes[_i]);
	snprintf(want, sizeof(want), "invalid size '%s': expected a number "
	    "with an optional unit (K, M, G, T)", bad_sizes[_i]);
	ck_assert_str_eq(e.msg, want);
}
END_TEST

START_TEST(test_size_range)
{
	struct sbx_err e;
	uint64_t v = 0;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_parse_size("9T", 0, K * K * K * K, &v, &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "size '9T' out of range (max 1T)");
	ck_assert_int_eq(sbx_parse_size("1T", 0, K * K * K * K, &v, &e), 0);
	ck_assert(v == K * K * K * K);
	ck_assert_int_eq(sbx_parse_size("1025", 0, K, &v, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "size '1025' out of range (max 1K)");
	ck_assert_int_eq(sbx_parse_size("64M", 128 * K * K, 0xffffffffff, &v,
	    &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "size '64M' out of range (min 128M)");
	/* Overflow of uint64 is "out of range", not a wrapped value. */
	ck_assert_int_eq(sbx_parse_size("16777216T", 0, UINT64_MAX, &v, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "out of range") != NULL, "%s", e.msg);
	ck_assert_int_eq(sbx_parse_size("18446744073709551616", 0, UINT64_MAX,
	    &v, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "out of range") != NULL, "%s", e.msg);
	ck_assert_int_eq(sbx_parse_size("99999999999999999999999G", 0,
	    UINT64_MAX, &v, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "out of range") != NULL, "%s", e.msg);
	/* A NULL error record is allowed. */
	ck_assert_int_eq(sbx_parse_size("x", 0, 1, &v, NULL), SBX_EINVAL);
}
END_TEST

static const struct {
	const char *in;
	uint64_t want;
} good_durations[] = {
	{ "0", 0 }, { "30", 30000 }, { "250ms", 250 }, { "30s", 30000 },
	{ "5m", 300000 }, { "2h", 7200000 }, { "1d", 86400000 },
	{ "1h30m", 5400000 }, { "1m30s", 90000 }, { "1s500ms", 1500 },
	{ "1d2h3m4s5ms", 93784005 }, { "1.5s", 1500 }, { "0.5h", 1800000 },
	{ "0ms", 0 },
};

START_TEST(test_duration_good)
{
	struct sbx_err e;
	uint64_t v = 1;
	int rc;

	sbx_err_clear(&e);
	rc = sbx_parse_duration(good_durations[_i].in, 0, UINT64_MAX, &v, &e);
	ck_assert_msg(rc == 0, "parse_duration('%s') failed: %s",
	    good_durations[_i].in, e.msg);
	ck_assert_msg(v == good_durations[_i].want,
	    "parse_duration('%s') = %ju ms, want %ju",
	    good_durations[_i].in, (uintmax_t)v,
	    (uintmax_t)good_durations[_i].want);
}
END_TEST

static const char *const bad_durations[] = {
	"", "s", "abc", "-5s", "5 s", "5S", "5sec", "1h30", "30x", "5m5",
	"1..5s", " 5s", "5s ", "1h-30m", "ms", "1.s",
};

START_TEST(test_duration_bad)
{
	struct sbx_err e;
	uint64_t v = 9;
	int rc;

	sbx_err_clear(&e);
	rc = sbx_parse_duration(bad_durations[_i], 0, UINT64_MAX, &v, &e);
	ck_assert_msg(rc == SBX_EINVAL,
	    "parse_duration('%s') = %d, want EINVAL", bad_durations[_i], rc);
	ck_assert_msg(v == 9, "parse_duration('%s') wrote the output",
	    bad_durations[_i]);
	ck_assert_msg(strncmp(e.msg, "invalid duration '", 18) == 0 &&
	    strstr(e.msg, bad_durations[_i]),
	    "parse_duration('%s'): message '%s'", bad_durations[_i], e.msg);
}
END_TEST

START_TEST(test_duration_range)
{
	struct sbx_err e;
	uint64_t v;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_parse_duration("2d", 0, 86400000, &v, &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "duration '2d' out of range (max 1d)");
	ck_assert_int_eq(sbx_parse_duration("10ms", 100, 1000, &v, &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "duration '10ms' out of range (min 100ms)");
	ck_assert_int_eq(sbx_parse_duration("213503982335d", 0, UINT64_MAX,
	    &v, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "out of range"), "%s", e.msg);
	ck_assert_int_eq(sbx_parse_duration("213503982334d213503982334d", 0,
	    UINT64_MAX, &v, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "out of range"), "%s", e.msg);
}
END_TEST

START_TEST(test_int)
{
	struct sbx_err e;
	long long v = 5;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_parse_int("42", 0, 100, &v, &e), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(sbx_parse_int("-7", -10, 10, &v, &e), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(sbx_parse_int("+7", -10, 10, &v, &e), 0);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(sbx_parse_int("9223372036854775807", 0, INT64_MAX,
	    &v, &e), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(sbx_parse_int("-9223372036854775808", INT64_MIN, 0,
	    &v, &e), 0);
	ck_assert(v == INT64_MIN);
	v = 5;
	ck_assert_int_eq(sbx_parse_int("9223372036854775808", 0, INT64_MAX,
	    &v, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "number '9223372036854775808' out of range "
	    "(must be between 0 and 9223372036854775807)");
	ck_assert_int_eq(sbx_parse_int("65", 1, 64, &v, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "number '65' out of range "
	    "(must be between 1 and 64)");
	ck_assert_int_eq(sbx_parse_int("0", 1, 64, &v, &e), SBX_EINVAL);
	ck_assert_int_eq(v, 5);
}
END_TEST

static const char *const bad_ints[] = {
	"", "x", "1x", " 1", "1 ", "0x1f", "1.0", "-", "+", "1e3", "--1",
};

START_TEST(test_int_bad)
{
	struct sbx_err e;
	long long v = 3;
	char want[128];

	sbx_err_clear(&e);
	ck_assert_msg(sbx_parse_int(bad_ints[_i], -100, 100, &v, &e) ==
	    SBX_EINVAL, "parse_int('%s') accepted", bad_ints[_i]);
	ck_assert_int_eq(v, 3);
	snprintf(want, sizeof(want), "invalid number '%s': expected a "
	    "decimal integer", bad_ints[_i]);
	ck_assert_str_eq(e.msg, want);
}
END_TEST

static const struct {
	uint64_t in;
	const char *want;
} sizes_fmt[] = {
	{ 0, "0B" }, { 512, "512B" }, { 1023, "1023B" }, { 1024, "1K" },
	{ 1536, "1.5K" }, { 512 * K * K, "512M" }, { 3 * K * K * K / 2, "1.5G" },
	{ 2 * K * K * K, "2G" }, { K * K * K * K, "1T" },
	{ K * K - 1, "1M" }, { 1024 * 1000 + 1000, "1001K" },
	{ UINT64_MAX, "16777216T" }, { 10 * K + 100, "10.1K" },
};

START_TEST(test_format_size)
{
	char buf[32];

	sbx_format_size(sizes_fmt[_i].in, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, sizes_fmt[_i].want),
	    "format_size(%ju) = '%s', want '%s'", (uintmax_t)sizes_fmt[_i].in,
	    buf, sizes_fmt[_i].want);
}
END_TEST

static const struct {
	uint64_t in;
	const char *want;
} durations_fmt[] = {
	{ 0, "0ms" }, { 250, "250ms" }, { 999, "999ms" }, { 1000, "1s" },
	{ 1500, "1.5s" }, { 30000, "30s" }, { 30500, "30s" },
	{ 312000, "5m12s" }, { 300000, "5m" }, { 7380000, "2h3m" },
	{ 7200000, "2h" }, { 352800000, "4d2h" }, { 86400000, "1d" },
	{ 86400000 + 59000, "1d" },
};

START_TEST(test_format_duration)
{
	char buf[32];

	sbx_format_duration(durations_fmt[_i].in, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf, durations_fmt[_i].want),
	    "format_duration(%ju) = '%s', want '%s'",
	    (uintmax_t)durations_fmt[_i].in, buf, durations_fmt[_i].want);
}
END_TEST

/* Formatting then parsing gives the value back when it is exact. */
START_TEST(test_roundtrip)
{
	static const uint64_t v[] = { 0, 1, 1023, K, 3 * K, 5 * K * K,
	    1536 * K * K, 7 * K * K * K * K };
	char buf[32];
	uint64_t back;
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		sbx_format_size(v[i], buf, sizeof(buf));
		ck_assert_msg(sbx_parse_size(buf, 0, UINT64_MAX, &back, NULL)
		    == 0 && back == v[i], "size %ju -> '%s' -> %ju",
		    (uintmax_t)v[i], buf, (uintmax_t)back);
	}
	/* A short buffer is truncated, still terminated. */
	sbx_format_size(1536, buf, 3);
	ck_assert_str_eq(buf, "1.");
	sbx_format_duration(312000, buf, 2);
	ck_assert_str_eq(buf, "5");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *suite_parse(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("parse");

	tcase_add_loop_test(tc, test_size_good, 0, N(good_sizes));
	tcase_add_loop_test(tc, test_size_bad, 0, N(bad_sizes));
	tcase_add_test(tc, test_size_range);
	tcase_add_loop_test(tc, test_duration_good, 0, N(good_durations));
	tcase_add_loop_test(tc, test_duration_bad, 0, N(bad_durations));
	tcase_add_test(tc, test_duration_range);
	tcase_add_test(tc, test_int);
	tcase_add_loop_test(tc, test_int_bad, 0, N(bad_ints));
	tcase_add_loop_test(tc, test_format_size, 0, N(sizes_fmt));
	tcase_add_loop_test(tc, test_format_duration, 0, N(durations_fmt));
	tcase_add_test(tc, test_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}
