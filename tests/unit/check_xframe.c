/*
 * check_xframe.c - the interactive exec ("Upgrade: sbx-exec"): the frame
 * codec with good, split and malformed input; then the remote backend's
 * interactive exec against a real `sbx serve` in this process on
 * loopback, whose fixture backend runs commands on the host with the
 * fds the server hands it (a host pty with a tty): stdin streamed, the
 * size from the request and from a RESIZE, separate streams without a
 * tty, exit status; and raw upgraded connections sending bad frames, an
 * undeliverable signal and a disconnect in the middle of a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "unit.h"
#include "backend.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/serve.h"
#include "serve/token.h"
#include "serve/xframe.h"
#include "store/registry.h"
#include "core/banned.h"

/* ---- codec ------------------------------------------------------------ */

START_TEST(test_codec)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_xframe f;
	struct sbx_err e;
	size_t off = 0, i;
	int n = 0;

	sbx_xframe_put(&b, SBX_XF_STDIN, "ls\n", 3);
	sbx_xframe_put_resize(&b, 300, 1000);
	sbx_xframe_put_signal(&b, 2);
	sbx_xframe_put(&b, SBX_XF_STDIN_EOF, NULL, 0);
	/* Fed one byte more at a time: a split frame waits for the rest. */
	for (i = 0; i <= b.len; i++) {
		while (sbx_xframe_next(b.buf, i, &off, 1, &f, &e) == 1) {
			switch (n++) {
			case 0:
				ck_assert_uint_eq(f.type, SBX_XF_STDIN);
				ck_assert_uint_eq(f.len, 3);
				ck_assert(!memcmp(f.p, "ls\n", 3));
				break;
			case 1:
				ck_assert_uint_eq(f.type, SBX_XF_RESIZE);
				ck_assert_uint_eq(f.rows, 300);
				ck_assert_uint_eq(f.cols, 1000);
				break;
			case 2:
				ck_assert_uint_eq(f.type, SBX_XF_SIGNAL);
				ck_assert_int_eq(f.sig, 2);
				break;
			default:
				ck_assert_uint_eq(f.type, SBX_XF_STDIN_EOF);
				ck_assert_uint_eq(f.len, 0);
			}
		}
	}
	ck_assert_int_eq(n, 4);
	ck_assert_uint_eq(off, b.len);
	/* Server frames, and the error frame's JSON. */
	sbx_buf_reset(&b);
	off = 0;
	sbx_xframe_put_exit(&b, 3, 0);
	sbx_xframe_put_error(&b, SBX_ENOENT, "no sandbox 'x'");
	ck_assert_int_eq(sbx_xframe_next(b.buf, b.len, &off, 0, &f, &e), 1);
	ck_assert_int_eq(f.code, 3);
	ck_assert_int_eq(f.sig, 0);
	ck_assert_int_eq(sbx_xframe_next(b.buf, b.len, &off, 0, &f, &e), 1);
	ck_assert_uint_eq(f.type, SBX_XF_ERROR);
	ck_assert_int_eq(sbx_xframe_error(&f, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'x'");
	ck_assert_int_eq(sbx_xframe_next(b.buf, b.len, &off, 0, &f, &e), 0);
	sbx_buf_release(&b);
}
END_TEST

/* Decodes `len` bytes of `in` as one frame; the result and message. */
static int
bad(const char *in, size_t len, int to_server, const char *want)
{
	struct sbx_xframe f;
	struct sbx_err e;
	size_t off = 0;
	int rc;

	sbx_err_clear(&e);
	rc = sbx_xframe_next(in, len, &off, to_server, &f, &e);
	ck_assert_int_eq(rc, SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg,
	    want);
	ck_assert_uint_eq(off, 0);
	return rc;
}

START_TEST(test_codec_malformed)
{
	struct sbx_xframe f;
	struct sbx_err e;
	size_t off = 0;

	bad("\x7f\0\0\0\0", 5, 1, "unknown exec frame type 0x7f");
	/* A server frame sent by a client, and the other way round. */
	bad("\x81\0\0\0\0", 5, 1, "unknown exec frame type 0x81");
	bad("\x01\0\0\0\0", 5, 0, "unknown exec frame type 0x01");
	/* Refused from the header alone, before a huge payload arrives. */
	bad("\x01\x01\0\0\0", 5, 1, "'stdin' exec frame of 16777216 bytes "
	    "(at most 65536)");
	bad("\x01\xff\xff\xff\xff", 5, 1, "of 4294967295 bytes");
	bad("\x02\0\0\0\x01x", 6, 1, "'stdin-eof' exec frame of 1 bytes "
	    "(must be 0)");
	bad("\x03\0\0\0\x03\0\x01\0", 8, 1, "(must be 4)");
	bad("\x03\0\0\0\x04\0\0\0\x50", 9, 1, "with 0x80 (rows and columns");
	bad("\x04\0\0\0\x01\0", 6, 1, "with signal 0 (must be 1-64)");
	bad("\x04\0\0\0\x01\x41", 6, 1, "with signal 65");
	bad("\x83\0\0\0\x08\0\0\x01\0\0\0\0\0", 13, 0, "with code 256");
	ck_assert_int_eq(sbx_xframe_next("\x01\0\0", 3, &off, 1, &f, &e), 0);
	ck_assert_int_eq(sbx_xframe_next("\x01\0\0\0\x02x", 6, &off, 1, &f,
	    &e), 0);
	f.p = (const unsigned char *)"{\"code\":1}";
	f.len = strlen((const char *)f.p);
	ck_assert_int_eq(sbx_xframe_error(&f, &e), SBX_ENET);
	ck_assert_msg(strstr(e.msg, "malformed 'error' exec frame"),
	    "message '%s'", e.msg);
}
END_TEST

/* ---- a server with a fixture backend ---------------------------------- */

static int fx_rows, fx_cols;	/* the size read after the last resize */
static int fx_running;		/* fixture execs in progress */

static int
fx_open(const struct sbx_backend_cfg *cfg, struct sbx_conn **out,
    struct sbx_err *e)
{
	(void)cfg;
	(void)e;
	*out = xmalloc(1);
	return 0;
}

static void
fx_close(struct sbx_conn *c)
{
	free(c);
}

static int
fx_get(struct sbx_conn *c, const char *query, struct sbx_sandbox *out,
    struct sbx_err *e)
{
	(void)c;
	sbx_sandbox_init(out);
	if (strcmp(query, "fx"))
		return sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", query);
	memcpy(out->id, "sb-aaaaaaaaaaaa", SBX_SANDBOX_ID_SIZE);
	out->state = SBX_SB_RUNNING;
	return 0;
}

/*
 * Runs argv on the host with the fds given; meanwhile, like the kvm
 * backend, each poke of tty_resize_fd re-reads stdout's window size.
 */
static int
fx_exec(struct sbx_conn *c, const char *query, const struct sbx_exec_opts *o,
    struct sbx_exec_result *r, struct sbx_err *e)
{
	struct winsize ws;
	pid_t pid;
	int st;

	(void)c;
	memset(r, 0, sizeof(*r));
	if (strcmp(query, "fx"))
		return sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", query);
	/* (Its size may already be a RESIZE's: the tests read it.) */
	if (o->tty && ioctl(o->stdout_fd, TIOCGWINSZ, &ws) < 0)
		return sbx_err_set(e, SBX_EFAIL, "stdout is not a terminal");
	__atomic_add_fetch(&fx_running, 1, __ATOMIC_SEQ_CST);
	pid = fork();
	if (pid == 0) {
		dup2(o->stdin_fd >= 0 ? o->stdin_fd : open("/dev/null",
		    O_RDONLY), 0);
		dup2(o->stdout_fd, 1);
		dup2(o->stderr_fd, 2);
		/* Not the client's socket of this very process, say. */
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execvp(o->argv[0], (char *const *)o->argv);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &st, WNOHANG) == 0) {
		struct pollfd p = { o->tty_resize_fd, POLLIN, 0 };
		char junk[16];

		if (poll(&p, 1, 20) == 1 &&
		    read(p.fd, junk, sizeof(junk)) > 0 &&
		    ioctl(o->stdout_fd, TIOCGWINSZ, &ws) == 0) {
			__atomic_store_n(&fx_rows, ws.ws_row, __ATOMIC_SEQ_CST);
			__atomic_store_n(&fx_cols, ws.ws_col, __ATOMIC_SEQ_CST);
		}
	}
	__atomic_sub_fetch(&fx_running, 1, __ATOMIC_SEQ_CST);
	if (pid < 0)
		return sbx_err_sys(e, "fixture exec");
	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return 0;
}

static const struct sbx_backend fixture = {
	.name = "fixture",
	.open = fx_open,
	.close = fx_close,
	.get = fx_get,
	.exec = fx_exec,
};

static struct sbx_server *srv;
static char *token;

static void
server_up(void)
{
	struct sbx_serve_cfg cfg;
	struct sbx_err e;
	char home[256];

	snprintf(home, sizeof(home), "%s", unit_tmpdir());
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "127.0.0.1:0";
	cfg.home = home;
	cfg.backend = &fixture;
	cfg.timeout_s = 1;	/* sessions outlive the connection timeout */
	ck_assert_msg(sbx_token_create(home, SBX_SCOPE_WRITE, time(NULL), 0,
	    NULL, &token, NULL, &e) == 0, "token: %s", e.msg);
	ck_assert_msg(sbx_serve_start(&cfg, &srv, &e) == 0, "serve: %s",
	    e.msg);
	fx_rows = fx_cols = 0;
}

static void
server_down(void)
{
	if (srv)
		sbx_serve_stop(srv);
	srv = NULL;
	free(token);
	token = NULL;
}

static struct sbx_conn *
client(void)
{
	struct sbx_backend_cfg cfg;
	struct sbx_conn *c;
	struct sbx_err e;

	memset(&cfg, 0, sizeof(cfg));
	cfg.url = sbx_serve_url(srv);
	cfg.token = token;
	ck_assert_msg(sbx_backend_remote.open(&cfg, &c, &e) == 0, "open: %s",
	    e.msg);
	return c;
}

/* A pty pair in raw mode of rows x cols: *m master, *s slave. */
static void
test_pty(int *m, int *s, unsigned rows, unsigned cols)
{
	struct winsize ws = { (unsigned short)rows, (unsigned short)cols, 0,
	    0 };
	struct termios t;

	*m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert(*m >= 0 && grantpt(*m) == 0 && unlockpt(*m) == 0);
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY | O_CLOEXEC);
	ck_assert(*s >= 0 && tcgetattr(*s, &t) == 0);
	cfmakeraw(&t);
	ck_assert(tcsetattr(*s, TCSANOW, &t) == 0);
	ck_assert(ioctl(*m, TIOCSWINSZ, &ws) == 0);
}

/* What is there to read on fd now (waits up to 2 s for the first). */
static void
read_avail(int fd, struct sbx_buf *b)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[4096];
	ssize_t n;

	sbx_buf_reset(b);
	while (poll(&p, 1, b->len ? 100 : 2000) == 1 &&
	    (n = read(fd, buf, sizeof(buf))) > 0)
		sbx_buf_add(b, buf, (size_t)n);
	sbx_buf_addch(b, '\0');
	sbx_buf_setlen(b, b->len - 1);
}

/* An interactive exec through the remote backend, stdin from `input`. */
static int
run_tty(struct sbx_conn *c, const char *query, const char *script,
    const char *input, struct sbx_exec_opts *o, struct sbx_exec_result *r,
    struct sbx_err *e)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	int in[2], rc;

	ck_assert_int_eq(pipe(in), 0);
	ck_assert(write(in[1], input, strlen(input)) ==
	    (ssize_t)strlen(input));
	close(in[1]);
	o->argv = argv;
	o->stdin_fd = in[0];
	sbx_err_clear(e);
	rc = sbx_backend_remote.exec(c, query, o, r, e);
	close(in[0]);
	return rc;
}

START_TEST(test_tty_session)
{
	struct sbx_conn *c = client();
	struct sbx_exec_opts o;
	struct sbx_exec_result r;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	int m, s, rz[2];

	/* The size of the request; stdin streamed; exit status. */
	test_pty(&m, &s, 50, 132);
	memset(&o, 0, sizeof(o));
	o.stdout_fd = o.stderr_fd = s;
	o.tty = 1;
	o.rows = 50;
	o.cols = 132;
	o.tty_resize_fd = o.detach_byte = -1;
	ck_assert_msg(run_tty(c, "fx", "stty size <&1; read a; "
	    "echo got $a $((6*7)); echo to-err >&2; exit 3", "hi\n", &o, &r,
	    &e) == 0, "exec: %s", e.msg);
	ck_assert_int_eq(r.exit_code, 3);
	ck_assert_int_eq(r.signal, 0);
	read_avail(m, &b);
	ck_assert_str_eq(b.buf, "50 132\ngot hi 42\nto-err\n");
	/* A SIGWINCH on the client side reaches the command's terminal. */
	ck_assert(ioctl(m, TIOCSWINSZ, &(struct winsize){ 30, 100, 0, 0 }) ==
	    0);
	ck_assert_int_eq(pipe(rz), 0);
	ck_assert(write(rz[1], "w", 1) == 1);
	o.tty_resize_fd = rz[0];
	ck_assert_msg(run_tty(c, "fx", "read a; stty size <&1; kill -9 $$",
	    "go\n", &o, &r, &e) == 0, "exec: %s", e.msg);
	read_avail(m, &b);
	ck_assert_str_eq(b.buf, "30 100\n");
	ck_assert_int_eq(fx_rows, 30);
	ck_assert_int_eq(fx_cols, 100);
	ck_assert_int_eq(r.signal, 9);
	/* The detach byte ends the session from this side. */
	o.tty_resize_fd = -1;
	o.detach_byte = 0x1d;
	ck_assert_int_eq(run_tty(c, "fx", "cat", "a\x1d" "b", &o, &r, &e), 0);
	ck_assert_int_eq(r.detached, 1);
	/* A missing sandbox is the plain 404, before any upgrade. */
	ck_assert_int_eq(run_tty(c, "nope", "true", "", &o, &r, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'nope'");
	close(rz[0]);
	close(rz[1]);
	close(m);
	close(s);
	sbx_buf_release(&b);
	sbx_backend_remote.close(c);
}
END_TEST

/* Without a tty the streams stay apart (remote_exec_tty called directly). */
START_TEST(test_pipes_session)
{
	const char *argv[] = { "sh", "-c", "cat; echo err >&2; exit 4", NULL };
	struct sbx_conn *c = client();
	struct sbx_exec_opts o;
	struct sbx_exec_result r;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	int in[2], out[2], err[2];

	ck_assert(pipe(in) == 0 && pipe(out) == 0 && pipe(err) == 0);
	ck_assert(write(in[1], "hello", 5) == 5);
	close(in[1]);
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.stdin_fd = in[0];
	o.stdout_fd = out[1];
	o.stderr_fd = err[1];
	o.tty_resize_fd = o.detach_byte = -1;
	sbx_err_clear(&e);
	ck_assert_msg(remote_exec_tty(c, "fx", &o, &r, &e) == 0, "exec: %s",
	    e.msg);
	ck_assert_int_eq(r.exit_code, 4);
	close(out[1]);
	close(err[1]);
	read_avail(out[0], &b);
	ck_assert_str_eq(b.buf, "hello");
	read_avail(err[0], &b);
	ck_assert_str_eq(b.buf, "err\n");
	close(in[0]);
	close(out[0]);
	close(err[0]);
	sbx_buf_release(&b);
	sbx_backend_remote.close(c);
}
END_TEST

/* ---- raw upgraded connections ----------------------------------------- */

struct raw {
	CURL *h;
	curl_socket_t s;
	struct sbx_buf rx;
};

static int
raw_open(struct sbx_conn *c, struct raw *w, const char *json,
    struct sbx_err *e)
{
	char *path = remote_path(c, "fx", "/exec");
	int rc;

	sbx_buf_init(&w->rx, 0);
	sbx_err_clear(e);
	rc = remote_upgrade(c, "POST", path, "sbx-exec", json, &w->h, &w->s,
	    e);
	free(path);
	return rc;
}

static void
raw_send(struct raw *w, const void *p, size_t len)
{
	ck_assert_int_eq(remote_upgraded_send(w->h, w->s, p, len), 0);
}

/* The next server frame (1), or 0 at EOF; 5 s at most. */
static int
raw_frame(struct raw *w, struct sbx_xframe *f, size_t *off)
{
	uint64_t end = sbx_clock_ms() + 5000;
	struct sbx_err e;
	char buf[4096];
	size_t n;
	CURLcode cc;
	int rc;

	for (;;) {
		rc = sbx_xframe_next(w->rx.buf, w->rx.len, off, 0, f, &e);
		ck_assert_msg(rc >= 0, "bad server frame: %s", e.msg);
		if (rc == 1)
			return 1;
		ck_assert_msg(sbx_clock_ms() < end, "no frame within 5 s");
		cc = curl_easy_recv(w->h, buf, sizeof(buf), &n);
		if (cc == CURLE_AGAIN) {
			struct pollfd p = { (int)w->s, POLLIN, 0 };

			poll(&p, 1, 100);
			continue;
		}
		if (cc != CURLE_OK || n == 0)
			return 0;
		sbx_buf_add(&w->rx, buf, n);
	}
}

/* Expects an error frame containing `want`, then the end. */
static void
raw_expect_error(struct raw *w, const char *want)
{
	struct sbx_xframe f;
	struct sbx_err e;
	size_t off = 0;

	while (raw_frame(w, &f, &off) == 1 && f.type != SBX_XF_ERROR)
		ck_assert_msg(f.type == SBX_XF_STDOUT, "frame 0x%x", f.type);
	ck_assert_uint_eq(f.type, SBX_XF_ERROR);
	sbx_xframe_error(&f, &e);
	ck_assert_msg(strstr(e.msg, want), "error '%s' lacks '%s'", e.msg,
	    want);
	ck_assert_int_eq(raw_frame(w, &f, &off), 0);
	curl_easy_cleanup(w->h);
	sbx_buf_release(&w->rx);
}

/* Waits until no fixture exec runs any more; 1 if so within 5 s. */
static int
execs_end(void)
{
	uint64_t end = sbx_clock_ms() + 5000;

	while (__atomic_load_n(&fx_running, __ATOMIC_SEQ_CST) &&
	    sbx_clock_ms() < end) {
		struct timespec ts = { 0, 20000000 };

		nanosleep(&ts, NULL);
	}
	return __atomic_load_n(&fx_running, __ATOMIC_SEQ_CST) == 0;
}

START_TEST(test_bad_frames)
{
	static const char cat_tty[] = "{\"argv\":[\"cat\"],\"tty\":true}";
	struct sbx_conn *c = client();
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_xframe f;
	struct raw w;
	struct sbx_err e;
	size_t off = 0;

	/* An unknown frame type: an error frame, the connection closes and
	 * the command (cat, waiting for input) sees EOF and ends. */
	ck_assert_msg(raw_open(c, &w, cat_tty, &e) == 0, "open: %s", e.msg);
	raw_send(&w, "\x7f\0\0\0\0", 5);
	raw_expect_error(&w, "unknown exec frame type 0x7f");
	ck_assert_msg(execs_end(), "the command outlived its session");
	/* A frame too large, refused from its header. */
	ck_assert(raw_open(c, &w, cat_tty, &e) == 0);
	raw_send(&w, "\x01\x10\0\0\0", 5);
	raw_expect_error(&w, "'stdin' exec frame of 268435456 bytes");
	/* A signal the session cannot deliver. */
	ck_assert(raw_open(c, &w, cat_tty, &e) == 0);
	sbx_xframe_put_signal(&b, 15);
	raw_send(&w, b.buf, b.len);
	raw_expect_error(&w, "signal 15 cannot be sent to the command");
	/* Input after its end. */
	ck_assert(raw_open(c, &w, cat_tty, &e) == 0);
	sbx_buf_reset(&b);
	sbx_xframe_put(&b, SBX_XF_STDIN_EOF, NULL, 0);
	sbx_xframe_put(&b, SBX_XF_STDIN, "x", 1);
	raw_send(&w, b.buf, b.len);
	raw_expect_error(&w, "'stdin' exec frame after 'stdin-eof'");
	/* A good session frame by frame: input echoed by cat, EOF, exit. */
	ck_assert(raw_open(c, &w, cat_tty, &e) == 0);
	sbx_buf_reset(&b);
	sbx_xframe_put(&b, SBX_XF_STDIN, "ping", 4);
	sbx_xframe_put_resize(&b, 10, 20);
	sbx_xframe_put(&b, SBX_XF_STDIN_EOF, NULL, 0);
	raw_send(&w, b.buf, b.len);
	ck_assert_int_eq(raw_frame(&w, &f, &off), 1);
	if (f.type == SBX_XF_ERROR)
		sbx_xframe_error(&f, &e);
	ck_assert_msg(f.type == SBX_XF_STDOUT, "frame 0x%x (%s)", f.type,
	    f.type == SBX_XF_ERROR ? e.msg : "");
	ck_assert_uint_eq(f.len, 4);
	ck_assert(!memcmp(f.p, "ping", 4));
	ck_assert_int_eq(raw_frame(&w, &f, &off), 1);
	ck_assert_uint_eq(f.type, SBX_XF_EXIT);
	ck_assert_int_eq(f.code, 0);
	ck_assert_int_eq(raw_frame(&w, &f, &off), 0);
	curl_easy_cleanup(w.h);
	sbx_buf_release(&w.rx);
	/* No "stdin" or "background" with an upgrade. */
	ck_assert_int_eq(raw_open(c, &w, "{\"argv\":[\"cat\"],\"stdin\":"
	    "\"eA==\"}", &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "takes no 'stdin'"), "message '%s'",
	    e.msg);
	/* A server that answers without upgrading (as an old one would). */
	ck_assert_int_eq(remote_upgrade(c, "GET", "/v1/meta", "sbx-exec", NULL,
	    &w.h, &w.s, &e), SBX_ENOTSUP);
	ck_assert_msg(strstr(e.msg, "does not know 'Upgrade: sbx-exec' (it "
	    "answered 200)"), "message '%s'", e.msg);
	sbx_buf_release(&b);
	sbx_backend_remote.close(c);
}
END_TEST

/* A client that vanishes mid-command, and a server stopping mid-session. */
START_TEST(test_disconnect)
{
	static const char sleeper[] = "{\"argv\":[\"sh\",\"-c\","
	    "\"while read x; do echo $x; done\"],\"tty\":true}";
	struct sbx_conn *c = client();
	struct raw w;
	struct sbx_err e;
	struct timespec ts = { 0, 200000000 };
	uint64_t t0;

	ck_assert(raw_open(c, &w, sleeper, &e) == 0);
	nanosleep(&ts, NULL);
	ck_assert_int_eq(__atomic_load_n(&fx_running, __ATOMIC_SEQ_CST), 1);
	curl_easy_cleanup(w.h);
	sbx_buf_release(&w.rx);
	ck_assert_msg(execs_end(), "the command outlived its client");
	ck_assert(raw_open(c, &w, sleeper, &e) == 0);
	nanosleep(&ts, NULL);
	t0 = sbx_clock_ms();
	sbx_serve_stop(srv);
	srv = NULL;
	ck_assert_msg(sbx_clock_ms() - t0 < 5000, "stop took %llu ms",
	    (unsigned long long)(sbx_clock_ms() - t0));
	ck_assert_msg(execs_end(), "the command outlived the server");
	curl_easy_cleanup(w.h);
	sbx_buf_release(&w.rx);
	sbx_backend_remote.close(c);
}
END_TEST

Suite *suite_xframe(void)
{
	Suite *s = suite_create("xframe");
	TCase *tc = tcase_create("codec");
	TCase *live = tcase_create("loopback");

	tcase_add_test(tc, test_codec);
	tcase_add_test(tc, test_codec_malformed);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(live, server_up, server_down);
	tcase_set_timeout(live, 30);
	tcase_add_test(live, test_tty_session);
	tcase_add_test(live, test_pipes_session);
	tcase_add_test(live, test_bad_frames);
	tcase_add_test(live, test_disconnect);
	suite_add_tcase(s, live);
	return s;
}
