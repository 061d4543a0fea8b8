/*
 * ext4.h - writing ext4 images directly with libext2fs.
 *
 * An image is formatted once (mke2fs, used as a format step only: it lays
 * out an empty file system in a sparse file) and then every byte of
 * content is written through libext2fs: no mount, no root privileges, no
 * staging directory. Entries are added one at a time, in any order, the
 * way an archive is read:
 *
 *	sbx_ext4_create("root.img", size, inodes, &w, e);
 *	sbx_ext4_add(w, &entry, e);		// dir, symlink, device, ...
 *	sbx_ext4_file_begin(w, &entry, e);	// regular file, then
 *	sbx_ext4_file_write(w, off, data, n, e);	// ... its data
 *	sbx_ext4_file_end(w, e);
 *	sbx_ext4_close(w, e);			// flushes; 0 = image complete
 *
 * Layer semantics: an entry replaces whatever is at its path (a directory
 * replaced by a non-directory goes with its whole tree); a directory
 * entry over an existing directory only updates its attributes and keeps
 * the content. Missing parent directories are created (0755, root).
 * Symlinks met in the *parent* components of a path are followed inside
 * the image (an absolute target starts at the image root, ".." stops at
 * the root), as dpkg and tar do; the final component is never followed
 * (except with SBX_EXT4_KEEP_DIR_SYMLINKS for directories).
 *
 * Paths are relative to the image root, '/'-separated, without "." or
 * ".." components or empty components ("usr/bin/env"); "" is the root
 * itself. Callers (source.c) validate and normalise archive paths first;
 * the writer refuses anything else with SBX_EINVAL.
 *
 * Zero blocks of regular files are not written (the file stays sparse).
 *
 * Ownership: a `struct sbx_ext4` owns the open file system; every path it
 * is given is copied if kept. Threads: one thread at a time per writer.
 */
#ifndef SBX_IMAGE_EXT4_H
#define SBX_IMAGE_EXT4_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sbx_buf;
struct sbx_err;
struct sbx_ext4;
struct sbx_progress;

/* One extended attribute ("security.capability", raw value). */
struct sbx_ext4_xattr {
	const char *name;
	const void *value;
	size_t len;
};

/* What is written at one path. */
struct sbx_ext4_entry {
	const char *path;	/* image path, see above */
	mode_t mode;		/* S_IFREG/S_IFDIR/S_IFLNK/S_IFCHR/S_IFBLK/
				   S_IFIFO/S_IFSOCK | permission bits */
	uint32_t uid, gid;
	int64_t mtime, atime, ctime;	/* seconds since the epoch */
	uint32_t mtime_ns, atime_ns, ctime_ns;
	dev_t rdev;		/* devices */
	const char *symlink;	/* S_IFLNK: the target (any string) */
	const char *hardlink;	/* not NULL: a hard link to this image path
				   (mode is then ignored) */
	uint64_t size;		/* regular files: final size (a hole may end
				   the file) */
	const struct sbx_ext4_xattr *xattrs;
	size_t nxattrs;
};

/* Flags for sbx_ext4_set_flags. */
enum {
	/*
	 * A directory entry whose path is an existing symlink to a
	 * directory keeps the symlink (dpkg's rule: "lib/" in a package
	 * lands in usr/lib on a merged-/usr root).
	 */
	SBX_EXT4_KEEP_DIR_SYMLINKS = 1 << 0,
};

/*
 * Creates (or truncates) the sparse file `path` of `size` bytes (rounded
 * up to 4 KiB), formats it as ext4 with at least `inodes` inodes (0:
 * mke2fs's default ratio) and opens it for writing. mke2fs must be on
 * PATH (e2fsprogs). `*out` is freed by sbx_ext4_close or _abort.
 */
int sbx_ext4_create(const char *path, uint64_t size, uint64_t inodes,
    struct sbx_ext4 **out, struct sbx_err *e);
/*
 * Formatting options for byte-identical images: the same inputs with the
 * same `uuid` and `time` give the same image.
 */
struct sbx_ext4_fmt {
	uint64_t size;		/* bytes, rounded up to 4 KiB */
	uint64_t inodes;	/* at least this many; 0 = mke2fs's ratio */
	const unsigned char *uuid; /* 16 bytes: file system UUID and
				   directory hash seed; NULL = random */
	int64_t time;		/* superblock and generated files' times;
				   0 = now */
};

/* sbx_ext4_create with all the options. */
int sbx_ext4_create_fmt(const char *path, const struct sbx_ext4_fmt *fmt,
    struct sbx_ext4 **out, struct sbx_err *e);

/* Opens an existing ext4 image for adding entries. */
int sbx_ext4_open(const char *path, struct sbx_ext4 **out,
    struct sbx_err *e);

/* Sets SBX_EXT4_* flags (default 0). */
void sbx_ext4_set_flags(struct sbx_ext4 *w, int flags);

/*
 * Adds a non-regular entry (or a hard link, or a regular file without
 * data). Errors name the entry: "cannot add 'dev/null' to image
 * 'root.img': ...". SBX_EIO for image errors (full: "no space left",
 * with a hint), SBX_EINVAL for bad paths or a parent that is not a
 * directory, SBX_ENOENT for a hard link to a missing path.
 */
int sbx_ext4_add(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    struct sbx_err *e);

/*
 * Starts a regular file; its data follows with sbx_ext4_file_write (any
 * offsets, each byte at most once) and it is finished by
 * sbx_ext4_file_end, which sets the size and attributes. No other call
 * may come between begin and end.
 */
int sbx_ext4_file_begin(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    struct sbx_err *e);
int sbx_ext4_file_write(struct sbx_ext4 *w, uint64_t off, const void *data,
    size_t len, struct sbx_err *e);
int sbx_ext4_file_end(struct sbx_ext4 *w, struct sbx_err *e);

/*
 * Adds a whole regular file from memory or from the host file `src`
 * (guest binaries, configuration). Parents are created as needed.
 */
int sbx_ext4_add_data(struct sbx_ext4 *w, const char *path, const void *data,
    size_t len, mode_t perm, uint32_t uid, uint32_t gid, struct sbx_err *e);
int sbx_ext4_add_file(struct sbx_ext4 *w, const char *path, const char *src,
    mode_t perm, uint32_t uid, uint32_t gid, struct sbx_err *e);

/*
 * Removes `path` (a whole tree for a directory). A missing path is not an
 * error. With `contents_only` a directory is emptied but kept (OCI opaque
 * directories).
 */
int sbx_ext4_remove(struct sbx_ext4 *w, const char *path, int contents_only,
    struct sbx_err *e);

/*
 * Appends the content of regular file `path` of the image to `out` (at
 * most `max` bytes, else SBX_EINVAL). SBX_ENOENT when it does not exist.
 */
int sbx_ext4_read_file(struct sbx_ext4 *w, const char *path,
    struct sbx_buf *out, size_t max, struct sbx_err *e);

/* The time for generated entries: sbx_ext4_fmt.time, or now. */
int64_t sbx_ext4_now(const struct sbx_ext4 *w);

/* 1 if `path` exists in the image (parents' symlinks followed), else 0. */
int sbx_ext4_exists(struct sbx_ext4 *w, const char *path);

/*
 * Counts file data bytes (holes included) on meter `p` (not owned; NULL
 * to stop).
 */
void sbx_ext4_set_progress(struct sbx_ext4 *w, struct sbx_progress *p);

/* Bytes of file data written so far (for throughput figures). */
uint64_t sbx_ext4_bytes_written(const struct sbx_ext4 *w);

/*
 * Flushes and closes the image and frees `w`. Returns 0 only when every
 * byte reached the file (and was fsync'd).
 */
int sbx_ext4_close(struct sbx_ext4 *w, struct sbx_err *e);
/* Closes without flushing (after an error); the file is left as it is. */
void sbx_ext4_abort(struct sbx_ext4 *w);

/*
 * A size for an image holding `content` bytes in `nfiles` entries with
 * `extra` free bytes: content rounded per block, plus metadata, journal
 * and a margin. Never below 64 MiB.
 */
uint64_t sbx_ext4_size_for(uint64_t content, uint64_t nfiles, uint64_t extra);

#endif
