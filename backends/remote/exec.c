/*
 * exec.c - remote exec (POST .../exec: the NDJSON frames are parsed as
 * they arrive and their bytes written to the caller's fds) and logs (GET
 * .../logs, raw bytes to an fd).
 *
 * A request with stdin (-i, -t) goes over "Upgrade: sbx-exec" (exec-tty.c),
 * its input streamed as it comes. Only a background command's stdin
 * travels inline, base64 in the request (doc/api.md): the fd is read to
 * EOF first, up to STDIN_MAX bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/serve.h"
#include "store/fsutil.h"
#include "core/banned.h"

#define STDIN_MAX (12u << 20)
#define LINE_MAX_BYTES (4u << 20)

void
remote_frames_init(struct remote_frames *f, int out_fd, int err_fd,
    struct sbx_exec_result *res)
{
	memset(f, 0, sizeof(*f));
	sbx_buf_init(&f->line, 0);
	f->line.cap = LINE_MAX_BYTES;
	f->out_fd = out_fd;
	f->err_fd = err_fd;
	f->res = res;
	sbx_err_clear(&f->err);
}

void
remote_frames_release(struct remote_frames *f)
{
	sbx_buf_release(&f->line);
}

/* Decodes base64 `b64` and writes it to `fd`. */
static int
frame_bytes(int fd, const char *b64, const char *which, struct sbx_err *e)
{
	size_t cap = strlen(b64) / 4 * 3 + 3, len = 0;
	unsigned char *buf = xmalloc(cap + 1);
	int rc = 0;

	if (sodium_base642bin(buf, cap, b64, strlen(b64), NULL, &len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) < 0)
		rc = sbx_err_set(e, SBX_ENET, "sbx server sent bad base64 in "
		    "a '%s' frame", which);
	else if (fd >= 0)
		rc = sbx_fs_write_all(fd, buf, len, which, e);
	free(buf);
	return rc;
}

/* Handles one complete line. */
static int
frame_line(void *arg, const char *line, size_t len, struct sbx_err *e)
{
	struct remote_frames *f = arg;
	json_t *j = json_loadb(line, len, 0, NULL), *v;
	const char *code = NULL, *msg = NULL;
	json_int_t ec = 0, sig = 0, pid = 0;
	int rc = 0;

	if (!j || !json_is_object(j)) {
		json_decref(j);
		return sbx_err_set(e, SBX_ENET, "sbx server sent a malformed "
		    "exec frame");
	}
	if ((v = json_object_get(j, "stdout")) && json_is_string(v)) {
		rc = frame_bytes(f->out_fd, json_string_value(v), "stdout", e);
	} else if ((v = json_object_get(j, "stderr")) && json_is_string(v)) {
		rc = frame_bytes(f->err_fd, json_string_value(v), "stderr", e);
	} else if ((v = json_object_get(j, "exit"))) {
		json_unpack(v, "{s?I, s?I}", "code", &ec, "signal", &sig);
		f->res->exit_code = (int)ec;
		f->res->signal = (int)sig;
		f->got_end = 1;
	} else if ((v = json_object_get(j, "started"))) {
		json_unpack(v, "{s?I}", "pid", &pid);
		f->res->pid = (pid_t)pid;
		f->got_end = 1;
	} else if ((v = json_object_get(j, "error"))) {
		json_unpack(v, "{s?s, s?s}", "code", &code, "message", &msg);
		f->rc = sbx_err_set(&f->err, sbx_serve_code_from_name(code),
		    "%s", msg ? msg : "exec failed on the server");
		f->got_end = 1;
	}
	/* Unknown frames are skipped: newer servers may add some. */
	json_decref(j);
	return rc;
}

int
remote_frames_feed(struct remote_frames *f, const char *data, size_t len,
    struct sbx_err *e)
{
	return remote_ndjson_feed(&f->line, data, len, frame_line, f,
	    "an exec frame", e);
}

static int
frames_sink(void *ud, const char *data, size_t len, struct sbx_err *e)
{
	return remote_frames_feed(ud, data, len, e);
}

/* Reads stdin_fd to EOF into base64 for the request. */
static int
stdin_field(const struct sbx_exec_opts *o, json_t *in, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *b64;
	size_t bl;

	if (o->stdin_fd < 0)
		return 0;
	if (isatty(o->stdin_fd))
		return 0;	/* a terminal is not input: send none */
	b.cap = STDIN_MAX;
	if (sbx_buf_read_fd(&b, o->stdin_fd, e) < 0) {
		sbx_buf_release(&b);
		if (e && e->code == SBX_EINVAL)
			return sbx_err_set(e, SBX_EUSAGE, "stdin for a remote "
			    "command is larger than %u bytes", STDIN_MAX);
		return SBX_EIO;
	}
	bl = sodium_base64_ENCODED_LEN(b.len, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(bl);
	sodium_bin2base64(b64, bl, (const unsigned char *)b.buf, b.len,
	    sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(in, "stdin", json_string(b64));
	free(b64);
	sbx_buf_release(&b);
	return 0;
}

json_t *
remote_exec_json(const struct sbx_exec_opts *o)
{
	json_t *in = json_object(), *a;
	size_t i;

	a = json_array();
	for (i = 0; o->argv[i]; i++)
		json_array_append_new(a, json_string(o->argv[i]));
	json_object_set_new(in, "argv", a);
	if (o->env) {
		a = json_array();
		for (i = 0; o->env[i]; i++)
			json_array_append_new(a, json_string(o->env[i]));
		json_object_set_new(in, "env", a);
	}
	if (o->cwd)
		json_object_set_new(in, "cwd", json_string(o->cwd));
	if (o->user)
		json_object_set_new(in, "user", json_string(o->user));
	if (o->tty)
		json_object_set_new(in, "tty", json_true());
	if (o->rows)
		json_object_set_new(in, "rows", json_integer(o->rows));
	if (o->cols)
		json_object_set_new(in, "cols", json_integer(o->cols));
	if (o->background)
		json_object_set_new(in, "background", json_true());
	if (o->timeout_ms)
		json_object_set_new(in, "timeout_ms",
		    json_integer((json_int_t)o->timeout_ms));
	return in;
}

int
remote_exec(struct sbx_conn *c, const char *query,
    const struct sbx_exec_opts *o, struct sbx_exec_result *r,
    struct sbx_err *e)
{
	struct remote_frames f;
	struct remote_sink sink = { frames_sink, &f };
	struct remote_req rq;
	json_t *in;
	int rc;

	/*
	 * Input (-i, -t) streams through the upgraded connection as it
	 * comes, so a pipe that stays open (a REPL fed line by line) works;
	 * without input one plain request does.
	 */
	if (!o->background && o->stdin_fd >= 0)
		return remote_exec_tty(c, query, o, r, e);
	memset(r, 0, sizeof(*r));
	in = remote_exec_json(o);
	rc = stdin_field(o, in, e);
	if (rc < 0) {
		json_decref(in);
		return rc;
	}
	remote_frames_init(&f, o->stdout_fd, o->tty ? o->stdout_fd :
	    o->stderr_fd, r);
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = remote_path(c, query, "/exec");
	rq.json = in;
	rq.upload_fd = -1;
	rq.sink = &sink;
	rc = remote_perform(c, &rq, e);
	if (rc == 0 && f.line.len)
		rc = remote_frames_feed(&f, "\n", 1, e);
	if (rc == 0 && f.rc < 0) {
		if (e)
			*e = f.err;
		rc = f.rc;
	} else if (rc == 0 && !f.got_end) {
		rc = sbx_err_set(e, SBX_ENET, "connection to sbx server at %s "
		    "ended before the command's exit status", c->shown);
	}
	remote_req_release(&rq);
	remote_frames_release(&f);
	json_decref(in);
	return rc;
}

static int
fd_sink(void *ud, const char *data, size_t len, struct sbx_err *e)
{
	return sbx_fs_write_all(*(int *)ud, data, len, "output", e);
}

int
remote_logs(struct sbx_conn *c, const char *query, int dst_fd, int follow,
    struct sbx_err *e)
{
	struct remote_sink sink = { fd_sink, &dst_fd };
	struct remote_req rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = remote_path(c, query, "/logs");
	if (follow)
		remote_path_arg(c, &rq.path, "follow", "1");
	rq.upload_fd = -1;
	rq.sink = &sink;
	rc = remote_perform(c, &rq, e);
	remote_req_release(&rq);
	return rc;
}
