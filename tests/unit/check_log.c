/* check_log.c - log lines: format, levels, sanitizing, files, threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

static int pfd[2];

static void
setup(void)
{
	ck_assert_int_eq(pipe(pfd), 0);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	sbx_log_init(pfd[1], SBX_LOG_INFO, "sbx-test");
}

static void
teardown(void)
{
	sbx_log_init(2, SBX_LOG_INFO, "sbx");
	close(pfd[0]);
	close(pfd[1]);
}

static void
slurp(struct sbx_buf *b)
{
	char tmp[4096];
	ssize_t n;

	sbx_buf_reset(b);
	while ((n = read(pfd[0], tmp, sizeof(tmp))) > 0)
		sbx_buf_add(b, tmp, (size_t)n);
}

static void
assert_match(const char *text, const char *re)
{
	regex_t rx;

	ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
	ck_assert_msg(regexec(&rx, text, 0, NULL, 0) == 0,
	    "'%s' does not match /%s/", text, re);
	regfree(&rx);
}

START_TEST(test_format)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char re[256];

	errno = EAGAIN;
	sbx_log_info("vcpu %d started", 3);
	ck_assert_int_eq(errno, EAGAIN);
	slurp(&b);
	snprintf(re, sizeof(re), "^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:"
	    "[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z sbx-test\\[%d\\] info: vcpu 3 "
	    "started\n$", (int)getpid());
	assert_match(b.buf, re);
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_levels)
{
	struct sbx_buf b = SBX_BUF_INIT;
	enum sbx_log_level l = SBX_LOG_ERROR;
	struct sbx_err e;

	sbx_log_debug("hidden");
	sbx_log_warn("shown");
	sbx_log_error("also");
	slurp(&b);
	ck_assert_msg(!strstr(b.buf, "hidden") && strstr(b.buf,
	    "] warn: shown\n") && strstr(b.buf, "] error: also\n"), "%s",
	    b.buf);
	sbx_log_set_level(SBX_LOG_DEBUG);
	ck_assert(sbx_log_enabled(SBX_LOG_DEBUG));
	sbx_log_debug("now");
	slurp(&b);
	ck_assert_msg(strstr(b.buf, "] debug: now\n") != NULL, "%s", b.buf);
	sbx_log_set_level(SBX_LOG_ERROR);
	ck_assert(!sbx_log_enabled(SBX_LOG_WARN));
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_log_level_parse("debug", &l, &e), 0);
	ck_assert_int_eq(l, SBX_LOG_DEBUG);
	ck_assert_int_eq(sbx_log_level_parse("warning", &l, &e), 0);
	ck_assert_int_eq(l, SBX_LOG_WARN);
	ck_assert_int_eq(sbx_log_level_parse("loud", &l, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "invalid log level 'loud': expected error, "
	    "warn, info or debug");
	ck_assert_str_eq(sbx_log_level_name(SBX_LOG_INFO), "info");
	ck_assert_str_eq(sbx_log_level_name((enum sbx_log_level)9), "?");
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_one_line)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *big = malloc(20000);

	sbx_log_info("a\nb\r\x1b[1mc");
	slurp(&b);
	ck_assert_msg(strstr(b.buf, "info: a?b??[1mc\n") != NULL, "%s", b.buf);
	memset(big, 'x', 19999);
	big[19999] = '\0';
	sbx_log_info("%s", big);
	slurp(&b);
	ck_assert_msg(b.len < 8300 && !strcmp(b.buf + b.len - 5, "x...\n"),
	    "long line: %zu bytes", b.len);
	free(big);
	sbx_buf_release(&b);
}
END_TEST

static void *
writer(void *arg)
{
	int i;

	for (i = 0; i < 200; i++)
		sbx_log_info("thread %ld line %d %s", (long)(size_t)arg, i,
		    "padding-padding-padding-padding-padding-padding");
	return NULL;
}

/* Lines from several threads to one file never interleave. */
START_TEST(test_file_threads)
{
	const char *dir = unit_tmpdir();
	struct sbx_buf b = SBX_BUF_INIT;
	pthread_t th[4];
	char path[512];
	struct sbx_err e;
	size_t i, lines = 0;
	char *line, *save = NULL;

	sbx_err_clear(&e);
	snprintf(path, sizeof(path), "%s/vmm.log", dir);
	ck_assert_int_eq(sbx_log_open(path, SBX_LOG_INFO, "vmm", &e), 0);
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, writer, (void *)i);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	sbx_log_init(pfd[1], SBX_LOG_INFO, NULL);	/* closes the file */
	ck_assert_int_eq(sbx_buf_read_file(&b, path, &e), 0);
	for (line = strtok_r(b.buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save), lines++)
		assert_match(line, "^[0-9T:.Z-]+ vmm\\[[0-9]+\\] info: thread "
		    "[0-3] line [0-9]+ (padding-){5}padding$");
	ck_assert_uint_eq(lines, 800);
	snprintf(path, sizeof(path), "%s/no/such/dir/log", dir);
	ck_assert_int_eq(sbx_log_open(path, SBX_LOG_INFO, "x", &e), SBX_EIO);
	ck_assert_msg(strstr(e.msg, "cannot open log '") != NULL, "%s", e.msg);
	sbx_buf_release(&b);
}
END_TEST

Suite *suite_log(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_levels);
	tcase_add_test(tc, test_one_line);
	tcase_add_test(tc, test_file_threads);
	suite_add_tcase(s, tc);
	return s;
}
