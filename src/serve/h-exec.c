/*
 * h-exec.c - POST /v1/sandboxes/{id}/exec (NDJSON stream of stdout,
 * stderr and exit frames) and GET /v1/sandboxes/{id}/logs (raw stream).
 *
 * stdin: the request's "stdin" field (base64) is put in a memfd that the
 * backend reads as the command's stdin; without it the command sees EOF.
 * With "Upgrade: sbx-exec" the exec is interactive (h-exec-tty.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "store/fsutil.h"
#include "core/banned.h"

struct exec_job {
	char *query;
	struct sbx_serve_exec_req x;
	int stdin_fd;
	struct sbx_exec_result res;
};

static void
exec_job_free(void *p)
{
	struct exec_job *j = p;

	if (j->stdin_fd >= 0)
		close(j->stdin_fd);
	sbx_serve_exec_req_release(&j->x);
	free(j->query);
	free(j);
}

/* The worker side of an exec: the backend op with the stream's pipes. */
static int
exec_run(struct stream *s, void *arg, int out_fd, int err_fd,
    struct sbx_err *e)
{
	struct exec_job *j = arg;
	struct sbx_exec_opts o;

	memset(&o, 0, sizeof(o));
	o.argv = (const char *const *)j->x.argv;
	o.env = (const char *const *)j->x.env;
	o.cwd = j->x.cwd;
	o.user = j->x.user;
	o.stdin_fd = j->stdin_fd;
	o.stdout_fd = out_fd;
	o.stderr_fd = err_fd;
	o.tty = j->x.tty;
	o.rows = j->x.rows;
	o.cols = j->x.cols;
	o.tty_resize_fd = -1;
	o.detach_byte = -1;
	o.background = j->x.background;
	o.timeout_ms = j->x.timeout_ms;
	return stream_backend(s)->exec(stream_conn(s), j->query, &o, &j->res,
	    e);
}

/* The last frame: exit status, or the pid of a background command. */
static json_t *
exec_finish(void *arg)
{
	struct exec_job *j = arg;

	if (j->x.background)
		return json_pack("{s:{s:I}}", "started", "pid",
		    (json_int_t)j->res.pid);
	return json_pack("{s:{s:i, s:i}}", "exit", "code", j->res.exit_code,
	    "signal", j->res.signal);
}

/* An fd reading `len` bytes of `data` (a memfd), or -1. */
static int
stdin_memfd(const unsigned char *data, size_t len, struct sbx_err *e)
{
	int fd = memfd_create("sbx-exec-stdin", MFD_CLOEXEC);

	if (fd < 0) {
		sbx_err_sys(e, "cannot create a memfd for stdin");
		return -1;
	}
	if (sbx_fs_write_all(fd, data, len, "stdin memfd", e) < 0 ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

enum MHD_Result
h_exec(struct req *r)
{
	struct exec_job *j;
	struct sbx_err e;
	json_t *body = req_json(r);

	if (!body)
		return MHD_YES;
	sbx_err_clear(&e);
	j = xcalloc(1, sizeof(*j));
	j->stdin_fd = -1;
	j->query = xstrdup(r->arg);
	if (sbx_serve_exec_parse(body, &j->x, &e) < 0) {
		json_decref(body);
		exec_job_free(j);
		return reply_err(r, &e);
	}
	json_decref(body);
	if (exec_wants_upgrade(r)) {
		enum MHD_Result mr = h_exec_upgrade(r, &j->x);

		exec_job_free(j);
		return mr;
	}
	if (j->x.stdin_data) {
		j->stdin_fd = stdin_memfd(j->x.stdin_data, j->x.stdin_len, &e);
		free(j->x.stdin_data);
		j->x.stdin_data = NULL;
		if (j->stdin_fd < 0) {
			exec_job_free(j);
			return reply_err(r, &e);
		}
	}
	if (!req_conn(r, &e)) {
		exec_job_free(j);
		return reply_err(r, &e);
	}
	return stream_reply(r, 1, "application/x-ndjson", exec_run,
	    exec_finish, j, exec_job_free);
}

struct logs_job {
	char *query;
	int follow;
};

static void
logs_job_free(void *p)
{
	struct logs_job *j = p;

	free(j->query);
	free(j);
}

static int
logs_run(struct stream *s, void *arg, int out_fd, int err_fd,
    struct sbx_err *e)
{
	struct logs_job *j = arg;

	(void)err_fd;
	return stream_backend(s)->logs(stream_conn(s), j->query, out_fd,
	    j->follow, e);
}

enum MHD_Result
h_logs(struct req *r)
{
	struct logs_job *j;
	struct sbx_err e;

	sbx_err_clear(&e);
	if (!req_conn(r, &e))
		return reply_err(r, &e);
	j = xcalloc(1, sizeof(*j));
	j->query = xstrdup(r->arg);
	j->follow = req_query_bool(r, "follow", 0);
	/* A followed log may stay quiet for as long as the sandbox does. */
	if (j->follow)
		MHD_set_connection_option(r->mc, MHD_CONNECTION_OPTION_TIMEOUT,
		    0u);
	return stream_reply(r, 0, "text/plain; charset=utf-8", logs_run, NULL,
	    j, logs_job_free);
}
