/*
 * check_run.c - the run-command API against real programs: capture,
 * exit codes, signals, timeouts, environment, cwd, stdin, exec errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "unit.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/run.h"
#include "core/banned.h"

/* Runs argv (NULL-terminated) capturing stdout and stderr. */
static int
run_capture(struct sbx_run *r, struct sbx_buf *out, struct sbx_buf *err,
    struct sbx_err *e)
{
	r->out = SBX_RUN_CAPTURE;
	r->out_buf = out;
	r->err = SBX_RUN_CAPTURE;
	r->err_buf = err;
	return sbx_run(r, e);
}

START_TEST(test_echo)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "echo", "hello", "world", NULL);
	rc = run_capture(&r, &out, &err, &e);
	ck_assert_msg(rc == 0, "echo hello world: rc %d (%s)", rc, e.msg);
	ck_assert_str_eq(out.buf, "hello world\n");
	ck_assert_str_eq(err.buf, "");
	ck_assert_int_eq(r.signo, 0);
	ck_assert(!r.timed_out);
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
}
END_TEST

/* No shell: metacharacters reach the program as plain bytes. */
START_TEST(test_no_shell)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "echo", "$HOME;", "`id`", "|", "*", NULL);
	ck_assert_int_eq(run_capture(&r, &out, &err, NULL), 0);
	ck_assert_str_eq(out.buf, "$HOME; `id` | *\n");
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
}
END_TEST

/* True when b is `n` bytes of `pat` repeated (the tail may be partial). */
static int
is_repeat(const struct sbx_buf *b, const char *pat, size_t n)
{
	size_t i, pl = strlen(pat);

	if (b->len != n)
		return 0;
	for (i = 0; i < n; i++)
		if (b->buf[i] != pat[i % pl])
			return 0;
	return 1;
}

/*
 * The child fills stderr first, then stdout, each far beyond a pipe's
 * capacity: reading one stream to EOF before the other would deadlock.
 */
START_TEST(test_big_both_streams)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c",
	    "yes err | head -c 1500000 >&2; yes out | head -c 2500000; "
	    "yes err2 | head -c 10 >&2", NULL);
	r.timeout_ms = 20000;
	rc = run_capture(&r, &out, &err, &e);
	ck_assert_msg(rc == 0, "rc %d (%s)", rc, e.msg);
	ck_assert_msg(is_repeat(&out, "out\n", 2500000),
	    "stdout: %zu bytes, want 2500000 of 'out\\n'", out.len);
	ck_assert_msg(err.len == 1500010 && !memcmp(err.buf + 1500000,
	    "err2\nerr2\n", 10), "stderr: %zu bytes, want 1500010", err.len);
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
}
END_TEST

/* 3 MiB through `cat`: stdin is fed while stdout is drained. */
START_TEST(test_stdin_data)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;
	size_t n = 3 * 1024 * 1024, i;
	char *data = malloc(n);
	int rc;

	for (i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 4096);
	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, "cat");
	r.in = SBX_RUN_DATA;
	r.in_data = data;
	r.in_len = n;
	rc = run_capture(&r, &out, &err, NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(out.len == n && !memcmp(out.buf, data, n),
	    "cat of %zu bytes gave %zu bytes back (or different ones)", n,
	    out.len);
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
	free(data);
}
END_TEST

/* A child that never reads its stdin must not kill us with SIGPIPE. */
START_TEST(test_stdin_unread)
{
	struct sbx_run r;
	size_t n = 4 * 1024 * 1024;
	char *data = calloc(1, n);

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c", "exit 4", NULL);
	r.in = SBX_RUN_DATA;
	r.in_data = data;
	r.in_len = n;
	ck_assert_int_eq(sbx_run(&r, NULL), 4);
	sbx_run_release(&r);
	free(data);
}
END_TEST

START_TEST(test_stdin_empty_and_null)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;

	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, "cat");
	r.in = SBX_RUN_DATA;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	ck_assert_uint_eq(out.len, 0);
	r.in = SBX_RUN_NULL;
	r.timeout_ms = 5000;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	ck_assert_uint_eq(out.len, 0);
	ck_assert(!r.timed_out);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

static const int exit_codes[] = { 0, 1, 2, 3, 42, 126, 127, 255 };

START_TEST(test_exit_codes)
{
	struct sbx_run r;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c", "exit \"$0\"", NULL);
	sbx_strvec_pushf(&r.argv, "%d", exit_codes[_i]);
	rc = sbx_run(&r, &e);
	ck_assert_msg(rc == exit_codes[_i], "sh -c 'exit %d' returned %d (%s)",
	    exit_codes[_i], rc, e.msg);
	ck_assert_int_eq(r.status, exit_codes[_i]);
	ck_assert_int_eq(r.signo, 0);
	sbx_run_release(&r);
}
END_TEST

static const int kill_sigs[] = { SIGTERM, SIGKILL, SIGINT, SIGSEGV };

START_TEST(test_signal_death)
{
	struct sbx_run r;
	int rc;

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c", "kill -s \"$0\" $$", NULL);
	sbx_strvec_push(&r.argv, sigabbrev_np(kill_sigs[_i]));
	rc = sbx_run(&r, NULL);
	ck_assert_msg(rc == 128 + kill_sigs[_i] && r.signo == kill_sigs[_i],
	    "kill -s %s $$: rc %d signo %d", sigabbrev_np(kill_sigs[_i]), rc,
	    r.signo);
	ck_assert(!r.timed_out);
	sbx_run_release(&r);
}
END_TEST

START_TEST(test_timeout)
{
	struct sbx_run r;
	struct sbx_err e;
	uint64_t t0 = sbx_clock_ms(), dt;
	int rc;

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sleep", "10", NULL);
	r.timeout_ms = 300;
	rc = sbx_run(&r, &e);
	dt = sbx_clock_ms() - t0;
	ck_assert_msg(rc == SBX_ETIMEDOUT, "sleep 10 with 300ms timeout: "
	    "rc %d (%s)", rc, e.msg);
	ck_assert_msg(dt >= 300 && dt < 2000, "sleep 10 killed after %jums, "
	    "want 300..2000", (uintmax_t)dt);
	ck_assert(r.timed_out);
	ck_assert_int_eq(r.signo, SIGTERM);
	ck_assert_str_eq(e.msg, "'sleep' timed out after 300ms and was killed");
	sbx_run_release(&r);
}
END_TEST

/* SIGTERM ignored: SIGKILL after the grace period, whole group. */
START_TEST(test_timeout_kill_group)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	uint64_t t0 = sbx_clock_ms(), dt;
	int rc;

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c",
	    "trap '' TERM; echo started; sleep 10; sleep 10", NULL);
	r.new_pgroup = 1;
	r.timeout_ms = 200;
	r.grace_ms = 300;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	rc = sbx_run(&r, NULL);
	dt = sbx_clock_ms() - t0;
	ck_assert_int_eq(rc, SBX_ETIMEDOUT);
	ck_assert_int_eq(r.signo, SIGKILL);
	ck_assert_msg(dt >= 500 && dt < 3000, "killed after %jums, want "
	    "500..3000", (uintmax_t)dt);
	ck_assert_str_eq(out.buf, "started\n");
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

/* A grandchild keeping the pipe open does not stretch the timeout. */
START_TEST(test_timeout_grandchild_holds_pipe)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	uint64_t t0 = sbx_clock_ms(), dt;

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c", "sleep 5 & exec sleep 10",
	    NULL);
	r.timeout_ms = 200;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	ck_assert_int_eq(sbx_run(&r, NULL), SBX_ETIMEDOUT);
	dt = sbx_clock_ms() - t0;
	ck_assert_msg(dt < 2000, "returned after %jums", (uintmax_t)dt);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

/* Dispositions the caller ignores are reset for the child. */
START_TEST(test_ignored_signal_reset)
{
	struct sbx_run r;

	signal(SIGTERM, SIG_IGN);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sleep", "10", NULL);
	r.timeout_ms = 200;
	r.grace_ms = 5000;
	ck_assert_int_eq(sbx_run(&r, NULL), SBX_ETIMEDOUT);
	ck_assert_msg(r.signo == SIGTERM, "child died of %d, want SIGTERM "
	    "(the caller's SIG_IGN leaked into it)", r.signo);
	sbx_run_release(&r);
}
END_TEST

/*
 * Kernels without pidfd_open (before 5.3): seccomp makes it fail with
 * ENOSYS in this test process, and sbx_run must fall back to polling.
 */
START_TEST(test_no_pidfd)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	scmp_filter_ctx sc = seccomp_init(SCMP_ACT_ALLOW);
	uint64_t t0, dt;
	int rc;

	ck_assert_ptr_nonnull(sc);
	ck_assert_int_eq(seccomp_rule_add(sc, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(pidfd_open), 0), 0);
	ck_assert_int_eq(seccomp_load(sc), 0);
	seccomp_release(sc);
	ck_assert_int_eq(syscall(SYS_pidfd_open, getpid(), 0), -1);
	ck_assert_int_eq(errno, ENOSYS);

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c",
	    "echo hi; exec >&- 2>&-; sleep 0.3; exit 5", NULL);
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	t0 = sbx_clock_ms();
	rc = sbx_run(&r, NULL);
	dt = sbx_clock_ms() - t0;
	ck_assert_int_eq(rc, 5);
	ck_assert_str_eq(out.buf, "hi\n");
	ck_assert_msg(dt >= 300 && dt < 2000, "took %jums", (uintmax_t)dt);
	sbx_run_release(&r);

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sleep", "10", NULL);
	r.timeout_ms = 300;
	t0 = sbx_clock_ms();
	ck_assert_int_eq(sbx_run(&r, NULL), SBX_ETIMEDOUT);
	dt = sbx_clock_ms() - t0;
	ck_assert_msg(dt >= 300 && dt < 2000, "timeout took %jums",
	    (uintmax_t)dt);
	ck_assert_int_eq(r.signo, SIGTERM);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

/* A process that auto-reaps children gets an error, not a hang. */
START_TEST(test_sigchld_ignored)
{
	struct sbx_run r;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	signal(SIGCHLD, SIG_IGN);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sleep", "0.1", NULL);
	r.timeout_ms = 5000;
	rc = sbx_run(&r, &e);
	ck_assert_msg(rc == SBX_EIO && strstr(e.msg, "lost the exit status of "
	    "'sleep'"), "rc %d: %s", rc, e.msg);
	ck_assert(!r.timed_out);
	signal(SIGCHLD, SIG_DFL);
	sbx_run_release(&r);
}
END_TEST

/* Lines of `env` output, one string per line, to look up by prefix. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || !p[n]))
			return 1;
		p++;
	}
	return 0;
}

START_TEST(test_env)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;

	setenv("SBX_T_KEEP", "kept", 1);
	setenv("SBX_T_OVER", "old", 1);
	setenv("SBX_T_GONE", "here", 1);
	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, "env");
	sbx_strvec_pushl(&r.env, "SBX_T_OVER=new", "SBX_T_NEW=a=b",
	    "SBX_T_GONE", "SBX_T_TWICE=1", "SBX_T_TWICE=2", NULL);
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	ck_assert_msg(has_line(out.buf, "SBX_T_KEEP=kept"), "env:\n%s",
	    out.buf);
	ck_assert_msg(has_line(out.buf, "SBX_T_OVER=new"), "env:\n%s",
	    out.buf);
	ck_assert_msg(!strstr(out.buf, "SBX_T_OVER=old"), "env:\n%s",
	    out.buf);
	ck_assert_msg(has_line(out.buf, "SBX_T_NEW=a=b"), "env:\n%s",
	    out.buf);
	ck_assert_msg(!strstr(out.buf, "SBX_T_GONE"), "env:\n%s", out.buf);
	ck_assert_msg(has_line(out.buf, "SBX_T_TWICE=2") &&
	    !strstr(out.buf, "SBX_T_TWICE=1"), "env:\n%s", out.buf);
	/* The caller's own environment is untouched. */
	ck_assert_str_eq(getenv("SBX_T_OVER"), "old");
	ck_assert_str_eq(getenv("SBX_T_GONE"), "here");
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

START_TEST(test_env_clear)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	setenv("SBX_T_KEEP", "kept", 1);
	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, "env");
	sbx_strvec_pushl(&r.env, "A=1", "PATH=/usr/bin:/bin", NULL);
	r.clear_env = 1;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	rc = sbx_run(&r, &e);
	ck_assert_msg(rc == 0, "rc %d (%s)", rc, e.msg);
	ck_assert_str_eq(out.buf, "A=1\nPATH=/usr/bin:/bin\n");
	/* With no PATH at all the default one (not ours) finds env. */
	sbx_buf_reset(&out);
	sbx_strvec_clear(&r.env);
	setenv("PATH", "/nonexistent", 1);
	rc = sbx_run(&r, &e);
	ck_assert_msg(rc == 0, "rc %d (%s)", rc, e.msg);
	ck_assert_str_eq(out.buf, "");
	/* A PATH in env is the one searched. */
	sbx_strvec_push(&r.env, "PATH=/nonexistent");
	r.clear_env = 0;
	ck_assert_int_eq(sbx_run(&r, &e), SBX_ENOENT);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

START_TEST(test_cwd)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	struct sbx_err e;
	char real[PATH_MAX], want[PATH_MAX + 2], before[PATH_MAX];
	const char *dir = unit_tmpdir();

	sbx_err_clear(&e);
	ck_assert_ptr_nonnull(realpath(dir, real));
	ck_assert_ptr_nonnull(getcwd(before, sizeof(before)));
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "pwd", "-P", NULL);
	r.cwd = dir;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	ck_assert_int_eq(sbx_run(&r, &e), 0);
	snprintf(want, sizeof(want), "%s\n", real);
	ck_assert_str_eq(out.buf, want);
	ck_assert_ptr_nonnull(getcwd(real, sizeof(real)));
	ck_assert_str_eq(real, before);

	r.cwd = "/nonexistent/dir";
	ck_assert_int_eq(sbx_run(&r, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot run 'pwd': cannot change to directory "
	    "'/nonexistent/dir': no such file");
	rmdir(dir);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

START_TEST(test_missing_program)
{
	struct sbx_run r;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sbx-no-such-program", "x", NULL);
	rc = sbx_run(&r, &e);
	ck_assert_int_eq(rc, SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot run 'sbx-no-such-program': no such "
	    "file");
	ck_assert_str_eq(e.hint, "'sbx-no-such-program' was not found on "
	    "PATH");
	sbx_run_release(&r);

	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, "/nonexistent/prog");
	ck_assert_int_eq(sbx_run(&r, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot run '/nonexistent/prog': no such file");
	sbx_run_release(&r);

	/* Empty argv is a caller bug, reported, not a crash. */
	sbx_run_init(&r);
	ck_assert_int_eq(sbx_run(&r, &e), SBX_EINVAL);
	ck_assert_int_eq(sbx_run_wait(&r, &e), SBX_EINVAL);
	sbx_run_release(&r);
}
END_TEST

/* Writes a file with `mode`; returns its path (static). */
static const char *
make_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	static char path[4][PATH_MAX];
	static int slot;
	char *p = path[slot++ % 4];
	FILE *f;

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	return p;
}

START_TEST(test_not_executable)
{
	struct sbx_run r;
	struct sbx_err e;
	const char *dir = unit_tmpdir();
	const char *p = make_file(dir, "script", "#!/bin/sh\nexit 0\n", 0644);
	char *noexec = NULL;

	sbx_err_clear(&e);
	if (geteuid() == 0 && access(p, X_OK) == 0)
		return;	/* root may execute anything; nothing to check */
	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, p);
	ck_assert_int_eq(sbx_run(&r, &e), SBX_EPERM);
	noexec = strstr(e.msg, "permission denied");
	ck_assert_msg(noexec != NULL, "message: %s", e.msg);
	sbx_run_release(&r);
}
END_TEST

START_TEST(test_bad_interpreter)
{
	struct sbx_run r;
	struct sbx_err e;
	const char *dir = unit_tmpdir();
	const char *p = make_file(dir, "script", "#!/nonexistent/sh\n", 0755);
	char want[PATH_MAX + 64];

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, p);
	ck_assert_int_eq(sbx_run(&r, &e), SBX_ENOENT);
	snprintf(want, sizeof(want), "cannot run '%s': no such file", p);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(e.sys_errno, ENOENT);
	sbx_run_release(&r);
}
END_TEST

START_TEST(test_find_in_path)
{
	const char *d1 = NULL, *d2, *a, *b;
	char dir1[PATH_MAX], path[2 * PATH_MAX + 8], *found;

	d1 = unit_tmpdir();
	snprintf(dir1, sizeof(dir1), "%s", d1);
	d2 = unit_tmpdir();
	a = make_file(dir1, "tool", "", 0644);		/* not executable */
	b = make_file(d2, "tool", "#!/bin/sh\n", 0755);
	snprintf(path, sizeof(path), "%s:%s", dir1, d2);
	found = sbx_run_find_in_path("tool", path);
	if (geteuid() != 0 || access(a, X_OK) != 0) {
		ck_assert_msg(found && !strcmp(found, b),
		    "find 'tool' in '%s' gave '%s', want '%s'", path,
		    found ? found : "(null)", b);
	}
	free(found);
	/* A directory of that name is skipped. */
	snprintf(path, sizeof(path), "%s/sub", dir1);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s:%s", dir1, d2);
	found = sbx_run_find_in_path("sub", path);
	ck_assert_ptr_null(found);
	ck_assert_int_eq(errno, EACCES);
	found = sbx_run_find_in_path("nothing-here", path);
	ck_assert_ptr_null(found);
	ck_assert_int_eq(errno, ENOENT);
	found = sbx_run_find_in_path("", path);
	ck_assert_ptr_null(found);
	found = sbx_run_find_in_path("sh", "/nonexistent::/bin");
	ck_assert_str_eq(found, "/bin/sh");
	free(found);
	found = sbx_run_find_in_path("/bin/sh", "/nonexistent");
	ck_assert_str_eq(found, "/bin/sh");
	free(found);
}
END_TEST

/* Output past a capture buffer's cap is dropped, the run still ends. */
START_TEST(test_capture_cap)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;
	int rc;

	out.cap = 100;
	err.cap = 10;
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c",
	    "yes | head -c 1000000; echo abcdefghijklmnop >&2", NULL);
	rc = run_capture(&r, &out, &err, NULL);
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(is_repeat(&out, "y\n", 100), "out %zu bytes", out.len);
	ck_assert_str_eq(err.buf, "abcdefghij");
	ck_assert(r.out_truncated);
	ck_assert(r.err_truncated);
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
}
END_TEST

START_TEST(test_redirects)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, file = SBX_BUF_INIT;
	const char *dir = unit_tmpdir();
	char path[PATH_MAX];
	int fd;

	/* 2>&1 into the capture, in order. */
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c", "echo a; echo b >&2; echo c",
	    NULL);
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	r.err = SBX_RUN_TO_OUT;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	ck_assert_str_eq(out.buf, "a\nb\nc\n");

	/* stdout to a file descriptor, stderr to /dev/null. */
	snprintf(path, sizeof(path), "%s/out", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	sbx_buf_reset(&out);
	r.out = SBX_RUN_FD;
	r.out_fd = fd;
	r.err = SBX_RUN_NULL;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	close(fd);
	ck_assert_int_eq(sbx_buf_read_file(&file, path, NULL), 0);
	ck_assert_str_eq(file.buf, "a\nc\n");
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&file);
}
END_TEST

/* SBX_RUN_PIPE hands the caller its end of stdin. */
START_TEST(test_pipe_stdin)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	struct sbx_err e;

	sbx_err_clear(&e);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "tr", "a-z", "A-Z", NULL);
	r.in = SBX_RUN_PIPE;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	ck_assert_int_eq(sbx_run_start(&r, &e), 0);
	ck_assert_int_gt(r.pid, 0);
	ck_assert_int_ge(r.in_fd, 0);
	ck_assert_int_eq(write(r.in_fd, "hello pipe", 10), 10);
	close(r.in_fd);
	ck_assert_int_eq(sbx_run_wait(&r, &e), 0);
	ck_assert_str_eq(out.buf, "HELLO PIPE");
	/* A reaped child cannot be signalled any more. */
	ck_assert_int_eq(sbx_run_signal(&r, SIGTERM, NULL), SBX_EINVAL);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

/* Only 0-2 and keep_fds reach the child. */
START_TEST(test_fd_inheritance)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT;
	int keep, leak;
	char want[64];

	keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	leak = open("/dev/null", O_RDONLY);	/* no CLOEXEC on purpose */
	ck_assert_int_ge(keep, 3);
	ck_assert_int_ge(leak, 3);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c",
	    "for f in /proc/$$/fd/*; do echo ${f##*/}; done", NULL);
	r.keep_fds = &keep;
	r.nr_keep_fds = 1;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	snprintf(want, sizeof(want), "%d", keep);
	ck_assert_msg(has_line(out.buf, want), "fd %d not inherited:\n%s",
	    keep, out.buf);
	snprintf(want, sizeof(want), "%d", leak);
	ck_assert_msg(!has_line(out.buf, want), "fd %d leaked:\n%s", leak,
	    out.buf);
	ck_assert_msg(has_line(out.buf, "0") && has_line(out.buf, "1") &&
	    has_line(out.buf, "2"), "%s", out.buf);
	close(keep);
	close(leak);
	sbx_run_release(&r);
	sbx_buf_release(&out);
}
END_TEST

/* The caller's stdout may be fd 1 or 2 swapped: dup order is safe. */
START_TEST(test_swap_streams)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;
	int p1[2], p2[2];
	ssize_t n;
	char b1[16] = "", b2[16] = "";

	ck_assert_int_eq(pipe(p1), 0);
	ck_assert_int_eq(pipe(p2), 0);
	/* Make our fd 1 and 2 be the two pipes, then swap them for the child. */
	ck_assert_int_eq(dup2(p1[1], 1), 1);
	ck_assert_int_eq(dup2(p2[1], 2), 2);
	close(p1[1]);
	close(p2[1]);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "sh", "-c", "echo out; echo err >&2", NULL);
	r.out = SBX_RUN_FD;
	r.out_fd = 2;
	r.err = SBX_RUN_FD;
	r.err_fd = 1;
	ck_assert_int_eq(sbx_run(&r, NULL), 0);
	close(1);
	close(2);
	n = read(p1[0], b1, sizeof(b1) - 1);
	ck_assert_int_eq(n, 4);
	n = read(p2[0], b2, sizeof(b2) - 1);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(b1, "err\n");
	ck_assert_str_eq(b2, "out\n");
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
}
END_TEST

Suite *suite_run(void)
{
	Suite *s = suite_create("run");
	TCase *tc = tcase_create("run");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_echo);
	tcase_add_test(tc, test_no_shell);
	tcase_add_test(tc, test_big_both_streams);
	tcase_add_test(tc, test_stdin_data);
	tcase_add_test(tc, test_stdin_unread);
	tcase_add_test(tc, test_stdin_empty_and_null);
	tcase_add_loop_test(tc, test_exit_codes, 0,
	    (int)(sizeof(exit_codes) / sizeof(exit_codes[0])));
	tcase_add_loop_test(tc, test_signal_death, 0,
	    (int)(sizeof(kill_sigs) / sizeof(kill_sigs[0])));
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_timeout_kill_group);
	tcase_add_test(tc, test_timeout_grandchild_holds_pipe);
	tcase_add_test(tc, test_ignored_signal_reset);
	tcase_add_test(tc, test_sigchld_ignored);
	tcase_add_test(tc, test_no_pidfd);
	tcase_add_test(tc, test_env);
	tcase_add_test(tc, test_env_clear);
	tcase_add_test(tc, test_cwd);
	tcase_add_test(tc, test_missing_program);
	tcase_add_test(tc, test_not_executable);
	tcase_add_test(tc, test_bad_interpreter);
	tcase_add_test(tc, test_find_in_path);
	tcase_add_test(tc, test_capture_cap);
	tcase_add_test(tc, test_redirects);
	tcase_add_test(tc, test_pipe_stdin);
	tcase_add_test(tc, test_fd_inheritance);
	tcase_add_test(tc, test_swap_streams);
	suite_add_tcase(s, tc);
	return s;
}
