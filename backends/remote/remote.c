/*
 * remote.c - the remote backend: opening a connection to `sbx serve` and
 * the lifecycle ops (create, list, get, stop, start, destroy, snapshot,
 * log, fork, hibernate, resume, resize, stats, port) as JSON calls.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/json.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "core/banned.h"

static int
remote_open(const struct sbx_backend_cfg *cfg, struct sbx_conn **out,
    struct sbx_err *e)
{
	struct sbx_conn *c;
	const char *ca;
	size_t n;
	char *hdr;

	*out = NULL;
	if (!cfg->url || !*cfg->url)
		return sbx_err_set(e, SBX_EUSAGE, "no sbx server URL (give "
		    "--remote URL or set SBX_REMOTE)");
	if (strncmp(cfg->url, "http://", 7) && strncmp(cfg->url, "https://",
	    8) && strncmp(cfg->url, "unix:", 5))
		return sbx_err_set(e, SBX_EUSAGE, "sbx server URL '%s' must "
		    "start with http://, https:// or unix:", cfg->url);
	if (!cfg->token || !*cfg->token) {
		sbx_err_set(e, SBX_EPERM, "no API token for the sbx server at "
		    "%s", cfg->url);
		sbx_err_hint(e, "set SBX_TOKEN to a token made with 'sbx token "
		    "create' on the server");
		return SBX_EPERM;
	}
	if (strpbrk(cfg->token, "\r\n"))
		return sbx_err_set(e, SBX_EUSAGE, "SBX_TOKEN has a line break");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = xcalloc(1, sizeof(*c));
	c->h = curl_easy_init();
	if (!c->h) {
		free(c);
		return sbx_err_set(e, SBX_EFAIL, "cannot initialise libcurl");
	}
	c->shown = xstrdup(cfg->url);
	if (!strncmp(cfg->url, "unix:", 5)) {
		c->unix_path = xstrdup(cfg->url + 5);
		c->base = xstrdup("http://localhost");
	} else {
		c->base = xstrdup(cfg->url);
		n = strlen(c->base);
		while (n > 0 && c->base[n - 1] == '/')
			c->base[--n] = '\0';
		/* A base ending in /v1 is the same server. */
		if (n >= 3 && !strcmp(c->base + n - 3, "/v1"))
			c->base[n - 3] = '\0';
	}
	/* A private CA (a self-signed `sbx serve --tls-cert`). */
	ca = getenv("SBX_CACERT");
	c->cainfo = ca && *ca ? xstrdup(ca) : NULL;
	hdr = xasprintf("Authorization: Bearer %s", cfg->token);
	c->auth = curl_slist_append(NULL, hdr);
	free(hdr);
	*out = c;
	return 0;
}

static void
remote_close(struct sbx_conn *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->h);
	curl_slist_free_all(c->auth);
	free(c->base);
	free(c->shown);
	free(c->unix_path);
	free(c->cainfo);
	free(c);
}

/* Fills `sb` from a sandbox object the server sent. */
static int
sandbox_from(struct sbx_conn *c, json_t *j, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	char *where = xasprintf("sandbox from %s", c->shown);
	int rc = sbx_sandbox_from_json(j, sb, where, e);

	free(where);
	return rc;
}

static int
remote_create(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *out, struct sbx_err *e)
{
	json_t *in = json_object(), *res = NULL;
	int rc;

	sbx_sandbox_init(out);
	if (o->template)
		json_object_set_new(in, "template", json_string(o->template));
	if (o->image)
		json_object_set_new(in, "image", json_string(o->image));
	if (o->snapshot)
		json_object_set_new(in, "snapshot", json_string(o->snapshot));
	if (o->name)
		json_object_set_new(in, "name", json_string(o->name));
	if (o->vcpus)
		json_object_set_new(in, "vcpus", json_integer(o->vcpus));
	if (o->memory)
		json_object_set_new(in, "memory",
		    json_integer((json_int_t)o->memory));
	if (o->disk)
		json_object_set_new(in, "disk",
		    json_integer((json_int_t)o->disk));
	if (o->idle_timeout_ms >= 0)
		json_object_set_new(in, "idle_timeout_ms",
		    json_integer(o->idle_timeout_ms));
	if (o->env && o->env->nr)
		json_object_set_new(in, "env", sbx_json_strvec(o->env));
	if (o->allow && o->allow->nr)
		json_object_set_new(in, "allow", sbx_json_strvec(o->allow));
	if (o->deny && o->deny->nr)
		json_object_set_new(in, "deny", sbx_json_strvec(o->deny));
	if (o->no_network)
		json_object_set_new(in, "no_network", json_true());
	rc = remote_call(c, "POST", xstrdup("/v1/sandboxes"), in, &res, e);
	json_decref(in);
	if (rc == 0) {
		sbx_sandbox_release(out);
		rc = sandbox_from(c, res, out, e);
	}
	json_decref(res);
	return rc;
}

/* Follows next_cursor pages of 1000 until the server has no more. */
static int
remote_list(struct sbx_conn *c, struct sbx_sandbox **out, size_t *n,
    struct sbx_err *e)
{
	struct sbx_sandbox *v = NULL;
	size_t cnt = 0, i;
	char *cursor = NULL, *path;
	json_t *res, *arr, *it;
	int rc = 0;

	do {
		path = xstrdup("/v1/sandboxes?limit=1000");
		if (cursor)
			remote_path_arg(c, &path, "cursor", cursor);
		free(cursor);
		cursor = NULL;
		rc = remote_call(c, "GET", path, NULL, &res, e);
		if (rc < 0)
			break;
		arr = json_object_get(res, "sandboxes");
		if (!json_is_array(arr)) {
			json_decref(res);
			rc = sbx_err_set(e, SBX_ENET, "sbx server at %s sent a "
			    "list without 'sandboxes'", c->shown);
			break;
		}
		v = xreallocarray(v, cnt + json_array_size(arr) + 1,
		    sizeof(*v));
		json_array_foreach(arr, i, it) {
			rc = sandbox_from(c, it, &v[cnt], e);
			if (rc < 0) {
				sbx_sandbox_release(&v[cnt]);
				break;
			}
			cnt++;
		}
		it = json_object_get(res, "next_cursor");
		if (rc == 0 && json_is_string(it))
			cursor = xstrdup(json_string_value(it));
		json_decref(res);
	} while (rc == 0 && cursor);
	free(cursor);
	if (rc < 0) {
		for (i = 0; i < cnt; i++)
			sbx_sandbox_release(&v[i]);
		free(v);
		return rc;
	}
	*out = v ? v : xcalloc(1, sizeof(*v));
	*n = cnt;
	return 0;
}

/* GET or POST on /v1/sandboxes/<q><suffix>, result into *out. */
static int
sb_call(struct sbx_conn *c, const char *method, const char *query,
    const char *suffix, json_t *in, json_t **out, struct sbx_err *e)
{
	return remote_call(c, method, remote_path(c, query, suffix), in, out,
	    e);
}

static int
remote_get(struct sbx_conn *c, const char *query, struct sbx_sandbox *out,
    struct sbx_err *e)
{
	json_t *res;
	int rc;

	sbx_sandbox_init(out);
	rc = sb_call(c, "GET", query, "", NULL, &res, e);
	if (rc == 0) {
		sbx_sandbox_release(out);
		rc = sandbox_from(c, res, out, e);
	}
	json_decref(res);
	return rc;
}

/* POST /v1/sandboxes/<q>/<verb> with no arguments. */
static int
post_verb(struct sbx_conn *c, const char *query, const char *suffix,
    struct sbx_err *e)
{
	return sb_call(c, "POST", query, suffix, NULL, NULL, e);
}

static int
remote_stop(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	return post_verb(c, query, "/stop", e);
}

static int
remote_start(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	return post_verb(c, query, "/start", e);
}

static int
remote_hibernate(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	return post_verb(c, query, "/hibernate", e);
}

static int
remote_resume(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	return post_verb(c, query, "/resume", e);
}

static int
remote_destroy(struct sbx_conn *c, const char *query, int force,
    struct sbx_err *e)
{
	char *path = remote_path(c, query, "");

	if (force)
		remote_path_arg(c, &path, "force", "1");
	return remote_call(c, "DELETE", path, NULL, NULL, e);
}

static int
remote_resize(struct sbx_conn *c, const char *query, unsigned vcpus,
    uint64_t memory, struct sbx_err *e)
{
	json_t *in = json_object();
	int rc;

	if (vcpus)
		json_object_set_new(in, "vcpus", json_integer(vcpus));
	if (memory)
		json_object_set_new(in, "memory",
		    json_integer((json_int_t)memory));
	rc = sb_call(c, "POST", query, "/resize", in, NULL, e);
	json_decref(in);
	return rc;
}

/* A snapshot object from the server into `s`. */
static int
snap_from(struct sbx_conn *c, json_t *j, struct sbx_snapshot_info *s,
    struct sbx_err *e)
{
	const char *id = "", *parent = "", *msg = "";
	json_int_t t = 0, added = 0;

	memset(s, 0, sizeof(*s));
	if (json_unpack(j, "{s:s, s?s, s?I, s?s, s?I}", "id", &id, "parent",
	    &parent, "time", &t, "message", &msg, "added_bytes", &added) < 0 ||
	    strlen(id) >= sizeof(s->id) || strlen(parent) >= sizeof(s->parent))
		return sbx_err_set(e, SBX_ENET, "sbx server at %s sent a "
		    "malformed snapshot", c->shown);
	memcpy(s->id, id, strlen(id) + 1);
	memcpy(s->parent, parent, strlen(parent) + 1);
	s->time = t;
	s->message = xstrdup(msg);
	s->added_bytes = (uint64_t)added;
	return 0;
}

static int
remote_snapshot(struct sbx_conn *c, const char *query, const char *message,
    struct sbx_snapshot_info *out, struct sbx_err *e)
{
	json_t *in = json_pack("{s:s}", "message", message ? message : "");
	json_t *res;
	int rc;

	rc = sb_call(c, "POST", query, "/snapshot", in, &res, e);
	json_decref(in);
	if (rc == 0)
		rc = snap_from(c, res, out, e);
	json_decref(res);
	return rc;
}

static int
remote_log(struct sbx_conn *c, const char *query,
    struct sbx_snapshot_info **out, size_t *n, struct sbx_err *e)
{
	json_t *res, *arr, *it;
	struct sbx_snapshot_info *v;
	size_t i, cnt = 0;
	int rc;

	rc = sb_call(c, "GET", query, "/log", NULL, &res, e);
	if (rc < 0)
		return rc;
	arr = json_object_get(res, "snapshots");
	v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	json_array_foreach(arr, i, it) {
		rc = snap_from(c, it, &v[cnt], e);
		if (rc < 0)
			break;
		cnt++;
	}
	json_decref(res);
	if (rc < 0) {
		for (i = 0; i < cnt; i++)
			free(v[i].message);
		free(v);
		return rc;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static int
remote_fork(struct sbx_conn *c, const char *query, unsigned count,
    struct sbx_strvec *ids, struct sbx_err *e)
{
	json_t *in = json_pack("{s:i}", "count", (int)count), *res, *it;
	size_t i;
	int rc;

	rc = sb_call(c, "POST", query, "/fork", in, &res, e);
	json_decref(in);
	if (rc < 0)
		return rc;
	json_array_foreach(json_object_get(res, "ids"), i, it)
		if (json_is_string(it))
			sbx_strvec_push(ids, json_string_value(it));
	json_decref(res);
	return 0;
}

static int
remote_stats(struct sbx_conn *c, const char *query, json_t **out,
    struct sbx_err *e)
{
	return sb_call(c, "GET", query, "/stats", NULL, out, e);
}

static int
remote_port(struct sbx_conn *c, const char *query, unsigned guest_port,
    const char *addr, unsigned host_port, unsigned *bound_port,
    struct sbx_err *e)
{
	json_t *in = json_pack("{s:i, s:i}", "guest", (int)guest_port, "host",
	    (int)host_port), *res;
	json_int_t h = 0;
	int rc;

	if (addr)
		json_object_set_new(in, "addr", json_string(addr));
	rc = sb_call(c, "POST", query, "/ports", in, &res, e);
	json_decref(in);
	if (rc == 0) {
		json_unpack(res, "{s?I}", "host", &h);
		if (bound_port)
			*bound_port = (unsigned)h;
	}
	json_decref(res);
	return rc;
}

static int
remote_port_close(struct sbx_conn *c, const char *query,
    unsigned guest_port, const char *addr, unsigned host_port,
    unsigned *closed, struct sbx_err *e)
{
	char *path = remote_path(c, query, "/ports"), num[16];
	json_t *res = NULL;
	json_int_t n = 0;
	int rc;

	snprintf(num, sizeof(num), "%u", guest_port);
	remote_path_arg(c, &path, "guest", num);
	if (addr)
		remote_path_arg(c, &path, "addr", addr);
	if (host_port) {
		snprintf(num, sizeof(num), "%u", host_port);
		remote_path_arg(c, &path, "host", num);
	}
	rc = remote_call(c, "DELETE", path, NULL, &res, e);
	if (rc == 0) {
		json_unpack(res, "{s?I}", "closed", &n);
		*closed = (unsigned)n;
	}
	json_decref(res);
	return rc;
}

const struct sbx_backend sbx_backend_remote = {
	.name = "remote",
	.open = remote_open,
	.close = remote_close,
	.create = remote_create,
	.list = remote_list,
	.get = remote_get,
	.stop = remote_stop,
	.start = remote_start,
	.destroy = remote_destroy,
	.exec = remote_exec,
	.file_put = remote_file_put,
	.file_get = remote_file_get,
	.file_stat = remote_file_stat,
	.file_list = remote_file_list,
	.file_mkdir = remote_file_mkdir,
	.file_rm = remote_file_rm,
	.file_rename = remote_file_rename,
	.snapshot = remote_snapshot,
	.log = remote_log,
	.fork = remote_fork,
	.hibernate = remote_hibernate,
	.resume = remote_resume,
	.resize = remote_resize,
	.stats = remote_stats,
	.logs = remote_logs,
	.port = remote_port,
	.port_close = remote_port_close,
	.port_connect = remote_port_connect,
};
