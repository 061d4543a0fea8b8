/*
 * files.c - a template's `files` into an image (see files.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "image/files.h"
#include "image/source.h"
#include "store/store.h"
#include "template/template.h"
#include "core/banned.h"

#define MAX_DEPTH 64

/* Prefixes `e` with "FILE:LINE:COL: files: ". */
static int at(const struct sbx_template *t, const struct sbx_template_file *f,
    int rc, struct sbx_err *e)
{
	sbx_err_prefix(e, "%s:%d:%d: files", t->path, f->line, f->col);
	return rc;
}

static int open_err(const char *path, struct sbx_err *e)
{
	if (errno == ENOENT)
		return sbx_err_set(e, SBX_ENOENT, "cannot open '%s': no such "
		    "file", path);
	return sbx_err_sys(e, "cannot open '%s'", path);
}

/* Finds `name` (or a number) in the image's etc/passwd or etc/group. */
static int lookup_id(struct sbx_ext4 *w, const char *file, const char *name,
    uint32_t *id, uint32_t *gid, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	size_t n = strlen(name);
	char *end, *p;
	unsigned long v;
	int rc;

	v = strtoul(name, &end, 10);
	if (*name && !*end && v <= UINT32_MAX) {
		*id = (uint32_t)v;
		if (gid)
			*gid = 0;
		return 0;
	}
	rc = sbx_ext4_read_file(w, file, &b, 4 << 20, e);
	for (p = b.buf; !rc && p && *p; p = strchr(p, '\n') ?
	    strchr(p, '\n') + 1 : NULL) {
		char *f3, *f4;

		if (strncmp(p, name, n) || p[n] != ':')
			continue;
		f3 = strchr(p + n + 1, ':');	/* after the password */
		if (!f3)
			break;
		*id = (uint32_t)strtoul(f3 + 1, &f4, 10);
		if (gid)
			*gid = *f4 == ':' ? (uint32_t)strtoul(f4 + 1, NULL, 10)
			    : 0;
		sbx_buf_release(&b);
		return 0;
	}
	sbx_buf_release(&b);
	if (rc == SBX_ENOENT || !rc)
		rc = sbx_err_set(e, SBX_EINVAL, "owner '%s': no such %s in the "
		    "image", name, strstr(file, "passwd") ? "user" : "group");
	return rc;
}

static int parse_owner(struct sbx_ext4 *w, const char *owner, uint32_t *uid,
    uint32_t *gid, struct sbx_err *e)
{
	const char *colon;
	char *user;
	uint32_t pgid;
	int rc;

	*uid = *gid = 0;
	if (!owner)
		return 0;
	colon = strchr(owner, ':');
	user = colon ? xstrndup(owner, colon - owner) : xstrdup(owner);
	rc = lookup_id(w, "etc/passwd", user, uid, &pgid, e);
	free(user);
	if (rc)
		return rc;
	if (!colon) {
		*gid = pgid;
		return 0;
	}
	return lookup_id(w, "etc/group", colon + 1, gid, NULL, e);
}

struct copy {
	struct sbx_ext4 *w;
	uint32_t uid, gid;
};

static int copy_tree(struct copy *c, const char *src, const char *dst,
    int depth, struct sbx_err *e);

static int copy_entry(struct copy *c, const char *src, const char *dst,
    const struct stat *st, mode_t perm, int depth, struct sbx_err *e)
{
	struct sbx_ext4_entry ent;
	char target[PATH_MAX];
	ssize_t n;

	if (S_ISREG(st->st_mode))
		return sbx_ext4_add_file(c->w, dst, src, perm, c->uid, c->gid,
		    e);
	memset(&ent, 0, sizeof(ent));
	ent.path = dst;
	ent.uid = c->uid;
	ent.gid = c->gid;
	ent.mtime = ent.atime = ent.ctime = st->st_mtime;
	if (S_ISDIR(st->st_mode)) {
		ent.mode = S_IFDIR | perm;
		if (*dst && sbx_ext4_add(c->w, &ent, e))
			return e->code;
		return copy_tree(c, src, dst, depth + 1, e);
	}
	if (S_ISLNK(st->st_mode)) {
		n = readlink(src, target, sizeof(target) - 1);
		if (n < 0)
			return sbx_err_sys(e, "cannot read link '%s'", src);
		target[n] = '\0';
		ent.mode = S_IFLNK | 0777;
		ent.symlink = target;
		return sbx_ext4_add(c->w, &ent, e);
	}
	return sbx_err_set(e, SBX_EINVAL, "'%s' is not a file, directory or "
	    "symlink", src);
}

/* Copies what is inside directory `src` into image directory `dst`. */
static int copy_tree(struct copy *c, const char *src, const char *dst,
    int depth, struct sbx_err *e)
{
	struct dirent **ents;
	struct stat st;
	int n, i, rc = 0;
	if (depth > MAX_DEPTH)
		return sbx_err_set(e, SBX_EINVAL, "'%s': directories nested too "
		    "deep", src);
	n = scandir(src, &ents, NULL, alphasort);
	if (n < 0)
		return open_err(src, e);
	for (i = 0; i < n; i++) {
		const char *nm = ents[i]->d_name;

		if (!rc && strcmp(nm, ".") && strcmp(nm, "..")) {
			char *s = xasprintf("%s/%s", src, nm);
			char *d = *dst ? xasprintf("%s/%s", dst, nm) :
			    xstrdup(nm);

			if (lstat(s, &st) < 0)
				rc = open_err(s, e);
			else
				rc = copy_entry(c, s, d, &st, st.st_mode & 07777,
				    depth, e);
			free(s);
			free(d);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* The image path for entry `f` (normalised; "" is the root). */
static int dest_path(const struct sbx_template_file *f, int src_is_dir,
    char *out, size_t outsz, struct sbx_err *e)
{
	size_t n = strlen(f->dst);
	char *full;
	int bad;

	if (!src_is_dir && n && f->dst[n - 1] == '/') {
		const char *b = strrchr(f->src, '/');

		full = xasprintf("%s%s", f->dst, b ? b + 1 : f->src);
	} else {
		full = xstrdup(f->dst);
	}
	bad = f->dst[0] != '/' || sbx_archive_norm_path(full + 1, out, outsz);
	free(full);
	if (bad || (!src_is_dir && !*out))
		return sbx_err_set(e, SBX_EINVAL, "bad destination '%s'",
		    f->dst);
	return 0;
}

int sbx_files_write(const struct sbx_template *t, struct sbx_ext4 *w,
    struct sbx_err *e)
{
	char dst[PATH_MAX];
	struct copy c;
	struct stat st;
	size_t i;
	int rc;

	c.w = w;
	for (i = 0; i < t->nfiles; i++) {
		const struct sbx_template_file *f = &t->files[i];
		mode_t perm;

		if (stat(f->src, &st) < 0)
			return at(t, f, open_err(f->src, e), e);
		if ((rc = dest_path(f, S_ISDIR(st.st_mode), dst, sizeof(dst),
		    e)))
			return at(t, f, rc, e);
		if ((rc = parse_owner(w, f->owner, &c.uid, &c.gid, e)))
			return at(t, f, rc, e);
		perm = f->has_mode ? f->mode : (st.st_mode & 07777);
		if ((rc = copy_entry(&c, f->src, dst, &st, perm, 0, e)))
			return at(t, f, rc, e);
	}
	return 0;
}

/* ---- the cache key ------------------------------------------------- */

static void hash_str(struct sbx_hasher *h, const char *s)
{
	uint64_t n = strlen(s);

	sbx_hasher_update(h, &n, sizeof(n));
	sbx_hasher_update(h, s, n);
}

static int hash_content(struct sbx_hasher *h, const char *path,
    struct sbx_err *e)
{
	char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return open_err(path, e);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = sbx_err_sys(e, "cannot read '%s'", path);
			close(fd);
			return (int)n;
		}
		sbx_hasher_update(h, buf, n);
	}
	close(fd);
	return 0;
}

static int hash_path(struct sbx_hasher *h, const char *path, int follow,
    int depth, struct sbx_err *e)
{
	struct dirent **ents;
	struct stat st;
	char target[PATH_MAX];
	uint64_t meta[2];
	ssize_t len;
	int n, i, rc = 0;

	if ((follow ? stat(path, &st) : lstat(path, &st)) < 0)
		return open_err(path, e);
	if (depth > MAX_DEPTH)
		return sbx_err_set(e, SBX_EINVAL, "'%s': directories nested too "
		    "deep", path);
	meta[0] = st.st_mode;
	meta[1] = (uint64_t)st.st_mtime;
	sbx_hasher_update(h, meta, sizeof(meta));
	if (S_ISREG(st.st_mode))
		return hash_content(h, path, e);
	if (S_ISLNK(st.st_mode)) {
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			return sbx_err_sys(e, "cannot read link '%s'", path);
		target[len] = '\0';
		hash_str(h, target);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return open_err(path, e);
	for (i = 0; i < n; i++) {
		if (!rc && strcmp(ents[i]->d_name, ".") &&
		    strcmp(ents[i]->d_name, "..")) {
			char *p = xasprintf("%s/%s", path, ents[i]->d_name);

			hash_str(h, ents[i]->d_name);
			rc = hash_path(h, p, 0, depth + 1, e);
			free(p);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int sbx_files_hash(const struct sbx_template *t, struct sbx_hasher *h,
    struct sbx_err *e)
{
	char num[32];
	size_t i;
	int rc;

	for (i = 0; i < t->nfiles; i++) {
		const struct sbx_template_file *f = &t->files[i];

		hash_str(h, f->dst);
		snprintf(num, sizeof(num), "%d:%o", f->has_mode, f->mode);
		hash_str(h, num);
		hash_str(h, f->owner ? f->owner : "");
		if ((rc = hash_path(h, f->src, 1, 0, e)))
			return at(t, f, rc, e);
	}
	return 0;
}
