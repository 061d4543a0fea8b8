/*
 * gc.h - garbage collection of the object store (`sbx gc`).
 *
 * Mark: every ref (refs.h), every sandboxes/<id>/sandbox.json (registry.h)
 * and, recursively, every reachable manifest (manifest.h gives the
 * reference convention). Sweep: objects not marked are deleted, and
 * entries of tmp/ older than tmp_max_age (crashed writers' leftovers).
 *
 * Safety: sbx_gc holds the store lock exclusive from before the mark
 * until after the sweep, and every writer holds it shared from its first
 * object put until its references are written (store.h, "Locking"), so an
 * object cannot be stored and referenced while gc decides. A ref or
 * sandbox.json gc cannot parse stops gc with an error naming the file,
 * before anything is deleted: gc never guesses what it referred to.
 */
#ifndef SBX_STORE_GC_H
#define SBX_STORE_GC_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum sbx_gc_kind {
	SBX_GC_OBJECT,		/* name = 64-hex object id */
	SBX_GC_TMP,		/* name = entry name in tmp/ */
};

struct sbx_gc_opts {
	int dry_run;			/* report, delete nothing */
	unsigned tmp_max_age_s;		/* tmp/ entries older than this go */
	/* Called for each removed (or, dry run, removable) entry; or NULL. */
	void (*report)(enum sbx_gc_kind kind, const char *name,
	    uint64_t size, void *arg);
	void *arg;
};

#define SBX_GC_TMP_MAX_AGE_DEFAULT 3600

struct sbx_gc_stats {
	size_t objects_kept;
	uint64_t bytes_kept;
	size_t objects_removed;		/* would be removed on a dry run */
	uint64_t bytes_removed;
	size_t tmp_removed;
	uint64_t tmp_bytes_removed;
	size_t roots;			/* refs + sandboxes */
	size_t missing;			/* referenced ids with no object */
};

/* Sets the defaults: not a dry run, tmp max age one hour, no report. */
void sbx_gc_opts_init(struct sbx_gc_opts *o);

/*
 * Runs gc on `s`. Waits for the store lock (timeout: see
 * sbx_store_set_lock_timeout; SBX_EBUSY after it) and releases it before
 * returning. *st is filled also on failure (what was done so far).
 */
int sbx_gc(struct sbx_store *s, const struct sbx_gc_opts *o,
    struct sbx_gc_stats *st, struct sbx_err *e);

#endif
