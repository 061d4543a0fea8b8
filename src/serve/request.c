/*
 * request.c - decoding and checking what clients send: status codes,
 * guest paths, exec and create bodies, listen addresses. No I/O here.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "serve/serve.h"
#include "core/banned.h"

static const struct {
	int code;
	unsigned status;
	const char *name;
} codes[] = {
	{ SBX_EUSAGE, 400, "usage" },
	{ SBX_ENOENT, 404, "not_found" },
	{ SBX_EEXIST, 409, "exists" },
	{ SBX_EINVAL, 422, "invalid" },
	{ SBX_EIO, 500, "io" },
	{ SBX_EBUSY, 409, "busy" },
	{ SBX_ETIMEDOUT, 504, "timeout" },
	{ SBX_ENOTSUP, 501, "not_supported" },
	{ SBX_ECORRUPT, 500, "corrupt" },
	{ SBX_EPERM, 403, "permission" },
	{ SBX_ENET, 503, "network" },
	{ SBX_EFAIL, 500, "failed" },
};

unsigned
sbx_serve_http_status(int code)
{
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].status;
	return 500;
}

int
sbx_serve_code_from_name(const char *name)
{
	size_t i;

	if (!name)
		return SBX_EFAIL;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(codes[i].name, name))
			return codes[i].code;
	if (!strcmp(name, "unauthorized") || !strcmp(name, "forbidden"))
		return SBX_EPERM;
	if (!strcmp(name, "too_large") || !strcmp(name, "bad_request"))
		return SBX_EUSAGE;
	return SBX_EFAIL;
}

int
sbx_serve_path_normalise(const char *in, char **out, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	const char *p = in, *seg;
	size_t n;

	*out = NULL;
	if (!in || !*in)
		return sbx_err_set(e, SBX_EUSAGE, "missing path");
	if (in[0] != '/')
		return sbx_err_set(e, SBX_EUSAGE, "path '%s' is not absolute",
		    in);
	if (strlen(in) > SBX_SERVE_PATH_MAX)
		return sbx_err_set(e, SBX_EUSAGE, "path is longer than %d "
		    "bytes", SBX_SERVE_PATH_MAX);
	for (p = in; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return sbx_err_set(e, SBX_EUSAGE, "path has a control "
			    "character at offset %zu", (size_t)(p - in));
	p = in;
	while (*p) {
		while (*p == '/')
			p++;
		seg = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - seg);
		if (n == 0 || (n == 1 && seg[0] == '.'))
			continue;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			sbx_buf_release(&b);
			return sbx_err_set(e, SBX_EUSAGE, "path '%s' has a "
			    "'..' component at offset %zu", in,
			    (size_t)(seg - in));
		}
		sbx_buf_addch(&b, '/');
		sbx_buf_add(&b, seg, n);
	}
	if (!b.len)
		sbx_buf_addch(&b, '/');
	*out = sbx_buf_detach(&b, NULL);
	return 0;
}

/* A NULL-terminated copy of a JSON array of strings; field names it. */
static int
str_array(json_t *a, const char *field, int nonempty, char ***out,
    struct sbx_err *e)
{
	struct sbx_strvec sv = SBX_STRVEC_INIT;
	json_t *v;
	size_t i;

	*out = NULL;
	if (!json_is_array(a) || (nonempty && !json_array_size(a)))
		return sbx_err_set(e, SBX_EUSAGE, "field '%s' must be a%s "
		    "array of strings", field, nonempty ? " non-empty" : "n");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			sbx_strvec_clear(&sv);
			return sbx_err_set(e, SBX_EUSAGE, "field '%s[%zu]' must "
			    "be a string", field, i);
		}
		sbx_strvec_push(&sv, json_string_value(v));
	}
	*out = sbx_strvec_detach(&sv);
	return 0;
}

/* env as ["K=V", ...] or {"K": "V"}. */
static int
env_parse(json_t *j, char ***out, struct sbx_err *e)
{
	struct sbx_strvec sv = SBX_STRVEC_INIT;
	const char *k;
	json_t *v;
	size_t i;
	int r;

	*out = NULL;
	if (json_is_object(j)) {
		json_object_foreach(j, k, v) {
			if (!json_is_string(v) || !*k || strchr(k, '=')) {
				sbx_strvec_clear(&sv);
				return sbx_err_set(e, SBX_EUSAGE, "field "
				    "'env.%s' must be a string with a name "
				    "without '='", k);
			}
			sbx_strvec_pushf(&sv, "%s=%s", k,
			    json_string_value(v));
		}
		*out = sbx_strvec_detach(&sv);
		return 0;
	}
	r = str_array(j, "env", 0, out, e);
	for (i = 0; r == 0 && (*out)[i]; i++)
		if (!strchr((*out)[i], '=') || (*out)[i][0] == '=')
			r = sbx_err_set(e, SBX_EUSAGE, "field 'env[%zu]' must "
			    "be NAME=VALUE", i);
	return r;
}

static void
strv_free(char **v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v[i]; i++)
		free(v[i]);
	free(v);
}

void
sbx_serve_exec_req_release(struct sbx_serve_exec_req *x)
{
	strv_free(x->argv);
	strv_free(x->env);
	free(x->cwd);
	free(x->user);
	free(x->stdin_data);
	memset(x, 0, sizeof(*x));
}

/* Optional string field; SBX_EUSAGE when present but not a string. */
static int
opt_str(json_t *j, const char *key, const char **out, struct sbx_err *e)
{
	json_t *v = json_object_get(j, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return sbx_err_set(e, SBX_EUSAGE, "field '%s' must be a "
		    "string", key);
	*out = json_string_value(v);
	return 0;
}

/* Optional integer field in [min, max]. */
static int
opt_int(json_t *j, const char *key, json_int_t min, json_int_t max,
    json_int_t *out, struct sbx_err *e)
{
	json_t *v = json_object_get(j, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return sbx_err_set(e, SBX_EUSAGE, "field '%s' must be an "
		    "integer from %lld to %lld", key, (long long)min,
		    (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* Optional boolean field. */
static int
opt_bool(json_t *j, const char *key, int *out, struct sbx_err *e)
{
	json_t *v = json_object_get(j, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return sbx_err_set(e, SBX_EUSAGE, "field '%s' must be true "
		    "or false", key);
	*out = json_is_true(v);
	return 0;
}

/* Rejects keys not in `known` (NULL-terminated), naming the first. */
static int
known_keys(json_t *j, const char *const *known, struct sbx_err *e)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach(j, k, v) {
		for (i = 0; known[i]; i++)
			if (!strcmp(k, known[i]))
				break;
		if (!known[i])
			return sbx_err_set(e, SBX_EUSAGE, "unknown field '%s'",
			    k);
	}
	return 0;
}

int
sbx_serve_exec_parse(json_t *j, struct sbx_serve_exec_req *x,
    struct sbx_err *e)
{
	static const char *const known[] = { "argv", "env", "cwd", "user",
	    "tty", "rows", "cols", "background", "timeout_ms", "stdin",
	    NULL };
	const char *cwd = NULL, *user = NULL, *in = NULL;
	json_int_t rows = 0, cols = 0, tmo = 0;
	size_t cap, len;
	int r;

	memset(x, 0, sizeof(*x));
	if (!json_is_object(j))
		return sbx_err_set(e, SBX_EUSAGE, "request must be a JSON "
		    "object");
	if ((r = known_keys(j, known, e)) < 0 ||
	    (r = str_array(json_object_get(j, "argv"), "argv", 1, &x->argv,
	    e)) < 0)
		goto fail;
	if (json_object_get(j, "env") &&
	    (r = env_parse(json_object_get(j, "env"), &x->env, e)) < 0)
		goto fail;
	if ((r = opt_str(j, "cwd", &cwd, e)) < 0 ||
	    (r = opt_str(j, "user", &user, e)) < 0 ||
	    (r = opt_str(j, "stdin", &in, e)) < 0 ||
	    (r = opt_bool(j, "tty", &x->tty, e)) < 0 ||
	    (r = opt_bool(j, "background", &x->background, e)) < 0 ||
	    (r = opt_int(j, "rows", 0, 65535, &rows, e)) < 0 ||
	    (r = opt_int(j, "cols", 0, 65535, &cols, e)) < 0 ||
	    (r = opt_int(j, "timeout_ms", 0, INT64_MAX, &tmo, e)) < 0)
		goto fail;
	if (cwd && (r = sbx_serve_path_normalise(cwd, &x->cwd, e)) < 0) {
		sbx_err_prefix(e, "field 'cwd'");
		goto fail;
	}
	if (user && !*user) {
		r = sbx_err_set(e, SBX_EUSAGE, "field 'user' is empty");
		goto fail;
	}
	x->user = user ? xstrdup(user) : NULL;
	x->rows = (unsigned)rows;
	x->cols = (unsigned)cols;
	x->timeout_ms = (uint64_t)tmo;
	if (in) {
		cap = strlen(in) / 4 * 3 + 3;
		x->stdin_data = xmalloc(cap + 1);
		if (sodium_base642bin(x->stdin_data, cap, in, strlen(in),
		    "\n\r", &len, NULL, sodium_base64_VARIANT_ORIGINAL) < 0) {
			r = sbx_err_set(e, SBX_EUSAGE, "field 'stdin' is not "
			    "valid base64");
			goto fail;
		}
		x->stdin_len = len;
	}
	return 0;
fail:
	sbx_serve_exec_req_release(x);
	return r;
}

/* A size given as bytes or as a string with a unit ("512M"). */
static int
opt_size(json_t *j, const char *key, uint64_t *out, struct sbx_err *e)
{
	json_t *v = json_object_get(j, key);

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		if (sbx_parse_size(json_string_value(v), 0, UINT64_MAX, out,
		    e) < 0) {
			sbx_err_prefix(e, "field '%s'", key);
			return SBX_EUSAGE;
		}
		return 0;
	}
	return sbx_err_set(e, SBX_EUSAGE, "field '%s' must be a byte count "
	    "or a size such as \"512M\"", key);
}

void
sbx_serve_create_bufs_clear(struct sbx_serve_create_bufs *b)
{
	sbx_strvec_clear(&b->env);
	sbx_strvec_clear(&b->allow);
	sbx_strvec_clear(&b->deny);
}

/* Optional array of strings `key` appended to `out`. */
static int
opt_strs(json_t *j, const char *key, struct sbx_strvec *out,
    struct sbx_err *e)
{
	char **v = NULL;
	size_t i;
	int r;

	if (!json_object_get(j, key))
		return 0;
	if ((r = str_array(json_object_get(j, key), key, 0, &v, e)) < 0)
		return r;
	for (i = 0; v[i]; i++)
		sbx_strvec_push(out, v[i]);
	strv_free(v);
	return 0;
}

int
sbx_serve_create_parse(json_t *j, struct sbx_create_opts *o,
    struct sbx_serve_create_bufs *b, struct sbx_err *e)
{
	static const char *const known[] = { "template", "image", "snapshot",
	    "name", "vcpus", "memory", "disk", "idle_timeout_ms", "env",
	    "allow", "deny", "no_network", NULL };
	struct sbx_strvec *env = &b->env;
	json_int_t vcpus = 0, idle = -1;
	char **ev = NULL;
	size_t i;
	int r;

	memset(o, 0, sizeof(*o));
	o->idle_timeout_ms = -1;
	if (!json_is_object(j))
		return sbx_err_set(e, SBX_EUSAGE, "request must be a JSON "
		    "object");
	if ((r = known_keys(j, known, e)) < 0 ||
	    (r = opt_str(j, "template", &o->template, e)) < 0 ||
	    (r = opt_str(j, "image", &o->image, e)) < 0 ||
	    (r = opt_str(j, "snapshot", &o->snapshot, e)) < 0 ||
	    (r = opt_str(j, "name", &o->name, e)) < 0 ||
	    (r = opt_int(j, "vcpus", 0, 256, &vcpus, e)) < 0 ||
	    (r = opt_int(j, "idle_timeout_ms", -1, INT64_MAX, &idle,
	    e)) < 0 ||
	    (r = opt_size(j, "memory", &o->memory, e)) < 0 ||
	    (r = opt_size(j, "disk", &o->disk, e)) < 0)
		return r;
	o->vcpus = (unsigned)vcpus;
	o->idle_timeout_ms = idle;
	if (json_object_get(j, "env")) {
		r = env_parse(json_object_get(j, "env"), &ev, e);
		if (r < 0)
			return r;
		for (i = 0; ev[i]; i++)
			sbx_strvec_push(env, ev[i]);
		strv_free(ev);
		o->env = env;
	}
	if ((r = opt_strs(j, "allow", &b->allow, e)) < 0 ||
	    (r = opt_strs(j, "deny", &b->deny, e)) < 0 ||
	    (r = opt_bool(j, "no_network", &o->no_network, e)) < 0)
		return r;
	o->allow = &b->allow;
	o->deny = &b->deny;
	return 0;
}

int
sbx_serve_listen_parse(const char *s, char **host, unsigned *port,
    struct sbx_err *e)
{
	const char *colon, *h = s, *hend;
	long long p;

	*host = NULL;
	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (!hend || hend[1] != ':')
			return sbx_err_set(e, SBX_EUSAGE, "bad listen address "
			    "'%s' (expected [ADDR]:PORT)", s);
		h = s + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return sbx_err_set(e, SBX_EUSAGE, "bad listen address "
			    "'%s' (expected ADDR:PORT)", s);
		hend = colon;
	}
	if (hend == h)
		return sbx_err_set(e, SBX_EUSAGE, "listen address '%s' has no "
		    "host part", s);
	if (sbx_parse_int(colon + 1, 0, 65535, &p, e) < 0) {
		sbx_err_prefix(e, "listen address '%s'", s);
		return SBX_EUSAGE;
	}
	*host = xstrndup(h, (size_t)(hend - h));
	*port = (unsigned)p;
	return 0;
}
