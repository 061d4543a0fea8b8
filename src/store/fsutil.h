/*
 * fsutil.h - durable file-system helpers used by the store.
 *
 * Durability rule (STYLE.md 10): a file that matters is written under a
 * temporary name in the same file system, fsync'd, renamed over its final
 * name, and the directory holding it is fsync'd. A crash at any point
 * leaves either the old or the new content under the final name.
 *
 * All functions are thread-safe in the sense that they keep no state; they
 * return 0 or a negative SBX_E* code and fill `e` (which may be NULL).
 */
#ifndef SBX_STORE_FSUTIL_H
#define SBX_STORE_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

struct sbx_err;

/* fsync()s the directory `path`. */
int sbx_fs_fsync_dir(const char *path, struct sbx_err *e);

/* fsync()s the directory that holds `path` (its dirname). */
int sbx_fs_fsync_parent(const char *path, struct sbx_err *e);

/*
 * Creates directory `path` with `mode` if missing. When it was created,
 * the parent directory is fsync'd. An existing non-directory is an error.
 */
int sbx_fs_mkdir(const char *path, mode_t mode, struct sbx_err *e);

/*
 * Creates `path` and any missing parents (like mkdir -p), each with
 * `mode`.
 */
int sbx_fs_mkdir_p(const char *path, mode_t mode, struct sbx_err *e);

/* Writes all `len` bytes of `data` to `fd` (EINTR and short writes). */
int sbx_fs_write_all(int fd, const void *data, size_t len, const char *what,
    struct sbx_err *e);

/*
 * Atomically replaces `path` with `data`: writes a temporary file in
 * `tmpdir` (which must be on the same file system; NULL = the directory of
 * `path`), fsyncs it, sets `mode`, renames it to `path` and fsyncs the
 * directory of `path`. On failure the temporary file is removed and `path`
 * is untouched.
 */
int sbx_fs_write_atomic(const char *path, const char *tmpdir,
    const void *data, size_t len, mode_t mode, struct sbx_err *e);

/*
 * Removes `path` and everything below it (like rm -rf, never following
 * symlinks). A missing path is not an error.
 */
int sbx_fs_remove_tree(const char *path, struct sbx_err *e);

#endif
