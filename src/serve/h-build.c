/*
 * h-build.c - POST /v1/templates/{name}/build (a template the server
 * knows) and POST /v1/templates/build (a build context uploaded as a
 * tar): builds the template on the server and streams its events as
 * NDJSON (doc/api.md).
 *
 * The build runs as a child process, `sbx --json build ...` against the
 * server's home and backend: the build code prints to stdout and stderr
 * (events, progress lines, the output of the template's steps), which a
 * multi-threaded server cannot redirect for one request, and a build
 * that crashes must not take the server down. The child's stdout events
 * are passed on as they are, its stderr lines become {"event": "log"}
 * events, and its final error (sbx --json prints {"error": ...}) becomes
 * an {"event": "error"}. One build at a time per server: a second gets
 * 409. A client that goes away does not stop the build (its result is
 * written atomically and cached, so the next request finds it); the
 * uploaded context is removed when the child has exited.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "store/fsutil.h"
#include "template/template.h"
#include "core/banned.h"

#define LOG_LINE_MAX 4096	/* longer stderr lines are split */

extern char **environ;

/* The uploaded body, written to a file in the server's tmp/ as it comes. */
struct build_upload {
	char *path;
	int fd;
	uint64_t bytes;
	int rc;
	struct sbx_err err;
};

/* What the worker needs; freed (context removed) after the child exits. */
struct build_job {
	int *building;		/* the server's flag, cleared at the end */
	char *dir;		/* unpacked upload, or NULL */
	struct sbx_strvec argv, env;
	unsigned hb_ms;
};

void
build_upload_free(struct build_upload *bu)
{
	if (!bu)
		return;
	if (bu->fd >= 0)
		close(bu->fd);
	if (bu->path)
		unlink(bu->path);
	free(bu->path);
	free(bu);
}

static void
job_free(void *p)
{
	struct build_job *j = p;

	if (j->dir) {
		struct sbx_err ignore;

		sbx_fs_remove_tree(j->dir, &ignore);
		free(j->dir);
	}
	sbx_strvec_clear(&j->argv);
	sbx_strvec_clear(&j->env);
	__atomic_store_n(j->building, 0, __ATOMIC_SEQ_CST);
	free(j);
}

/* Answers 409 while another build runs (checked before a big upload). */
static int
busy(struct req *r)
{
	if (!__atomic_load_n(&r->srv->building, __ATOMIC_SEQ_CST))
		return 0;
	reply_error(r, 409, "busy", "another template build is running on "
	    "this server; try again when it is done");
	return 1;
}

enum MHD_Result
h_build_begin(struct req *r)
{
	const char *cl = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);

	if (cl && strtoull(cl, NULL, 10) > SBX_SERVE_BUILD_MAX)
		return reply_error(r, 413, "too_large", "build context is "
		    "larger than %llu bytes", SBX_SERVE_BUILD_MAX);
	busy(r);
	return MHD_YES;
}

int
h_build_body(struct req *r, const char *data, size_t len)
{
	struct build_upload *bu = r->bu;

	if (!bu) {
		char *tmp = xasprintf("%s/tmp", r->srv->home);

		bu = r->bu = xcalloc(1, sizeof(*bu));
		sbx_err_clear(&bu->err);
		bu->path = xasprintf("%s/build-upload-XXXXXX", tmp);
		free(tmp);
		bu->fd = mkostemp(bu->path, O_CLOEXEC);
		if (bu->fd < 0) {
			bu->rc = sbx_err_sys(&bu->err, "cannot store the "
			    "upload");
			free(bu->path);
			bu->path = NULL;
		}
	}
	if (bu->rc || !data)
		return bu->rc;
	bu->bytes += len;
	if (bu->bytes > SBX_SERVE_BUILD_MAX)
		bu->rc = sbx_err_set(&bu->err, SBX_EUSAGE, "build context is "
		    "larger than %llu bytes", SBX_SERVE_BUILD_MAX);
	else
		bu->rc = sbx_fs_write_all(bu->fd, data, len, "upload",
		    &bu->err);
	return bu->rc;
}

/* Parses the query's options into `j`'s argv; -1 when answered (400). */
static int
build_options(struct req *r, struct build_job *j)
{
	static const char *const bools[] = { "no_cache", "image_only" };
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *v = req_query(r, bools[i]);

		if (v && *v && strcmp(v, "1") && strcmp(v, "0") &&
		    strcmp(v, "true") && strcmp(v, "false") &&
		    strcmp(v, "yes") && strcmp(v, "no")) {
			reply_error(r, 400, "bad_request", "query '%s' must be "
			    "true or false, not '%s'", bools[i], v);
			return -1;
		}
	}
	if (req_query_bool(r, "no_cache", 0))
		sbx_strvec_push(&j->argv, "--no-cache");
	if (req_query_bool(r, "image_only", 0))
		sbx_strvec_push(&j->argv, "--image-only");
	return 0;
}

/* A job running this binary as `sbx --json build` for the server. */
static struct build_job *
job_new(struct req *r)
{
	struct build_job *j = xcalloc(1, sizeof(*j));
	const struct sbx_backend_cfg *c = &r->srv->bcfg;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	size_t i;

	sbx_strvec_init(&j->argv);
	sbx_strvec_init(&j->env);
	j->building = &r->srv->building;
	j->hb_ms = r->srv->timeout_s * 1000 / 3;
	if (j->hb_ms < 100)
		j->hb_ms = 100;
	exe[n > 0 ? n : 0] = '\0';
	sbx_strvec_pushl(&j->argv, n > 0 ? exe : "sbx", "--home",
	    r->srv->home, "--remote", c->url ? c->url : "local", "--json",
	    "build", NULL);
	for (i = 0; environ[i]; i++)
		if (strncmp(environ[i], "SBX_TOKEN=", 10) &&
		    strncmp(environ[i], "SBX_REMOTE=", 11) &&
		    strncmp(environ[i], "SBX_HOME=", 9))
			sbx_strvec_push(&j->env, environ[i]);
	if (c->url && c->token)
		sbx_strvec_pushf(&j->env, "SBX_TOKEN=%s", c->token);
	return j;
}

/* Drops every "<dir>/" from `msg`. */
static void
strip_dir(char *msg, const char *dir)
{
	size_t n = strlen(dir);
	char *at;

	while ((at = strstr(msg, dir)) && at[n] == '/')
		memmove(at, at + n + 1, strlen(at + n + 1) + 1);
}

/* Strings the child's bytes into valid UTF-8 (bad bytes become '?'). */
static json_t *
utf8_string(const char *s, size_t len)
{
	json_t *v = json_stringn(s, len);
	char *copy;
	size_t i;

	if (v)
		return v;
	copy = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		copy[i] = (unsigned char)s[i] < 0x80 && s[i] ? s[i] : '?';
	v = json_stringn(copy, len);
	free(copy);
	return v;
}

/* The worker's view of the response: stops writing once the client left. */
struct out {
	int fd;
	int gone;
	uint64_t last;
	struct sbx_buf pending;	/* stdout that was not an event line */
	const char *dir;	/* the upload's directory, kept out of logs */
	json_t *done;		/* the "done" event, sent last */
};

static void
out_json(struct out *o, json_t *ev)
{
	char *text = json_dumps(ev, JSON_COMPACT);

	json_decref(ev);
	if (!text)
		return;
	if (!o->gone && (sbx_fs_write_all(o->fd, text, strlen(text), "stream",
	    NULL) < 0 || sbx_fs_write_all(o->fd, "\n", 1, "stream", NULL) < 0))
		o->gone = 1;
	o->last = sbx_clock_ms();
	free(text);
}

/* One line of the child's stdout: an event, or part of the error. */
static void
on_stdout(struct out *o, const char *line, size_t len)
{
	json_t *j = json_loadb(line, len, 0, NULL);

	if (j && json_is_object(j) && json_is_string(json_object_get(j,
	    "event"))) {
		/* After the child's last stderr line, which may come later. */
		if (!strcmp(json_string_value(json_object_get(j, "event")),
		    "done")) {
			json_decref(o->done);
			o->done = j;
			return;
		}
		out_json(o, j);
		return;
	}
	json_decref(j);
	sbx_buf_add(&o->pending, line, len);
	sbx_buf_addch(&o->pending, '\n');
}

/* One line of the child's stderr: a log event, but not its final error. */
static void
on_stderr(struct out *o, const char *line, size_t len)
{
	if ((len >= 5 && !strncmp(line, "sbx: ", 5)) ||
	    (len >= 6 && !strncmp(line, "hint: ", 6)))
		return;		/* repeated in {"error"} on stdout */
	json_t *v = utf8_string(line, len);

	if (o->dir && strstr(json_string_value(v), o->dir)) {
		char *c = xstrdup(json_string_value(v));

		strip_dir(c, o->dir);
		json_string_set(v, c);
		free(c);
	}
	out_json(o, json_pack("{s:s, s:o}", "event", "log", "line", v));
}

/* Splits what arrived on pipe `fd` into lines; 0 at EOF. */
static int
pump_lines(int fd, struct sbx_buf *b, struct out *o,
    void (*fn)(struct out *, const char *, size_t))
{
	char buf[8192];
	ssize_t n;
	char *nl;
	size_t off = 0;

	do
		n = read(fd, buf, sizeof(buf));
	while (n < 0 && errno == EINTR);
	if (n > 0)
		sbx_buf_add(b, buf, (size_t)n);
	while ((nl = memchr(b->buf + off, '\n', b->len - off)) ||
	    b->len - off >= LOG_LINE_MAX || (n <= 0 && b->len > off)) {
		size_t len = nl ? (size_t)(nl - (b->buf + off)) :
		    b->len - off < LOG_LINE_MAX ? b->len - off : LOG_LINE_MAX;

		fn(o, b->buf + off, len);
		off += len + (nl ? 1 : 0);
	}
	memmove(b->buf, b->buf + off, b->len - off);
	sbx_buf_setlen(b, b->len - off);
	return n > 0 || (n < 0 && errno == EAGAIN);
}

/* The final event when the child failed. */
static json_t *
error_event(struct out *o, int status)
{
	json_t *j = json_loadb(o->pending.buf, o->pending.len, 0, NULL);
	json_t *err = json_object_get(j, "error");
	json_t *ev;

	if (json_is_object(err) && json_is_string(json_object_get(err,
	    "code")) && json_is_string(json_object_get(err, "message"))) {
		ev = json_pack("{s:s, s:O, s:O}", "event", "error", "code",
		    json_object_get(err, "code"), "message",
		    json_object_get(err, "message"));
		if (json_is_string(json_object_get(err, "hint")))
			json_object_set(ev, "hint", json_object_get(err,
			    "hint"));
	} else if (WIFSIGNALED(status)) {
		ev = json_pack("{s:s, s:s, s:s++}", "event", "error", "code",
		    "failed", "message", "the build was killed by signal ",
		    strsignal(WTERMSIG(status)), "");
	} else {
		char msg[64];

		snprintf(msg, sizeof(msg), "the build exited with status %d",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		ev = json_pack("{s:s, s:s, s:s}", "event", "error", "code",
		    "failed", "message", msg);
	}
	json_decref(j);
	return ev;
}

/* The stream's worker: runs the child and turns its output into events. */
static int
build_run(struct stream *s, void *arg, int out_fd, int err_fd,
    struct sbx_err *e)
{
	struct build_job *j = arg;
	struct sbx_buf lo = SBX_BUF_INIT, le = SBX_BUF_INIT;
	struct out o = { out_fd, 0, 0, SBX_BUF_INIT, j->dir, NULL };
	int po[2], pe[2], devnull, status = 0;
	int open_o = 1, open_e = 1;
	pid_t pid;

	(void)s;
	(void)err_fd;
	if (pipe2(po, O_CLOEXEC) < 0)
		return sbx_err_sys(e, "cannot make a pipe");
	if (pipe2(pe, O_CLOEXEC) < 0) {
		close(po[0]);
		close(po[1]);
		return sbx_err_sys(e, "cannot make a pipe");
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid = fork();
	if (pid == 0) {
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(po[1], 1) < 0 ||
		    dup2(pe[1], 2) < 0 || (j->dir && chdir(j->dir) < 0))
			_exit(127);
		close_range(3, ~0U, 0);
		execve(j->argv.v[0], j->argv.v, j->env.v);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	if (devnull >= 0)
		close(devnull);
	if (pid < 0) {
		close(po[0]);
		close(pe[0]);
		return sbx_err_sys(e, "cannot start the build");
	}
	o.last = sbx_clock_ms();
	while (open_o || open_e) {
		struct pollfd pf[2] = { { po[0], POLLIN, 0 },
		    { pe[0], POLLIN, 0 } };
		int r;

		pf[0].fd = open_o ? po[0] : -1;
		pf[1].fd = open_e ? pe[0] : -1;
		r = poll(pf, 2, (int)j->hb_ms);
		if (r < 0 && errno != EINTR)
			break;
		if (open_o && pf[0].revents)
			open_o = pump_lines(po[0], &lo, &o, on_stdout);
		if (open_e && pf[1].revents)
			open_e = pump_lines(pe[0], &le, &o, on_stderr);
		if (!o.gone && sbx_clock_ms() - o.last >= j->hb_ms) {
			o.last = sbx_clock_ms();
			if (sbx_fs_write_all(out_fd, "{\"keepalive\":true}\n",
			    19, "stream", NULL) < 0)
				o.gone = 1;
		}
	}
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		json_decref(o.done);
		out_json(&o, error_event(&o, status));
	} else if (o.done) {
		out_json(&o, o.done);
	} else {
		out_json(&o, json_pack("{s:s, s:s, s:s}", "event", "error",
		    "code", "failed", "message", "the build ended without "
		    "saying it was done"));
	}
	sbx_buf_release(&lo);
	sbx_buf_release(&le);
	sbx_buf_release(&o.pending);
	return 0;
}

/* A template that does not parse or whose files are missing: 400. */
static enum MHD_Result
bad_template(struct req *r, struct build_job *j, struct sbx_err *e)
{
	job_free(j);
	if (e->code == SBX_ENOENT)
		return reply_err(r, e);
	return reply_error(r, 400, "invalid", "%s", e->msg);
}

/*
 * Takes the server's one build slot and makes the job holding it; NULL
 * when answered (409 busy, 400 bad options).
 */
static struct build_job *
job_take(struct req *r)
{
	struct build_job *j;

	if (__atomic_exchange_n(&r->srv->building, 1, __ATOMIC_SEQ_CST)) {
		reply_error(r, 409, "busy", "another template build is "
		    "running on this server; try again when it is done");
		return NULL;
	}
	j = job_new(r);
	if (build_options(r, j) < 0) {
		job_free(j);
		return NULL;
	}
	return j;
}

enum MHD_Result
h_build_name(struct req *r)
{
	enum sbx_template_origin origin;
	struct sbx_template *t = NULL;
	struct build_job *j;
	struct sbx_err e;

	sbx_err_clear(&e);
	if (!sbx_template_name_ok(r->arg))
		return reply_error(r, 400, "bad_request", "'%s' is not a "
		    "template name", r->arg);
	if (!(j = job_take(r)))
		return MHD_YES;
	if (sbx_template_open(r->arg, r->srv->home, &t, &origin, &e) < 0 ||
	    sbx_template_check_paths(t, &e) < 0) {
		sbx_template_free(t);
		return bad_template(r, j, &e);
	}
	sbx_template_free(t);
	sbx_strvec_push(&j->argv, r->arg);
	return stream_reply(r, 0, "application/x-ndjson", build_run, NULL, j,
	    job_free);
}

/* The `template` query: a relative .yaml/.yml path inside the upload. */
static int
yaml_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	const char *p;

	if (!n || s[0] == '/' || n > 1024)
		return 0;
	if (!((n > 5 && !strcmp(s + n - 5, ".yaml")) ||
	    (n > 4 && !strcmp(s + n - 4, ".yml"))))
		return 0;
	for (p = s; p; p = strchr(p, '/'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "..", 2) && (p[2] == '/' || !p[2]))
			return 0;
	return 1;
}

/*
 * The upload is unpacked into one fixed directory, tmp/build-context
 * (builds are one at a time), so the paths the template's image and step
 * caches are keyed by are the same from one upload to the next and an
 * unchanged template is not built again.
 */
enum MHD_Result
h_build_upload(struct req *r)
{
	static const struct sbx_untar_limits lim = {
		SBX_SERVE_BUILD_UNPACKED, SBX_SERVE_BUILD_ENTRIES };
	const char *name = req_query(r, "template");
	struct build_upload *bu = r->bu;
	struct sbx_template *t = NULL;
	struct build_job *j;
	struct sbx_err e;
	char *yaml;

	sbx_err_clear(&e);
	if (bu && bu->bytes > SBX_SERVE_BUILD_MAX)
		return reply_error(r, 413, "too_large", "%s", bu->err.msg);
	if (bu && bu->rc < 0)
		return reply_err(r, &bu->err);
	if (!bu || !bu->bytes)
		return reply_error(r, 400, "bad_request", "send the build "
		    "context as the body: a tar (may be gzip'd) of the "
		    "template file and the files it refers to");
	if (!yaml_name_ok(name))
		return reply_error(r, 400, "bad_request", "query 'template' "
		    "must name the template file in the upload (a relative "
		    "path ending in .yaml or .yml)");
	if (!(j = job_take(r)))
		return MHD_YES;
	j->dir = xasprintf("%s/tmp/build-context", r->srv->home);
	if (sbx_fs_remove_tree(j->dir, &e) < 0 || mkdir(j->dir, 0700) < 0) {
		if (!e.code)
			sbx_err_sys(&e, "cannot make a directory for the "
			    "upload");
		job_free(j);
		return reply_err(r, &e);
	}
	if (sbx_untar_safe(bu->path, j->dir, &lim, &e) < 0) {
		job_free(j);
		return reply_error(r, 400, "bad_request", "%s", e.msg);
	}
	build_upload_free(bu);
	r->bu = NULL;
	yaml = xasprintf("%s/%s", j->dir, name);
	if (access(yaml, F_OK) < 0) {
		free(yaml);
		job_free(j);
		return reply_error(r, 400, "bad_request", "the upload has no "
		    "'%s'", name);
	}
	if (sbx_template_load(yaml, &t, &e) < 0 ||
	    sbx_template_check_paths(t, &e) < 0) {
		/* Name files as in the upload, not by the server's paths. */
		strip_dir(e.msg, j->dir);
		sbx_template_free(t);
		free(yaml);
		return bad_template(r, j, &e);
	}
	sbx_template_free(t);
	sbx_strvec_push(&j->argv, yaml);
	free(yaml);
	return stream_reply(r, 0, "application/x-ndjson", build_run, NULL, j,
	    job_free);
}
