/*
 * h-sandbox.c - sandbox endpoints: create, list (state filter, paging),
 * get, destroy, lifecycle (stop, start, hibernate, resume, resize), fork,
 * snapshot, log, stats and ports. Each calls one backend op.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/parse.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "core/banned.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define FORK_MAX 100

/* Answers with the sandbox `query` as JSON (after a change, say). */
static enum MHD_Result
reply_sandbox(struct req *r, unsigned status, const char *query)
{
	struct sbx_sandbox sb;
	struct sbx_err e;
	struct sbx_conn *c;
	json_t *j;

	sbx_err_clear(&e);
	if (!r->srv->backend->get)
		return reply_json(r, status, json_pack("{s:s}", "id", query));
	c = req_conn(r, &e);
	memset(&sb, 0, sizeof(sb));	/* the op initialises it */
	if (!c || r->srv->backend->get(c, query, &sb, &e) < 0) {
		sbx_sandbox_release(&sb);
		return reply_err(r, &e);
	}
	j = sbx_sandbox_to_json(&sb);
	sbx_sandbox_release(&sb);
	return reply_json(r, status, j);
}

enum MHD_Result
h_sb_create(struct req *r)
{
	struct sbx_serve_create_bufs bufs = { SBX_STRVEC_INIT, SBX_STRVEC_INIT,
	    SBX_STRVEC_INIT };
	struct sbx_create_opts o;
	struct sbx_sandbox sb;
	struct sbx_conn *c;
	struct sbx_err e;
	json_t *j = req_json_opt(r);
	enum MHD_Result ret;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	memset(&sb, 0, sizeof(sb));	/* the op initialises it */
	if (sbx_serve_create_parse(j, &o, &bufs, &e) < 0)
		ret = reply_err(r, &e);
	else if (!(c = req_conn(r, &e)) ||
	    r->srv->backend->create(c, &o, &sb, &e) < 0)
		ret = reply_err(r, &e);
	else
		ret = reply_json(r, 201, sbx_sandbox_to_json(&sb));
	sbx_sandbox_release(&sb);
	sbx_serve_create_bufs_clear(&bufs);
	json_decref(j);
	return ret;
}

enum MHD_Result
h_sb_list(struct req *r)
{
	const char *state = req_query(r, "state");
	const char *lim = req_query(r, "limit");
	const char *cursor = req_query(r, "cursor");
	enum sbx_sandbox_state want = SBX_SB_RUNNING;
	struct sbx_sandbox *v = NULL;
	struct sbx_conn *c;
	struct sbx_err e;
	long long limit = LIST_DEFAULT;
	size_t n = 0, i = 0, k;
	const char *last = NULL;
	json_t *arr, *o;

	sbx_err_clear(&e);
	if (state && sbx_sandbox_state_parse(state, &want, &e) < 0)
		return reply_error(r, 400, "bad_request", "query 'state': %s",
		    e.msg);
	if (lim && sbx_parse_int(lim, 1, LIST_MAX, &limit, &e) < 0)
		return reply_error(r, 400, "bad_request", "query 'limit': %s",
		    e.msg);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->list(c, &v, &n, &e) < 0)
		return reply_err(r, &e);
	if (cursor) {
		for (i = 0; i < n && strcmp(v[i].id, cursor); i++)
			;
		if (i == n) {
			for (k = 0; k < n; k++)
				sbx_sandbox_release(&v[k]);
			free(v);
			return reply_error(r, 400, "bad_request", "query "
			    "'cursor': no sandbox '%s' (it may have been "
			    "deleted; list again from the start)", cursor);
		}
		i++;
	}
	arr = json_array();
	o = json_object();
	for (; i < n; i++) {
		if (state && v[i].state != want)
			continue;
		if (json_array_size(arr) == (size_t)limit) {
			json_object_set_new(o, "next_cursor",
			    json_string(last));
			break;
		}
		json_array_append_new(arr, sbx_sandbox_to_json(&v[i]));
		last = v[i].id;
	}
	for (k = 0; k < n; k++)
		sbx_sandbox_release(&v[k]);
	free(v);
	json_object_set_new(o, "sandboxes", arr);
	return reply_json(r, 200, o);
}

enum MHD_Result
h_sb_get(struct req *r)
{
	return reply_sandbox(r, 200, r->arg);
}

enum MHD_Result
h_sb_destroy(struct req *r)
{
	struct sbx_conn *c;
	struct sbx_err e;

	sbx_err_clear(&e);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->destroy(c, r->arg,
	    req_query_bool(r, "force", 0), &e) < 0)
		return reply_err(r, &e);
	return reply_empty(r, 204);
}

/* Runs a lifecycle op that takes only the query, then shows the result. */
static enum MHD_Result
lifecycle(struct req *r, int (*op)(struct sbx_conn *, const char *,
    struct sbx_err *))
{
	struct sbx_conn *c;
	struct sbx_err e;

	sbx_err_clear(&e);
	c = req_conn(r, &e);
	if (!c || op(c, r->arg, &e) < 0)
		return reply_err(r, &e);
	return reply_sandbox(r, 200, r->arg);
}

enum MHD_Result
h_sb_stop(struct req *r)
{
	return lifecycle(r, r->srv->backend->stop);
}

enum MHD_Result
h_sb_start(struct req *r)
{
	return lifecycle(r, r->srv->backend->start);
}

enum MHD_Result
h_sb_hibernate(struct req *r)
{
	return lifecycle(r, r->srv->backend->hibernate);
}

enum MHD_Result
h_sb_resume(struct req *r)
{
	return lifecycle(r, r->srv->backend->resume);
}

enum MHD_Result
h_sb_resize(struct req *r)
{
	json_t *j = req_json_opt(r), *mem;
	json_int_t vcpus = 0;
	uint64_t memory = 0;
	struct sbx_conn *c;
	struct sbx_err e;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	mem = json_object_get(j, "memory");
	if (json_unpack(j, "{s?I}", "vcpus", &vcpus) < 0 || vcpus < 0 ||
	    vcpus > 256) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "field 'vcpus' must "
		    "be an integer from 0 to 256");
	}
	if (json_is_integer(mem) && json_integer_value(mem) >= 0) {
		memory = (uint64_t)json_integer_value(mem);
	} else if (json_is_string(mem)) {
		if (sbx_parse_size(json_string_value(mem), 0, UINT64_MAX,
		    &memory, &e) < 0) {
			json_decref(j);
			return reply_error(r, 400, "bad_request", "field "
			    "'memory': %s", e.msg);
		}
	} else if (mem && !json_is_null(mem)) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "field 'memory' must "
		    "be bytes or a size such as \"1G\"");
	}
	json_decref(j);
	if (!vcpus && !memory)
		return reply_error(r, 400, "bad_request", "give 'vcpus', "
		    "'memory' or both");
	c = req_conn(r, &e);
	if (!c || r->srv->backend->resize(c, r->arg, (unsigned)vcpus, memory,
	    &e) < 0)
		return reply_err(r, &e);
	return reply_sandbox(r, 200, r->arg);
}

enum MHD_Result
h_sb_fork(struct req *r)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	json_t *j = req_json_opt(r), *arr;
	json_int_t count = 1;
	struct sbx_conn *c;
	struct sbx_err e;
	size_t i;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	if (json_unpack(j, "{s?I}", "count", &count) < 0 || count < 1 ||
	    count > FORK_MAX) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "field 'count' must "
		    "be an integer from 1 to %d", FORK_MAX);
	}
	json_decref(j);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->fork(c, r->arg, (unsigned)count, &ids,
	    &e) < 0) {
		sbx_strvec_clear(&ids);
		return reply_err(r, &e);
	}
	arr = json_array();
	for (i = 0; i < ids.nr; i++)
		json_array_append_new(arr, json_string(ids.v[i]));
	sbx_strvec_clear(&ids);
	return reply_json(r, 201, json_pack("{s:o}", "ids", arr));
}

static json_t *
snapshot_json(const struct sbx_snapshot_info *s)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:I}", "id", s->id, "parent",
	    s->parent, "time", (json_int_t)s->time, "message",
	    s->message ? s->message : "", "added_bytes",
	    (json_int_t)s->added_bytes);
}

enum MHD_Result
h_sb_snapshot(struct req *r)
{
	struct sbx_snapshot_info si;
	json_t *j = req_json_opt(r);
	const char *msg = NULL;
	struct sbx_conn *c;
	struct sbx_err e;
	enum MHD_Result ret;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	if (json_unpack(j, "{s?s}", "message", &msg) < 0) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "field 'message' "
		    "must be a string");
	}
	memset(&si, 0, sizeof(si));
	c = req_conn(r, &e);
	if (!c || r->srv->backend->snapshot(c, r->arg, msg ? msg : "", &si,
	    &e) < 0)
		ret = reply_err(r, &e);
	else
		ret = reply_json(r, 201, snapshot_json(&si));
	free(si.message);
	json_decref(j);
	return ret;
}

enum MHD_Result
h_sb_log(struct req *r)
{
	struct sbx_snapshot_info *v = NULL;
	struct sbx_conn *c;
	struct sbx_err e;
	size_t n = 0, i;
	json_t *arr;

	sbx_err_clear(&e);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->log(c, r->arg, &v, &n, &e) < 0)
		return reply_err(r, &e);
	arr = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(arr, snapshot_json(&v[i]));
		free(v[i].message);
	}
	free(v);
	return reply_json(r, 200, json_pack("{s:o}", "snapshots", arr));
}

enum MHD_Result
h_sb_stats(struct req *r)
{
	struct sbx_conn *c;
	struct sbx_err e;
	json_t *o = NULL;

	sbx_err_clear(&e);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->stats(c, r->arg, &o, &e) < 0)
		return reply_err(r, &e);
	return reply_json(r, 200, o ? o : json_object());
}

enum MHD_Result
h_sb_port(struct req *r)
{
	json_int_t guest = 0, host = 0;
	const char *addr = "127.0.0.1";
	json_t *j = req_json(r);
	unsigned bound = 0;
	struct sbx_conn *c;
	struct sbx_err e;
	enum MHD_Result ret;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	if (json_unpack(j, "{s:I, s?I, s?s}", "guest", &guest, "host", &host,
	    "addr", &addr) < 0 || guest < 1 || guest > 65535 || host < 0 ||
	    host > 65535) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "fields 'guest' "
		    "(1-65535, required), 'host' (0-65535) and 'addr' "
		    "(string) are expected");
	}
	c = req_conn(r, &e);
	if (!c || r->srv->backend->port(c, r->arg, (unsigned)guest, addr,
	    (unsigned)host, &bound, &e) < 0)
		ret = reply_err(r, &e);
	else
		ret = reply_json(r, 201, json_pack("{s:I, s:s, s:I}", "guest",
		    guest, "addr", addr, "host", (json_int_t)bound));
	json_decref(j);
	return ret;
}

/* A port in lo..65535 from query `key` (absent: `def`); -1 when bad. */
static long
query_port(struct req *r, const char *key, long lo, long def)
{
	const char *v = req_query(r, key);
	struct sbx_err e;
	long long n;

	if (!v)
		return def;
	sbx_err_clear(&e);
	if (sbx_parse_int(v, lo, 65535, &n, &e) < 0)
		return -1;
	return (long)n;
}

enum MHD_Result
h_sb_port_close(struct req *r)
{
	long guest = query_port(r, "guest", 1, -1);
	long host = query_port(r, "host", 0, 0);
	unsigned closed = 0;
	struct sbx_conn *c;
	struct sbx_err e;

	if (guest < 0 || host < 0)
		return reply_error(r, 400, "bad_request", "query 'guest' "
		    "(1-65535, required), 'host' (0-65535) and 'addr' are "
		    "expected");
	sbx_err_clear(&e);
	c = req_conn(r, &e);
	if (!c || r->srv->backend->port_close(c, r->arg, (unsigned)guest,
	    req_query(r, "addr"), (unsigned)host, &closed, &e) < 0)
		return reply_err(r, &e);
	return reply_json(r, 200, json_pack("{s:i, s:i}", "guest", (int)guest,
	    "closed", (int)closed));
}
