/*
 * ext4.c - ext4 images written with libext2fs (see ext4.h).
 *
 * The writer keeps a hash table (parent inode, name) -> (inode, mode) of
 * every directory entry it has seen, so that adding an entry never scans a
 * directory: a directory is read once, the first time a name in it is
 * looked up, and is "complete" in the table from then on (directories the
 * writer creates are complete from birth).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/run.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "core/banned.h"

#define MAX_LINK_DEPTH 40
#define MAX_WALK_DEPTH 1024

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
};

static int ext2_fail(struct sbx_ext4 *w, struct sbx_err *e, errcode_t err,
    const char *what, const char *path)
{
	int code = SBX_EIO;

	if (err == EXT2_ET_BLOCK_ALLOC_FAIL || err == EXT2_ET_INODE_ALLOC_FAIL
	    || err == ENOSPC || err == EXT2_ET_DIR_NO_SPACE_FOR_CSUM) {
		sbx_err_set(e, code, "cannot %s '%s' in image '%s': no space "
		    "left", what, path, w->img);
		sbx_err_hint(e, "the image was sized too small for its "
		    "content; this is a bug in the size estimate");
		return code;
	}
	return sbx_err_set(e, code, "cannot %s '%s' in image '%s': %s", what,
	    path, w->img, error_message(err));
}

/* ---- the (parent, name) table ----------------------------------- */

static uint64_t dent_hash(ext2_ino_t parent, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ULL ^ parent;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct dent **dent_slot(struct sbx_ext4 *w, ext2_ino_t parent,
    const char *name, size_t len)
{
	struct dent **p = &w->tab[dent_hash(parent, name, len) &
	    (w->tabsize - 1)];

	for (; *p; p = &(*p)->next)
		if ((*p)->parent == parent && !strncmp((*p)->name, name, len)
		    && (*p)->name[len] == '\0')
			return p;
	return p;
}

static void dent_grow(struct sbx_ext4 *w)
{
	size_t i, nsize = w->tabsize * 2;
	struct dent **ntab = xcalloc(nsize, sizeof(*ntab));

	for (i = 0; i < w->tabsize; i++) {
		struct dent *d = w->tab[i], *next;

		for (; d; d = next) {
			size_t h = dent_hash(d->parent, d->name,
			    strlen(d->name)) & (nsize - 1);

			next = d->next;
			d->next = ntab[h];
			ntab[h] = d;
		}
	}
	free(w->tab);
	w->tab = ntab;
	w->tabsize = nsize;
}

static void dent_put(struct sbx_ext4 *w, ext2_ino_t parent, const char *name,
    size_t len, ext2_ino_t ino, uint16_t mode)
{
	struct dent **p = dent_slot(w, parent, name, len), *d;

	if (*p) {
		(*p)->ino = ino;
		(*p)->mode = mode;
		return;
	}
	d = xmalloc(sizeof(*d) + len + 1);
	d->next = NULL;
	d->parent = parent;
	d->ino = ino;
	d->mode = mode;
	memcpy(d->name, name, len);
	d->name[len] = '\0';
	*p = d;
	if (++w->count > w->tabsize)
		dent_grow(w);
}

static void dent_del(struct sbx_ext4 *w, ext2_ino_t parent, const char *name)
{
	struct dent **p = dent_slot(w, parent, name, strlen(name)), *d = *p;

	if (d) {
		*p = d->next;
		free(d);
		w->count--;
	}
}

static int is_complete(struct sbx_ext4 *w, ext2_ino_t dir)
{
	return dir < w->ncomplete && w->complete[dir];
}

static void set_complete(struct sbx_ext4 *w, ext2_ino_t dir, int on)
{
	if (dir >= w->ncomplete) {
		size_t n = w->ncomplete ? w->ncomplete : 1024;

		while (n <= dir)
			n *= 2;
		w->complete = xrealloc(w->complete, n);
		memset(w->complete + w->ncomplete, 0, n - w->ncomplete);
		w->ncomplete = n;
	}
	w->complete[dir] = on;
}

struct load_ctx {
	struct sbx_ext4 *w;
	ext2_ino_t dir;
};

static int load_one(struct ext2_dir_entry *de, int offset, int blocksize,
    char *buf, void *arg)
{
	struct load_ctx *c = arg;
	size_t len = ext2fs_dirent_name_len(de);
	int ft = ext2fs_dirent_file_type(de);
	uint16_t mode;

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!de->inode || (len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	switch (ft) {
	case EXT2_FT_DIR: mode = S_IFDIR; break;
	case EXT2_FT_SYMLINK: mode = S_IFLNK; break;
	case EXT2_FT_CHRDEV: mode = S_IFCHR; break;
	case EXT2_FT_BLKDEV: mode = S_IFBLK; break;
	case EXT2_FT_FIFO: mode = S_IFIFO; break;
	case EXT2_FT_SOCK: mode = S_IFSOCK; break;
	default: mode = S_IFREG; break;
	}
	dent_put(c->w, c->dir, de->name, len, de->inode, mode);
	return 0;
}

/* Reads directory `dir` into the table once. */
static int load_dir(struct sbx_ext4 *w, ext2_ino_t dir, const char *path,
    struct sbx_err *e)
{
	struct load_ctx c = { w, dir };
	errcode_t err;

	if (is_complete(w, dir))
		return 0;
	err = ext2fs_dir_iterate(w->fs, dir, 0, NULL, load_one, &c);
	if (err)
		return ext2_fail(w, e, err, "read directory", path);
	set_complete(w, dir, 1);
	return 0;
}

static struct dent *lookup(struct sbx_ext4 *w, ext2_ino_t dir,
    const char *name, size_t len, struct sbx_err *e, int *rc)
{
	*rc = load_dir(w, dir, name, e);
	if (*rc)
		return NULL;
	return *dent_slot(w, dir, name, len);
}

/* ---- inodes ---------------------------------------------------- */

static void set_xtime(__u32 *t, __u32 *extra, int64_t sec, uint32_t ns)
{
	*t = (__u32)sec;
	*extra = (ns << 2) | (__u32)(((uint64_t)(sec - (int32_t)(__u32)sec)
	    >> 32) & 3);
}

/* Writes owner, permissions, times of `ino` from `ent`. */
static int set_attrs(struct sbx_ext4 *w, ext2_ino_t ino,
    const struct sbx_ext4_entry *ent, struct sbx_err *e)
{
	struct ext2_inode_large in;
	errcode_t err;
	size_t i;

	err = ext2fs_read_inode_full(w->fs, ino, (struct ext2_inode *)&in,
	    sizeof(in));
	if (err)
		return ext2_fail(w, e, err, "read inode of", ent->path);
	in.i_mode = (in.i_mode & LINUX_S_IFMT) | (ent->mode & 07777);
	in.i_uid = ent->uid & 0xffff;
	ext2fs_set_i_uid_high(in, ent->uid >> 16);
	in.i_gid = ent->gid & 0xffff;
	ext2fs_set_i_gid_high(in, ent->gid >> 16);
	if (in.i_extra_isize >= 24) {
		set_xtime(&in.i_mtime, &in.i_mtime_extra, ent->mtime,
		    ent->mtime_ns);
		set_xtime(&in.i_atime, &in.i_atime_extra, ent->atime,
		    ent->atime_ns);
		set_xtime(&in.i_ctime, &in.i_ctime_extra, ent->ctime,
		    ent->ctime_ns);
		set_xtime(&in.i_crtime, &in.i_crtime_extra, ent->ctime,
		    ent->ctime_ns);
	} else {
		in.i_mtime = (__u32)ent->mtime;
		in.i_atime = (__u32)ent->atime;
		in.i_ctime = (__u32)ent->ctime;
	}
	err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)&in,
	    sizeof(in));
	if (err)
		return ext2_fail(w, e, err, "write inode of", ent->path);
	if (!ent->nxattrs)
		return 0;

	{
		struct ext2_xattr_handle *h = NULL;

		err = ext2fs_xattrs_open(w->fs, ino, &h);
		if (!err)
			err = ext2fs_xattrs_read(h);
		for (i = 0; !err && i < ent->nxattrs; i++)
			err = ext2fs_xattr_set(h, ent->xattrs[i].name,
			    ent->xattrs[i].value, ent->xattrs[i].len);
		if (h) {
			errcode_t err2 = ext2fs_xattrs_close(&h);

			if (!err)
				err = err2;
		}
		if (err)
			return ext2_fail(w, e, err, "set extended attributes "
			    "of", ent->path);
	}
	return 0;
}

static int ftype_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR: return EXT2_FT_DIR;
	case S_IFLNK: return EXT2_FT_SYMLINK;
	case S_IFCHR: return EXT2_FT_CHRDEV;
	case S_IFBLK: return EXT2_FT_BLKDEV;
	case S_IFIFO: return EXT2_FT_FIFO;
	case S_IFSOCK: return EXT2_FT_SOCK;
	default: return EXT2_FT_REG_FILE;
	}
}

/* ext2fs_link, growing the directory when it is full. */
static int do_link(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
    ext2_ino_t ino, mode_t mode, const char *path, struct sbx_err *e)
{
	errcode_t err;

	err = ext2fs_link(w->fs, dir, name, ino, ftype_of(mode));
	if (err == EXT2_ET_DIR_NO_SPACE) {
		err = ext2fs_expand_dir(w->fs, dir);
		if (!err)
			err = ext2fs_link(w->fs, dir, name, ino,
			    ftype_of(mode));
	}
	if (err)
		return ext2_fail(w, e, err, "link", path);
	dent_put(w, dir, name, strlen(name), ino, (uint16_t)(mode & S_IFMT));
	return 0;
}

static int adjust_links(struct sbx_ext4 *w, ext2_ino_t ino, int delta,
    struct ext2_inode_large *out, const char *path, struct sbx_err *e)
{
	struct ext2_inode_large in;
	errcode_t err;

	err = ext2fs_read_inode_full(w->fs, ino, (struct ext2_inode *)&in,
	    sizeof(in));
	if (err)
		return ext2_fail(w, e, err, "read inode of", path);
	if (delta < 0 && in.i_links_count < (unsigned)-delta)
		in.i_links_count = 0;
	else
		in.i_links_count += delta;
	err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)&in,
	    sizeof(in));
	if (err)
		return ext2_fail(w, e, err, "write inode of", path);
	if (out)
		*out = in;
	return 0;
}

/* Frees an inode whose last link is gone: blocks, xattrs, the inode. */
static int free_inode(struct sbx_ext4 *w, ext2_ino_t ino,
    struct ext2_inode_large *in, const char *path, struct sbx_err *e)
{
	int isdir = LINUX_S_ISDIR(in->i_mode);
	errcode_t err = 0;

	if (ext2fs_inode_has_valid_blocks2(w->fs, (struct ext2_inode *)in))
		err = ext2fs_punch(w->fs, ino, (struct ext2_inode *)in, NULL,
		    0, ~0ULL);
	if (!err)
		err = ext2fs_free_ext_attr(w->fs, ino, in);
	if (err)
		return ext2_fail(w, e, err, "free", path);
	in->i_links_count = 0;
	in->i_dtime = (__u32)(w->now ? w->now : time(NULL));
	err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)in,
	    sizeof(*in));
	if (err)
		return ext2_fail(w, e, err, "free", path);
	ext2fs_inode_alloc_stats2(w->fs, ino, -1, isdir);
	if (isdir)
		set_complete(w, ino, 0);
	return 0;
}

struct child {
	char *name;
	ext2_ino_t ino;
	uint16_t mode;
};

struct child_list {
	struct child *v;
	size_t n, cap;
};

static int collect_one(struct ext2_dir_entry *de, int offset, int blocksize,
    char *buf, void *arg)
{
	struct child_list *l = arg;
	size_t len = ext2fs_dirent_name_len(de);

	(void)offset;
	(void)blocksize;
	(void)buf;
	if (!de->inode || (len == 1 && de->name[0] == '.') ||
	    (len == 2 && de->name[0] == '.' && de->name[1] == '.'))
		return 0;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n].name = xstrndup(de->name, len);
	l->v[l->n].ino = de->inode;
	l->v[l->n].mode = ext2fs_dirent_file_type(de) == EXT2_FT_DIR ?
	    S_IFDIR : 0;
	l->n++;
	return 0;
}

static int remove_entry(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
    ext2_ino_t ino, int isdir, const char *path, int depth,
    struct sbx_err *e);

/* Removes everything in directory `dir`. */
static int empty_dir(struct sbx_ext4 *w, ext2_ino_t dir, const char *path,
    int depth, struct sbx_err *e)
{
	struct child_list l = { NULL, 0, 0 };
	errcode_t err;
	size_t i;
	int rc = 0;

	if (depth > MAX_WALK_DEPTH)
		return sbx_err_set(e, SBX_EINVAL, "cannot remove '%s' in image "
		    "'%s': directories nested too deep", path, w->img);
	err = ext2fs_dir_iterate(w->fs, dir, 0, NULL, collect_one, &l);
	if (err)
		rc = ext2_fail(w, e, err, "read directory", path);
	for (i = 0; !rc && i < l.n; i++)
		rc = remove_entry(w, dir, l.v[i].name, l.v[i].ino,
		    l.v[i].mode == S_IFDIR, path, depth + 1, e);
	for (i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	return rc;
}

static int remove_entry(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
    ext2_ino_t ino, int isdir, const char *path, int depth,
    struct sbx_err *e)
{
	struct ext2_inode_large in;
	errcode_t err;
	int rc;

	if (isdir && (rc = empty_dir(w, ino, path, depth, e)))
		return rc;
	err = ext2fs_unlink(w->fs, dir, name, ino, 0);
	if (err)
		return ext2_fail(w, e, err, "remove", path);
	dent_del(w, dir, name);
	if (isdir) {
		if ((rc = adjust_links(w, dir, -1, NULL, path, e)))
			return rc;
		err = ext2fs_read_inode_full(w->fs, ino,
		    (struct ext2_inode *)&in, sizeof(in));
		if (err)
			return ext2_fail(w, e, err, "remove", path);
		return free_inode(w, ino, &in, path, e);
	}
	if ((rc = adjust_links(w, ino, -1, &in, path, e)))
		return rc;
	if (in.i_links_count == 0)
		return free_inode(w, ino, &in, path, e);
	return 0;
}

/* ---- paths ----------------------------------------------------- */

static int check_path(struct sbx_ext4 *w, const char *path, struct sbx_err *e)
{
	const char *p = path, *s;

	if (!*path)
		return 0;
	for (;;) {
		s = strchr(p, '/');
		if (!s)
			s = p + strlen(p);
		if (s == p || (s - p == 1 && p[0] == '.') ||
		    (s - p == 2 && p[0] == '.' && p[1] == '.') ||
		    s - p > EXT2_NAME_LEN)
			return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to "
			    "image '%s': bad path", path, w->img);
		if (!*s)
			return 0;
		p = s + 1;
	}
}

static int read_link(struct sbx_ext4 *w, ext2_ino_t ino, struct sbx_buf *out,
    const char *path, struct sbx_err *e)
{
	struct ext2_inode in;
	ext2_file_t f;
	errcode_t err;
	unsigned got;
	char blk[EXT2_MAX_BLOCK_SIZE];

	err = ext2fs_read_inode(w->fs, ino, &in);
	if (err)
		return ext2_fail(w, e, err, "read symlink", path);
	if (in.i_size >= sizeof(blk))
		return sbx_err_set(e, SBX_EINVAL, "symlink '%s' in image "
		    "'%s' is too long", path, w->img);
	if (ext2fs_is_fast_symlink(&in)) {
		sbx_buf_add(out, (char *)in.i_block, in.i_size);
		return 0;
	}
	err = ext2fs_file_open(w->fs, ino, 0, &f);
	if (!err) {
		err = ext2fs_file_read(f, blk, in.i_size, &got);
		ext2fs_file_close(f);
	}
	if (err)
		return ext2_fail(w, e, err, "read symlink", path);
	sbx_buf_add(out, blk, got);
	return 0;
}

/* Directory stack of a walk: stack[0] is the root. */
struct walk {
	ext2_ino_t stack[256];
	int depth;
	int links;
};

/*
 * Walks the components of `p` (length len) from the walk's current
 * directory, following symlinks, creating missing directories when
 * `create` (with attributes from `tmpl`). Ends with the walk positioned
 * in the directory named by `p`.
 */
static int walk_dirs(struct sbx_ext4 *w, struct walk *wk, const char *p,
    size_t len, int create, const char *path, struct sbx_err *e);

static int mkdir_at(struct sbx_ext4 *w, ext2_ino_t parent, const char *name,
    ext2_ino_t *ino, const char *path, struct sbx_err *e)
{
	errcode_t err;

	err = ext2fs_new_inode(w->fs, parent, LINUX_S_IFDIR | 0755, 0, ino);
	if (!err)
		err = ext2fs_mkdir(w->fs, parent, *ino, NULL);
	if (err)
		return ext2_fail(w, e, err, "create directory", path);
	/* ext2fs_mkdir counted the new ".." in the parent already */
	set_complete(w, *ino, 1);
	return do_link(w, parent, name, *ino, S_IFDIR, path, e);
}

static int walk_one(struct sbx_ext4 *w, struct walk *wk, const char *name,
    size_t len, int create, const char *path, struct sbx_err *e)
{
	ext2_ino_t cur = wk->stack[wk->depth], ino;
	struct dent *d;
	int rc;

	if (len == 0 || (len == 1 && name[0] == '.'))
		return 0;
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		if (wk->depth > 0)
			wk->depth--;
		return 0;
	}
	d = lookup(w, cur, name, len, e, &rc);
	if (rc)
		return rc;
	if (!d) {
		char nm[EXT2_NAME_LEN + 1];

		if (!create)
			return SBX_ENOENT;
		if (len > EXT2_NAME_LEN)
			return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to "
			    "image '%s': name too long", path, w->img);
		memcpy(nm, name, len);
		nm[len] = '\0';
		if ((rc = mkdir_at(w, cur, nm, &ino, path, e)))
			return rc;
	} else if (S_ISLNK(d->mode)) {
		struct sbx_buf t = SBX_BUF_INIT;

		if (++wk->links > MAX_LINK_DEPTH)
			return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to "
			    "image '%s': too many levels of symbolic links",
			    path, w->img);
		rc = read_link(w, d->ino, &t, path, e);
		if (!rc) {
			if (t.buf[0] == '/')
				wk->depth = 0;
			rc = walk_dirs(w, wk, t.buf, t.len, create, path, e);
		}
		sbx_buf_release(&t);
		return rc;
	} else if (!S_ISDIR(d->mode)) {
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': '%.*s' is not a directory", path, w->img,
		    (int)len, name);
	} else {
		ino = d->ino;
	}
	if (wk->depth + 1 >= (int)(sizeof(wk->stack) / sizeof(wk->stack[0])))
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': path too deep", path, w->img);
	wk->stack[++wk->depth] = ino;
	return 0;
}

static int walk_dirs(struct sbx_ext4 *w, struct walk *wk, const char *p,
    size_t len, int create, const char *path, struct sbx_err *e)
{
	const char *end = p + len, *s;
	int rc;

	while (p < end) {
		s = memchr(p, '/', end - p);
		if (!s)
			s = end;
		if ((rc = walk_one(w, wk, p, s - p, create, path, e)))
			return rc;
		p = s + 1;
	}
	return 0;
}

/*
 * Finds the parent directory of `path` (creating it when `create`) and
 * the last component. "" (the root) has no parent: *parent = 0.
 */
static int resolve_parent(struct sbx_ext4 *w, const char *path, int create,
    ext2_ino_t *parent, const char **base, struct sbx_err *e)
{
	struct walk wk = { { EXT2_ROOT_INO }, 0, 0 };
	const char *slash = strrchr(path, '/');
	int rc;

	*parent = 0;
	*base = slash ? slash + 1 : path;
	if (!*path)
		return 0;
	if (slash && (rc = walk_dirs(w, &wk, path, slash - path, create, path,
	    e)))
		return rc;
	*parent = wk.stack[wk.depth];
	return 0;
}

int64_t sbx_ext4_now(const struct sbx_ext4 *w)
{
	return w->now ? w->now : (int64_t)time(NULL);
}

int sbx_ext4_exists(struct sbx_ext4 *w, const char *path)
{
	ext2_ino_t parent;
	const char *base;
	struct sbx_err e;
	int rc;

	if (!*path)
		return 1;
	if (resolve_parent(w, path, 0, &parent, &base, &e))
		return 0;
	return lookup(w, parent, base, strlen(base), &e, &rc) != NULL;
}

int sbx_ext4_read_file(struct sbx_ext4 *w, const char *path,
    struct sbx_buf *out, size_t max, struct sbx_err *e)
{
	struct ext2_inode in;
	ext2_ino_t parent;
	const char *base;
	struct dent *d;
	ext2_file_t f;
	errcode_t err;
	unsigned got;
	int rc;

	if ((rc = check_path(w, path, e)))
		return rc;
	rc = resolve_parent(w, path, 0, &parent, &base, e);
	d = rc || !*path ? NULL : lookup(w, parent, base, strlen(base), e,
	    &rc);
	if (rc && rc != SBX_ENOENT)
		return rc;
	if (!d || !S_ISREG(d->mode))
		return sbx_err_set(e, SBX_ENOENT, "no file '%s' in image '%s'",
		    path, w->img);
	err = ext2fs_read_inode(w->fs, d->ino, &in);
	if (err)
		return ext2_fail(w, e, err, "read", path);
	if (EXT2_I_SIZE(&in) > max)
		return sbx_err_set(e, SBX_EINVAL, "file '%s' in image '%s' is "
		    "too large", path, w->img);
	if ((rc = sbx_buf_grow(out, EXT2_I_SIZE(&in) + 1)))
		return sbx_err_set(e, rc, "file '%s' in image '%s' is too "
		    "large", path, w->img);
	err = ext2fs_file_open(w->fs, d->ino, 0, &f);
	if (err)
		return ext2_fail(w, e, err, "read", path);
	err = ext2fs_file_read(f, out->buf + out->len, EXT2_I_SIZE(&in), &got);
	ext2fs_file_close(f);
	if (err)
		return ext2_fail(w, e, err, "read", path);
	sbx_buf_setlen(out, out->len + got);
	return 0;
}

/*
 * Prepares `ent->path` for a new entry: resolves the parent and removes
 * what is there, unless it is a directory and `ent` one too (then
 * *existing is its inode and the caller only updates attributes).
 */
static int prepare(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    ext2_ino_t *parent, const char **base, ext2_ino_t *existing,
    struct sbx_err *e)
{
	struct dent *d;
	int rc;

	*existing = 0;
	if ((rc = check_path(w, ent->path, e)))
		return rc;
	if (w->file)
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': file '%s' not finished", ent->path, w->img,
		    w->file_path);
	rc = resolve_parent(w, ent->path, 1, parent, base, e);
	if (rc)
		return rc;
	if (!*parent) {
		*existing = EXT2_ROOT_INO;
		return 0;
	}
	d = lookup(w, *parent, *base, strlen(*base), e, &rc);
	if (rc || !d)
		return rc;
	if (S_ISDIR(ent->mode & S_IFMT) && !ent->hardlink) {
		if (S_ISDIR(d->mode)) {
			*existing = d->ino;
			return 0;
		}
		if (S_ISLNK(d->mode) && (w->flags &
		    SBX_EXT4_KEEP_DIR_SYMLINKS)) {
			struct walk wk = { { EXT2_ROOT_INO }, 0, 0 };

			/* kept when it leads to a directory */
			if (!walk_dirs(w, &wk, ent->path, strlen(ent->path),
			    0, ent->path, e)) {
				*existing = (ext2_ino_t)-1;
				return 0;
			}
			sbx_err_clear(e);
		}
	}
	return remove_entry(w, *parent, *base, d->ino, S_ISDIR(d->mode),
	    ent->path, 0, e);
}

/* ---- adding entries ------------------------------------------------ */

static int new_inode(struct sbx_ext4 *w, ext2_ino_t parent, mode_t mode,
    const char *base, ext2_ino_t *ino, const char *path, struct sbx_err *e)
{
	errcode_t err;
	int rc;

	err = ext2fs_new_inode(w->fs, parent, mode & S_IFMT, 0, ino);
	if (err)
		return ext2_fail(w, e, err, "create", path);
	if ((rc = do_link(w, parent, base, *ino, mode, path, e)))
		return rc;
	ext2fs_inode_alloc_stats2(w->fs, *ino, +1, 0);
	return 0;
}

static int add_special(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    ext2_ino_t parent, const char *base, struct sbx_err *e)
{
	struct ext2_inode in;
	ext2_ino_t ino;
	errcode_t err;
	unsigned maj = major(ent->rdev), min = minor(ent->rdev);
	int rc;

	if ((rc = new_inode(w, parent, ent->mode, base, &ino, ent->path, e)))
		return rc;
	memset(&in, 0, sizeof(in));
	in.i_mode = ent->mode;
	in.i_links_count = 1;
	if (S_ISCHR(ent->mode) || S_ISBLK(ent->mode)) {
		if (maj < 256 && min < 256) {
			in.i_block[0] = maj * 256 + min;
		} else {
			in.i_block[1] = (min & 0xff) | (maj << 8) |
			    ((min & ~0xffU) << 12);
		}
	}
	err = ext2fs_write_new_inode(w->fs, ino, &in);
	if (err)
		return ext2_fail(w, e, err, "create", ent->path);
	return set_attrs(w, ino, ent, e);
}

static int add_symlink(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    ext2_ino_t parent, const char *base, struct sbx_err *e)
{
	ext2_ino_t ino;
	errcode_t err;
	char *t;
	int rc;

	if (!ent->symlink || !*ent->symlink ||
	    strlen(ent->symlink) >= w->fs->blocksize)
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': bad symlink target", ent->path, w->img);
	err = ext2fs_new_inode(w->fs, parent, LINUX_S_IFLNK | 0777, 0, &ino);
	if (err)
		return ext2_fail(w, e, err, "create", ent->path);
	t = xstrdup(ent->symlink);
	err = ext2fs_symlink(w->fs, parent, ino, NULL, t);
	free(t);
	if (err)
		return ext2_fail(w, e, err, "create symlink", ent->path);
	if ((rc = do_link(w, parent, base, ino, S_IFLNK, ent->path, e)))
		return rc;
	return set_attrs(w, ino, ent, e);
}

static int add_hardlink(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    ext2_ino_t parent, const char *base, struct sbx_err *e)
{
	ext2_ino_t tparent;
	const char *tbase;
	struct dent *d;
	int rc;

	if ((rc = check_path(w, ent->hardlink, e)))
		return rc;
	rc = resolve_parent(w, ent->hardlink, 0, &tparent, &tbase, e);
	if (rc == SBX_ENOENT || !*ent->hardlink)
		goto missing;
	if (rc)
		return rc;
	d = lookup(w, tparent, tbase, strlen(tbase), e, &rc);
	if (rc)
		return rc;
	if (!d)
		goto missing;
	if (S_ISDIR(d->mode))
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': hard link to directory '%s'", ent->path, w->img,
		    ent->hardlink);
	if ((rc = do_link(w, parent, base, d->ino, d->mode, ent->path, e)))
		return rc;
	return adjust_links(w, d->ino, +1, NULL, ent->path, e);
missing:
	return sbx_err_set(e, SBX_ENOENT, "cannot add '%s' to image '%s': "
	    "hard link target '%s' does not exist", ent->path, w->img,
	    ent->hardlink);
}

int sbx_ext4_add(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    struct sbx_err *e)
{
	ext2_ino_t parent, existing, ino;
	const char *base;
	int rc;

	if ((rc = prepare(w, ent, &parent, &base, &existing, e)))
		return rc;
	if (ent->hardlink)
		return add_hardlink(w, ent, parent, base, e);
	switch (ent->mode & S_IFMT) {
	case S_IFDIR:
		if (existing == (ext2_ino_t)-1)
			return 0;	/* kept a symlink to a directory */
		if (existing)
			return set_attrs(w, existing, ent, e);
		if ((rc = mkdir_at(w, parent, base, &ino, ent->path, e)))
			return rc;
		return set_attrs(w, ino, ent, e);
	case S_IFLNK:
		return add_symlink(w, ent, parent, base, e);
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return add_special(w, ent, parent, base, e);
	case S_IFREG:
		if ((rc = sbx_ext4_file_begin(w, ent, e)))
			return rc;
		return sbx_ext4_file_end(w, e);
	default:
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': unknown file type 0%o", ent->path, w->img,
		    (unsigned)(ent->mode & S_IFMT));
	}
}

int sbx_ext4_file_begin(struct sbx_ext4 *w, const struct sbx_ext4_entry *ent,
    struct sbx_err *e)
{
	struct ext2_inode in;
	ext2_ino_t parent, existing, ino;
	const char *base;
	errcode_t err;
	int rc;

	if (!S_ISREG(ent->mode) || ent->hardlink)
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': not a regular file", ent->path, w->img);
	if ((rc = prepare(w, ent, &parent, &base, &existing, e)))
		return rc;
	if (!parent)
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': the root must be a directory", ent->path, w->img);
	if ((rc = new_inode(w, parent, ent->mode, base, &ino, ent->path, e)))
		return rc;
	memset(&in, 0, sizeof(in));
	in.i_mode = LINUX_S_IFREG | (ent->mode & 07777);
	in.i_links_count = 1;
	if (ext2fs_has_feature_extents(w->fs->super)) {
		ext2_extent_handle_t h;

		err = ext2fs_extent_open2(w->fs, ino, &in, &h);
		if (err)
			return ext2_fail(w, e, err, "create", ent->path);
		ext2fs_extent_free(h);
	}
	err = ext2fs_write_new_inode(w->fs, ino, &in);
	if (err)
		return ext2_fail(w, e, err, "create", ent->path);
	/* xattrs before the file handle caches the inode */
	if (ent->nxattrs && (rc = set_attrs(w, ino, ent, e)))
		return rc;
	err = ext2fs_file_open(w->fs, ino, EXT2_FILE_WRITE, &w->file);
	if (err)
		return ext2_fail(w, e, err, "create", ent->path);
	w->file_ino = ino;
	w->file_ent = *ent;
	w->file_path = xstrdup(ent->path);
	w->file_ent.path = w->file_path;
	w->file_ent.xattrs = NULL;
	w->file_ent.nxattrs = 0;
	return 0;
}

static int all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

static int file_put(struct sbx_ext4 *w, uint64_t off, const void *data,
    size_t len, struct sbx_err *e)
{
	errcode_t err;
	unsigned done;
	size_t pos = 0;

	err = ext2fs_file_llseek(w->file, off, EXT2_SEEK_SET, NULL);
	while (!err && pos < len) {
		err = ext2fs_file_write(w->file, (const char *)data + pos,
		    (unsigned)(len - pos > (1U << 30) ? (1U << 30) :
		    len - pos), &done);
		pos += done;
		if (!err && !done)
			err = EXT2_ET_SHORT_WRITE;
	}
	if (err)
		return ext2_fail(w, e, err, "write", w->file_path);
	w->bytes += len;
	return 0;
}

int sbx_ext4_file_write(struct sbx_ext4 *w, uint64_t off, const void *data,
    size_t len, struct sbx_err *e)
{
	const unsigned char *p = data;
	uint64_t bs = w->fs->blocksize, end = off + len;
	uint64_t run_start = off;
	uint64_t b;
	int rc;

	if (!w->file)
		return sbx_err_set(e, SBX_EINVAL, "image '%s': no file open",
		    w->img);
	/*
	 * Write the data in runs, skipping zeros: whole blocks, and the
	 * unaligned head and tail of the range (each byte comes at most
	 * once and the file starts as a hole, so skipped bytes read as
	 * zero whether or not a later write fills the rest of their block).
	 */
	b = (off + bs - 1) / bs * bs;
	if (b > end)
		b = end;
	if (b > off && all_zero(p, b - off))
		run_start = b;
	while (b + bs <= end) {
		if (all_zero(p + (b - off), bs)) {
			if (b > run_start && (rc = file_put(w, run_start,
			    p + (run_start - off), b - run_start, e)))
				return rc;
			run_start = b + bs;
		}
		b += bs;
	}
	b = end / bs * bs;
	if (b >= run_start && b < end && all_zero(p + (b - off), end - b))
		end = b;
	if (end > run_start)
		return file_put(w, run_start, p + (run_start - off),
		    end - run_start, e);
	return 0;
}

int sbx_ext4_file_end(struct sbx_ext4 *w, struct sbx_err *e)
{
	errcode_t err;
	int rc;

	if (!w->file)
		return sbx_err_set(e, SBX_EINVAL, "image '%s': no file open",
		    w->img);
	err = ext2fs_file_set_size2(w->file, w->file_ent.size);
	if (!err)
		err = ext2fs_file_close(w->file);
	else
		ext2fs_file_close(w->file);
	w->file = NULL;
	if (err)
		rc = ext2_fail(w, e, err, "write", w->file_path);
	else
		rc = set_attrs(w, w->file_ino, &w->file_ent, e);
	free(w->file_path);
	w->file_path = NULL;
	return rc;
}

int sbx_ext4_add_data(struct sbx_ext4 *w, const char *path, const void *data,
    size_t len, mode_t perm, uint32_t uid, uint32_t gid, struct sbx_err *e)
{
	struct sbx_ext4_entry ent;
	int rc;

	memset(&ent, 0, sizeof(ent));
	ent.path = path;
	ent.mode = S_IFREG | (perm & 07777);
	ent.uid = uid;
	ent.gid = gid;
	ent.mtime = ent.atime = ent.ctime = w->now ? w->now : time(NULL);
	ent.size = len;
	if ((rc = sbx_ext4_file_begin(w, &ent, e)))
		return rc;
	if (len && (rc = sbx_ext4_file_write(w, 0, data, len, e))) {
		sbx_ext4_file_end(w, NULL);
		return rc;
	}
	return sbx_ext4_file_end(w, e);
}

int sbx_ext4_add_file(struct sbx_ext4 *w, const char *path, const char *src,
    mode_t perm, uint32_t uid, uint32_t gid, struct sbx_err *e)
{
	struct sbx_ext4_entry ent;
	struct stat st;
	uint64_t off = 0;
	char *buf;
	ssize_t n;
	int fd, rc;

	fd = open(src, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = sbx_err_sys(e, "cannot open '%s'", src);
		if (fd >= 0)
			close(fd);
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT,
		    "cannot open '%s': no such file", src) : rc;
	}
	memset(&ent, 0, sizeof(ent));
	ent.path = path;
	ent.mode = S_IFREG | (perm & 07777);
	ent.uid = uid;
	ent.gid = gid;
	ent.mtime = ent.atime = ent.ctime = st.st_mtime;
	ent.size = st.st_size;
	if ((rc = sbx_ext4_file_begin(w, &ent, e))) {
		close(fd);
		return rc;
	}
	buf = xmalloc(1 << 20);
	while ((n = read(fd, buf, 1 << 20)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = sbx_err_sys(e, "cannot read '%s'", src);
			break;
		}
		if ((rc = sbx_ext4_file_write(w, off, buf, n, e)))
			break;
		off += n;
	}
	free(buf);
	close(fd);
	if (rc) {
		sbx_ext4_file_end(w, NULL);
		return rc;
	}
	return sbx_ext4_file_end(w, e);
}

int sbx_ext4_remove(struct sbx_ext4 *w, const char *path, int contents_only,
    struct sbx_err *e)
{
	ext2_ino_t parent;
	const char *base;
	struct dent *d;
	int rc;

	if ((rc = check_path(w, path, e)))
		return rc;
	if (!*path)
		return contents_only ? empty_dir(w, EXT2_ROOT_INO, "/", 0, e) :
		    sbx_err_set(e, SBX_EINVAL, "cannot remove the root of "
		    "image '%s'", w->img);
	rc = resolve_parent(w, path, 0, &parent, &base, e);
	if (rc == SBX_ENOENT)
		return 0;
	if (rc)
		return rc;
	d = lookup(w, parent, base, strlen(base), e, &rc);
	if (rc || !d)
		return rc;
	if (contents_only)
		return S_ISDIR(d->mode) ? empty_dir(w, d->ino, path, 0, e) : 0;
	return remove_entry(w, parent, base, d->ino, S_ISDIR(d->mode), path,
	    0, e);
}

/* ---- open and close ------------------------------------------------ */

static int writer_open(const char *path, struct sbx_ext4 **out,
    struct sbx_err *e)
{
	struct sbx_ext4 *w;
	ext2_filsys fs;
	errcode_t err;

	initialize_ext2_error_table();
	err = ext2fs_open(path, EXT2_FLAG_RW | EXT2_FLAG_64BITS, 0, 0,
	    unix_io_manager, &fs);
	if (err)
		return sbx_err_set(e, SBX_EINVAL, "cannot open image '%s': %s",
		    path, error_message(err));
	err = ext2fs_read_bitmaps(fs);
	if (err) {
		ext2fs_close_free(&fs);
		return sbx_err_set(e, SBX_EIO, "cannot open image '%s': %s",
		    path, error_message(err));
	}
	w = xcalloc(1, sizeof(*w));
	w->fs = fs;
	w->img = xstrdup(path);
	w->tabsize = 4096;
	w->tab = xcalloc(w->tabsize, sizeof(*w->tab));
	*out = w;
	return 0;
}

int sbx_ext4_open(const char *path, struct sbx_ext4 **out, struct sbx_err *e)
{
	return writer_open(path, out, e);
}

int sbx_ext4_create(const char *path, uint64_t size, uint64_t inodes,
    struct sbx_ext4 **out, struct sbx_err *e)
{
	struct sbx_ext4_fmt f = { size, inodes, NULL, 0 };

	return sbx_ext4_create_fmt(path, &f, out, e);
}

int sbx_ext4_create_fmt(const char *path, const struct sbx_ext4_fmt *fmt,
    struct sbx_ext4 **out, struct sbx_err *e)
{
	struct sbx_buf err_out = SBX_BUF_INIT;
	uint64_t size = fmt->size, inodes = fmt->inodes;
	struct sbx_run r;
	char uuid[37] = "";
	int fd, rc;

	size = (size + 4095) & ~4095ULL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return sbx_err_sys(e, "cannot create image '%s'", path);
	if (ftruncate(fd, (off_t)size) < 0) {
		rc = sbx_err_sys(e, "cannot size image '%s'", path);
		close(fd);
		return rc;
	}
	close(fd);

	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "mke2fs", "-q", "-F", "-t", "ext4", "-b",
	    "4096", "-m", "0", "-E", "root_owner=0:0", NULL);
	if (inodes)
		sbx_strvec_pushf(&r.argv, "-N%" PRIu64, inodes);
	if (fmt->uuid) {
		const unsigned char *u = fmt->uuid;

		snprintf(uuid, sizeof(uuid), "%02x%02x%02x%02x-%02x%02x-"
		    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		    u[2], u[3], u[4], u[5], (u[6] & 0x0f) | 0x40, u[7],
		    (u[8] & 0x3f) | 0x80, u[9], u[10], u[11], u[12], u[13],
		    u[14], u[15]);
		sbx_strvec_pushl(&r.argv, "-U", uuid, "-E", NULL);
		sbx_strvec_pushf(&r.argv, "hash_seed=%s", uuid);
	}
	if (fmt->time > 0)
		sbx_strvec_pushf(&r.env, "E2FSPROGS_FAKE_TIME=%lld",
		    (long long)fmt->time);
	sbx_strvec_pushl(&r.argv, path, NULL);
	sbx_strvec_pushf(&r.argv, "%" PRIu64 "k", size / 1024);
	/* mke2fs lives in /sbin, which a user's PATH may lack */
	sbx_strvec_push(&r.env, "PATH=/usr/local/sbin:/usr/sbin:/sbin:"
	    "/usr/local/bin:/usr/bin:/bin");
	sbx_strvec_push(&r.env, "MKE2FS_CONFIG");
	r.in = SBX_RUN_NULL;
	r.out = SBX_RUN_NULL;
	r.err = SBX_RUN_CAPTURE;
	err_out.cap = 4096;
	r.err_buf = &err_out;
	r.timeout_ms = 300000;
	rc = sbx_run(&r, e);
	sbx_run_release(&r);
	if (rc > 0) {
		sbx_buf_rtrim(&err_out);
		rc = sbx_err_set(e, SBX_EIO, "cannot format image '%s': mke2fs "
		    "failed with status %d", path, rc);
		if (err_out.len)
			sbx_err_hint(e, "%s", err_out.buf);
	} else if (rc == SBX_ENOENT) {
		sbx_err_hint(e, "install e2fsprogs");
	}
	sbx_buf_release(&err_out);
	if (rc)
		return rc;
	if ((rc = writer_open(path, out, e)))
		return rc;
	if (fmt->time > 0) {
		(*out)->now = fmt->time;
		(*out)->fs->now = (time_t)fmt->time;
	}
	return 0;
}

void sbx_ext4_set_flags(struct sbx_ext4 *w, int flags)
{
	w->flags = flags;
}

uint64_t sbx_ext4_bytes_written(const struct sbx_ext4 *w)
{
	return w->bytes;
}

static void writer_free(struct sbx_ext4 *w)
{
	size_t i;

	for (i = 0; i < w->tabsize; i++) {
		struct dent *d = w->tab[i], *next;

		for (; d; d = next) {
			next = d->next;
			free(d);
		}
	}
	free(w->tab);
	free(w->complete);
	free(w->file_path);
	free(w->img);
	free(w);
}

int sbx_ext4_close(struct sbx_ext4 *w, struct sbx_err *e)
{
	errcode_t err;
	int rc = 0, fd;

	if (!w)
		return 0;
	if (w->file) {
		ext2fs_file_close(w->file);
		w->file = NULL;
	}
	err = ext2fs_close_free(&w->fs);
	if (err)
		rc = sbx_err_set(e, SBX_EIO, "cannot write image '%s': %s",
		    w->img, error_message(err));
	if (!rc) {
		fd = open(w->img, O_RDWR | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			rc = sbx_err_sys(e, "cannot sync image '%s'", w->img);
		if (fd >= 0)
			close(fd);
	}
	writer_free(w);
	return rc;
}

void sbx_ext4_abort(struct sbx_ext4 *w)
{
	if (!w)
		return;
	if (w->file)
		ext2fs_file_close(w->file);
	if (w->fs)
		ext2fs_free(w->fs);
	writer_free(w);
}

uint64_t sbx_ext4_size_for(uint64_t content, uint64_t nfiles, uint64_t extra)
{
	/* blocks: content + one partial block per file, then ~8% for
	   metadata (inode tables at 256 B per 16 KiB, bitmaps, group
	   descriptors), a journal up to 64 MiB and slack */
	uint64_t data = content + nfiles * 4096;
	uint64_t size = data + data / 12 + nfiles * 512 + (80ULL << 20) +
	    extra;

	if (size < (64ULL << 20))
		size = 64ULL << 20;
	return (size + 4095) & ~4095ULL;
}
