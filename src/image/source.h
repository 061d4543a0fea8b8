/*
 * source.h - root file system sources read with libarchive: `tar: PATH`
 * and `oci: PATH`, and the entry loop shared with debian.c.
 *
 * A source is read twice: sbx_source_measure() sums what it holds (bytes
 * and entries, to size the image; for OCI it also reads the whiteouts of
 * every layer) and sbx_source_write() streams it into an ext4 writer.
 *
 * Archives are untrusted: entry paths are normalised ("./usr//bin/" is
 * "usr/bin") and an entry that is absolute, climbs with "..", or hard
 * links to such a path is refused with
 *   "'ARCHIVE': entry 'PATH': path leaves the root"
 * (SBX_EINVAL). Symlink targets are kept as they are: the image is a root
 * of its own and a link is resolved inside it. A damaged archive is
 * "'ARCHIVE': ...libarchive's reason..." (SBX_EINVAL).
 *
 * Threads: no global state; one thread per call.
 */
#ifndef SBX_IMAGE_SOURCE_H
#define SBX_IMAGE_SOURCE_H

#include <stdint.h>

struct archive;
struct sbx_err;
struct sbx_ext4;
struct sbx_strvec;

enum sbx_source_kind {
	SBX_SOURCE_TAR = 1,	/* any archive libarchive reads */
	SBX_SOURCE_OCI,		/* OCI layout directory or docker-save tar */
};

struct sbx_source_stats {
	uint64_t bytes;		/* sum of regular file sizes */
	uint64_t entries;	/* all entries */
	unsigned layers;	/* OCI layers (1 for tar) */
};

struct sbx_source;

/* Opens and measures a source. *out is freed with sbx_source_free. */
int sbx_source_open(enum sbx_source_kind kind, const char *path,
    struct sbx_source **out, struct sbx_err *e);
const struct sbx_source_stats *sbx_source_stats(const struct sbx_source *s);
/* Writes the source into `w` (layers in order, whiteouts honoured). */
int sbx_source_write(struct sbx_source *s, struct sbx_ext4 *w,
    struct sbx_err *e);
void sbx_source_free(struct sbx_source *s);

/* ---- the entry loop (also used for .deb data) ---------------------- */

/* Flags for sbx_archive_apply. */
enum {
	SBX_ARCHIVE_WHITEOUTS = 1 << 0,	/* skip .wh. entries (applied by
					   the caller beforehand) */
};

/*
 * Called for each entry written, with its normalised path and whether it
 * is a directory; returns 0 to go on. May be NULL.
 */
typedef int (*sbx_archive_entry_fn)(const char *path, int isdir, void *arg);

/*
 * Writes every entry of the open reader `a` into `w`. `name` names the
 * archive in messages. Returns 0 or a negative code.
 */
int sbx_archive_apply(struct archive *a, const char *name,
    struct sbx_ext4 *w, int flags, sbx_archive_entry_fn fn, void *arg,
    struct sbx_err *e);

/*
 * Normalises an archive path into `out` (size PATH_MAX): strips "./" and
 * "/" runs, "." components and the trailing '/'. Returns 0, or -1 if
 * the path is absolute or has a ".." component (or is too long).
 */
int sbx_archive_norm_path(const char *in, char *out, size_t outsz);

/*
 * Opens member `member` of the archive file `outer` (a tar, or the ar of
 * a .deb; `member` may end in '*' to match a prefix, "data.tar*") as an
 * archive reader of its own (any format and compression). *out is freed
 * with sbx_archive_close_member. SBX_ENOENT if there is no such member.
 */
int sbx_archive_open_member(const char *outer, const char *member,
    struct archive **out, struct sbx_err *e);
void sbx_archive_close_member(struct archive *a);

/* Opens a whole archive file for reading (any format, any filter). */
int sbx_archive_open_file(const char *path, struct archive **out,
    struct sbx_err *e);

#endif
