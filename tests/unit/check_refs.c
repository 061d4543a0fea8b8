/* check_refs.c - refs/<kind>/<name>: names, write/read/delete/list. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/err.h"
#include "core/strvec.h"
#include "store/refs.h"
#include "store/store.h"
#include "core/banned.h"

static const char *const good_names[] = {
	"py", "python-3.12", "a_b.c", "X", "v1.0", "0", "a-",
};

static const struct {
	const char *name;
	const char *msg;	/* expected part of the message */
} bad_names[] = {
	{ "", "is empty" },
	{ "..", "must not start with '.'" },
	{ "a..b", "must not contain '..'" },
	{ "a/b", "must not contain '/'" },
	{ ".hidden", "must not start with '.'" },
	{ "-rf", "must not start with '-'" },
	{ "sp ace", "contains ' '" },
	{ "tab\there", "control or non-ASCII byte at offset 3" },
	{ "caf\xc3\xa9", "control or non-ASCII byte at offset 3" },
	{ "a*b", "contains '*'" },
	{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "is too long (101 bytes" },
};

START_TEST(test_name_good)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_ref_name_check("ref name", good_names[_i], &e) == 0,
	    "'%s' rejected: %s", good_names[_i], e.msg);
}
END_TEST

START_TEST(test_name_bad)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_ref_name_check("template name", bad_names[_i].name,
	    &e) == SBX_EINVAL, "'%s' accepted", bad_names[_i].name);
	ck_assert_msg(strstr(e.msg, bad_names[_i].msg) != NULL,
	    "'%s': message '%s' lacks '%s'", bad_names[_i].name, e.msg,
	    bad_names[_i].msg);
	ck_assert_msg(!strncmp(e.msg, "template name", 13), "%s", e.msg);
}
END_TEST

static struct sbx_store *
open_store(void)
{
	struct sbx_store *s;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_store_open(unit_tmpdir(), &s, &e), 0);
	return s;
}

START_TEST(test_write_read)
{
	struct sbx_store *s = open_store();
	struct sbx_oid a, b, got;
	struct sbx_err e;
	char *p, buf[128];
	int fd;
	ssize_t n;

	sbx_err_clear(&e);
	sbx_oid_hash("a", 1, &a);
	sbx_oid_hash("b", 1, &b);
	ck_assert_int_eq(sbx_ref_write(s, "templates", "py", &a, &e), 0);
	ck_assert_int_eq(sbx_ref_read(s, "templates", "py", &got, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&got, &a), 0);
	ck_assert_int_eq(sbx_ref_write(s, "templates", "py", &b, &e), 0);
	ck_assert_int_eq(sbx_ref_read(s, "templates", "py", &got, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&got, &b), 0);
	/* The file is one hex line. */
	p = sbx_store_path(s, "refs/templates/py");
	fd = open(p, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_eq(n, 65);
	ck_assert(buf[64] == '\n');
	free(p);
	/* A new kind gets its directory. */
	ck_assert_int_eq(sbx_ref_write(s, "images", "base", &a, &e), 0);
	ck_assert_int_eq(sbx_ref_read(s, "images", "base", &got, &e), 0);
	/* Bad names are refused before touching the disk. */
	ck_assert_int_eq(sbx_ref_write(s, "templates", "../x", &a, &e),
	    SBX_EINVAL);
	ck_assert_int_eq(sbx_ref_write(s, "../..", "x", &a, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "ref kind") != NULL, "%s", e.msg);
	ck_assert_int_eq(sbx_ref_read(s, "templates", "a/b", &got, &e),
	    SBX_EINVAL);
	/* No temporary file is left behind. */
	p = sbx_store_path(s, "tmp");
	ck_assert_int_eq(rmdir(p), 0);
	free(p);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_missing_and_corrupt)
{
	struct sbx_store *s = open_store();
	struct sbx_oid got;
	struct sbx_err e;
	char *p;
	int fd;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_ref_read(s, "templates", "nope", &got, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no templates ref 'nope'");
	ck_assert_int_eq(sbx_ref_delete(s, "templates", "nope", &e),
	    SBX_ENOENT);
	/* Truncated, and too long. */
	p = sbx_store_path(s, "refs/templates/torn");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert(write(fd, "0e5751c026e5", 12) == 12);
	close(fd);
	ck_assert_int_eq(sbx_ref_read(s, "templates", "torn", &got, &e),
	    SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, p) && strstr(e.msg, "corrupt"),
	    "message should name '%s': %s", p, e.msg);
	free(p);
	sbx_store_close(s);
}
END_TEST

static int
count_ref(const char *kind, const char *name, const struct sbx_oid *id,
    void *arg)
{
	(void)kind;
	(void)name;
	(void)id;
	(*(int *)arg)++;
	return 0;
}

START_TEST(test_list_delete)
{
	struct sbx_store *s = open_store();
	struct sbx_strvec names = SBX_STRVEC_INIT;
	struct sbx_oid a;
	struct sbx_err e;
	int n = 0, fd;
	char *p;

	sbx_err_clear(&e);
	sbx_oid_hash("a", 1, &a);
	ck_assert_int_eq(sbx_ref_write(s, "templates", "zz", &a, &e), 0);
	ck_assert_int_eq(sbx_ref_write(s, "templates", "aa", &a, &e), 0);
	ck_assert_int_eq(sbx_ref_write(s, "templates", "mm", &a, &e), 0);
	ck_assert_int_eq(sbx_ref_write(s, "snapshots", "s1", &a, &e), 0);
	/* A hidden stray file is not a ref. */
	p = sbx_store_path(s, "refs/templates/.atomic-xyz");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	close(fd);
	free(p);
	ck_assert_int_eq(sbx_ref_list(s, "templates", &names, &e), 0);
	ck_assert_int_eq(names.nr, 3);
	ck_assert_str_eq(names.v[0], "aa");
	ck_assert_str_eq(names.v[1], "mm");
	ck_assert_str_eq(names.v[2], "zz");
	ck_assert_int_eq(sbx_ref_foreach(s, count_ref, &n, &e), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(sbx_ref_delete(s, "templates", "mm", &e), 0);
	sbx_strvec_clear(&names);
	ck_assert_int_eq(sbx_ref_list(s, "templates", &names, &e), 0);
	ck_assert_int_eq(names.nr, 2);
	sbx_strvec_clear(&names);
	/* An unknown kind lists nothing. */
	ck_assert_int_eq(sbx_ref_list(s, "nothing", &names, &e), 0);
	ck_assert_int_eq(names.nr, 0);
	sbx_strvec_clear(&names);
	sbx_store_close(s);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *suite_refs(void)
{
	Suite *s = suite_create("refs");
	TCase *tc = tcase_create("refs");

	tcase_add_loop_test(tc, test_name_good, 0, N(good_names));
	tcase_add_loop_test(tc, test_name_bad, 0, N(bad_names));
	tcase_add_test(tc, test_write_read);
	tcase_add_test(tc, test_missing_and_corrupt);
	tcase_add_test(tc, test_list_delete);
	suite_add_tcase(s, tc);
	return s;
}
