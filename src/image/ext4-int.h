/*
 * ext4-int.h - internals shared by ext4.c (entries, data, open/close) and
 * ext4-tree.c (the directory-entry table, path walking, links, removal).
 * Not an API: only those two files include it.
 */
#ifndef SBX_IMAGE_EXT4_INT_H
#define SBX_IMAGE_EXT4_INT_H

#include <stdint.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>

#include "image/ext4.h"

struct sbx_buf;
struct sbx_err;

/* One directory entry the writer knows: (parent, name) -> inode. */
struct dent {
	struct dent *next;
	ext2_ino_t parent;
	ext2_ino_t ino;
	uint16_t mode;
	char name[];
};

struct sbx_ext4 {
	ext2_filsys fs;
	char *img;
	int flags;
	struct dent **tab;
	size_t tabsize, count;
	/* directories whose entries are all in the table */
	uint8_t *complete;
	size_t ncomplete;
	/* the regular file being written */
	ext2_file_t file;
	ext2_ino_t file_ino;
	struct sbx_ext4_entry file_ent;
	char *file_path;
	uint64_t bytes;
	int64_t now;		/* time for generated entries, 0 = now */
	struct sbx_progress *progress;	/* not owned, may be NULL */
};
/* Fills `e` for a libext2fs error while doing `what` to `path`. */
int sbx_e4_fail(struct sbx_ext4 *w, struct sbx_err *e, errcode_t err,
    const char *what, const char *path);
/* The entry `name` (len bytes) of directory `dir`, or NULL (*rc = 0). */
struct dent *sbx_e4_lookup(struct sbx_ext4 *w, ext2_ino_t dir,
    const char *name, size_t len, struct sbx_err *e, int *rc);
/* Links `ino` as `name` into `dir`, growing the directory as needed. */
int sbx_e4_link(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
    ext2_ino_t ino, mode_t mode, const char *path, struct sbx_err *e);
/* Adds `delta` to the link count of `ino`; *out (may be NULL) gets it. */
int sbx_e4_adjust_links(struct sbx_ext4 *w, ext2_ino_t ino, int delta,
    struct ext2_inode_large *out, const char *path, struct sbx_err *e);
/* Unlinks `name` from `dir` (a whole tree when `isdir`). */
int sbx_e4_remove_entry(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
    ext2_ino_t ino, int isdir, const char *path, int depth,
    struct sbx_err *e);
/* SBX_EINVAL unless `path` is a normalised image path (ext4.h). */
int sbx_e4_check_path(struct sbx_ext4 *w, const char *path,
    struct sbx_err *e);
/* Creates directory `name` in `parent` (0755, root); *ino gets it. */
int sbx_e4_mkdir(struct sbx_ext4 *w, ext2_ino_t parent, const char *name,
    ext2_ino_t *ino, const char *path, struct sbx_err *e);
/*
 * The parent directory of `path` (created when `create`) and its last
 * component; *parent = 0 for the root itself. SBX_ENOENT when a parent is
 * missing and not `create`.
 */
int sbx_e4_resolve_parent(struct sbx_ext4 *w, const char *path, int create,
    ext2_ino_t *parent, const char **base, struct sbx_err *e);
/* 1 when `path` leads to a directory (symlinks followed). */
int sbx_e4_dir_path(struct sbx_ext4 *w, const char *path);
/* Frees the table. */
void sbx_e4_tree_free(struct sbx_ext4 *w);

#endif
