/*
 * route.c - the endpoint table, bearer-token authentication and scopes,
 * GET /v1/meta and the token endpoints (/v1/tokens, admin scope).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/parse.h"
#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "core/banned.h"

#define R SBX_SCOPE_READ
#define W SBX_SCOPE_WRITE
#define A SBX_SCOPE_ADMIN
#define SB "/v1/sandboxes/*"

/* Sorted by nothing in particular; the first full match wins. */
static const struct route routes[] = {
	{ "GET", "/v1/meta", R, BODY_NONE, NULL, h_meta, NULL },
	{ "GET", "/v1/tokens", A, BODY_NONE, NULL, h_tokens_list, NULL },
	{ "POST", "/v1/tokens", A, BODY_JSON, NULL, h_tokens_create, NULL },
	{ "DELETE", "/v1/tokens/*", A, BODY_NONE, NULL, h_tokens_revoke,
	  NULL },
	{ "GET", "/v1/templates", R, BODY_NONE, NULL, h_templates_list,
	  NULL },
	{ "GET", "/v1/templates/*", R, BODY_NONE, NULL, h_templates_get,
	  NULL },
	{ "POST", "/v1/templates/build", W, BODY_STREAM, NULL, h_build_upload,
	  h_build_body, 0, h_build_begin },
	{ "POST", "/v1/templates/*/build", W, BODY_NONE, NULL, h_build_name,
	  NULL },
	{ "GET", "/v1/sandboxes", R, BODY_NONE, "list", h_sb_list, NULL },
	{ "POST", "/v1/sandboxes", W, BODY_JSON, "create", h_sb_create,
	  NULL },
	{ "GET", SB, R, BODY_NONE, "get", h_sb_get, NULL },
	{ "DELETE", SB, W, BODY_NONE, "destroy", h_sb_destroy, NULL },
	{ "POST", SB "/exec", W, BODY_EXEC, "exec", h_exec, NULL },
	{ "GET", SB "/files", R, BODY_NONE, "file_get", h_file_get, NULL },
	{ "PUT", SB "/files", W, BODY_STREAM, "file_put", h_file_put,
	  h_file_put_stream },
	{ "DELETE", SB "/files", W, BODY_NONE, "file_rm", h_file_rm, NULL },
	{ "GET", SB "/files/stat", R, BODY_NONE, "file_stat", h_file_stat,
	  NULL },
	{ "GET", SB "/files/list", R, BODY_NONE, "file_list", h_file_list,
	  NULL },
	{ "POST", SB "/files/mkdir", W, BODY_JSON, "file_mkdir",
	  h_file_mkdir, NULL },
	{ "POST", SB "/files/rename", W, BODY_JSON, "file_rename",
	  h_file_rename, NULL },
	{ "POST", SB "/fork", W, BODY_JSON, "fork", h_sb_fork, NULL },
	{ "POST", SB "/snapshot", W, BODY_JSON, "snapshot", h_sb_snapshot,
	  NULL },
	{ "GET", SB "/log", R, BODY_NONE, "log", h_sb_log, NULL },
	{ "POST", SB "/hibernate", W, BODY_JSON, "hibernate", h_sb_hibernate,
	  NULL },
	{ "POST", SB "/resume", W, BODY_JSON, "resume", h_sb_resume, NULL },
	{ "POST", SB "/stop", W, BODY_JSON, "stop", h_sb_stop, NULL },
	{ "POST", SB "/start", W, BODY_JSON, "start", h_sb_start, NULL },
	{ "POST", SB "/resize", W, BODY_JSON, "resize", h_sb_resize, NULL },
	{ "GET", SB "/stats", R, BODY_NONE, "stats", h_sb_stats, NULL },
	{ "GET", SB "/logs", R, BODY_NONE, "logs", h_logs, NULL },
	{ "POST", SB "/ports", W, BODY_JSON, "port", h_sb_port, NULL },
	/* Before the proxy's ports/{port}/...; this one has no segment. */
	{ "DELETE", SB "/ports", W, BODY_NONE, "port_close", h_sb_port_close,
	  NULL },
	{ "*", SB "/ports/*", R, BODY_PROXY, "port_connect", h_proxy,
	  h_proxy_body, 1, h_proxy_begin },
	{ "GET", SB "/tunnel/*", W, BODY_NONE, "port_connect", h_proxy,
	  NULL, 0, h_tunnel_begin },
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* Backend ops by name, for capabilities and the 501 check. */
static const struct {
	const char *name;
	size_t off;
} ops[] = {
#define OP(n) { #n, offsetof(struct sbx_backend, n) }
	OP(create), OP(list), OP(get), OP(stop), OP(start), OP(destroy),
	OP(exec), OP(file_put), OP(file_get), OP(file_stat), OP(file_list),
	OP(file_mkdir), OP(file_rm), OP(file_rename), OP(snapshot), OP(log),
	OP(fork), OP(hibernate), OP(resume), OP(resize), OP(stats), OP(logs),
	OP(port), OP(port_close), OP(port_connect),
#undef OP
};

/* 1 if backend `b` implements op `name`. */
static int
backend_has(const struct sbx_backend *b, const char *name)
{
	size_t i;
	void *fn;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(ops[i].name, name)) {
			memcpy(&fn, (const char *)b + ops[i].off, sizeof(fn));
			return fn != NULL;
		}
	return 0;
}

/*
 * Matches `url` against `pat`; the first "*" segment is captured into
 * *arg. With `prefix`, "/more" may follow.
 */
static int
pattern_match(const char *pat, const char *url, int prefix, char **arg)
{
	const char *star_at = NULL, *star_end = NULL;

	while (*pat && *url) {
		if (*pat == '*') {
			const char *at = url;

			while (*url && *url != '/')
				url++;
			if (url == at)
				return 0;
			if (!star_at) {
				star_at = at;
				star_end = url;
			}
			pat++;
			continue;
		}
		if (*pat != *url)
			return 0;
		pat++;
		url++;
	}
	if (*pat || (*url && strcmp(url, "/") && !(prefix && *url == '/')))
		return 0;
	if (arg && star_at)
		*arg = xstrndup(star_at, (size_t)(star_end - star_at));
	return 1;
}

const struct route *
route_find(const char *method, const char *url, char **arg,
    unsigned *status)
{
	size_t i;
	int path_seen = 0;

	*arg = NULL;
	for (i = 0; i < NROUTES; i++) {
		if (!pattern_match(routes[i].pattern, url, routes[i].prefix,
		    NULL))
			continue;
		path_seen = 1;
		if (strcmp(routes[i].method, method) &&
		    strcmp(routes[i].method, "*"))
			continue;
		pattern_match(routes[i].pattern, url, routes[i].prefix, arg);
		return &routes[i];
	}
	*status = path_seen ? 405 : 404;
	return NULL;
}

int
route_auth(struct req *r)
{
	const char *h = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	struct sbx_err e;
	int scope, need;

	sbx_err_clear(&e);
	if (!h || strncasecmp(h, "Bearer ", 7)) {
		reply_error(r, 401, "unauthorized", "missing bearer token "
		    "(send 'Authorization: Bearer <token>')");
		return -1;
	}
	for (h += 7; *h == ' '; h++)
		;
	scope = sbx_token_db_verify(r->srv->tokens, h, (int64_t)time(NULL),
	    r->token_id, &e);
	if (scope < 0 && scope != SBX_EPERM) {
		reply_err(r, &e);
		return -1;
	}
	if (scope < 0) {
		reply_error(r, 401, "unauthorized", "%s", e.msg);
		return -1;
	}
	r->scope = scope;
	need = r->route->scope;
	if (!strcmp(r->route->method, "*") && strcmp(r->method, "GET") &&
	    strcmp(r->method, "HEAD") && need < SBX_SCOPE_WRITE)
		need = SBX_SCOPE_WRITE;
	if (scope < need) {
		reply_error(r, 403, "forbidden", "%s %s needs a token with "
		    "scope '%s' (this token has '%s')", r->method,
		    r->route->pattern, sbx_token_scope_name(need),
		    sbx_token_scope_name(scope));
		return -1;
	}
	if (r->route->op && !backend_has(r->srv->backend, r->route->op)) {
		reply_error(r, 501, "not_supported", "'%s' is not supported "
		    "by backend '%s'", r->route->op, r->srv->backend->name);
		return -1;
	}
	return 0;
}

enum MHD_Result
h_meta(struct req *r)
{
	json_t *caps = json_array();
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (backend_has(r->srv->backend, ops[i].name))
			json_array_append_new(caps, json_string(ops[i].name));
	return reply_json(r, 200, json_pack("{s:s, s:i, s:s, s:o, s:s, "
	    "s:{s:I, s:I, s:I, s:I}}", "version", PACKAGE_VERSION, "api", 1,
	    "backend", r->srv->backend->name, "capabilities", caps,
	    "scope", sbx_token_scope_name(r->scope), "limits",
	    "json_body", (json_int_t)SBX_SERVE_JSON_MAX,
	    "exec_body", (json_int_t)SBX_SERVE_EXEC_MAX,
	    "header", (json_int_t)SBX_SERVE_HEADER_MAX,
	    "tunnel_idle_ms", (json_int_t)r->srv->tunnel_idle_ms));
}

static json_t *
token_json(const struct sbx_token_info *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "id", t->id, "name",
	    t->name ? t->name : "", "scope", sbx_token_scope_name(t->scope),
	    "created", (json_int_t)t->created);

	json_object_set_new(o, "expires", t->expires ?
	    json_integer(t->expires) : json_null());
	json_object_set_new(o, "revoked", t->revoked ?
	    json_integer(t->revoked) : json_null());
	return o;
}

enum MHD_Result
h_tokens_list(struct req *r)
{
	struct sbx_token_info *v;
	struct sbx_err e;
	json_t *arr;
	size_t n, i;

	sbx_err_clear(&e);
	if (sbx_token_list(r->srv->home, &v, &n, &e) < 0)
		return reply_err(r, &e);
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, token_json(&v[i]));
	sbx_token_info_free_array(v, n);
	return reply_json(r, 200, json_pack("{s:o}", "tokens", arr));
}

enum MHD_Result
h_tokens_create(struct req *r)
{
	const char *scope = "read", *name = NULL;
	struct sbx_token_info ti;
	json_t *j = req_json(r), *exp, *o;
	struct sbx_err e;
	uint64_t ttl_ms = 0;
	char *tok;
	int sc;

	if (!j)
		return MHD_YES;
	sbx_err_clear(&e);
	if (json_unpack(j, "{s?s, s?s}", "scope", &scope, "name", &name) < 0) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "fields 'scope' and "
		    "'name' must be strings");
	}
	exp = json_object_get(j, "expires");
	if (json_is_integer(exp) && json_integer_value(exp) >= 0)
		ttl_ms = (uint64_t)json_integer_value(exp) * 1000;
	else if (json_is_string(exp) && sbx_parse_duration(
	    json_string_value(exp), 1000, UINT64_MAX / 2, &ttl_ms, &e) < 0) {
		json_decref(j);
		sbx_err_prefix(&e, "field 'expires'");
		return reply_error(r, 400, "bad_request", "%s", e.msg);
	} else if (exp && !json_is_null(exp) && !json_is_string(exp) &&
	    !json_is_integer(exp)) {
		json_decref(j);
		return reply_error(r, 400, "bad_request", "field 'expires' "
		    "must be seconds or a duration such as \"30d\"");
	}
	if (sbx_token_scope_parse(scope, &sc, &e) < 0 ||
	    sbx_token_create(r->srv->home, sc, (int64_t)time(NULL),
	    (int64_t)(ttl_ms / 1000), name, &tok, &ti, &e) < 0) {
		json_decref(j);
		return reply_err(r, &e);
	}
	json_decref(j);
	o = token_json(&ti);
	json_object_set_new(o, "token", json_string(tok));
	sbx_token_info_release(&ti);
	free(tok);
	return reply_json(r, 201, o);
}

enum MHD_Result
h_tokens_revoke(struct req *r)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	if (sbx_token_revoke(r->srv->home, r->arg, (int64_t)time(NULL),
	    &e) < 0)
		return reply_err(r, &e);
	return reply_empty(r, 204);
}
