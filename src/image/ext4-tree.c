/*
 * ext4-tree.c - the directory side of the ext4 writer (see ext4-int.h):
 * a hash table (parent inode, name) -> (inode, mode) of every directory
 * entry the writer has seen, so that adding an entry never scans a
 * directory (one is read once, the first time a name in it is looked up,
 * and is "complete" from then on; directories the writer creates are
 * complete from birth); path walking with symlinks followed inside the
 * image; links, unlinks and recursive removal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <ext2fs/ext2_fs.h>
#include <ext2fs/ext2fs.h>
#include <et/com_err.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "image/ext4-int.h"
#include "core/banned.h"

#define MAX_LINK_DEPTH 40
#define MAX_WALK_DEPTH 1024

int sbx_e4_fail(struct sbx_ext4 *w, struct sbx_err *e, errcode_t err,
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
		return sbx_e4_fail(w, e, err, "read directory", path);
	set_complete(w, dir, 1);
	return 0;
}

struct dent *sbx_e4_lookup(struct sbx_ext4 *w, ext2_ino_t dir,
    const char *name, size_t len, struct sbx_err *e, int *rc)
{
	*rc = load_dir(w, dir, name, e);
	if (*rc)
		return NULL;
	return *dent_slot(w, dir, name, len);
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
int sbx_e4_link(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
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
		return sbx_e4_fail(w, e, err, "link", path);
	dent_put(w, dir, name, strlen(name), ino, (uint16_t)(mode & S_IFMT));
	return 0;
}

int sbx_e4_adjust_links(struct sbx_ext4 *w, ext2_ino_t ino, int delta,
    struct ext2_inode_large *out, const char *path, struct sbx_err *e)
{
	struct ext2_inode_large in;
	errcode_t err;

	err = ext2fs_read_inode_full(w->fs, ino, (struct ext2_inode *)&in,
	    sizeof(in));
	if (err)
		return sbx_e4_fail(w, e, err, "read inode of", path);
	if (delta < 0 && in.i_links_count < (unsigned)-delta)
		in.i_links_count = 0;
	else
		in.i_links_count += delta;
	err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)&in,
	    sizeof(in));
	if (err)
		return sbx_e4_fail(w, e, err, "write inode of", path);
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
		return sbx_e4_fail(w, e, err, "free", path);
	in->i_links_count = 0;
	in->i_dtime = (__u32)(w->now ? w->now : time(NULL));
	err = ext2fs_write_inode_full(w->fs, ino, (struct ext2_inode *)in,
	    sizeof(*in));
	if (err)
		return sbx_e4_fail(w, e, err, "free", path);
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

int sbx_e4_remove_entry(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
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
		rc = sbx_e4_fail(w, e, err, "read directory", path);
	for (i = 0; !rc && i < l.n; i++)
		rc = sbx_e4_remove_entry(w, dir, l.v[i].name, l.v[i].ino,
		    l.v[i].mode == S_IFDIR, path, depth + 1, e);
	for (i = 0; i < l.n; i++)
		free(l.v[i].name);
	free(l.v);
	return rc;
}

int sbx_e4_remove_entry(struct sbx_ext4 *w, ext2_ino_t dir, const char *name,
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
		return sbx_e4_fail(w, e, err, "remove", path);
	dent_del(w, dir, name);
	if (isdir) {
		if ((rc = sbx_e4_adjust_links(w, dir, -1, NULL, path, e)))
			return rc;
		err = ext2fs_read_inode_full(w->fs, ino,
		    (struct ext2_inode *)&in, sizeof(in));
		if (err)
			return sbx_e4_fail(w, e, err, "remove", path);
		return free_inode(w, ino, &in, path, e);
	}
	if ((rc = sbx_e4_adjust_links(w, ino, -1, &in, path, e)))
		return rc;
	if (in.i_links_count == 0)
		return free_inode(w, ino, &in, path, e);
	return 0;
}

/* ---- paths ----------------------------------------------------- */

int sbx_e4_check_path(struct sbx_ext4 *w, const char *path, struct sbx_err *e)
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
		return sbx_e4_fail(w, e, err, "read symlink", path);
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
		return sbx_e4_fail(w, e, err, "read symlink", path);
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

int sbx_e4_mkdir(struct sbx_ext4 *w, ext2_ino_t parent, const char *name,
    ext2_ino_t *ino, const char *path, struct sbx_err *e)
{
	errcode_t err;

	err = ext2fs_new_inode(w->fs, parent, LINUX_S_IFDIR | 0755, 0, ino);
	if (!err)
		err = ext2fs_mkdir(w->fs, parent, *ino, NULL);
	if (err)
		return sbx_e4_fail(w, e, err, "create directory", path);
	/* ext2fs_mkdir counted the new ".." in the parent already */
	set_complete(w, *ino, 1);
	return sbx_e4_link(w, parent, name, *ino, S_IFDIR, path, e);
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
	d = sbx_e4_lookup(w, cur, name, len, e, &rc);
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
		if ((rc = sbx_e4_mkdir(w, cur, nm, &ino, path, e)))
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
int sbx_e4_resolve_parent(struct sbx_ext4 *w, const char *path, int create,
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

int sbx_ext4_exists(struct sbx_ext4 *w, const char *path)
{
	ext2_ino_t parent;
	const char *base;
	struct sbx_err e;
	int rc;

	if (!*path)
		return 1;
	if (sbx_e4_resolve_parent(w, path, 0, &parent, &base, &e))
		return 0;
	return sbx_e4_lookup(w, parent, base, strlen(base), &e, &rc) != NULL;
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

	if ((rc = sbx_e4_check_path(w, path, e)))
		return rc;
	rc = sbx_e4_resolve_parent(w, path, 0, &parent, &base, e);
	d = rc || !*path ? NULL : sbx_e4_lookup(w, parent, base, strlen(base), e,
	    &rc);
	if (rc && rc != SBX_ENOENT)
		return rc;
	if (!d || !S_ISREG(d->mode))
		return sbx_err_set(e, SBX_ENOENT, "no file '%s' in image '%s'",
		    path, w->img);
	err = ext2fs_read_inode(w->fs, d->ino, &in);
	if (err)
		return sbx_e4_fail(w, e, err, "read", path);
	if (EXT2_I_SIZE(&in) > max)
		return sbx_err_set(e, SBX_EINVAL, "file '%s' in image '%s' is "
		    "too large", path, w->img);
	if ((rc = sbx_buf_grow(out, EXT2_I_SIZE(&in) + 1)))
		return sbx_err_set(e, rc, "file '%s' in image '%s' is too "
		    "large", path, w->img);
	err = ext2fs_file_open(w->fs, d->ino, 0, &f);
	if (err)
		return sbx_e4_fail(w, e, err, "read", path);
	err = ext2fs_file_read(f, out->buf + out->len, EXT2_I_SIZE(&in), &got);
	ext2fs_file_close(f);
	if (err)
		return sbx_e4_fail(w, e, err, "read", path);
	sbx_buf_setlen(out, out->len + got);
	return 0;
}

int sbx_ext4_remove(struct sbx_ext4 *w, const char *path, int contents_only,
    struct sbx_err *e)
{
	ext2_ino_t parent;
	const char *base;
	struct dent *d;
	int rc;

	if ((rc = sbx_e4_check_path(w, path, e)))
		return rc;
	if (!*path)
		return contents_only ? empty_dir(w, EXT2_ROOT_INO, "/", 0, e) :
		    sbx_err_set(e, SBX_EINVAL, "cannot remove the root of "
		    "image '%s'", w->img);
	rc = sbx_e4_resolve_parent(w, path, 0, &parent, &base, e);
	if (rc == SBX_ENOENT)
		return 0;
	if (rc)
		return rc;
	d = sbx_e4_lookup(w, parent, base, strlen(base), e, &rc);
	if (rc || !d)
		return rc;
	if (contents_only)
		return S_ISDIR(d->mode) ? empty_dir(w, d->ino, path, 0, e) : 0;
	return sbx_e4_remove_entry(w, parent, base, d->ino, S_ISDIR(d->mode), path,
	    0, e);
}

int sbx_e4_dir_path(struct sbx_ext4 *w, const char *path)
{
	struct walk wk = { { EXT2_ROOT_INO }, 0, 0 };
	struct sbx_err e;

	return walk_dirs(w, &wk, path, strlen(path), 0, path, &e) == 0;
}

void sbx_e4_tree_free(struct sbx_ext4 *w)
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
	w->tab = NULL;
	w->complete = NULL;
}
