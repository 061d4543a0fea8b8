/* check_clock.c - monotonic clock and ISO-8601 formatting/parsing. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/banned.h"

START_TEST(test_clocks)
{
	uint64_t a = sbx_clock_ms(), b;
	int64_t w = sbx_clock_wall_ms();

	usleep(50 * 1000);
	b = sbx_clock_ms();
	ck_assert_msg(b - a >= 50 && b - a < 1000, "50ms sleep measured as "
	    "%jums", (uintmax_t)(b - a));
	ck_assert_msg(w / 1000 - (int64_t)time(NULL) <= 1 &&
	    (int64_t)time(NULL) - w / 1000 <= 1, "wall clock %jd", (intmax_t)w);
}
END_TEST

static const struct {
	int64_t ms;
	const char *s, *s_ms;
} times[] = {
	{ 0, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000Z" },
	{ 1795700839123, "2026-11-26T13:47:19Z", "2026-11-26T13:47:19.123Z" },
	{ 951782400000, "2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z" },
	{ -1, "1969-12-31T23:59:59Z", "1969-12-31T23:59:59.999Z" },
	{ 4102444799999, "2099-12-31T23:59:59Z", "2099-12-31T23:59:59.999Z" },
};

START_TEST(test_format_parse)
{
	char buf[SBX_TIME_ISO_MAX];
	struct sbx_err e;
	int64_t back = 42;

	sbx_err_clear(&e);
	sbx_time_format_iso(times[_i].ms, 0, buf, sizeof(buf));
	ck_assert_str_eq(buf, times[_i].s);
	sbx_time_format_iso(times[_i].ms, 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, times[_i].s_ms);
	ck_assert_msg(sbx_time_parse_iso(times[_i].s_ms, &back, &e) == 0 &&
	    back == times[_i].ms, "parse '%s': %jd (%s)", times[_i].s_ms,
	    (intmax_t)back, e.msg);
	ck_assert_int_eq(sbx_time_parse_iso(times[_i].s, &back, &e), 0);
	ck_assert(back == times[_i].ms - (times[_i].ms % 1000 + 1000) % 1000);
}
END_TEST

START_TEST(test_parse_forms)
{
	struct sbx_err e;
	int64_t v = 0;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_time_parse_iso("2026-11-26T15:47:19+02:00", &v,
	    &e), 0);
	ck_assert(v == 1795700839000);
	ck_assert_int_eq(sbx_time_parse_iso("2026-11-26T08:17:19-05:30", &v,
	    &e), 0);
	ck_assert(v == 1795700839000);
	ck_assert_int_eq(sbx_time_parse_iso("2026-11-26t13:47:19.1234567z", &v,
	    &e), 0);
	ck_assert(v == 1795700839123);
}
END_TEST

static const char *const bad_times[] = {
	"", "2026", "2026-11-26", "2026-11-26T13:47:19", "2026-11-26 13:47:19Z",
	"2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
	"2026-11-26T24:00:00Z", "2026-11-26T13:60:00Z", "2026-11-26T13:47:19ZZ",
	"2026-11-26T13:47:19.Z", "2026-11-26T13:47:19+2:00", "x026-11-26T1",
	"2026-11-00T00:00:00Z",
};

START_TEST(test_parse_bad)
{
	struct sbx_err e;
	int64_t v = 7;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_time_parse_iso(bad_times[_i], &v, &e) == SBX_EINVAL,
	    "parse '%s' accepted", bad_times[_i]);
	ck_assert_msg(!strncmp(e.msg, "invalid time '", 14) &&
	    strstr(e.msg, bad_times[_i]), "parse '%s': '%s'", bad_times[_i],
	    e.msg);
	ck_assert(v == 7);
}
END_TEST

Suite *suite_clock(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("clock");

	tcase_add_test(tc, test_clocks);
	tcase_add_loop_test(tc, test_format_parse, 0,
	    (int)(sizeof(times) / sizeof(times[0])));
	tcase_add_test(tc, test_parse_forms);
	tcase_add_loop_test(tc, test_parse_bad, 0,
	    (int)(sizeof(bad_times) / sizeof(bad_times[0])));
	suite_add_tcase(s, tc);
	return s;
}
