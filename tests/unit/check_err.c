/* check_err.c - error records: set, sys, hint, prefix, NULL tolerance. */
#include <errno.h>
#include <string.h>

#include "unit.h"
#include "core/err.h"
#include "core/banned.h"

START_TEST(test_set_clear)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_int_eq(e.code, 0);
	ck_assert_str_eq(e.msg, "");
	ck_assert_int_eq(sbx_err_set(&e, SBX_EINVAL, "bad size '%s'", "x"),
	    SBX_EINVAL);
	ck_assert_int_eq(e.code, SBX_EINVAL);
	ck_assert_str_eq(e.msg, "bad size 'x'");
	sbx_err_hint(&e, "try %s", "512M");
	ck_assert_str_eq(e.hint, "try 512M");
	/* A later error replaces the earlier one, hint included. */
	sbx_err_set(&e, SBX_ENOENT, "no template '%s'", "py");
	ck_assert_str_eq(e.msg, "no template 'py'");
	ck_assert_str_eq(e.hint, "");
	sbx_err_clear(&e);
	ck_assert_int_eq(e.code, 0);
	ck_assert_str_eq(e.msg, "");
	/* NULL is accepted everywhere. */
	ck_assert_int_eq(sbx_err_set(NULL, SBX_EBUSY, "x"), SBX_EBUSY);
	errno = ENOENT;
	ck_assert_int_eq(sbx_err_sys(NULL, "x"), SBX_EIO);
	sbx_err_hint(NULL, "x");
	sbx_err_prefix(NULL, "x");
	sbx_err_clear(NULL);
}
END_TEST

START_TEST(test_sys)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	errno = ENOENT;
	ck_assert_int_eq(sbx_err_sys(&e, "cannot open '%s'", "/x"), SBX_EIO);
	ck_assert_str_eq(e.msg, "cannot open '/x': No such file or directory");
	ck_assert_int_eq(e.sys_errno, ENOENT);
	ck_assert_int_eq(errno, ENOENT);
	sbx_err_set(&e, SBX_EINVAL, "x");
	ck_assert_int_eq(e.sys_errno, 0);
}
END_TEST

START_TEST(test_prefix_and_truncation)
{
	struct sbx_err e;
	char longs[2000];

	sbx_err_clear(&e);
	sbx_err_set(&e, SBX_EINVAL, "line 3: bad key");
	sbx_err_prefix(&e, "'%s'", "t.yaml");
	ck_assert_str_eq(e.msg, "'t.yaml': line 3: bad key");
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	sbx_err_set(&e, SBX_EINVAL, "%s", longs);
	ck_assert_uint_eq(strlen(e.msg), SBX_ERR_MSG_MAX - 1);
	sbx_err_prefix(&e, "%s", longs);
	ck_assert_uint_eq(strlen(e.msg), SBX_ERR_MSG_MAX - 1);
	sbx_err_set(&e, SBX_EINVAL, "tail");
	sbx_err_prefix(&e, "%s", longs);
	ck_assert_uint_eq(strlen(e.msg), SBX_ERR_MSG_MAX - 1);
	sbx_err_hint(&e, "%s", longs);
	ck_assert_uint_eq(strlen(e.hint), SBX_ERR_HINT_MAX - 1);
}
END_TEST

START_TEST(test_code_names)
{
	static const struct {
		int code;
		const char *name;
	} names[] = {
		{ SBX_OK, "ok" }, { SBX_EUSAGE, "usage" },
		{ SBX_ENOENT, "not_found" }, { SBX_EEXIST, "exists" },
		{ SBX_EINVAL, "invalid" }, { SBX_EIO, "io" },
		{ SBX_EBUSY, "busy" }, { SBX_ETIMEDOUT, "timeout" },
		{ SBX_ENOTSUP, "not_supported" }, { SBX_ECORRUPT, "corrupt" },
		{ SBX_EPERM, "permission" }, { SBX_ENET, "network" },
		{ SBX_EFAIL, "failed" }, { -999, "failed" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ck_assert_msg(!strcmp(sbx_errcode_name(names[i].code),
		    names[i].name), "code %d is '%s', want '%s'",
		    names[i].code, sbx_errcode_name(names[i].code),
		    names[i].name);
}
END_TEST

Suite *suite_err(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("err");

	tcase_add_test(tc, test_set_clear);
	tcase_add_test(tc, test_sys);
	tcase_add_test(tc, test_prefix_and_truncation);
	tcase_add_test(tc, test_code_names);
	suite_add_tcase(s, tc);
	return s;
}
