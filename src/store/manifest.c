/*
 * manifest.c - canonical JSON manifests as objects, and the reference
 * walker.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/manifest.h"
#include "core/banned.h"

const char *const SBX_MANIFEST_ID_KEYS[] = {
	"image", "head", "parent", "memory", "disk", "layers", "kernel",
	"initramfs", "rootfs", "manifest", "snapshot", "object", "objects",
	"state_object", NULL,
};

void
sbx_manifest_ref_str(const struct sbx_oid *id,
    char out[SBX_MANIFEST_REF_SIZE])
{
	memcpy(out, "sha:", 4);
	sbx_oid_to_hex(id, out + 4);
}

json_t *
sbx_manifest_ref_json(const struct sbx_oid *id)
{
	char s[SBX_MANIFEST_REF_SIZE];

	sbx_manifest_ref_str(id, s);
	return json_string(s);
}

int
sbx_manifest_parse_ref(const char *s, struct sbx_oid *id)
{
	if (!s || strncmp(s, "sha:", 4) || !sbx_oid_is_hex(s + 4))
		return 0;
	return sbx_oid_from_hex(s + 4, id, NULL) == 0;
}

char *
sbx_manifest_canonical(const json_t *m)
{
	if (!json_is_object(m))
		return NULL;
	return json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
}

int
sbx_manifest_put(struct sbx_store *s, const json_t *m, struct sbx_oid *id,
    struct sbx_err *e)
{
	char *text = sbx_manifest_canonical(m);
	size_t len;
	int r;

	if (!text)
		return sbx_err_set(e, SBX_EINVAL, "a manifest must be a JSON "
		    "object");
	len = strlen(text);
	if (len > SBX_MANIFEST_MAX)
		r = sbx_err_set(e, SBX_EINVAL, "manifest is too large (%zu "
		    "bytes, at most %d)", len, SBX_MANIFEST_MAX);
	else
		r = sbx_store_put_buf(s, text, len, id, e);
	free(text);
	return r;
}

int
sbx_manifest_load(struct sbx_store *s, const struct sbx_oid *id,
    json_t **out, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char hex[SBX_OID_HEXLEN + 1];
	struct sbx_oid got;
	json_error_t jerr;
	int r;

	*out = NULL;
	sbx_oid_to_hex(id, hex);
	b.cap = SBX_MANIFEST_MAX;
	r = sbx_store_object_read(s, id, &b, e);
	if (r == SBX_EINVAL) {
		r = sbx_err_set(e, SBX_ECORRUPT, "object '%s' is not a "
		    "manifest: larger than %d bytes", hex, SBX_MANIFEST_MAX);
		goto out;
	}
	if (r < 0)
		goto out;
	sbx_oid_hash(b.buf, b.len, &got);
	if (sbx_oid_cmp(&got, id)) {
		r = sbx_store_object_verify(s, id, e);
		if (r == 0)	/* replaced between read and verify */
			r = sbx_err_set(e, SBX_ECORRUPT, "object '%s' changed "
			    "while it was read", hex);
		goto out;
	}
	*out = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out) {
		r = sbx_err_set(e, SBX_ECORRUPT, "object '%s' is not a JSON "
		    "manifest: line %d column %d: %s", hex, jerr.line,
		    jerr.column, jerr.text);
	} else if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		r = sbx_err_set(e, SBX_ECORRUPT, "object '%s' is not a "
		    "manifest: not a JSON object", hex);
	}
out:
	sbx_buf_release(&b);
	return r;
}

/* 1 if `key` is in SBX_MANIFEST_ID_KEYS. */
static int
is_id_key(const char *key)
{
	int i;

	for (i = 0; SBX_MANIFEST_ID_KEYS[i]; i++)
		if (!strcmp(key, SBX_MANIFEST_ID_KEYS[i]))
			return 1;
	return 0;
}

/* Walks `v`; id_key says whether v is the value of a listed key. */
static int
walk(const json_t *v, int id_key, sbx_manifest_ref_fn fn, void *arg)
{
	struct sbx_oid id;
	const char *key;
	json_t *child;
	size_t i;
	int r;

	switch (json_typeof(v)) {
	case JSON_STRING:
		if (sbx_manifest_parse_ref(json_string_value(v), &id))
			return fn(&id, arg);
		if (id_key && sbx_oid_is_hex(json_string_value(v))) {
			sbx_oid_from_hex(json_string_value(v), &id, NULL);
			return fn(&id, arg);
		}
		return 0;
	case JSON_ARRAY:
		json_array_foreach(v, i, child)
			if ((r = walk(child, id_key, fn, arg)) != 0)
				return r;
		return 0;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, child)
			if ((r = walk(child, is_id_key(key), fn, arg)) != 0)
				return r;
		return 0;
	default:
		return 0;
	}
}

int
sbx_manifest_walk(const json_t *m, sbx_manifest_ref_fn fn, void *arg)
{
	return walk(m, 0, fn, arg);
}
