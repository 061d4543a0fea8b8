/*
 * files.c - sbx-agent's file requests: PUT, GET, STAT, LIST, MKDIR, RM,
 * RENAME. PUT writes a temporary file next to the target and renames it
 * into place only after every byte arrived and was fsync'd, so a retried
 * PUT after a dropped connection never leaves a torn file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/guest/agentd.h"
#include "core/banned.h"

#define RM_MAX_DEPTH 512

static uint32_t
ftype_of(mode_t m)
{
	if (S_ISREG(m))
		return SBX_AGENT_FT_FILE;
	if (S_ISDIR(m))
		return SBX_AGENT_FT_DIR;
	if (S_ISLNK(m))
		return SBX_AGENT_FT_SYMLINK;
	return SBX_AGENT_FT_OTHER;
}

/* Fills the stat fields of `m` (and the link target of a symlink). */
static void
fill_stat(struct sbx_agent_msg *m, const struct stat *st, int dirfd,
    const char *name)
{
	m->ftype = ftype_of(st->st_mode);
	m->mode = (uint32_t)st->st_mode & 07777;
	m->size = (uint64_t)st->st_size;
	m->mtime = (int64_t)st->st_mtime;
	m->uid = (uint32_t)st->st_uid;
	m->gid = (uint32_t)st->st_gid;
	m->have |= 1u << SBX_AGENT_T_FTYPE | 1u << SBX_AGENT_T_MODE |
	    1u << SBX_AGENT_T_SIZE | 1u << SBX_AGENT_T_MTIME |
	    1u << SBX_AGENT_T_UID | 1u << SBX_AGENT_T_GID;
	if (S_ISLNK(st->st_mode)) {
		char t[SBX_AGENT_MAX_PATH];
		ssize_t n = readlinkat(dirfd, name, t, sizeof(t) - 1);

		if (n >= 0) {
			t[n] = '\0';
			sbx_agent_msg_set(m, SBX_AGENT_T_TARGET, t);
		}
	}
}

/* mkdir -p; 0 or -errno. */
static int
mkdir_p(const char *path, mode_t mode)
{
	char buf[SBX_AGENT_MAX_PATH + 1];
	struct stat st;
	size_t i, n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		if (stat(buf, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
		if (i < n)
			buf[i] = '/';
	}
	return 0;
}

/* Directory part of `path` into `out`. */
static void
parent_of(const char *path, char *out, size_t cap)
{
	char tmp[SBX_AGENT_MAX_PATH + 1];

	snprintf(tmp, sizeof(tmp), "%s", path);
	snprintf(out, cap, "%s", dirname(tmp));
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int
do_put(struct conn *c, struct sbx_agent_msg *req)
{
	char dir[SBX_AGENT_MAX_PATH + 1], tmp[SBX_AGENT_MAX_PATH + 32];
	mode_t mode = SBX_AGENT_HAS(req, SBX_AGENT_T_MODE) ?
	    (mode_t)req->mode & 07777 : 0644;
	struct sbx_agent_msg ok;
	struct sbx_agent_hdr h;
	const char *why = "";
	uint64_t total = 0;
	struct stat st;
	int fd, r;

	parent_of(req->path, dir, sizeof(dir));
	if ((req->flags & SBX_AGENT_F_PARENTS) && (r = mkdir_p(dir, 0755)) < 0)
		return conn_error(c, -r, "cannot create directory '%s': %s",
		    dir, strerror(-r));
	if (stat(req->path, &st) == 0 && S_ISDIR(st.st_mode))
		return conn_error(c, EISDIR, "'%s' is a directory", req->path);
	snprintf(tmp, sizeof(tmp), "%s/.sbx-put-XXXXXX", dir);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0)
		return conn_error(c, errno, "cannot create a file in '%s': %s",
		    dir, strerror(errno));
	if (conn_ok(c, NULL) < 0)
		goto drop;
	for (;;) {
		if (sbx_agent_read_frame(c->fd, &h, c->buf, &why) != 0)
			goto drop;
		if (h.type == SBX_AGENT_END)
			break;
		if (h.type != SBX_AGENT_DATA) {
			conn_error(c, EPROTO, "unexpected '%s' frame in a put",
			    sbx_agent_type_name(h.type));
			goto drop;
		}
		if ((r = sbx_agent_write_full(fd, c->buf, h.len)) < 0) {
			conn_error(c, -r, "cannot write '%s': %s", req->path,
			    strerror(-r));
			goto drop;
		}
		total += h.len;
	}
	if (sbx_agent_msg_decode(h.type, h.flags, c->buf, h.len, &ok,
	    &why) < 0) {
		conn_error(c, EPROTO, "bad end frame: %s", why);
		goto drop;
	}
	r = SBX_AGENT_HAS(&ok, SBX_AGENT_T_SIZE) && ok.size != total;
	sbx_agent_msg_free(&ok);
	if (r) {
		conn_error(c, EPROTO, "put of '%s' ended after %llu bytes, "
		    "not the announced size", req->path,
		    (unsigned long long)total);
		goto drop;
	}
	if (fchmod(fd, mode) < 0 || (SBX_AGENT_HAS(req, SBX_AGENT_T_UID) &&
	    fchown(fd, req->uid, SBX_AGENT_HAS(req, SBX_AGENT_T_GID) ?
	    req->gid : (gid_t)-1) < 0) || fsync(fd) < 0) {
		conn_error(c, errno, "cannot finish '%s': %s", req->path,
		    strerror(errno));
		goto drop;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, req->path) < 0) {
		conn_error(c, errno, "cannot rename into '%s': %s", req->path,
		    strerror(errno));
		goto drop;
	}
	fsync_dir(dir);
	sbx_agent_msg_init(&ok, SBX_AGENT_OK, 0);
	ok.size = total;
	ok.have |= 1u << SBX_AGENT_T_SIZE;
	return conn_ok(c, &ok);
drop:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

static int
do_get(struct conn *c, struct sbx_agent_msg *req)
{
	struct sbx_agent_msg m;
	uint64_t sent = 0;
	struct stat st;
	int fd;

	fd = open(req->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return conn_error(c, errno, "cannot open '%s': %s", req->path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return conn_error(c, S_ISDIR(st.st_mode) ? EISDIR : EINVAL,
		    "'%s' is not a regular file", req->path);
	}
	if (req->offset && lseek(fd, (off_t)req->offset, SEEK_SET) < 0) {
		close(fd);
		return conn_error(c, errno, "cannot seek in '%s': %s",
		    req->path, strerror(errno));
	}
	sbx_agent_msg_init(&m, SBX_AGENT_OK, 0);
	fill_stat(&m, &st, AT_FDCWD, req->path);
	if (conn_ok(c, &m) < 0)
		goto out;
	for (;;) {
		ssize_t n = read(fd, c->buf, SBX_AGENT_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			conn_error(c, errno, "cannot read '%s': %s",
			    req->path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (sbx_agent_write_frame(c->fd, SBX_AGENT_DATA, 0, c->buf,
		    (size_t)n) < 0)
			goto out;
		sent += (uint64_t)n;
	}
	sbx_agent_msg_free(&m);
	sbx_agent_msg_init(&m, SBX_AGENT_END, 0);
	m.size = sent;
	m.have |= 1u << SBX_AGENT_T_SIZE;
	sbx_agent_write_msg(c->fd, &m);
out:
	sbx_agent_msg_free(&m);
	close(fd);
	return 0;
}

static int
do_stat(struct conn *c, struct sbx_agent_msg *req)
{
	struct sbx_agent_msg m;
	struct stat st;
	int r;

	if (lstat(req->path, &st) < 0)
		return conn_error(c, errno, "cannot stat '%s': %s", req->path,
		    strerror(errno));
	sbx_agent_msg_init(&m, SBX_AGENT_OK, 0);
	fill_stat(&m, &st, AT_FDCWD, req->path);
	r = conn_ok(c, &m);
	sbx_agent_msg_free(&m);
	return r;
}

static int
do_list(struct conn *c, struct sbx_agent_msg *req)
{
	struct sbx_agent_msg m;
	struct dirent *d;
	uint64_t count = 0;
	DIR *dir = opendir(req->path);

	if (!dir)
		return conn_error(c, errno, "cannot list '%s': %s", req->path,
		    strerror(errno));
	while ((d = readdir(dir))) {
		struct stat st;
		int r;

		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if (fstatat(dirfd(dir), d->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* removed meanwhile */
		sbx_agent_msg_init(&m, SBX_AGENT_ENTRY, 0);
		sbx_agent_msg_set(&m, SBX_AGENT_T_NAME, d->d_name);
		fill_stat(&m, &st, dirfd(dir), d->d_name);
		r = sbx_agent_write_msg(c->fd, &m);
		sbx_agent_msg_free(&m);
		if (r < 0) {
			closedir(dir);
			return -1;
		}
		count++;
	}
	closedir(dir);
	sbx_agent_msg_init(&m, SBX_AGENT_END, 0);
	m.size = count;
	m.have |= 1u << SBX_AGENT_T_SIZE;
	return sbx_agent_write_msg(c->fd, &m);
}

/* Removes `name` under `dfd` and everything below it; -errno. */
static int
rm_tree(int dfd, const char *name, int depth)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 ? -errno : 0;
	if (depth > RM_MAX_DEPTH)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 || !(dir = fdopendir(fd))) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (!r && (d = readdir(dir))) {
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
			r = rm_tree(dirfd(dir), d->d_name, depth + 1);
		if (r == -ENOENT)
			r = 0;
	}
	closedir(dir);
	if (!r && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

static int
do_rm(struct conn *c, struct sbx_agent_msg *req)
{
	struct stat st;
	int r;

	if (!strcmp(req->path, "/"))
		return conn_error(c, EBUSY, "refusing to remove '/'");
	if (lstat(req->path, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode) && !(req->flags & SBX_AGENT_F_RECURSIVE))
		r = rmdir(req->path) < 0 ? -errno : 0;
	else
		r = rm_tree(AT_FDCWD, req->path, 0);
	if (r == -ENOENT && (req->flags & SBX_AGENT_F_FORCE))
		r = 0;
	if (r < 0)
		return conn_error(c, -r, "cannot remove '%s': %s", req->path,
		    strerror(-r));
	return conn_ok(c, NULL);
}

static int
do_mkdir(struct conn *c, struct sbx_agent_msg *req)
{
	mode_t mode = SBX_AGENT_HAS(req, SBX_AGENT_T_MODE) ?
	    (mode_t)req->mode & 07777 : 0755;
	int r;

	if (req->flags & SBX_AGENT_F_PARENTS)
		r = mkdir_p(req->path, mode);
	else
		r = mkdir(req->path, mode) < 0 ? -errno : 0;
	if (r < 0)
		return conn_error(c, -r, "cannot create directory '%s': %s",
		    req->path, strerror(-r));
	if (SBX_AGENT_HAS(req, SBX_AGENT_T_UID) && chown(req->path, req->uid,
	    SBX_AGENT_HAS(req, SBX_AGENT_T_GID) ? req->gid : (gid_t)-1) < 0)
		return conn_error(c, errno, "cannot change owner of '%s': %s",
		    req->path, strerror(errno));
	return conn_ok(c, NULL);
}

int
files_handle(struct conn *c, struct sbx_agent_msg *req)
{
	switch (req->type) {
	case SBX_AGENT_PUT:
		return do_put(c, req);
	case SBX_AGENT_GET:
		return do_get(c, req);
	case SBX_AGENT_STAT:
		return do_stat(c, req);
	case SBX_AGENT_LIST:
		return do_list(c, req);
	case SBX_AGENT_MKDIR:
		return do_mkdir(c, req);
	case SBX_AGENT_RM:
		return do_rm(c, req);
	case SBX_AGENT_RENAME:
		if (rename(req->path, req->path2) < 0)
			return conn_error(c, errno, "cannot rename '%s' to "
			    "'%s': %s", req->path, req->path2,
			    strerror(errno));
		return conn_ok(c, NULL);
	}
	return conn_error(c, EPROTO, "not a file request");
}
