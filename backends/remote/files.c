/*
 * files.c - remote file ops: put and get stream through libcurl's read
 * and write callbacks (never whole in memory); stat, list, mkdir, rm and
 * rename are JSON calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "store/fsutil.h"
#include "core/banned.h"

int
remote_file_put(struct sbx_conn *c, const char *query, int src_fd,
    const char *path, uint32_t mode, struct sbx_err *e)
{
	struct remote_req rq;
	char m[16];
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.method = "PUT";
	rq.path = remote_path(c, query, "/files");
	remote_path_arg(c, &rq.path, "path", path);
	snprintf(m, sizeof(m), "%04o", (unsigned)(mode & 07777));
	remote_path_arg(c, &rq.path, "mode", m);
	rq.upload_fd = src_fd;
	rc = remote_perform(c, &rq, e);
	remote_req_release(&rq);
	return rc;
}

static int
fd_sink(void *ud, const char *data, size_t len, struct sbx_err *e)
{
	return sbx_fs_write_all(*(int *)ud, data, len, "output", e);
}

int
remote_file_get(struct sbx_conn *c, const char *query, const char *path,
    int dst_fd, struct sbx_err *e)
{
	struct remote_sink sink = { fd_sink, &dst_fd };
	struct remote_req rq;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.path = remote_path(c, query, "/files");
	remote_path_arg(c, &rq.path, "path", path);
	rq.upload_fd = -1;
	rq.sink = &sink;
	rc = remote_perform(c, &rq, e);
	remote_req_release(&rq);
	return rc;
}

/* A stat object from the server into `st`. */
static int
stat_from(struct sbx_conn *c, json_t *j, struct sbx_file_stat *st,
    struct sbx_err *e)
{
	const char *name = "", *type = "other", *link = NULL;
	json_int_t mode = 0, size = 0, mtime = 0;

	memset(st, 0, sizeof(*st));
	if (json_unpack(j, "{s?s, s?s, s?I, s?I, s?I, s?s}", "name", &name,
	    "type", &type, "mode", &mode, "size", &size, "mtime", &mtime,
	    "link", &link) < 0)
		return sbx_err_set(e, SBX_ENET, "sbx server at %s sent a "
		    "malformed file entry", c->shown);
	st->name = xstrdup(name);
	st->type = !strcmp(type, "file") ? 'f' : !strcmp(type, "dir") ? 'd' :
	    !strcmp(type, "symlink") ? 'l' : '?';
	st->mode = (uint32_t)mode;
	st->size = (uint64_t)size;
	st->mtime = mtime;
	st->link = link ? xstrdup(link) : NULL;
	return 0;
}

/* GET .../files/<what>?path=P into *out. */
static int
files_get_json(struct sbx_conn *c, const char *query, const char *what,
    const char *path, json_t **out, struct sbx_err *e)
{
	char *p = remote_path(c, query, what);

	remote_path_arg(c, &p, "path", path);
	return remote_call(c, "GET", p, NULL, out, e);
}

int
remote_file_stat(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat *st, struct sbx_err *e)
{
	json_t *res;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = files_get_json(c, query, "/files/stat", path, &res, e);
	if (rc == 0)
		rc = stat_from(c, res, st, e);
	json_decref(res);
	return rc;
}

int
remote_file_list(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat **out, size_t *n, struct sbx_err *e)
{
	struct sbx_file_stat *v;
	json_t *res, *arr, *it;
	size_t i, cnt = 0;
	int rc;

	rc = files_get_json(c, query, "/files/list", path, &res, e);
	if (rc < 0)
		return rc;
	arr = json_object_get(res, "entries");
	v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	json_array_foreach(arr, i, it) {
		rc = stat_from(c, it, &v[cnt], e);
		if (rc < 0)
			break;
		cnt++;
	}
	json_decref(res);
	if (rc < 0) {
		for (i = 0; i < cnt; i++)
			sbx_file_stat_release(&v[i]);
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int
remote_file_mkdir(struct sbx_conn *c, const char *query, const char *path,
    uint32_t mode, struct sbx_err *e)
{
	json_t *in = json_pack("{s:s, s:i}", "path", path, "mode",
	    (int)(mode & 07777));
	int rc;

	rc = remote_call(c, "POST", remote_path(c, query, "/files/mkdir"), in,
	    NULL, e);
	json_decref(in);
	return rc;
}

int
remote_file_rm(struct sbx_conn *c, const char *query, const char *path,
    int recursive, struct sbx_err *e)
{
	char *p = remote_path(c, query, "/files");

	remote_path_arg(c, &p, "path", path);
	if (recursive)
		remote_path_arg(c, &p, "recursive", "1");
	return remote_call(c, "DELETE", p, NULL, NULL, e);
}

int
remote_file_rename(struct sbx_conn *c, const char *query, const char *from,
    const char *to, struct sbx_err *e)
{
	json_t *in = json_pack("{s:s, s:s}", "from", from, "to", to);
	int rc;

	rc = remote_call(c, "POST", remote_path(c, query, "/files/rename"), in,
	    NULL, e);
	json_decref(in);
	return rc;
}
