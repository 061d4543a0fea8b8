/*
 * cpio.h - writing initramfs archives (cpio "newc", optionally gzip'd)
 * with libarchive.
 *
 * The output is reproducible: every entry is owned by 0:0, dated 0 and
 * numbered in the order added, so the same entries give the same bytes.
 * Missing parent directories are added automatically (mode 0755) before
 * the first entry that needs them, as the kernel's unpacker requires.
 * The file is written to a temporary name, fsync'd and renamed into place
 * by sbx_cpio_close, so readers never see a partial archive.
 *
 * Typical use:
 *
 *	struct sbx_cpio *c;
 *	struct sbx_cpio_entry init = {
 *		.path = "init", .type = SBX_CPIO_FILE, .mode = 0755,
 *		.src = "/path/to/init.sh",
 *	};
 *	if (sbx_cpio_open(&c, "initrd.cpio.gz", SBX_CPIO_GZIP, e) < 0)
 *		return ...;
 *	if (sbx_cpio_add(c, &init, e) < 0) {
 *		sbx_cpio_abort(c);
 *		return ...;
 *	}
 *	return sbx_cpio_close(c, e);
 *
 * Threads: one writer is used by one thread at a time.
 */
#ifndef SBX_IMAGE_CPIO_H
#define SBX_IMAGE_CPIO_H

#include <stddef.h>

struct sbx_err;
struct sbx_cpio;

enum sbx_cpio_type {
	SBX_CPIO_FILE,		/* from `src`, or `data`/`len` when src is NULL */
	SBX_CPIO_DIR,
	SBX_CPIO_SYMLINK,	/* to `target` */
	SBX_CPIO_CHARDEV,	/* device `major`:`minor` */
};

struct sbx_cpio_entry {
	const char *path;	/* in the archive: relative ("bin/sh"); a
				   leading "/" or "./" is dropped; no ".." */
	enum sbx_cpio_type type;
	unsigned mode;		/* permission bits (07777) */
	const char *src;	/* FILE: host file to copy, or NULL */
	const void *data;	/* FILE with src NULL: the contents */
	size_t len;
	const char *target;	/* SYMLINK: where it points */
	unsigned major, minor;	/* CHARDEV */
};

enum {
	SBX_CPIO_GZIP = 1 << 0,	/* gzip the archive (level 6) */
};

/* Starts an archive to be written to `path`. */
int sbx_cpio_open(struct sbx_cpio **out, const char *path, int flags,
    struct sbx_err *e);

/*
 * Adds one entry (and any missing parent directories). A path added twice
 * is refused with SBX_EEXIST, except a directory already present (added
 * or implied), which is a no-op. Errors name the entry's path.
 */
int sbx_cpio_add(struct sbx_cpio *c, const struct sbx_cpio_entry *ent,
    struct sbx_err *e);

/*
 * Finishes the archive, syncs it and renames it to its final path; frees
 * `c` in every case. Returns 0 or a negative code (nothing left behind).
 */
int sbx_cpio_close(struct sbx_cpio *c, struct sbx_err *e);

/* Drops the archive: removes the temporary file and frees `c`. */
void sbx_cpio_abort(struct sbx_cpio *c);

/* Writes `n` entries in one go (open + add each + close). */
int sbx_cpio_write(const char *path, const struct sbx_cpio_entry *ents,
    size_t n, int flags, struct sbx_err *e);

#endif
