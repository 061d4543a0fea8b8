/*
 * refs.h - named pointers to objects: $SBX_HOME/refs/<kind>/<name>.
 *
 * A ref file holds one line: the 64-hex id of an object, then "\n". It is
 * replaced atomically (temp file in tmp/ + fsync + rename + fsync of the
 * directory), so a reader sees the old or the new id, never a mix.
 * Kinds in use: "templates" (template manifests), "snapshots" (named
 * snapshot manifests); any kind that passes sbx_ref_name_check works and
 * its directory is created on first write. Every ref is a gc root.
 *
 * Names (and kinds): 1..SBX_REF_NAME_MAX bytes of [A-Za-z0-9._-], not
 * starting with '.' or '-', no "..". So no '/', no hidden files, no
 * option look-alikes.
 *
 * Same threading rules as store.h. Writes take the store lock shared
 * (see store.h, "Locking").
 */
#ifndef SBX_STORE_REFS_H
#define SBX_STORE_REFS_H

#include "store/store.h"

struct sbx_strvec;

#define SBX_REF_NAME_MAX 100

/*
 * 0 if `name` is a valid ref name, else SBX_EINVAL with a message naming
 * `what` ("template name", "ref kind", ...) and the problem.
 */
int sbx_ref_name_check(const char *what, const char *name,
    struct sbx_err *e);

/* Points refs/<kind>/<name> at `id` (creating or replacing it). */
int sbx_ref_write(struct sbx_store *s, const char *kind, const char *name,
    const struct sbx_oid *id, struct sbx_err *e);
/*
 * Reads refs/<kind>/<name>. SBX_ENOENT ("no <kind> ref 'name'") if it
 * does not exist; SBX_ECORRUPT naming the file if it does not hold an id.
 */
int sbx_ref_read(struct sbx_store *s, const char *kind, const char *name,
    struct sbx_oid *id, struct sbx_err *e);
/* Removes refs/<kind>/<name>; SBX_ENOENT if it does not exist. */
int sbx_ref_delete(struct sbx_store *s, const char *kind, const char *name,
    struct sbx_err *e);
/* Appends the sorted names of refs of `kind` to `out` (none: empty). */
int sbx_ref_list(struct sbx_store *s, const char *kind,
    struct sbx_strvec *out, struct sbx_err *e);
/*
 * Calls fn(kind, name, id, arg) for every ref of every kind. A ref that
 * does not hold an id stops the walk with SBX_ECORRUPT (gc must not guess
 * what it pointed at). fn returns 0 to go on; other values stop the walk
 * and are returned.
 */
typedef int (*sbx_ref_fn)(const char *kind, const char *name,
    const struct sbx_oid *id, void *arg);
int sbx_ref_foreach(struct sbx_store *s, sbx_ref_fn fn, void *arg,
    struct sbx_err *e);

#endif
