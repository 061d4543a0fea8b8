/* check_progress.c - progress meter: TTY drawing, rate limit, silence. */
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/progress.h"
#include "core/banned.h"

#define M (1024 * 1024)

static int pfd[2];

static void
setup(void)
{
	ck_assert_int_eq(pipe(pfd), 0);
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
}

static void
teardown(void)
{
	close(pfd[0]);
	close(pfd[1]);
}

/* Everything written to the pipe so far. */
static void
slurp(struct sbx_buf *b)
{
	char tmp[4096];
	ssize_t n;

	sbx_buf_reset(b);
	while ((n = read(pfd[0], tmp, sizeof(tmp))) > 0)
		sbx_buf_add(b, tmp, (size_t)n);
}

static size_t
count(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

START_TEST(test_not_tty_silent)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "dl", M, 0);
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_progress_update(p, 10);
	sbx_progress_add(p, M);
	sbx_progress_finish(p);
	slurp(&b);
	ck_assert_msg(b.len == 0, "wrote '%s' to a pipe", b.buf);
	p = sbx_progress_start_fd(pfd[1], "dl", M, 0);
	sbx_progress_update(p, 10);
	sbx_progress_abort(p);
	slurp(&b);
	ck_assert_uint_eq(b.len, 0);
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_not_tty_verbose)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "kernel", 0,
	    SBX_PROGRESS_VERBOSE);
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_progress_add(p, M);
	sbx_progress_add(p, M / 2);
	slurp(&b);
	ck_assert_uint_eq(b.len, 0);
	sbx_progress_finish(p);
	slurp(&b);
	ck_assert_msg(!strncmp(b.buf, "kernel: 1.5M in ", 16) &&
	    count(b.buf, '\n') == 1 && b.buf[b.len - 1] == '\n' &&
	    !strchr(b.buf, '\r') && !strchr(b.buf, '\033'),
	    "summary: '%s'", b.buf);
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_tty_draw)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "dl", M,
	    SBX_PROGRESS_FORCE_TTY);
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_progress_update(p, 0);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\rdl   0% [                              ] "
	    "0B/1M\033[K");
	sbx_progress_finish(p);
	slurp(&b);
	ck_assert_msg(!strncmp(b.buf, "\rdl: 0B in ", 11) &&
	    !strcmp(b.buf + b.len - 4, "\033[K\n"), "finish: '%s'", b.buf);
	sbx_buf_release(&b);
}
END_TEST

/* Many updates inside 100 ms draw once; after 100 ms again. */
START_TEST(test_rate_limit)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "x", 1000,
	    SBX_PROGRESS_FORCE_TTY | SBX_PROGRESS_COUNT);
	struct sbx_buf b = SBX_BUF_INIT;
	uint64_t t0 = sbx_clock_ms();
	int i;

	for (i = 1; i <= 500; i++)
		sbx_progress_update(p, (uint64_t)i);
	slurp(&b);
	if (sbx_clock_ms() - t0 < SBX_PROGRESS_INTERVAL_MS) {
		ck_assert_msg(count(b.buf, '\r') == 1, "500 quick updates drew "
		    "%zu times", count(b.buf, '\r'));
		ck_assert_str_eq(b.buf, "\rx   0% [                              ] "
		    "1/1000\033[K");
	}
	usleep(260 * 1000);
	sbx_progress_update(p, 500);
	slurp(&b);
	ck_assert_msg(count(b.buf, '\r') == 1 && strstr(b.buf,
	    "  50% [###############               ] 500/1000  ") &&
	    strstr(b.buf, "/s  ETA "), "after 260ms: '%s'", b.buf);
	sbx_progress_update(p, 2000);	/* past the total: capped */
	usleep(110 * 1000);
	sbx_progress_update(p, 2000);
	slurp(&b);
	ck_assert_msg(strstr(b.buf, " 100% [#####") && !strstr(b.buf, "ETA"),
	    "over total: '%s'", b.buf);
	sbx_progress_abort(p);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\r\033[K");
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_unknown_total_and_label)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1],
	    "a-very-long-label-for-a-meter-here", 0, SBX_PROGRESS_FORCE_TTY);
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_progress_update(p, 5 * 1024);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\ra-very-long-label-for-a\xe2\x80\xa6 5K\033[K");
	sbx_progress_set_total(p, 10 * 1024);
	sbx_progress_abort(p);
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_quiet_and_null)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "q", 10,
	    SBX_PROGRESS_FORCE_TTY | SBX_PROGRESS_QUIET |
	    SBX_PROGRESS_VERBOSE);
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_progress_update(p, 5);
	sbx_progress_finish(p);
	slurp(&b);
	ck_assert_msg(b.len == 0, "quiet meter wrote '%s'", b.buf);
	sbx_progress_update(NULL, 1);
	sbx_progress_add(NULL, 1);
	sbx_progress_set_total(NULL, 1);
	sbx_progress_finish(NULL);
	sbx_progress_abort(NULL);
	sbx_buf_release(&b);
}
END_TEST

/* Other output goes above the meter, whole lines at a time. */
START_TEST(test_print_above)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "step 1/2", 0,
	    SBX_PROGRESS_FORCE_TTY | SBX_PROGRESS_COUNT);
	struct sbx_buf b = SBX_BUF_INIT;
	char big[5000];

	sbx_progress_update(p, 3);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\rstep 1/2 3\033[K");
	sbx_progress_print(p, "one\ntw", 6);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\r\033[Kone\n\rstep 1/2 3\033[K");
	sbx_progress_print(p, "o", 1);	/* still no newline: held */
	slurp(&b);
	ck_assert_uint_eq(b.len, 0);
	sbx_progress_print(p, "\nthree\nfo", 9);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\r\033[Ktwo\nthree\n\rstep 1/2 3\033[K");
	/* A very long line without a newline goes out (ended) anyway. */
	memset(big, 'x', sizeof(big));
	sbx_progress_print(p, big, sizeof(big));
	slurp(&b);
	ck_assert_str_eq(b.buf + b.len - 16, "x\n\rstep 1/2 3\033[K");
	ck_assert_msg(!memcmp(b.buf, "\r\033[Kfoxxx", 9), "starts '%.9s'", b.buf);
	ck_assert_uint_eq(b.len, strlen("\r\033[K") + 2 + sizeof(big) + 1 +
	    strlen("\rstep 1/2 3\033[K"));
	/* At the end what is held comes out, its line ended, the meter gone. */
	sbx_progress_print(p, "last", 4);
	sbx_progress_abort(p);
	slurp(&b);
	ck_assert_str_eq(b.buf, "\r\033[Klast\n");
	sbx_buf_release(&b);
}
END_TEST

/* Not a terminal: the bytes pass through as they are, at once. */
START_TEST(test_print_not_tty)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "s", 0, 0);
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_progress_update(p, 1);
	sbx_progress_print(p, "par", 3);
	sbx_progress_print(p, "tial\r50%", 8);
	sbx_progress_abort(p);
	slurp(&b);
	ck_assert_str_eq(b.buf, "partial\r50%");
	sbx_progress_print(NULL, "x", 1);
	sbx_buf_release(&b);
}
END_TEST

/* A meter without a total shows how long it has run, once over 1 s. */
START_TEST(test_elapsed)
{
	struct sbx_progress *p = sbx_progress_start_fd(pfd[1], "step", 0,
	    SBX_PROGRESS_FORCE_TTY | SBX_PROGRESS_COUNT);
	struct sbx_buf b = SBX_BUF_INIT;

	usleep(1100 * 1000);
	sbx_progress_update(p, 0);
	slurp(&b);
	ck_assert_msg(strstr(b.buf, "  1s\033[K") != NULL, "'%s'", b.buf);
	sbx_progress_abort(p);
	sbx_buf_release(&b);
}
END_TEST

/* On a narrow terminal the bar goes, and the line never wraps. */
START_TEST(test_narrow_terminal)
{
	struct winsize ws = { 0 };
	struct sbx_progress *p;
	struct termios tio;
	int master, slave;
	char buf[512];
	ssize_t n;

	ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	tcgetattr(slave, &tio);
	cfmakeraw(&tio);
	tcsetattr(slave, TCSANOW, &tio);
	ws.ws_col = 24;
	ws.ws_row = 10;
	ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
	p = sbx_progress_start_fd(slave, "caf\xc3\xa9-download", 1000 * M, 0);
	sbx_progress_update(p, 500 * M);
	n = read(master, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "\rcaf\xc3\xa9-download  50% 500M\033[K");
	sbx_progress_abort(p);
	close(master);
	close(slave);
}
END_TEST

/* A closed reader stops the drawing without killing us. */
START_TEST(test_broken_fd)
{
	struct sbx_progress *p = sbx_progress_start_fd(-1, "x", 10,
	    SBX_PROGRESS_FORCE_TTY);

	sbx_progress_update(p, 5);
	sbx_progress_finish(p);
}
END_TEST

Suite *suite_progress(void)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("progress");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_not_tty_silent);
	tcase_add_test(tc, test_not_tty_verbose);
	tcase_add_test(tc, test_tty_draw);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_unknown_total_and_label);
	tcase_add_test(tc, test_quiet_and_null);
	tcase_add_test(tc, test_narrow_terminal);
	tcase_add_test(tc, test_broken_fd);
	tcase_add_test(tc, test_print_above);
	tcase_add_test(tc, test_print_not_tty);
	tcase_add_test(tc, test_elapsed);
	suite_add_tcase(s, tc);
	return s;
}
