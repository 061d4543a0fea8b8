/*
 * h-files.c - /v1/sandboxes/{id}/files: upload (PUT, body streamed to
 * the backend through a pipe as it arrives), download (GET, streamed),
 * stat, list, mkdir, rm (DELETE) and rename. Every guest path goes
 * through sbx_serve_path_normalise: absolute, no "..".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "store/fsutil.h"
#include "core/banned.h"

struct upload {
	const struct sbx_backend *b;
	struct sbx_conn *conn;	/* borrowed from the request */
	char *query, *path;
	uint32_t mode;
	int rfd, wfd;
	pthread_t th;
	int started, joined;
	uint64_t bytes;
	int rc;			/* the op's result, or a setup error */
	struct sbx_err err;
};

/* The normalised "path" query argument; 400 answered when bad. */
static char *
query_path(struct req *r, const char *key, struct sbx_err *e)
{
	char *p;

	if (sbx_serve_path_normalise(req_query(r, key), &p, e) < 0) {
		sbx_err_prefix(e, "query '%s'", key);
		return NULL;
	}
	return p;
}

/* Octal mode from `s` (NULL = def) into *mode; -1 when malformed. */
static int
parse_mode(const char *s, uint32_t def, uint32_t *mode)
{
	unsigned long v;
	char *end;

	*mode = def;
	if (!s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 07777)
		return -1;
	*mode = (uint32_t)v;
	return 0;
}

/*
 * Runs file_put reading the upload pipe until the body ends. The read end
 * is closed as soon as file_put returns: when it failed part-way (the
 * guest died, the disk filled), the request thread's next write to the
 * pipe gets EPIPE and drops the rest of the body instead of blocking on
 * a full pipe that nobody reads (the upload hung until the client gave
 * up). upload_free joins this thread before it looks at rfd.
 */
static void *
upload_worker(void *p)
{
	struct upload *up = p;

	up->rc = up->b->file_put(up->conn, up->query, up->rfd, up->path,
	    up->mode, &up->err);
	close(up->rfd);
	up->rfd = -1;
	return NULL;
}

/* Closes the write end and waits for the backend to finish reading. */
static void
upload_end(struct upload *up)
{
	if (up->wfd >= 0)
		close(up->wfd);
	up->wfd = -1;
	if (up->started && !up->joined) {
		pthread_join(up->th, NULL);
		up->joined = 1;
	}
}

void
upload_free(struct upload *up)
{
	upload_end(up);
	if (up->rfd >= 0)
		close(up->rfd);
	free(up->query);
	free(up->path);
	free(up);
}

/* Sets up the pipe and the worker on the first piece of the body. */
static void
upload_begin(struct req *r)
{
	struct upload *up = xcalloc(1, sizeof(*up));
	int p[2];

	r->up = up;
	up->rfd = up->wfd = -1;
	up->b = r->srv->backend;
	up->query = xstrdup(r->arg);
	sbx_err_clear(&up->err);
	up->path = query_path(r, "path", &up->err);
	if (!up->path) {
		up->rc = SBX_EUSAGE;
		return;
	}
	if (parse_mode(req_query(r, "mode"), 0644, &up->mode) < 0) {
		up->rc = sbx_err_set(&up->err, SBX_EUSAGE, "query 'mode' must "
		    "be octal permission bits such as 0644");
		return;
	}
	up->conn = req_conn(r, &up->err);
	if (!up->conn) {
		up->rc = up->err.code ? up->err.code : SBX_EFAIL;
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		up->rc = sbx_err_sys(&up->err, "cannot make a pipe");
		return;
	}
	up->rfd = p[0];
	up->wfd = p[1];
	if (pthread_create(&up->th, NULL, upload_worker, up) != 0) {
		up->rc = sbx_err_set(&up->err, SBX_EBUSY, "cannot start a "
		    "thread");
		return;
	}
	up->started = 1;
}

int
h_file_put_stream(struct req *r, const char *data, size_t len)
{
	struct upload *up;

	if (!r->up)
		upload_begin(r);
	up = r->up;
	if (!data) {
		upload_end(up);
		return up->rc;
	}
	if (!up->started || up->wfd < 0)
		return up->rc;	/* failed: the rest of the body is dropped */
	if (sbx_fs_write_all(up->wfd, data, len, "upload pipe", NULL) < 0) {
		/* The backend stopped reading: its error is the answer. */
		upload_end(up);
		if (up->rc == 0)
			up->rc = sbx_err_set(&up->err, SBX_EIO, "the sandbox "
			    "stopped reading the upload after %llu bytes",
			    (unsigned long long)up->bytes);
		return up->rc;
	}
	up->bytes += len;
	return 0;
}

enum MHD_Result
h_file_put(struct req *r)
{
	struct upload *up = r->up;

	if (up->rc < 0)
		return reply_err(r, &up->err);
	return reply_json(r, 201, json_pack("{s:s, s:I}", "path", up->path,
	    "size", (json_int_t)up->bytes));
}

struct get_job {
	char *query, *path;
};

static void
get_job_free(void *p)
{
	struct get_job *j = p;

	free(j->query);
	free(j->path);
	free(j);
}

static int
get_run(struct stream *s, void *arg, int out_fd, int err_fd,
    struct sbx_err *e)
{
	struct get_job *j = arg;

	(void)err_fd;
	return stream_backend(s)->file_get(stream_conn(s), j->query, j->path,
	    out_fd, e);
}

enum MHD_Result
h_file_get(struct req *r)
{
	struct get_job *j;
	struct sbx_err e;
	char *path;

	sbx_err_clear(&e);
	path = query_path(r, "path", &e);
	if (!path)
		return reply_err(r, &e);
	if (!req_conn(r, &e)) {
		free(path);
		return reply_err(r, &e);
	}
	j = xcalloc(1, sizeof(*j));
	j->query = xstrdup(r->arg);
	j->path = path;
	return stream_reply(r, 0, "application/octet-stream", get_run, NULL,
	    j, get_job_free);
}

static const char *
type_name(int t)
{
	switch (t) {
	case 'f': return "file";
	case 'd': return "dir";
	case 'l': return "symlink";
	default: return "other";
	}
}

static json_t *
stat_json(const struct sbx_file_stat *st)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "name",
	    st->name ? st->name : "", "type", type_name(st->type), "mode",
	    (json_int_t)st->mode, "size", (json_int_t)st->size, "mtime",
	    (json_int_t)st->mtime);

	if (st->link)
		json_object_set_new(o, "link", json_string(st->link));
	return o;
}

enum MHD_Result
h_file_stat(struct req *r)
{
	struct sbx_file_stat st;
	struct sbx_conn *c;
	struct sbx_err e;
	enum MHD_Result ret;
	char *path;

	sbx_err_clear(&e);
	memset(&st, 0, sizeof(st));
	path = query_path(r, "path", &e);
	if (!path)
		return reply_err(r, &e);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->file_stat(c, r->arg, path, &st, &e) < 0)
		ret = reply_err(r, &e);
	else
		ret = reply_json(r, 200, stat_json(&st));
	sbx_file_stat_release(&st);
	free(path);
	return ret;
}

enum MHD_Result
h_file_list(struct req *r)
{
	struct sbx_file_stat *v = NULL;
	struct sbx_conn *c;
	struct sbx_err e;
	size_t n = 0, i;
	json_t *arr;
	char *path;

	sbx_err_clear(&e);
	path = query_path(r, "path", &e);
	if (!path)
		return reply_err(r, &e);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->file_list(c, r->arg, path, &v, &n,
	    &e) < 0) {
		free(path);
		return reply_err(r, &e);
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(arr, stat_json(&v[i]));
		sbx_file_stat_release(&v[i]);
	}
	free(v);
	free(path);
	return reply_json(r, 200, json_pack("{s:o}", "entries", arr));
}

/* A normalised path from JSON field `key` of `j`. */
static char *
field_path(json_t *j, const char *key, struct sbx_err *e)
{
	json_t *v = json_object_get(j, key);
	char *p;

	if (!json_is_string(v)) {
		sbx_err_set(e, SBX_EUSAGE, "field '%s' must be a path string",
		    key);
		return NULL;
	}
	if (sbx_serve_path_normalise(json_string_value(v), &p, e) < 0) {
		sbx_err_prefix(e, "field '%s'", key);
		return NULL;
	}
	return p;
}

enum MHD_Result
h_file_mkdir(struct req *r)
{
	json_t *j = req_json(r), *m;
	struct sbx_conn *c;
	struct sbx_err e;
	uint32_t mode = 0755;
	enum MHD_Result ret;
	char *path;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	m = json_object_get(j, "mode");
	path = field_path(j, "path", &e);
	if (path && m && (!json_is_integer(m) || json_integer_value(m) < 0 ||
	    json_integer_value(m) > 07777)) {
		ret = reply_error(r, 400, "bad_request", "field 'mode' must be "
		    "an integer from 0 to 4095 (0o7777)");
	} else if (!path) {
		ret = reply_err(r, &e);
	} else {
		if (m)
			mode = (uint32_t)json_integer_value(m);
		c = req_conn(r, &e);
		if (!c || r->srv->backend->file_mkdir(c, r->arg, path, mode,
		    &e) < 0)
			ret = reply_err(r, &e);
		else
			ret = reply_json(r, 201, json_pack("{s:s}", "path",
			    path));
	}
	free(path);
	json_decref(j);
	return ret;
}

enum MHD_Result
h_file_rm(struct req *r)
{
	struct sbx_conn *c;
	struct sbx_err e;
	char *path;
	int rc;

	sbx_err_clear(&e);
	path = query_path(r, "path", &e);
	if (!path)
		return reply_err(r, &e);
	if (!strcmp(path, "/")) {
		free(path);
		return reply_error(r, 400, "bad_request", "refusing to remove "
		    "'/'");
	}
	c = req_conn(r, &e);
	rc = c ? r->srv->backend->file_rm(c, r->arg, path,
	    req_query_bool(r, "recursive", 0), &e) : -1;
	free(path);
	if (rc < 0)
		return reply_err(r, &e);
	return reply_empty(r, 204);
}

enum MHD_Result
h_file_rename(struct req *r)
{
	json_t *j = req_json(r);
	char *from = NULL, *to = NULL;
	struct sbx_conn *c;
	struct sbx_err e;
	enum MHD_Result ret;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	if (!(from = field_path(j, "from", &e)) ||
	    !(to = field_path(j, "to", &e)))
		ret = reply_err(r, &e);
	else if (!(c = req_conn(r, &e)) ||
	    r->srv->backend->file_rename(c, r->arg, from, to, &e) < 0)
		ret = reply_err(r, &e);
	else
		ret = reply_json(r, 200, json_pack("{s:s, s:s}", "from", from,
		    "to", to));
	free(from);
	free(to);
	json_decref(j);
	return ret;
}
