/*
 * manifest.h - JSON manifests stored as objects, and the reference
 * convention gc relies on.
 *
 * A manifest is a JSON object (template, image, snapshot, disk layer
 * chain...) stored as an ordinary object in canonical form: keys sorted,
 * compact (no whitespace), UTF-8, so equal content always gets the same
 * id. Manifests larger than SBX_MANIFEST_MAX are refused.
 *
 * How a manifest refers to other objects (the convention gc follows; it
 * knows no manifest types):
 *
 *   1. Any string value, at any depth, of the form "sha:<64 hex>" is a
 *      reference to that object. Write new fields this way
 *      (sbx_manifest_ref_str makes the string). The "sha:" prefix names
 *      the store's hash, BLAKE2b-256, for historical brevity.
 *   2. A bare 64-hex string, or an array of them, that is the value of a
 *      key named in SBX_MANIFEST_ID_KEYS (at any depth) is a reference:
 *      image, head, parent, memory, disk, layers, kernel, initramfs,
 *      rootfs, manifest, snapshot, object, objects, state_object.
 *
 * Nothing else is. A referenced object that is itself a manifest (its
 * content is a JSON object of at most SBX_MANIFEST_MAX bytes) is walked
 * in turn, so a ref to a snapshot manifest keeps its memory, state, disk
 * layers and whole parent chain alive. The same rules apply to
 * sandbox.json (registry.h).
 *
 * Threads: no shared state; json_t values follow jansson's rules.
 */
#ifndef SBX_STORE_MANIFEST_H
#define SBX_STORE_MANIFEST_H

#include <jansson.h>

#include "store/store.h"

#define SBX_MANIFEST_MAX (16 * 1024 * 1024)
/* "sha:" + 64 hex + NUL */
#define SBX_MANIFEST_REF_SIZE (4 + SBX_OID_HEXLEN + 1)

/* NULL-terminated list of keys whose bare-hex values are references. */
extern const char *const SBX_MANIFEST_ID_KEYS[];

/* Writes "sha:<hex>" into out. */
void sbx_manifest_ref_str(const struct sbx_oid *id,
    char out[SBX_MANIFEST_REF_SIZE]);
/* A new JSON string "sha:<hex>" for `id`. */
json_t *sbx_manifest_ref_json(const struct sbx_oid *id);
/* 1 and *id set if `s` is exactly "sha:<64 lowercase hex>". */
int sbx_manifest_parse_ref(const char *s, struct sbx_oid *id);

/*
 * The canonical text of `m` (sorted keys, compact), newly allocated
 * (free() it), or NULL if `m` is not an object or cannot be encoded.
 */
char *sbx_manifest_canonical(const json_t *m);
/* Stores `m` (a JSON object) in canonical form; *id gets its id. */
int sbx_manifest_put(struct sbx_store *s, const json_t *m,
    struct sbx_oid *id, struct sbx_err *e);
/*
 * Loads the manifest `id` (caller json_decref's *out). SBX_ENOENT if
 * missing; SBX_ECORRUPT if the object is not a JSON object (message names
 * the object, line and column) or fails its hash.
 */
int sbx_manifest_load(struct sbx_store *s, const struct sbx_oid *id,
    json_t **out, struct sbx_err *e);

/*
 * Calls fn(id, arg) for every object `m` references by the convention
 * above, depth first, in document order (duplicates are reported again).
 * Does not follow into referenced objects. fn returns 0 to go on; any
 * other value stops the walk and is returned.
 */
typedef int (*sbx_manifest_ref_fn)(const struct sbx_oid *id, void *arg);
int sbx_manifest_walk(const json_t *m, sbx_manifest_ref_fn fn, void *arg);

#endif
