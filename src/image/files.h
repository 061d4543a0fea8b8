/*
 * files.h - a template's `files` (host files and directories) copied into
 * an image with the ext4 writer, before any build step runs.
 *
 * Each entry copies `src` to the absolute guest path `dst`: a file
 * becomes the file `dst` (or `dst`/NAME when `dst` ends in '/'); a
 * directory's contents land under the directory `dst`, symlinks copied as
 * symlinks. `mode` (when given) sets the permission bits of the top
 * entry; `owner` ("user", "user:group", names looked up in the image's
 * etc/passwd and etc/group, or numeric "uid:gid") owns everything copied,
 * root by default; a bare user takes the user's primary group.
 *
 * Errors name the template file and the entry's line:
 * "t.yaml:7:10: files: cannot open 'x.conf': no such file".
 *
 * Threads: no shared state.
 */
#ifndef SBX_IMAGE_FILES_H
#define SBX_IMAGE_FILES_H

struct sbx_err;
struct sbx_ext4;
struct sbx_hasher;
struct sbx_template;

/* Copies every entry of t->files into `w`, in order. */
int sbx_files_write(const struct sbx_template *t, struct sbx_ext4 *w,
    struct sbx_err *e);

/*
 * Mixes what the copy depends on into a cache key: each entry's dst,
 * mode and owner, and the names, modes, link targets and contents of
 * everything under its src.
 */
int sbx_files_hash(const struct sbx_template *t, struct sbx_hasher *h,
    struct sbx_err *e);

#endif
