/* check_utf8.c - decoding, rejection of bad sequences, widths, repair. */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "core/buf.h"
#include "core/utf8.h"
#include "core/banned.h"

static const struct {
	const char *s;
	int n;
	uint32_t cp;
} decodes[] = {
	{ "A", 1, 'A' }, { "\xc3\xa9", 2, 0xe9 }, { "\xe2\x80\xa6", 3, 0x2026 },
	{ "\xf0\x9f\x98\x80", 4, 0x1f600 }, { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
	{ "\xc0\x80", -1, 0xfffd },		/* overlong NUL */
	{ "\xe0\x80\xaf", -1, 0xfffd },		/* overlong '/' */
	{ "\xed\xa0\x80", -1, 0xfffd },		/* surrogate */
	{ "\xf4\x90\x80\x80", -1, 0xfffd },	/* > U+10FFFF */
	{ "\x80", -1, 0xfffd }, { "\xff", -1, 0xfffd },
	{ "\xc3", -1, 0xfffd },			/* truncated */
	{ "\xe2\x80", -1, 0xfffd }, { "\xe2(\xa6", -1, 0xfffd },
};

START_TEST(test_decode)
{
	uint32_t cp = 0;
	int n = sbx_utf8_decode(decodes[_i].s, strlen(decodes[_i].s), &cp);

	ck_assert_msg(n == decodes[_i].n && cp == decodes[_i].cp,
	    "decode case %d: n %d cp U+%04X, want %d U+%04X", _i, n,
	    (unsigned)cp, decodes[_i].n, (unsigned)decodes[_i].cp);
}
END_TEST

START_TEST(test_width)
{
	ck_assert_int_eq(sbx_utf8_cpwidth('a'), 1);
	ck_assert_int_eq(sbx_utf8_cpwidth(0x301), 0);	/* combining acute */
	ck_assert_int_eq(sbx_utf8_cpwidth(0x200b), 0);	/* zero width space */
	ck_assert_int_eq(sbx_utf8_cpwidth(0x65e5), 2);	/* 日 */
	ck_assert_int_eq(sbx_utf8_cpwidth(0xac00), 2);	/* 가 */
	ck_assert_int_eq(sbx_utf8_cpwidth(0x1f600), 2);	/* emoji */
	ck_assert_int_eq(sbx_utf8_cpwidth(0xff21), 2);	/* fullwidth A */
	ck_assert_int_eq(sbx_utf8_cpwidth(0x2026), 1);	/* … */
	ck_assert_int_eq(sbx_utf8_cpwidth(0x3fffe), 1);
	ck_assert_uint_eq(sbx_utf8_width("e\xcc\x81t\xc3\xa9", 6), 3);
	ck_assert_uint_eq(sbx_utf8_width("\xe6\x97\xa5\xe6\x9c\xac", 6), 4);
	ck_assert_uint_eq(sbx_utf8_width("a\xff\xfe", 3), 3);
	ck_assert_uint_eq(sbx_utf8_width("", 0), 0);
}
END_TEST

START_TEST(test_repair)
{
	struct sbx_buf b = SBX_BUF_INIT;

	ck_assert_int_eq(sbx_utf8_add_valid(&b, "ok \xc3\xa9", 5), 0);
	ck_assert_str_eq(b.buf, "ok \xc3\xa9");
	sbx_buf_reset(&b);
	ck_assert_int_eq(sbx_utf8_add_valid(&b, "a\xff" "b\xe2\x80", 5), 0);
	ck_assert_str_eq(b.buf, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd");
	sbx_buf_release(&b);
	b.cap = 4;
	ck_assert_int_lt(sbx_utf8_add_valid(&b, "ab\xff", 3), 0);
	sbx_buf_release(&b);
}
END_TEST

Suite *suite_utf8(void)
{
	Suite *s = suite_create("utf8");
	TCase *tc = tcase_create("utf8");

	tcase_add_loop_test(tc, test_decode, 0,
	    (int)(sizeof(decodes) / sizeof(decodes[0])));
	tcase_add_test(tc, test_width);
	tcase_add_test(tc, test_repair);
	suite_add_tcase(s, tc);
	return s;
}
