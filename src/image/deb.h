/*
 * deb.h - reading Debian binary packages (.deb) with libarchive.
 *
 * A .deb is an `ar` archive holding, in order, "debian-binary" ("2.0\n"),
 * "control.tar[.gz|.xz|.zst]" and "data.tar[.gz|.xz|.zst|.bz2]". These
 * functions stream the inner tar archives straight out of the ar member;
 * nothing is unpacked to a temporary file and no dpkg is involved.
 *
 * Archives are untrusted input: every entry path is checked before anything
 * is written, and errors name the archive and the entry.
 *
 * Threads: the functions keep no global state; different threads may use
 * them at the same time on different destinations.
 */
#ifndef SBX_IMAGE_DEB_H
#define SBX_IMAGE_DEB_H

#include <stddef.h>

struct sbx_buf;
struct sbx_err;

/* Flags for sbx_deb_extract. */
enum {
	/*
	 * Allow symlinks with absolute targets ("/usr/lib/x"): right when the
	 * destination is a root file system for a guest, where such a link is
	 * resolved inside that root. Without the flag they are refused, as
	 * is any relative target that climbs out of the destination.
	 */
	SBX_DEB_ROOTFS_LINKS = 1 << 0,
};

/*
 * Extracts files of the package's data.tar into the existing directory
 * `dest`, keeping their paths relative to the package root ("./boot/x"
 * becomes "dest/boot/x").
 *
 * `wanted` selects what is extracted: a NULL-terminated list of package
 * paths without leading "./" or "/"; an entry is extracted when its path
 * equals one of them or lies under one ("lib/modules" takes the whole
 * tree). NULL extracts everything. Parent directories of selected entries
 * are created as needed.
 *
 * Refused, with "'<deb>': entry '<path>': ..." in `e` and SBX_EINVAL:
 * absolute paths, ".." components, symlinks whose target leaves `dest`
 * (see SBX_DEB_ROOTFS_LINKS), hard links to paths outside the archive
 * tree, device nodes and FIFOs. Files are created with the archive's
 * permission bits (no set-id bits, owner is the caller); existing files
 * are replaced. A failure part-way leaves what was written so far.
 *
 * When `count` is not NULL it receives the number of entries written.
 * Returns 0, SBX_EINVAL (not a .deb, or a bad entry), SBX_ENOENT (no such
 * file) or SBX_EIO.
 */
int sbx_deb_extract(const char *deb, const char *dest,
    const char *const *wanted, int flags, size_t *count, struct sbx_err *e);

/*
 * Reads the member `name` (e.g. "control", "md5sums") of control.tar into
 * `out` (appended; at most 1 MiB). Returns SBX_ENOENT when the package has
 * no such control file.
 */
int sbx_deb_read_control(const char *deb, const char *name,
    struct sbx_buf *out, struct sbx_err *e);

/*
 * Finds `field` ("Package", "Version", ...) in the text of a control file
 * and returns its value (first line, trimmed) as a malloc'd string, or
 * NULL when absent. Field names compare case-insensitively.
 */
char *sbx_deb_control_field(const char *control, const char *field);

#endif
