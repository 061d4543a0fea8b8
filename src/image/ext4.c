/*
 * ext4.c - ext4 images written with libext2fs (see ext4.h): formatting,
 * opening and closing, entries and their attributes, file data. The
 * directory side (entry table, paths, removal) is in ext4-tree.c.
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
#include "core/progress.h"
#include "core/run.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "image/ext4-int.h"
#include "core/banned.h"

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
		return sbx_e4_fail(w, e, err, "read inode of", ent->path);
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
		return sbx_e4_fail(w, e, err, "write inode of", ent->path);
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
			return sbx_e4_fail(w, e, err, "set extended attributes "
			    "of", ent->path);
	}
	return 0;
}

int64_t sbx_ext4_now(const struct sbx_ext4 *w)
{
	return w->now ? w->now : (int64_t)time(NULL);
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
	if ((rc = sbx_e4_check_path(w, ent->path, e)))
		return rc;
	if (w->file)
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': file '%s' not finished", ent->path, w->img,
		    w->file_path);
	rc = sbx_e4_resolve_parent(w, ent->path, 1, parent, base, e);
	if (rc)
		return rc;
	if (!*parent) {
		*existing = EXT2_ROOT_INO;
		return 0;
	}
	d = sbx_e4_lookup(w, *parent, *base, strlen(*base), e, &rc);
	if (rc || !d)
		return rc;
	if (S_ISDIR(ent->mode & S_IFMT) && !ent->hardlink) {
		if (S_ISDIR(d->mode)) {
			*existing = d->ino;
			return 0;
		}
		if (S_ISLNK(d->mode) && (w->flags &
		    SBX_EXT4_KEEP_DIR_SYMLINKS)) {
			/* kept when it leads to a directory */
			if (sbx_e4_dir_path(w, ent->path)) {
				*existing = (ext2_ino_t)-1;
				return 0;
			}
		}
	}
	return sbx_e4_remove_entry(w, *parent, *base, d->ino, S_ISDIR(d->mode),
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
		return sbx_e4_fail(w, e, err, "create", path);
	if ((rc = sbx_e4_link(w, parent, base, *ino, mode, path, e)))
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
		return sbx_e4_fail(w, e, err, "create", ent->path);
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
		return sbx_e4_fail(w, e, err, "create", ent->path);
	t = xstrdup(ent->symlink);
	err = ext2fs_symlink(w->fs, parent, ino, NULL, t);
	free(t);
	if (err)
		return sbx_e4_fail(w, e, err, "create symlink", ent->path);
	if ((rc = sbx_e4_link(w, parent, base, ino, S_IFLNK, ent->path, e)))
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

	if ((rc = sbx_e4_check_path(w, ent->hardlink, e)))
		return rc;
	rc = sbx_e4_resolve_parent(w, ent->hardlink, 0, &tparent, &tbase, e);
	if (rc == SBX_ENOENT || !*ent->hardlink)
		goto missing;
	if (rc)
		return rc;
	d = sbx_e4_lookup(w, tparent, tbase, strlen(tbase), e, &rc);
	if (rc)
		return rc;
	if (!d)
		goto missing;
	if (S_ISDIR(d->mode))
		return sbx_err_set(e, SBX_EINVAL, "cannot add '%s' to image "
		    "'%s': hard link to directory '%s'", ent->path, w->img,
		    ent->hardlink);
	if ((rc = sbx_e4_link(w, parent, base, d->ino, d->mode, ent->path, e)))
		return rc;
	return sbx_e4_adjust_links(w, d->ino, +1, NULL, ent->path, e);
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
		if ((rc = sbx_e4_mkdir(w, parent, base, &ino, ent->path, e)))
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
			return sbx_e4_fail(w, e, err, "create", ent->path);
		ext2fs_extent_free(h);
	}
	err = ext2fs_write_new_inode(w->fs, ino, &in);
	if (err)
		return sbx_e4_fail(w, e, err, "create", ent->path);
	/* xattrs before the file handle caches the inode */
	if (ent->nxattrs && (rc = set_attrs(w, ino, ent, e)))
		return rc;
	err = ext2fs_file_open(w->fs, ino, EXT2_FILE_WRITE, &w->file);
	if (err)
		return sbx_e4_fail(w, e, err, "create", ent->path);
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
		return sbx_e4_fail(w, e, err, "write", w->file_path);
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
	sbx_progress_add(w->progress, len);
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
		rc = sbx_e4_fail(w, e, err, "write", w->file_path);
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

void sbx_ext4_set_progress(struct sbx_ext4 *w, struct sbx_progress *p)
{
	w->progress = p;
}

uint64_t sbx_ext4_bytes_written(const struct sbx_ext4 *w)
{
	return w->bytes;
}

static void writer_free(struct sbx_ext4 *w)
{
	sbx_e4_tree_free(w);
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
