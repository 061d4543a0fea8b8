/*
 * json.h - helpers on jansson: loading with a size cap and a located
 * error, stable printing, and typed getters that name the field path.
 *
 * Paths name a value inside a document: keys separated by '.', array
 * elements as "[N]": "spec.vcpus", "ports[2].host", "[0].id". Keys that
 * contain '.' or '[' cannot be reached by path (use jansson directly).
 *
 * Ownership: sbx_json_load* return a new reference the caller must
 * json_decref. Getters return borrowed pointers (strings, objects,
 * arrays) valid while the document is alive. All functions are
 * reentrant; a json_t must not be used from two threads at once.
 */
#ifndef SBX_CORE_JSON_H
#define SBX_CORE_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct sbx_buf;
struct sbx_err;

/* Default cap for documents sbx reads: 16 MiB. */
#define SBX_JSON_MAX (16u << 20)

/*
 * Parses `len` bytes of `data` (object or array at the top) into *out.
 * Duplicate keys are rejected. `what` names the source in messages
 * (a file name, "response body"; NULL: "JSON"). Errors:
 *   "'sandbox.json': invalid JSON at line 3, column 5: <reason>"
 *   "'body': JSON document larger than 16M"
 * `cap` 0 means SBX_JSON_MAX.
 */
int sbx_json_load(const char *data, size_t len, size_t cap,
    const char *what, json_t **out, struct sbx_err *e);
/* Reads and parses a whole file, at most `cap` bytes (0: SBX_JSON_MAX). */
int sbx_json_load_file(const char *path, size_t cap, json_t **out,
    struct sbx_err *e);

enum {
	SBX_JSON_PRETTY = 0,	/* two-space indent, keys in insertion order */
	SBX_JSON_COMPACT = 1,	/* one line, no spaces (NDJSON) */
	SBX_JSON_SORTED = 2,	/* keys sorted */
};

/*
 * Appends `j` and a newline to `b` (flags: SBX_JSON_*). Output is
 * deterministic for a given document; "/" is not escaped, non-ASCII is
 * written as UTF-8.
 */
int sbx_json_dump_buf(struct sbx_buf *b, const json_t *j, int flags,
    struct sbx_err *e);
/* Same to a stdio stream; fails with SBX_EIO if writing fails. */
int sbx_json_print(FILE *f, const json_t *j, int flags, struct sbx_err *e);

/*
 * Looks up `path` under `root`. Returns the value or NULL when any part
 * is missing; a JSON null counts as missing.
 */
json_t *sbx_json_at(const json_t *root, const char *path);

/*
 * Typed getters. Each returns 0 and stores the value; SBX_ENOENT
 * ("missing field 'spec.vcpus'") when the field is absent or null; or
 * SBX_EINVAL ("field 'spec.vcpus' must be an integer") for a wrong type
 * or an intermediate value that is not an object/array. *out is left
 * unchanged on failure.
 *
 * The sbx_json_opt_* variants return 0 and leave *out unchanged when the
 * field is absent or null, and fail only on a wrong type or range.
 */
int sbx_json_get_str(const json_t *root, const char *path,
    const char **out, struct sbx_err *e);
int sbx_json_get_int(const json_t *root, const char *path, long long min,
    long long max, long long *out, struct sbx_err *e);
int sbx_json_get_bool(const json_t *root, const char *path, int *out,
    struct sbx_err *e);
int sbx_json_get_num(const json_t *root, const char *path, double *out,
    struct sbx_err *e);
int sbx_json_get_obj(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e);
int sbx_json_get_arr(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e);

int sbx_json_opt_str(const json_t *root, const char *path,
    const char **out, struct sbx_err *e);
int sbx_json_opt_int(const json_t *root, const char *path, long long min,
    long long max, long long *out, struct sbx_err *e);
int sbx_json_opt_bool(const json_t *root, const char *path, int *out,
    struct sbx_err *e);
int sbx_json_opt_obj(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e);
int sbx_json_opt_arr(const json_t *root, const char *path, json_t **out,
    struct sbx_err *e);

/*
 * A JSON string from bytes that may not be valid UTF-8 (guest output,
 * file names): invalid bytes become U+FFFD. Never returns NULL.
 */
json_t *sbx_json_string(const char *s, size_t len);

/*
 * Sets root[key] = value, stealing the reference to `value` (so
 * `sbx_json_set(o, "id", json_string(id))` leaks nothing even on
 * failure). Returns SBX_EINVAL when root is not an object, key is not
 * valid UTF-8 or value is NULL (json_string of invalid UTF-8).
 */
int sbx_json_set(json_t *root, const char *key, json_t *value);

/* A new array of the strings of `v` (core/strvec.h). */
struct sbx_strvec;
json_t *sbx_json_strvec(const struct sbx_strvec *v);

#endif
