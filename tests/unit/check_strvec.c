/* check_strvec.c - string vectors for argv and environments. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/strvec.h"
#include "core/banned.h"

START_TEST(test_push_pop)
{
	struct sbx_strvec sv = SBX_STRVEC_INIT;
	const char *items[] = { "c", "d", NULL };
	char src[] = "a";
	size_t i;

	ck_assert_ptr_null(sv.v[0]);
	ck_assert_str_eq(sbx_strvec_push(&sv, src), "a");
	src[0] = 'z';	/* the vector holds a copy */
	sbx_strvec_pushf(&sv, "%s%d", "b", 2);
	sbx_strvec_pushv(&sv, items);
	sbx_strvec_pushl(&sv, "e", "f", NULL);
	ck_assert_uint_eq(sv.nr, 6);
	ck_assert_str_eq(sv.v[0], "a");
	ck_assert_str_eq(sv.v[1], "b2");
	ck_assert_str_eq(sv.v[3], "d");
	ck_assert_str_eq(sv.v[5], "f");
	ck_assert_ptr_null(sv.v[6]);
	sbx_strvec_pop(&sv);
	ck_assert_uint_eq(sv.nr, 5);
	ck_assert_ptr_null(sv.v[5]);
	for (i = 0; i < 1000; i++)
		sbx_strvec_pushf(&sv, "%zu", i);
	ck_assert_str_eq(sv.v[1004], "999");
	ck_assert_ptr_null(sv.v[1005]);
	sbx_strvec_clear(&sv);
	ck_assert_uint_eq(sv.nr, 0);
	ck_assert_ptr_null(sv.v[0]);
	sbx_strvec_pop(&sv);	/* popping empty is harmless */
	sbx_strvec_pushv(&sv, NULL);
	ck_assert_uint_eq(sv.nr, 0);
}
END_TEST

START_TEST(test_env)
{
	struct sbx_strvec sv = SBX_STRVEC_INIT;

	sbx_strvec_setenv(&sv, "A", "1");
	sbx_strvec_setenv(&sv, "AB", "2");
	sbx_strvec_setenv(&sv, "A", "3");
	ck_assert_uint_eq(sv.nr, 2);
	ck_assert_str_eq(sv.v[0], "A=3");
	ck_assert_str_eq(sbx_strvec_getenv(&sv, "A"), "3");
	ck_assert_str_eq(sbx_strvec_getenv(&sv, "AB"), "2");
	ck_assert_ptr_null(sbx_strvec_getenv(&sv, "ABC"));
	ck_assert_ptr_null(sbx_strvec_getenv(&sv, ""));
	sbx_strvec_setenv(&sv, "E", "");
	ck_assert_str_eq(sbx_strvec_getenv(&sv, "E"), "");
	sbx_strvec_setenv(&sv, "X", "a=b");
	ck_assert_str_eq(sbx_strvec_getenv(&sv, "X"), "a=b");
	/* putenv: "KEY=value" in one string, a later KEY wins. */
	ck_assert_int_eq(sbx_strvec_putenv(&sv, "X=c=d"), 0);
	ck_assert_str_eq(sbx_strvec_getenv(&sv, "X"), "c=d");
	ck_assert_int_eq(sbx_strvec_putenv(&sv, "novalue"), -1);
	ck_assert_int_eq(sbx_strvec_putenv(&sv, "=x"), -1);
	ck_assert_ptr_null(sbx_strvec_getenv(&sv, "novalue"));
	sbx_strvec_clear(&sv);
}
END_TEST

START_TEST(test_detach)
{
	struct sbx_strvec sv = SBX_STRVEC_INIT;
	char **v;

	v = sbx_strvec_detach(&sv);
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_null(v[0]);
	free(v);
	sbx_strvec_pushl(&sv, "x", "y", NULL);
	v = sbx_strvec_detach(&sv);
	ck_assert_str_eq(v[0], "x");
	ck_assert_str_eq(v[1], "y");
	ck_assert_ptr_null(v[2]);
	ck_assert_uint_eq(sv.nr, 0);
	ck_assert_ptr_null(sv.v[0]);
	free(v[0]);
	free(v[1]);
	free(v);
}
END_TEST

Suite *suite_strvec(void)
{
	Suite *s = suite_create("strvec");
	TCase *tc = tcase_create("strvec");

	tcase_add_test(tc, test_push_pop);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_detach);
	suite_add_tcase(s, tc);
	return s;
}
