/*
 * check_remote.c - the remote backend against a real `sbx serve` in this
 * process, on loopback: exec streaming (stdout, stderr, stdin, exit
 * status), file upload and download of a large file, 404/501/401 turned
 * into sbx errors, an unreachable server; plus the NDJSON frame parser
 * and HTTP error mapping on their own.
 *
 * The server fronts a fixture backend that maps a sandbox named "fx" onto
 * a temporary directory and runs commands on the host: it exercises the
 * HTTP layers on both sides, not sandboxes (those are tested in the rig).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "unit.h"
#include "backend.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/serve.h"
#include "serve/token.h"
#include "store/fsutil.h"
#include "core/banned.h"

static char fx_root[256];

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
fx_check(const char *query, struct sbx_err *e)
{
	if (strcmp(query, "fx"))
		return sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", query);
	return 0;
}

/* Three sandboxes: running, stopped, running. */
static int
fx_list(struct sbx_conn *c, struct sbx_sandbox **out, size_t *n,
    struct sbx_err *e)
{
	size_t i;

	(void)c;
	(void)e;
	*out = xcalloc(4, sizeof(**out));
	for (i = 0; i < 3; i++) {
		sbx_sandbox_init(&(*out)[i]);
		snprintf((*out)[i].id, SBX_SANDBOX_ID_SIZE, "sb-aaaaaaaaaaa%c",
		    (char)('2' + i));
		(*out)[i].state = i == 1 ? SBX_SB_STOPPED : SBX_SB_RUNNING;
		(*out)[i].spec.vcpus = 1;
		(*out)[i].created = (*out)[i].updated = 1800000000 + (int)i;
	}
	*n = 3;
	return 0;
}

static int
fx_get(struct sbx_conn *c, const char *query, struct sbx_sandbox *out,
    struct sbx_err *e)
{
	(void)c;
	sbx_sandbox_init(out);
	if (fx_check(query, e) < 0)
		return SBX_ENOENT;
	memcpy(out->id, "sb-aaaaaaaaaaaa", SBX_SANDBOX_ID_SIZE);
	sbx_sandbox_set_name(out, "fx");
	out->state = SBX_SB_RUNNING;
	out->spec.vcpus = 2;
	out->spec.memory = 256u << 20;
	out->created = out->updated = 1800000000;
	return 0;
}

static int
fx_exec(struct sbx_conn *c, const char *query, const struct sbx_exec_opts *o,
    struct sbx_exec_result *r, struct sbx_err *e)
{
	pid_t pid;
	int st;

	(void)c;
	memset(r, 0, sizeof(*r));
	if (fx_check(query, e) < 0)
		return SBX_ENOENT;
	pid = fork();
	if (pid == 0) {
		dup2(o->stdin_fd >= 0 ? o->stdin_fd : open("/dev/null",
		    O_RDONLY), 0);
		dup2(o->stdout_fd, 1);
		dup2(o->stderr_fd, 2);
		if (chdir(fx_root) < 0)
			_exit(126);
		execvp(o->argv[0], (char *const *)o->argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return sbx_err_sys(e, "fixture exec");
	r->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return 0;
}

/* Copies src_fd to dst_fd until EOF. */
static int
copy_fd(int src, int dst, struct sbx_err *e)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(src, buf, sizeof(buf))) > 0)
		if (sbx_fs_write_all(dst, buf, (size_t)n, "copy", e) < 0)
			return SBX_EIO;
	return n < 0 ? sbx_err_sys(e, "read") : 0;
}

static int
fx_file_put(struct sbx_conn *c, const char *query, int src_fd,
    const char *path, uint32_t mode, struct sbx_err *e)
{
	char *p = xasprintf("%s%s", fx_root, path);
	int fd, r;

	(void)c;
	r = fx_check(query, e);
	if (r == 0 && !strcmp(path, "/dies")) {
		/* A guest that dies part-way: 4 KiB read, then an error. */
		char buf[4096];

		free(p);
		if (read(src_fd, buf, sizeof(buf)) < 0)
			return sbx_err_sys(e, "read");
		return sbx_err_set(e, SBX_EIO, "the sandbox stopped during "
		    "the upload");
	}
	fd = r < 0 ? -1 : open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (r == 0 && fd < 0)
		r = sbx_err_sys(e, "cannot create '%s'", path);
	if (fd >= 0) {
		r = copy_fd(src_fd, fd, e);
		close(fd);
	}
	free(p);
	return r;
}

static int
fx_file_get(struct sbx_conn *c, const char *query, const char *path,
    int dst_fd, struct sbx_err *e)
{
	char *p = xasprintf("%s%s", fx_root, path);
	int fd, r;

	(void)c;
	r = fx_check(query, e);
	fd = r < 0 ? -1 : open(p, O_RDONLY);
	free(p);
	if (r == 0 && fd < 0)
		return sbx_err_set(e, SBX_ENOENT, "no file '%s' in sandbox "
		    "'%s'", path, query);
	if (r < 0)
		return r;
	r = copy_fd(fd, dst_fd, e);
	close(fd);
	return r;
}

/* A slow operation: longer than the server's connection timeout. */
static int
fx_stop(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	struct timespec ts = { 2, 500000000 };

	(void)c;
	if (fx_check(query, e) < 0)
		return SBX_ENOENT;
	nanosleep(&ts, NULL);
	return 0;
}

/* A followed log: one line, then silence until the reader goes away. */
static int
fx_logs(struct sbx_conn *c, const char *query, int dst_fd, int follow,
    struct sbx_err *e)
{
	struct pollfd pf = { dst_fd, 0, 0 };

	(void)c;
	if (fx_check(query, e) < 0)
		return SBX_ENOENT;
	if (sbx_fs_write_all(dst_fd, "tick\n", 5, "log", e) < 0)
		return SBX_EIO;
	while (follow && poll(&pf, 1, -1) >= 0 && !pf.revents)
		;
	return 0;
}

static const struct sbx_backend fixture = {
	.stop = fx_stop,
	.logs = fx_logs,
	.name = "fixture",
	.open = fx_open,
	.close = fx_close,
	.list = fx_list,
	.get = fx_get,
	.exec = fx_exec,
	.file_put = fx_file_put,
	.file_get = fx_file_get,
};

static struct sbx_server *srv;
static char *admin_token;

static void
server_up(void)
{
	struct sbx_serve_cfg cfg;
	struct sbx_err e;
	char home[256];

	snprintf(home, sizeof(home), "%s", unit_tmpdir());
	snprintf(fx_root, sizeof(fx_root), "%s", unit_tmpdir());
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "127.0.0.1:0";
	cfg.home = home;
	cfg.backend = &fixture;
	cfg.timeout_s = 1;	/* silent commands must outlive it */
	ck_assert_msg(sbx_token_create(home, SBX_SCOPE_ADMIN, time(NULL), 0,
	    NULL, &admin_token, NULL, &e) == 0, "token: %s", e.msg);
	ck_assert_msg(sbx_serve_start(&cfg, &srv, &e) == 0, "serve: %s",
	    e.msg);
}

static void
server_down(void)
{
	sbx_serve_stop(srv);
	srv = NULL;
	free(admin_token);
	admin_token = NULL;
}

static struct sbx_conn *
client(const char *token)
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

/* Reads a whole temp file back. */
static void
slurp(int fd, struct sbx_buf *b)
{
	struct sbx_err e;

	lseek(fd, 0, SEEK_SET);
	sbx_buf_reset(b);
	ck_assert(sbx_buf_read_fd(b, fd, &e) >= 0);
}

static int
tmpfile_fd(void)
{
	char *p = xasprintf("%s/t.XXXXXX", unit_tmpdir());
	int fd = mkstemp(p);

	ck_assert(fd >= 0);
	unlink(p);
	free(p);
	return fd;
}

START_TEST(test_exec_stream)
{
	const char *argv[] = { "sh", "-c", "cat; echo oops >&2; exit 3", NULL };
	struct sbx_exec_opts o;
	struct sbx_exec_result r;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_conn *c = client(admin_token);
	struct sbx_err e;
	int in = tmpfile_fd(), out = tmpfile_fd(), err = tmpfile_fd();

	ck_assert(write(in, "hello\n", 6) == 6);
	lseek(in, 0, SEEK_SET);
	memset(&o, 0, sizeof(o));
	o.argv = argv;
	o.stdin_fd = in;
	o.stdout_fd = out;
	o.stderr_fd = err;
	o.tty_resize_fd = o.detach_byte = -1;
	sbx_err_clear(&e);
	ck_assert_msg(sbx_backend_remote.exec(c, "fx", &o, &r, &e) == 0,
	    "exec: %s", e.msg);
	ck_assert_int_eq(r.exit_code, 3);
	slurp(out, &b);
	ck_assert_str_eq(b.buf, "hello\n");
	slurp(err, &b);
	ck_assert_str_eq(b.buf, "oops\n");
	/* A command silent for longer than the connection timeout. */
	argv[2] = "sleep 3; echo late";
	ftruncate(out, 0);
	lseek(out, 0, SEEK_SET);
	ck_assert_msg(sbx_backend_remote.exec(c, "fx", &o, &r, &e) == 0,
	    "silent exec: %s", e.msg);
	ck_assert_int_eq(r.exit_code, 0);
	slurp(out, &b);
	ck_assert_str_eq(b.buf, "late\n");
	/* An unknown sandbox is a clean 404 before any output. */
	ck_assert_int_eq(sbx_backend_remote.exec(c, "nope", &o, &r, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'nope'");
	sbx_buf_release(&b);
	sbx_backend_remote.close(c);
	close(in);
	close(out);
	close(err);
}
END_TEST

/* The read end of a pipe a child writes `n` zero bytes to. */
static int
zeros(size_t n, pid_t *kid)
{
	static char buf[65536];
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	*kid = fork();
	ck_assert_int_ge(*kid, 0);
	if (*kid == 0) {
		close(p[0]);
		for (; n >= sizeof(buf); n -= sizeof(buf))
			if (write(p[1], buf, sizeof(buf)) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

START_TEST(test_files_stream)
{
	pid_t kid;
	int fd1, rc;
	struct sbx_buf a = SBX_BUF_INIT, b = SBX_BUF_INIT;
	struct sbx_conn *c = client(admin_token);
	int src = tmpfile_fd(), dst = tmpfile_fd(), p[2];
	struct sbx_err e;
	size_t i;

	/* 3 MiB, larger than any body the server buffers. */
	sbx_buf_grow(&a, 3u << 20);
	for (i = 0; i < (3u << 20); i++)
		sbx_buf_addch(&a, (char)(i * 7 + i / 4096));
	ck_assert(write(src, a.buf, a.len) == (ssize_t)a.len);
	lseek(src, 0, SEEK_SET);
	sbx_err_clear(&e);
	ck_assert_msg(sbx_backend_remote.file_put(c, "fx", src, "/big", 0600,
	    &e) == 0, "put: %s", e.msg);
	ck_assert_msg(sbx_backend_remote.file_get(c, "fx", "/big", dst, &e) ==
	    0, "get: %s", e.msg);
	slurp(dst, &b);
	ck_assert_uint_eq(b.len, a.len);
	ck_assert(!memcmp(a.buf, b.buf, a.len));
	/*
	 * A backend that stops reading part-way (its guest died): the rest
	 * of the 3 MiB is read and dropped, and the answer is the backend's
	 * error. The server used to block writing the rest into a pipe
	 * nobody read, and the client waited until its own timeout (the
	 * test's 30 s here).
	 */
	lseek(src, 0, SEEK_SET);
	rc = sbx_backend_remote.file_put(c, "fx", src, "/dies", 0600, &e);
	ck_assert_msg(rc == SBX_EIO, "rc %d: %s", rc, e.msg);
	ck_assert_msg(strstr(e.msg, "stopped during the upload"), "message "
	    "'%s'", e.msg);
	/*
	 * The same from a pipe, where the body's end is known only when it
	 * comes: a child writes 8 MiB, more than the pipes and sockets on
	 * the way hold.
	 */
	fd1 = zeros(8u << 20, &kid);
	rc = sbx_backend_remote.file_put(c, "fx", fd1, "/dies", 0600, &e);
	ck_assert_msg(rc == SBX_EIO, "rc %d: %s", rc, e.msg);
	ck_assert_msg(strstr(e.msg, "stopped during the upload"), "message "
	    "'%s'", e.msg);
	waitpid(kid, NULL, 0);
	close(fd1);
	/* From a pipe: chunked upload of unknown length. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert(write(p[1], "piped", 5) == 5);
	close(p[1]);
	ck_assert_int_eq(sbx_backend_remote.file_put(c, "fx", p[0], "/p",
	    0644, &e), 0);
	close(p[0]);
	ftruncate(dst, 0);
	lseek(dst, 0, SEEK_SET);
	ck_assert_int_eq(sbx_backend_remote.file_get(c, "fx", "/p", dst, &e),
	    0);
	slurp(dst, &b);
	ck_assert_str_eq(b.buf, "piped");
	ck_assert_int_eq(sbx_backend_remote.file_get(c, "fx", "/missing", dst,
	    &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no file '/missing' in sandbox 'fx'");
	/* Traversal is refused by the server, before the backend. */
	ck_assert_int_eq(sbx_backend_remote.file_get(c, "fx", "/../etc/passwd",
	    dst, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "'..'"), "message '%s'", e.msg);
	sbx_buf_release(&a);
	sbx_buf_release(&b);
	sbx_backend_remote.close(c);
	close(src);
	close(dst);
}
END_TEST

START_TEST(test_errors)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_conn *c = client(admin_token), *bad;
	struct sbx_sandbox sb, *v;
	struct sbx_err e;
	size_t n = 99;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_backend_remote.list(c, &v, &n, &e), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(v[2].id, "sb-aaaaaaaaaaa4");
	ck_assert_int_eq(v[1].state, SBX_SB_STOPPED);
	while (n)
		sbx_sandbox_release(&v[--n]);
	free(v);
	ck_assert_int_eq(sbx_backend_remote.get(c, "fx", &sb, &e), 0);
	ck_assert_str_eq(sb.id, "sb-aaaaaaaaaaaa");
	ck_assert_str_eq(sb.name, "fx");
	ck_assert_int_eq(sb.state, SBX_SB_RUNNING);
	ck_assert_uint_eq(sb.spec.memory, 256u << 20);
	sbx_sandbox_release(&sb);
	ck_assert_int_eq(sbx_backend_remote.get(c, "nope", &sb, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'nope'");
	sbx_sandbox_release(&sb);
	ck_assert_int_eq(sbx_backend_remote.get(c, "x/y", &sb, &e),
	    SBX_ENOENT);
	sbx_sandbox_release(&sb);
	ck_assert_msg(sbx_backend_remote.stop(c, "fx", &e) == 0,
	    "an operation slower than the connection timeout: %s", e.msg);
	ck_assert_int_eq(sbx_backend_remote.fork(c, "fx", 2, &ids, &e),
	    SBX_ENOTSUP);
	ck_assert_str_eq(e.msg, "'fork' is not supported by backend "
	    "'fixture'");
	bad = client("sbx_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAA");
	ck_assert_int_eq(sbx_backend_remote.get(bad, "fx", &sb, &e),
	    SBX_EPERM);
	ck_assert_msg(strstr(e.msg, "server rejected the token (401)"),
	    "message '%s'", e.msg);
	sbx_sandbox_release(&sb);
	sbx_backend_remote.close(bad);
	sbx_backend_remote.close(c);
}
END_TEST

/* GET `path` through the client; the JSON answer or NULL (code in e). */
static json_t *
get_json(struct sbx_conn *c, const char *path, struct sbx_err *e)
{
	json_t *j = NULL;

	sbx_err_clear(e);
	remote_call(c, "GET", xstrdup(path), NULL, &j, e);
	return j;
}

/* The ids of a list answer, space-separated, and its next_cursor. */
static void
page(json_t *j, char *ids, size_t len, const char **next)
{
	json_t *it;
	size_t i;

	ids[0] = '\0';
	json_array_foreach(json_object_get(j, "sandboxes"), i, it)
		snprintf(ids + strlen(ids), len - strlen(ids), "%s%s",
		    i ? " " : "", json_string_value(json_object_get(it, "id")));
	*next = json_string_value(json_object_get(j, "next_cursor"));
}

START_TEST(test_paging)
{
	struct sbx_conn *c = client(admin_token);
	const char *next;
	struct sbx_err e;
	char ids[256];
	json_t *j;

	j = get_json(c, "/v1/sandboxes?limit=2", &e);
	ck_assert_msg(j != NULL, "list: %s", e.msg);
	page(j, ids, sizeof(ids), &next);
	ck_assert_str_eq(ids, "sb-aaaaaaaaaaa2 sb-aaaaaaaaaaa3");
	ck_assert_str_eq(next, "sb-aaaaaaaaaaa3");
	json_decref(j);
	j = get_json(c, "/v1/sandboxes?limit=2&cursor=sb-aaaaaaaaaaa3", &e);
	page(j, ids, sizeof(ids), &next);
	ck_assert_str_eq(ids, "sb-aaaaaaaaaaa4");
	ck_assert_ptr_null(next);
	json_decref(j);
	j = get_json(c, "/v1/sandboxes?state=running&limit=1", &e);
	page(j, ids, sizeof(ids), &next);
	ck_assert_str_eq(ids, "sb-aaaaaaaaaaa2");
	ck_assert_str_eq(next, "sb-aaaaaaaaaaa2");
	json_decref(j);
	j = get_json(c, "/v1/sandboxes?state=running&limit=1&"
	    "cursor=sb-aaaaaaaaaaa2", &e);
	page(j, ids, sizeof(ids), &next);
	ck_assert_str_eq(ids, "sb-aaaaaaaaaaa4");
	ck_assert_ptr_null(next);
	json_decref(j);
	j = get_json(c, "/v1/sandboxes?state=stopped", &e);
	page(j, ids, sizeof(ids), &next);
	ck_assert_str_eq(ids, "sb-aaaaaaaaaaa3");
	json_decref(j);
	ck_assert_ptr_null(get_json(c, "/v1/sandboxes?cursor=sb-gone", &e));
	ck_assert_int_eq(e.code, SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "query 'cursor'"), "message '%s'", e.msg);
	ck_assert_ptr_null(get_json(c, "/v1/sandboxes?limit=0", &e));
	ck_assert_msg(strstr(e.msg, "query 'limit'"), "message '%s'", e.msg);
	sbx_backend_remote.close(c);
}
END_TEST

START_TEST(test_unreachable)
{
	struct sbx_backend_cfg cfg;
	struct sbx_sandbox *v;
	struct sbx_conn *c;
	struct sbx_err e;
	size_t n;

	memset(&cfg, 0, sizeof(cfg));
	cfg.url = "http://127.0.0.1:1";
	cfg.token = "t";
	ck_assert_int_eq(sbx_backend_remote.open(&cfg, &c, &e), 0);
	ck_assert_int_eq(sbx_backend_remote.list(c, &v, &n, &e), SBX_ENET);
	ck_assert_str_eq(e.msg, "cannot reach sbx server at "
	    "http://127.0.0.1:1: connection refused");
	sbx_backend_remote.close(c);
	cfg.token = NULL;
	ck_assert_int_eq(sbx_backend_remote.open(&cfg, &c, &e), SBX_EPERM);
	ck_assert_msg(strstr(e.hint, "SBX_TOKEN"), "hint '%s'", e.hint);
	cfg.url = "ftp://x";
	cfg.token = "t";
	ck_assert_int_eq(sbx_backend_remote.open(&cfg, &c, &e), SBX_EUSAGE);
}
END_TEST

static struct sbx_err follow_err;

static void *
follow_logs(void *p)
{
	struct sbx_conn *c = p;
	int fd = open("/dev/null", O_WRONLY);

	sbx_err_clear(&follow_err);
	sbx_backend_remote.logs(c, "fx", fd, 1, &follow_err);
	close(fd);
	return NULL;
}

/* Stopping the server ends streams that would otherwise never end. */
START_TEST(test_stop_with_stream)
{
	struct sbx_conn *c = client(admin_token);
	struct timespec ts = { 0, 300000000 };
	uint64_t t0;
	pthread_t th;

	ck_assert_int_eq(pthread_create(&th, NULL, follow_logs, c), 0);
	nanosleep(&ts, NULL);
	t0 = sbx_clock_ms();
	sbx_serve_stop(srv);
	srv = NULL;
	ck_assert_msg(sbx_clock_ms() - t0 < 5000, "stop took %llu ms",
	    (unsigned long long)(sbx_clock_ms() - t0));
	pthread_join(th, NULL);
	ck_assert_int_eq(follow_err.code, SBX_ENET);
	ck_assert_msg(strstr(follow_err.msg, "lost the connection to sbx "
	    "server"), "message '%s'", follow_err.msg);
	sbx_backend_remote.close(c);
}
END_TEST

START_TEST(test_frames)
{
	static const char stream[] = "{\"stdout\":\"aGVs\"}\n{\"std"
	    "err\":\"ZXJy\"}\n{\"future\":1}\n{\"stdout\":\"bG8=\"}\n"
	    "{\"exit\":{\"code\":7,\"signal\":0}}\n";
	static const char errf[] = "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"gone\"}}\n";
	struct sbx_buf b = SBX_BUF_INIT;
	struct remote_frames f;
	struct sbx_exec_result r;
	int out = tmpfile_fd(), err = tmpfile_fd();
	struct sbx_err e;
	size_t i;

	memset(&r, 0, sizeof(r));
	remote_frames_init(&f, out, err, &r);
	/* One byte at a time: frames split anywhere still parse. */
	for (i = 0; i < sizeof(stream) - 1; i++)
		ck_assert_int_eq(remote_frames_feed(&f, stream + i, 1, &e), 0);
	ck_assert_int_eq(f.got_end, 1);
	ck_assert_int_eq(r.exit_code, 7);
	slurp(out, &b);
	ck_assert_str_eq(b.buf, "hello");
	slurp(err, &b);
	ck_assert_str_eq(b.buf, "err");
	remote_frames_release(&f);
	remote_frames_init(&f, out, err, &r);
	ck_assert_int_eq(remote_frames_feed(&f, errf, strlen(errf), &e), 0);
	ck_assert_int_eq(f.rc, SBX_ENOENT);
	ck_assert_str_eq(f.err.msg, "gone");
	ck_assert_int_eq(remote_frames_feed(&f, "not json\n", 9, &e),
	    SBX_ENET);
	remote_frames_release(&f);
	sbx_buf_release(&b);
	close(out);
	close(err);
}
END_TEST

START_TEST(test_http_error)
{
	static const char nf[] = "{\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no sandbox 'x'\"}}";
	struct sbx_err e;

	ck_assert_int_eq(remote_http_error(404, nf, strlen(nf), "U", &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'x'");
	ck_assert_int_eq(remote_http_error(401, "", 0, "U", &e), SBX_EPERM);
	ck_assert_str_eq(e.msg, "server rejected the token (401): "
	    "unauthorized");
	ck_assert_int_eq(remote_http_error(500, "<html>", 6, "U", &e),
	    SBX_EFAIL);
	ck_assert_str_eq(e.msg, "sbx server at U failed (500): no details");
	ck_assert_int_eq(remote_http_error(503, "", 0, "U", &e), SBX_ENET);
	ck_assert_int_eq(remote_http_error(404, "", 0, "U", &e), SBX_ENOENT);
	ck_assert_msg(strstr(e.msg, "is this an sbx server"), "message '%s'",
	    e.msg);
}
END_TEST

Suite *suite_remote(void)
{
	Suite *s = suite_create("remote");
	TCase *tc = tcase_create("parse");
	TCase *live = tcase_create("loopback");

	tcase_add_test(tc, test_frames);
	tcase_add_test(tc, test_http_error);
	tcase_add_test(tc, test_unreachable);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(live, server_up, server_down);
	tcase_set_timeout(live, 30);
	tcase_add_test(live, test_exec_stream);
	tcase_add_test(live, test_files_stream);
	tcase_add_test(live, test_errors);
	tcase_add_test(live, test_paging);
	tcase_add_test(live, test_stop_with_stream);
	suite_add_tcase(s, live);
	return s;
}
