/* check_buf.c - the growable buffer: invariants, formatting, caps, reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/banned.h"

START_TEST(test_empty)
{
	struct sbx_buf b = SBX_BUF_INIT;
	size_t len = 99;
	char *p;

	ck_assert_ptr_nonnull(b.buf);
	ck_assert_str_eq(b.buf, "");
	sbx_buf_rtrim(&b);
	sbx_buf_setlen(&b, 5);	/* nothing allocated: stays empty */
	ck_assert_uint_eq(b.len, 0);
	p = sbx_buf_detach(&b, &len);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(p, "");
	ck_assert(p != sbx_buf_empty);
	free(p);
	sbx_buf_release(&b);
	ck_assert_str_eq(b.buf, "");
	ck_assert_str_eq(sbx_buf_empty, "");
}
END_TEST

START_TEST(test_append)
{
	struct sbx_buf b;
	size_t i;

	sbx_buf_init(&b, 3);
	ck_assert_uint_ge(b.alloc, 4);
	ck_assert_int_eq(sbx_buf_addstr(&b, "ab"), 0);
	ck_assert_int_eq(sbx_buf_addch(&b, 'c'), 0);
	ck_assert_int_eq(sbx_buf_add(&b, "d\0e", 3), 0);
	ck_assert_uint_eq(b.len, 6);
	ck_assert(!memcmp(b.buf, "abcd\0e", 7));
	ck_assert_int_eq(sbx_buf_addf(&b, "[%d:%s]", 42, "x"), 0);
	ck_assert_uint_eq(b.len, 12);
	ck_assert(!memcmp(b.buf + 6, "[42:x]", 7));
	sbx_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.buf, "");
	/* Growth over many appends keeps content and the terminator. */
	for (i = 0; i < 100000; i++)
		sbx_buf_addch(&b, 'a' + (int)(i % 26));
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_int_eq(b.buf[100000], '\0');
	for (i = 0; i < 100000; i++)
		if (b.buf[i] != 'a' + (int)(i % 26))
			ck_abort_msg("byte %zu is '%c'", i, b.buf[i]);
	ck_assert_int_eq(sbx_buf_addf(&b, "%s", ""), 0);
	ck_assert_uint_eq(b.len, 100000);
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_trim_setlen_detach)
{
	struct sbx_buf b = SBX_BUF_INIT;
	size_t len;
	char *p;

	sbx_buf_addstr(&b, "  line \t\r\n\n");
	sbx_buf_rtrim(&b);
	ck_assert_str_eq(b.buf, "  line");
	sbx_buf_setlen(&b, 3);
	ck_assert_str_eq(b.buf, "  l");
	sbx_buf_setlen(&b, 1000);	/* clamped to the allocation */
	ck_assert_uint_lt(b.len, b.alloc);
	ck_assert_int_eq(b.buf[b.len], '\0');
	sbx_buf_setlen(&b, 3);
	p = sbx_buf_detach(&b, &len);
	ck_assert_str_eq(p, "  l");
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.buf, "");
	free(p);
	sbx_buf_addstr(&b, "\n\n");
	sbx_buf_rtrim(&b);
	ck_assert_str_eq(b.buf, "");
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_cap_refusal)
{
	struct sbx_buf b = SBX_BUF_INIT;

	b.cap = 8;
	ck_assert_int_eq(sbx_buf_addstr(&b, "12345"), 0);
	ck_assert_int_eq(sbx_buf_addstr(&b, "6789"), SBX_EINVAL);
	ck_assert_str_eq(b.buf, "12345");	/* unchanged */
	ck_assert_int_eq(sbx_buf_addf(&b, "%d", 6789), SBX_EINVAL);
	ck_assert_str_eq(b.buf, "12345");
	ck_assert_int_eq(sbx_buf_add(&b, "678", 3), 0);
	ck_assert_str_eq(b.buf, "12345678");
	ck_assert_int_eq(sbx_buf_addch(&b, 'x'), SBX_EINVAL);
	ck_assert_int_eq(sbx_buf_grow(&b, 1), SBX_EINVAL);
	ck_assert_int_eq(sbx_buf_grow(&b, 0), 0);
	ck_assert_int_eq(sbx_buf_grow(&b, (size_t)-1), SBX_EINVAL);
	sbx_buf_release(&b);
	ck_assert_uint_eq(b.cap, 8);	/* release keeps the cap */
	b.cap = 0;
	ck_assert_int_eq(sbx_buf_grow(&b, (size_t)-1), SBX_EINVAL);
}
END_TEST

/* Writes `n` bytes of pattern to a temp file and returns an fd on it. */
static int
pattern_fd(const char *dir, size_t n)
{
	char path[512];
	size_t i;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/data", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (i = 0; i < n; i++)
		fputc('a' + (int)(i % 13), f);
	fclose(f);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	return fd;
}

static const struct {
	size_t size, cap;
	int ok;
} reads[] = {
	{ 0, 0, 1 }, { 10, 0, 1 }, { 100000, 0, 1 }, { 10, 100, 1 },
	{ 100, 100, 1 }, { 101, 100, 0 }, { 8192, 8192, 1 },
	{ 8193, 8192, 0 }, { 100000, 50000, 0 }, { 1, 1, 1 }, { 2, 1, 0 },
};

START_TEST(test_read_fd)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	int fd = pattern_fd(unit_tmpdir(), reads[_i].size);
	ssize_t n;
	size_t i;

	sbx_err_clear(&e);
	b.cap = reads[_i].cap;
	sbx_buf_addstr(&b, "");
	n = sbx_buf_read_fd(&b, fd, &e);
	close(fd);
	if (reads[_i].ok) {
		ck_assert_msg(n == (ssize_t)reads[_i].size,
		    "read of %zu bytes with cap %zu: %zd (%s)",
		    reads[_i].size, reads[_i].cap, n, e.msg);
		ck_assert_uint_eq(b.len, reads[_i].size);
		for (i = 0; i < b.len; i++)
			ck_assert_int_eq(b.buf[i], 'a' + (int)(i % 13));
		ck_assert_int_eq(b.buf[b.len], '\0');
	} else {
		char want[64];

		ck_assert_msg(n == SBX_EINVAL, "read of %zu bytes with cap %zu:"
		    " %zd, want EINVAL", reads[_i].size, reads[_i].cap, n);
		snprintf(want, sizeof(want), "input larger than %zu bytes",
		    reads[_i].cap);
		ck_assert_str_eq(e.msg, want);
		ck_assert_uint_eq(b.len, 0);
		ck_assert_str_eq(b.buf, "");
	}
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_read_file)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	const char *dir = unit_tmpdir();
	char path[512];
	int fd = pattern_fd(dir, 1000);

	close(fd);
	sbx_err_clear(&e);
	snprintf(path, sizeof(path), "%s/data", dir);
	sbx_buf_addstr(&b, "pre");
	ck_assert_int_eq(sbx_buf_read_file(&b, path, &e), 0);
	ck_assert_uint_eq(b.len, 1003);
	ck_assert(!memcmp(b.buf, "preabc", 6));
	sbx_buf_reset(&b);
	b.cap = 10;
	ck_assert_int_eq(sbx_buf_read_file(&b, path, &e), SBX_EINVAL);
	snprintf(path, sizeof(path), "'%s/data': input larger than 10 bytes",
	    dir);
	ck_assert_str_eq(e.msg, path);
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(sbx_buf_read_file(&b, path, &e), SBX_EIO);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	ck_assert_msg(strstr(e.msg, "cannot open '") && strstr(e.msg,
	    "/missing'"), "message: %s", e.msg);
	/* Reading a directory fails cleanly. */
	ck_assert_int_lt(sbx_buf_read_file(&b, dir, &e), 0);
	sbx_buf_release(&b);
}
END_TEST

Suite *suite_buf(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_trim_setlen_detach);
	tcase_add_test(tc, test_cap_refusal);
	tcase_add_loop_test(tc, test_read_fd, 0,
	    (int)(sizeof(reads) / sizeof(reads[0])));
	tcase_add_test(tc, test_read_file);
	suite_add_tcase(s, tc);
	return s;
}
