/*
 * catalog.c - the templates a name reaches and the ones the store has
 * built, as one JSON listing (catalog.h).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
#include "template/catalog.h"
#include "template/template.h"
#include "core/banned.h"

/* Parses one entry of the listing (a file, or a builtin). */
static int
entry_load(const struct sbx_template_entry *en, struct sbx_template **t,
    struct sbx_err *e)
{
	const char *text;
	char *path;
	size_t len;
	int rc;

	if (en->path)
		return sbx_template_load(en->path, t, e);
	text = sbx_template_builtin(en->name, &len);
	path = xasprintf("<builtin>/%s.yaml", en->name);
	rc = sbx_template_parse(text, len, path, "", t, e);
	free(path);
	return rc;
}

/* The first line of a description (descriptions may be block scalars). */
static json_t *
first_line(const char *s)
{
	return s ? json_stringn(s, strcspn(s, "\n")) : json_string("");
}

/*
 * What `sbx build` left for template `name`: the manifest of its ready
 * snapshot (*m, the caller's), or NULL.
 */
static json_t *
built_manifest(struct sbx_store *s, const char *name)
{
	struct sbx_oid id;
	json_t *m = NULL;

	if (!s || sbx_ref_name_check("template name", name, NULL) < 0 ||
	    sbx_ref_read(s, "templates", name, &id, NULL) < 0 ||
	    sbx_manifest_load(s, &id, &m, NULL) < 0)
		return NULL;
	return m;
}

#define CHAIN_MAX 256	/* snapshots followed for a template's size */

/*
 * The store bytes a built template's snapshots hold: what its ready
 * snapshot and each parent before it (its build steps) added. The image
 * it runs on is shared with others and not counted.
 */
static uint64_t
snapshot_bytes(struct sbx_store *s, json_t *m)
{
	const char *ref = json_string_value(json_object_get(m, "snapshot"));
	char cur[4 + SBX_OID_HEXLEN + 1];
	uint64_t sum = 0;
	int i;

	if (!ref || strlen(ref) >= sizeof(cur))
		return 0;
	memcpy(cur, ref, strlen(ref) + 1);
	for (i = 0; i < CHAIN_MAX; i++) {
		struct sbx_oid id;
		json_t *sm = NULL;
		json_int_t add;

		if (strncmp(cur, "sha:", 4) ||
		    sbx_oid_from_hex(cur + 4, &id, NULL) < 0 ||
		    sbx_manifest_load(s, &id, &sm, NULL) < 0)
			break;
		add = json_integer_value(json_object_get(sm, "added_bytes"));
		if (add > 0)
			sum += (uint64_t)add;
		ref = json_string_value(json_object_get(sm, "parent"));
		if (!ref || strlen(ref) >= sizeof(cur)) {
			json_decref(sm);
			break;
		}
		memcpy(cur, ref, strlen(ref) + 1);
		json_decref(sm);
	}
	return sum;
}

static json_t *
built_json(struct sbx_store *s, json_t *m)
{
	if (!m)
		return json_null();
	return json_pack("{s:O?, s:I, s:I}", "snapshot", json_object_get(m,
	    "snapshot"), "time", json_integer_value(json_object_get(m,
	    "time")), "bytes", (json_int_t)snapshot_bytes(s, m));
}

json_t *
sbx_template_catalog(const char *home)
{
	struct sbx_template_entry *ents;
	struct sbx_strvec built = SBX_STRVEC_INIT;
	struct sbx_store *store = NULL;
	json_t *arr = json_array();
	char *fmt = xasprintf("%s/format", home);
	size_t n, i, j;

	if (access(fmt, F_OK) == 0 && sbx_store_open(home, &store, NULL) < 0)
		store = NULL;
	free(fmt);
	sbx_template_list(home, &ents, &n);
	for (i = 0; i < n; i++) {
		struct sbx_template *t = NULL;
		struct sbx_err e;
		json_t *o, *m;

		sbx_err_clear(&e);
		o = json_pack("{s:s, s:s, s:s?}", "name", ents[i].name,
		    "origin", sbx_template_origin_name(ents[i].origin),
		    "path", ents[i].path);
		if (entry_load(&ents[i], &t, &e) < 0) {
			json_object_set_new(o, "description", json_string(""));
			json_object_set_new(o, "valid", json_false());
			json_object_set_new(o, "error", json_string(e.msg));
		} else {
			json_object_set_new(o, "description",
			    first_line(t->description));
			json_object_set_new(o, "valid", json_true());
		}
		sbx_template_free(t);
		m = built_manifest(store, ents[i].name);
		json_object_set_new(o, "built", built_json(store, m));
		json_decref(m);
		json_array_append_new(arr, o);
	}
	/* Built templates no name reaches any more (built from a file). */
	if (store)
		sbx_ref_list(store, "templates", &built, NULL);
	for (j = 0; j < built.nr; j++) {
		json_t *m;

		for (i = 0; i < n; i++)
			if (!strcmp(ents[i].name, built.v[j]))
				break;
		if (i < n || !(m = built_manifest(store, built.v[j])))
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:O?, "
		    "s:b, s:o}", "name", built.v[j], "description",
		    first_line(json_string_value(json_object_get(m,
		    "description"))), "origin", "store", "path",
		    json_object_get(m, "source"), "valid", 1, "built",
		    built_json(store, m)));
		json_decref(m);
	}
	sbx_strvec_clear(&built);
	sbx_template_entries_free(ents, n);
	sbx_store_close(store);
	return arr;
}
