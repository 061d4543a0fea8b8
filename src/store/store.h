/*
 * store.h - the content-addressed object store under $SBX_HOME.
 *
 * Layout (DESIGN.md 7), created on first open:
 *
 *   $SBX_HOME/format             "1\n": the layout version (SBX_STORE_FORMAT)
 *   $SBX_HOME/lock               store-wide lock (flock), see "Locking"
 *   $SBX_HOME/objects/ab/cd...   immutable blobs named by BLAKE2b-256
 *   $SBX_HOME/refs/<kind>/<name> one line: the hex id of an object (refs.h)
 *   $SBX_HOME/sandboxes/<id>/    sandbox.json and the sandbox's files
 *                                (registry.h)
 *   $SBX_HOME/tmp/               temporary files; all writes start here
 *
 * Objects are named by the BLAKE2b-256 hash (libsodium crypto_generichash,
 * 32 bytes, no key) of their content: objects/<2 hex>/<62 hex>. They are
 * written to tmp/, fsync'd, hard-linked (or renamed) into place without
 * ever replacing an existing object, and the fan-out directory is
 * fsync'd; object files are read-only (0444) and never modified, so they
 * can be mmap'd MAP_PRIVATE. A crash leaves at most a stray file in tmp/,
 * which `sbx gc` removes once it is an hour old.
 *
 * Locking. gc deletes objects nothing references, so it must not run
 * between a writer storing an object and the writer referencing it (a
 * ref, a sandbox.json, a manifest). gc holds $SBX_HOME/lock *exclusive*
 * for its whole mark and sweep; writers hold it *shared*:
 *
 *   - Calls that create objects (sbx_store_put_*, sbx_store_tmpfile,
 *     sbx_manifest_put) take it and keep it ("sticky") until
 *     sbx_store_write_done() or sbx_store_close(): the new objects are not
 *     referenced yet.
 *   - Calls that only write references (sbx_ref_write, sbx_sandbox_create,
 *     sbx_sandbox_save, sbx_sandbox_remove) take it for their own duration
 *     when the handle does not hold it, and leave a sticky hold alone.
 *
 * So "put, put, write ref" from one handle is atomic with respect to gc
 * without the caller doing anything, any number of writers run in
 * parallel, and a command that only updates sandbox.json does not keep gc
 * waiting. Short-lived processes just close the store; a process that
 * stores objects and then runs for long (sbx serve, sbx-vmm, a command
 * that waits for a guest) calls sbx_store_write_done() once its new
 * objects are referenced, otherwise gc waits for it and then fails with
 * "store is busy". Deleting a ref needs no lock. flock gives waiting gc no
 * priority: gc gets in between writes, so a store written to without
 * pause starves it until its timeout (SBX_EBUSY) rather than stalling the
 * writers.
 *
 * Threads: a struct sbx_store may be used by one thread at a time.
 * Different processes (and different handles) may use one $SBX_HOME
 * concurrently.
 */
#ifndef SBX_STORE_STORE_H
#define SBX_STORE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#include "core/err.h"

struct sbx_buf;
struct sbx_store;

/* ---- object ids ---------------------------------------------------- */

#define SBX_OID_RAWLEN 32
#define SBX_OID_HEXLEN 64

struct sbx_oid {
	unsigned char hash[SBX_OID_RAWLEN];
};

/* Lowercase hex of `id` into `out` (SBX_OID_HEXLEN + 1 bytes, NUL'd). */
void sbx_oid_to_hex(const struct sbx_oid *id, char *out);
/*
 * Parses exactly 64 lowercase hex digits (nothing before or after).
 * Errors are SBX_EINVAL naming the input.
 */
int sbx_oid_from_hex(const char *hex, struct sbx_oid *out,
    struct sbx_err *e);
/* 1 if `s` is exactly 64 lowercase hex digits. */
int sbx_oid_is_hex(const char *s);
int sbx_oid_cmp(const struct sbx_oid *a, const struct sbx_oid *b);
/* The id `data` would get as an object. */
void sbx_oid_hash(const void *data, size_t len, struct sbx_oid *out);

/* Incremental hashing, for callers that hash while writing. */
struct sbx_hasher {
	crypto_generichash_state st;
};
void sbx_hasher_init(struct sbx_hasher *h);
void sbx_hasher_update(struct sbx_hasher *h, const void *data, size_t len);
void sbx_hasher_final(struct sbx_hasher *h, struct sbx_oid *out);

/* ---- the store ----------------------------------------------------- */

#define SBX_STORE_FORMAT 1

/*
 * Opens the store at `home`, creating the directory (0700, parents too)
 * and the layout if missing. Initializes libsodium. A store whose format
 * file names another format is refused (SBX_ENOTSUP). *out is owned by
 * the caller and freed with sbx_store_close().
 */
int sbx_store_open(const char *home, struct sbx_store **out,
    struct sbx_err *e);
/* Releases any lock and frees `s` (NULL is fine). */
void sbx_store_close(struct sbx_store *s);

/* The home directory as given to open (owned by `s`). */
const char *sbx_store_home(const struct sbx_store *s);
/* Returns a newly allocated "$SBX_HOME/<rel>" (free() it). */
char *sbx_store_path(const struct sbx_store *s, const char *rel);

/*
 * How long lock acquisitions wait (milliseconds) before failing with
 * SBX_EBUSY: the shared store lock taken by writers and the exclusive one
 * taken by gc. Default 60000.
 */
void sbx_store_set_lock_timeout(struct sbx_store *s, unsigned ms);

/*
 * Takes the store lock shared and keeps it until sbx_store_write_done()
 * (no-op when already held by `s`). The object-creating calls do this
 * themselves; call it to cover work done outside this API, for instance
 * reading an object id from one ref and writing it into another.
 */
int sbx_store_write_begin(struct sbx_store *s, struct sbx_err *e);
/*
 * Ends a write: releases the store lock (shared or exclusive), so gc may
 * run. Every object stored through `s` must be referenced by now. No-op
 * if not held.
 */
void sbx_store_write_done(struct sbx_store *s);
/*
 * Takes the store lock exclusive (for gc), waiting up to the lock
 * timeout; drops a shared hold of `s` first. Released by
 * sbx_store_write_done() or close.
 */
int sbx_store_lock_exclusive(struct sbx_store *s, struct sbx_err *e);

/*
 * Creates an empty temporary file in $SBX_HOME/tmp named "<tag>-XXXXXX"
 * (tag: letters, digits, '-'), opened O_RDWR|O_CLOEXEC. *path is set to a
 * newly allocated path (free() it); the caller closes *fd. Put it into
 * the store with sbx_store_put_path() or unlink it.
 */
int sbx_store_tmpfile(struct sbx_store *s, const char *tag, char **path,
    int *fd, struct sbx_err *e);

/* ---- objects ------------------------------------------------------- */

/* Stores `len` bytes of `data`; *id (may be NULL) receives its id. */
int sbx_store_put_buf(struct sbx_store *s, const void *data, size_t len,
    struct sbx_oid *id, struct sbx_err *e);
/*
 * Stores everything read from `fd` until EOF, hashing while copying into
 * tmp/. `fd` stays open and is left at EOF. *size (may be NULL) gets the
 * byte count. Storing existing content is not an error.
 */
int sbx_store_put_fd(struct sbx_store *s, int fd, struct sbx_oid *id,
    uint64_t *size, struct sbx_err *e);
/* Like sbx_store_put_fd on the file at `path` (which is left alone). */
int sbx_store_put_file(struct sbx_store *s, const char *path,
    struct sbx_oid *id, uint64_t *size, struct sbx_err *e);
/*
 * Moves the finished file at `path` into the store without copying it:
 * the file is fsync'd, made read-only and hard-linked (else renamed) to
 * its object name; `path` is gone afterwards, also when the object
 * already existed. Meant for big files (disk layers, memory) written into
 * sbx_store_tmpfile(). `known` is the content's id if the caller hashed
 * it while writing (trusted: sbx_store_verify finds a wrong one), or NULL
 * to hash the file here. If `path` is on another file system the content
 * is copied. Nobody may write to `path` any more.
 */
/* The id `path`'s content would have as an object (reads it whole). */
int sbx_store_hash_path(const char *path, struct sbx_oid *id,
    struct sbx_err *e);
int sbx_store_put_path(struct sbx_store *s, const char *path,
    const struct sbx_oid *known, struct sbx_oid *id, struct sbx_err *e);

/*
 * Finds the object a user means by `query`: a full id or a unique prefix
 * of at least SBX_OID_PREFIX_MIN hex digits, optionally after "sha:"
 * (upper case accepted). SBX_ENOENT if no object matches, SBX_EUSAGE if
 * the query is malformed, too short or ambiguous (naming two matches).
 */
#define SBX_OID_PREFIX_MIN 4
int sbx_store_object_resolve(struct sbx_store *s, const char *query,
    struct sbx_oid *id, struct sbx_err *e);

/* 1 if the object exists, 0 if not. */
int sbx_store_object_exists(struct sbx_store *s, const struct sbx_oid *id);
/*
 * The object's file name, newly allocated (free() it); for mmap. The file
 * may not exist: check with sbx_store_object_exists or open it.
 */
char *sbx_store_object_path(const struct sbx_store *s,
    const struct sbx_oid *id);
/* Opens the object read-only; missing objects are SBX_ENOENT. */
int sbx_store_object_open(struct sbx_store *s, const struct sbx_oid *id,
    int *fd, struct sbx_err *e);
/* Size in bytes; missing objects are SBX_ENOENT. */
int sbx_store_object_size(struct sbx_store *s, const struct sbx_oid *id,
    uint64_t *size, struct sbx_err *e);
/*
 * Appends the object's content to `b` (whose cap, if any, applies:
 * SBX_EINVAL past it). Does not verify the hash.
 */
int sbx_store_object_read(struct sbx_store *s, const struct sbx_oid *id,
    struct sbx_buf *b, struct sbx_err *e);
/*
 * Rehashes the object. SBX_ECORRUPT (message names the object and its
 * path) when the content does not match the name; SBX_ENOENT if missing.
 */
int sbx_store_object_verify(struct sbx_store *s, const struct sbx_oid *id,
    struct sbx_err *e);
/* Removes one object (gc). A missing object is not an error. */
int sbx_store_object_remove(struct sbx_store *s, const struct sbx_oid *id,
    struct sbx_err *e);

/*
 * Calls fn for every object (order unspecified) with its id and size.
 * Files in objects/ that are not object names are skipped. fn returns 0
 * to continue; any other value stops the walk and is returned.
 */
typedef int (*sbx_object_fn)(const struct sbx_oid *id, uint64_t size,
    void *arg);
int sbx_store_foreach_object(struct sbx_store *s, sbx_object_fn fn,
    void *arg, struct sbx_err *e);

/*
 * Rehashes every object. For each corrupt (or unreadable) one calls
 * bad(id, err, arg) if bad is not NULL. *nbad (may be NULL) gets the
 * count. Returns SBX_ECORRUPT if any object is bad (e describes the last
 * one), 0 if all are good, or another error if the walk itself failed.
 */
typedef void (*sbx_verify_fn)(const struct sbx_oid *id,
    const struct sbx_err *err, void *arg);
int sbx_store_verify(struct sbx_store *s, sbx_verify_fn bad, void *arg,
    size_t *nbad, struct sbx_err *e);

#endif
