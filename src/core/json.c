/*
 * json.c - jansson helpers: capped loading with line:column errors,
 * deterministic dumping, and typed getters addressed by path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/strvec.h"
#include "core/parse.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "core/banned.h"

int
sbx_json_load(const char *data, size_t len, size_t cap, const char *what,
    json_t **out, struct sbx_err *e)
{
	json_error_t jerr;
	char lim[32];
	json_t *j;

	if (!cap)
		cap = SBX_JSON_MAX;
	if (!data) {
		data = "";
		len = 0;
	}
	if (len > cap) {
		sbx_format_size(cap, lim, sizeof(lim));
		return what ? sbx_err_set(e, SBX_EINVAL,
		    "'%s': JSON document larger than %s", what, lim) :
		    sbx_err_set(e, SBX_EINVAL,
		    "JSON document larger than %s", lim);
	}
	j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return what ? sbx_err_set(e, SBX_EINVAL,
		    "'%s': invalid JSON at line %d, column %d: %s", what,
		    jerr.line, jerr.column, jerr.text) :
		    sbx_err_set(e, SBX_EINVAL,
		    "invalid JSON at line %d, column %d: %s", jerr.line,
		    jerr.column, jerr.text);
	*out = j;
	return 0;
}

int
sbx_json_load_file(const char *path, size_t cap, json_t **out,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char lim[32];
	int rc;

	b.cap = cap ? cap : SBX_JSON_MAX;
	rc = sbx_buf_read_file(&b, path, e);
	if (rc == SBX_EINVAL) {
		sbx_format_size(b.cap, lim, sizeof(lim));
		rc = sbx_err_set(e, SBX_EINVAL,
		    "'%s': JSON document larger than %s", path, lim);
	}
	if (rc == 0)
		rc = sbx_json_load(b.buf, b.len, b.cap, path, out, e);
	sbx_buf_release(&b);
	return rc;
}

static size_t
dump_flags(int flags)
{
	size_t f = JSON_ENCODE_ANY | JSON_REAL_PRECISION(17);

	f |= (flags & SBX_JSON_COMPACT) ? JSON_COMPACT : JSON_INDENT(2);
	if (flags & SBX_JSON_SORTED)
		f |= JSON_SORT_KEYS;
	return f;
}

int
sbx_json_dump_buf(struct sbx_buf *b, const json_t *j, int flags,
    struct sbx_err *e)
{
	char *s = json_dumps(j, dump_flags(flags));
	size_t start = b->len;
	int rc;

	if (!s)
		return sbx_err_set(e, SBX_EINVAL, "cannot encode JSON value");
	rc = sbx_buf_addstr(b, s);
	if (rc == 0)
		rc = sbx_buf_addch(b, '\n');
	free(s);
	if (rc < 0) {
		sbx_buf_setlen(b, start);
		return sbx_err_set(e, SBX_EINVAL,
		    "JSON output larger than %zu bytes", b->cap);
	}
	return 0;
}

int
sbx_json_print(FILE *f, const json_t *j, int flags, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	int rc = sbx_json_dump_buf(&b, j, flags, e);

	if (rc == 0 && fwrite(b.buf, 1, b.len, f) != b.len)
		rc = sbx_err_sys(e, "cannot write JSON output");
	sbx_buf_release(&b);
	return rc;
}

enum walk_result { WALK_FOUND, WALK_MISSING, WALK_NOT_OBJECT,
	WALK_NOT_ARRAY, WALK_BAD_PATH };

/*
 * Follows `path` from `root`. On WALK_NOT_* *stop is the length of the
 * path prefix naming the value of the wrong type.
 */
static enum walk_result
walk(const json_t *root, const char *path, json_t **val, size_t *stop)
{
	const json_t *cur = root;
	const char *p = path;

	*stop = 0;
	while (*p) {
		if (json_is_null(cur))
			return WALK_MISSING;
		if (*p == '[') {
			size_t idx = 0;
			const char *q = p + 1;

			if (*q < '0' || *q > '9')
				return WALK_BAD_PATH;
			for (; *q >= '0' && *q <= '9'; q++) {
				if (idx > ((size_t)-1 - 9) / 10)
					return WALK_MISSING;
				idx = idx * 10 + (size_t)(*q - '0');
			}
			if (*q != ']')
				return WALK_BAD_PATH;
			if (!json_is_array(cur)) {
				*stop = (size_t)(p - path);
				return WALK_NOT_ARRAY;
			}
			cur = json_array_get(cur, idx);
			if (!cur)
				return WALK_MISSING;
			p = q + 1;
		} else {
			size_t klen = strcspn(p, ".[");

			if (!klen)
				return WALK_BAD_PATH;
			if (!json_is_object(cur)) {
				*stop = p == path ? 0 : (size_t)(p - path - 1);
				return WALK_NOT_OBJECT;
			}
			cur = json_object_getn(cur, p, klen);
			if (!cur)
				return WALK_MISSING;
			p += klen;
		}
		if (*p == '.') {
			p++;
			if (!*p || *p == '.' || *p == '[')
				return WALK_BAD_PATH;
		} else if (*p && *p != '[') {
			return WALK_BAD_PATH;
		}
	}
	if (json_is_null(cur))
		return WALK_MISSING;
	*val = (json_t *)cur;
	return WALK_FOUND;
}

json_t *
sbx_json_at(const json_t *root, const char *path)
{
	json_t *v = NULL;
	size_t stop;

	return walk(root, path, &v, &stop) == WALK_FOUND ? v : NULL;
}

/* "field 'a.b'" or "the document" for the empty path. */
static int
type_error(struct sbx_err *e, const char *path, size_t plen,
    const char *what)
{
	if (!plen)
		return sbx_err_set(e, SBX_EINVAL, "the document must be %s",
		    what);
	return sbx_err_set(e, SBX_EINVAL, "field '%.*s' must be %s",
	    (int)plen, path, what);
}

/*
 * Finds `path` and checks its type with `is`. Returns 0 (found), 1
 * (absent, only when !required) or a negative error.
 */
static int
lookup(const json_t *root, const char *path, int required,
    int (*is)(const json_t *), const char *what, json_t **val,
    struct sbx_err *e)
{
	size_t stop;

	switch (walk(root, path, val, &stop)) {
	case WALK_FOUND:
		if (!is(*val))
			return type_error(e, path, strlen(path), what);
		return 0;
	case WALK_MISSING:
		if (!required)
			return 1;
		return sbx_err_set(e, SBX_ENOENT, "missing field '%s'", path);
	case WALK_NOT_OBJECT:
		return type_error(e, path, stop, "an object");
	case WALK_NOT_ARRAY:
		return type_error(e, path, stop, "an array");
	case WALK_BAD_PATH:
		break;
	}
	return sbx_err_set(e, SBX_EINVAL, "bad JSON path '%s'", path);
}

static int is_string(const json_t *j) { return json_is_string(j); }
static int is_integer(const json_t *j) { return json_is_integer(j); }
static int is_boolean(const json_t *j) { return json_is_boolean(j); }
static int is_number(const json_t *j) { return json_is_number(j); }
static int is_object(const json_t *j) { return json_is_object(j); }
static int is_array(const json_t *j) { return json_is_array(j); }

/* The shared bodies of the get/opt pairs; `req` says which. */
static int
get_str(const json_t *root, const char *path, int req, const char **out,
    struct sbx_err *e)
{
	json_t *v;
	int rc = lookup(root, path, req, is_string, "a string", &v, e);

	if (rc == 0)
		*out = json_string_value(v);
	return rc < 0 ? rc : 0;
}

static int
get_int(const json_t *root, const char *path, int req, long long min,
    long long max, long long *out, struct sbx_err *e)
{
	json_t *v;
	int rc = lookup(root, path, req, is_integer, "an integer", &v, e);
	long long n;

	if (rc != 0)
		return rc < 0 ? rc : 0;
	n = (long long)json_integer_value(v);
	if (n < min || n > max)
		return sbx_err_set(e, SBX_EINVAL,
		    "field '%s' must be between %lld and %lld (is %lld)", path,
		    min, max, n);
	*out = n;
	return 0;
}

static int
get_bool(const json_t *root, const char *path, int req, int *out,
    struct sbx_err *e)
{
	json_t *v;
	int rc = lookup(root, path, req, is_boolean, "true or false", &v, e);

	if (rc == 0)
		*out = json_is_true(v);
	return rc < 0 ? rc : 0;
}

static int
get_container(const json_t *root, const char *path, int req, int arr,
    json_t **out, struct sbx_err *e)
{
	json_t *v;
	int rc = lookup(root, path, req, arr ? is_array : is_object,
	    arr ? "an array" : "an object", &v, e);

	if (rc == 0)
		*out = v;
	return rc < 0 ? rc : 0;
}

int
sbx_json_get_str(const json_t *root, const char *path, const char **out,
    struct sbx_err *e)
{
	return get_str(root, path, 1, out, e);
}

int
sbx_json_opt_str(const json_t *root, const char *path, const char **out,
    struct sbx_err *e)
{
	return get_str(root, path, 0, out, e);
}

int
sbx_json_get_int(const json_t *root, const char *path, long long min,
    long long max, long long *out, struct sbx_err *e)
{
	return get_int(root, path, 1, min, max, out, e);
}

int
sbx_json_opt_int(const json_t *root, const char *path, long long min,
    long long max, long long *out, struct sbx_err *e)
{
	return get_int(root, path, 0, min, max, out, e);
}

int
sbx_json_get_bool(const json_t *root, const char *path, int *out,
    struct sbx_err *e)
{
	return get_bool(root, path, 1, out, e);
}

int
sbx_json_opt_bool(const json_t *root, const char *path, int *out,
    struct sbx_err *e)
{
	return get_bool(root, path, 0, out, e);
}

int
sbx_json_get_num(const json_t *root, const char *path, double *out,
    struct sbx_err *e)
{
	json_t *v;
	int rc = lookup(root, path, 1, is_number, "a number", &v, e);

	if (rc == 0)
		*out = json_number_value(v);
	return rc < 0 ? rc : 0;
}

int
sbx_json_get_obj(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e)
{
	return get_container(root, path, 1, 0, out, e);
}

int
sbx_json_opt_obj(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e)
{
	return get_container(root, path, 0, 0, out, e);
}

int
sbx_json_get_arr(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e)
{
	return get_container(root, path, 1, 1, out, e);
}

int
sbx_json_opt_arr(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e)
{
	return get_container(root, path, 0, 1, out, e);
}

json_t *
sbx_json_string(const char *s, size_t len)
{
	struct sbx_buf b = SBX_BUF_INIT;
	json_t *j;

	sbx_utf8_add_valid(&b, s, len);
	/* NUL bytes are valid UTF-8 but jansson needs them allowed. */
	j = json_stringn_nocheck(b.buf, b.len);
	sbx_buf_release(&b);
	if (!j) {
		fputs("sbx: out of memory (JSON string)\n", stderr);
		abort();
	}
	return j;
}

int
sbx_json_set(json_t *root, const char *key, json_t *value)
{
	if (!value)
		return SBX_EINVAL;
	if (json_object_set_new(root, key, value) < 0)
		return SBX_EINVAL;
	return 0;
}

json_t *
sbx_json_strvec(const struct sbx_strvec *v)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; v && i < v->nr; i++)
		json_array_append_new(a, json_string(v->v[i]));
	return a;
}
