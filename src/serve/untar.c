/*
 * untar.c - unpacks an uploaded build context (a tar, optionally
 * compressed) into a fresh directory without letting any entry land
 * outside it: no absolute names, no "..", no device nodes or fifos, no
 * symbolic or hard links that point outside the root, and nothing is
 * ever written through a symbolic link (every parent directory is
 * created by us or checked to be a real directory). Sizes and entry
 * counts are capped. Errors name the offending entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/buf.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/source.h"
#include "serve/serve-int.h"
#include "store/fsutil.h"
#include "core/banned.h"

/*
 * Cleans entry name `name` into `out` ("./a//b/" -> "a/b", image/source.h);
 * -1 when it is absolute, has a ".." component or is too long, 1 for the
 * root itself ("./").
 */
static int
clean_name(const char *name, struct sbx_buf *out)
{
	char norm[4096];

	sbx_buf_reset(out);
	if (sbx_archive_norm_path(name, norm, sizeof(norm)) < 0)
		return -1;
	sbx_buf_addstr(out, norm);
	return out->len ? 0 : 1;
}

/*
 * 0 if symbolic link `target`, stored at root-relative `at`, resolves
 * (lexically) inside the root.
 */
static int
link_inside(const char *at, const char *target)
{
	int depth = 0;
	const char *p, *q;

	if (target[0] == '/' || !target[0])
		return -1;
	for (p = at; (q = strchr(p, '/')); p = q + 1)
		depth++;		/* directories above the link */
	for (p = target; *p; p = *q ? q + 1 : q) {
		q = strchrnul(p, '/');
		if (q - p == 2 && !strncmp(p, "..", 2)) {
			if (--depth < 0)
				return -1;
		} else if (q > p && !(q - p == 1 && *p == '.')) {
			depth++;
		}
	}
	return 0;
}

/*
 * Makes the parent directories of root-relative `rel` under `root`;
 * refuses to go through anything that is not a real directory.
 */
static int
make_parents(const char *root, const char *rel, const char *entry,
    struct sbx_err *e)
{
	char *path = xasprintf("%s/%s", root, rel);
	size_t skip = strlen(root) + 1;
	char *s;
	struct stat st;
	int rc = 0;

	for (s = path + skip; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (lstat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': "
				    "'%s' is not a directory", entry,
				    path + skip);
		} else if (errno != ENOENT || mkdir(path, 0755) < 0) {
			rc = sbx_err_sys(e, "tar entry '%s': cannot create "
			    "'%s'", entry, path + skip);
		}
		*s = '/';
		if (rc)
			break;
	}
	free(path);
	return rc;
}

/* Removes what is at `path` unless it is a directory (a later entry wins). */
static int
replace(const char *path, const char *entry, struct sbx_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode))
		return sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': a directory "
		    "of that name is already there", entry);
	if (unlink(path) < 0)
		return sbx_err_sys(e, "tar entry '%s': cannot replace it",
		    entry);
	return 0;
}

/* Copies the entry's data into a new file at `path`. */
static int
write_file(struct archive *a, struct archive_entry *ent, const char *path,
    const char *entry, uint64_t *total, uint64_t max, struct sbx_err *e)
{
	struct timespec ts[2];
	char buf[64 * 1024];
	la_ssize_t n;
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return sbx_err_sys(e, "tar entry '%s': cannot create it", entry);
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		*total += (uint64_t)n;
		if (*total > max) {
			rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': the "
			    "upload unpacks to more than %llu bytes", entry,
			    (unsigned long long)max);
			break;
		}
		rc = sbx_fs_write_all(fd, buf, (size_t)n, entry, e);
		if (rc)
			break;
	}
	if (!rc && n < 0)
		rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': %s", entry,
		    archive_error_string(a));
	/* As packed: builds copy `files` with their mode and time. */
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(ent);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
	if (!rc && (fchmod(fd, archive_entry_perm(ent) & 0777) < 0 ||
	    futimens(fd, ts) < 0))
		rc = sbx_err_sys(e, "tar entry '%s'", entry);
	if (close(fd) < 0 && !rc)
		rc = sbx_err_sys(e, "tar entry '%s'", entry);
	return rc;
}

/* Sets the time of `path` to the entry's (errors are not worth one). */
static void
set_time(int dirfd, const char *path, struct archive_entry *ent, int flags)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(ent);
	ts[0].tv_nsec = ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
	utimensat(dirfd, path, ts, flags);
}

/*
 * Directories get their mode and time at the end, once nothing is added
 * to them any more: "REL\0" followed by mode and time, one after another.
 */
struct dir_fix {
	mode_t mode;
	int64_t sec;
	long nsec;
};

static void
dir_later(struct sbx_buf *dirs, const char *rel, struct archive_entry *ent)
{
	struct dir_fix f;

	f.mode = archive_entry_perm(ent) & 0777;
	f.sec = archive_entry_mtime(ent);
	f.nsec = archive_entry_mtime_nsec(ent);
	sbx_buf_add(dirs, rel, strlen(rel) + 1);
	sbx_buf_add(dirs, &f, sizeof(f));
}

/* Applies what dir_later kept, deepest last-listed first. */
static void
dirs_fix(const char *root, struct sbx_buf *dirs)
{
	struct sbx_strvec names = SBX_STRVEC_INIT;
	size_t off = 0, i;

	while (off < dirs->len) {
		sbx_strvec_push(&names, dirs->buf + off);
		off += strlen(dirs->buf + off) + 1 + sizeof(struct dir_fix);
	}
	off = dirs->len;
	for (i = names.nr; i-- > 0;) {
		struct dir_fix f;
		struct timespec ts[2];
		char *p = xasprintf("%s/%s", root, names.v[i]);

		off -= sizeof(f);
		memcpy(&f, dirs->buf + off, sizeof(f));
		off -= strlen(names.v[i]) + 1;
		ts[0].tv_sec = ts[1].tv_sec = (time_t)f.sec;
		ts[0].tv_nsec = ts[1].tv_nsec = f.nsec;
		chmod(p, f.mode | 0700);
		utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
		free(p);
	}
	sbx_strvec_clear(&names);
}

/* Unpacks one entry (name already cleaned into `rel`). */
static int
one_entry(struct archive *a, struct archive_entry *ent, const char *root,
    const char *rel, uint64_t *total, uint64_t max, struct sbx_buf *dirs,
    struct sbx_err *e)
{
	const char *name = archive_entry_pathname(ent);
	const char *hl = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	char *path = xasprintf("%s/%s", root, rel);
	struct sbx_buf t = SBX_BUF_INIT;
	int rc;

	rc = make_parents(root, rel, name, e);
	if (!rc && hl) {
		char *src;
		struct stat st;

		if (clean_name(hl, &t) != 0) {
			rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': hard "
			    "link to '%s' points outside the upload", name, hl);
		} else {
			src = xasprintf("%s/%s", root, t.buf);
			if (lstat(src, &st) < 0 || !S_ISREG(st.st_mode))
				rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': "
				    "hard link to '%s', which is not a file "
				    "unpacked before it", name, hl);
			else if (!(rc = replace(path, name, e)) &&
			    link(src, path) < 0)
				rc = sbx_err_sys(e, "tar entry '%s'", name);
			free(src);
		}
	} else if (!rc && type == AE_IFDIR) {
		struct stat st;

		if (lstat(path, &st) == 0 && !S_ISDIR(st.st_mode))
			rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': "
			    "something other than a directory is already "
			    "there", name);
		else if (mkdir(path, 0755) < 0 && errno != EEXIST)
			rc = sbx_err_sys(e, "tar entry '%s'", name);
		else
			dir_later(dirs, rel, ent);
	} else if (!rc && type == AE_IFLNK) {
		const char *to = archive_entry_symlink(ent);

		if (!to || link_inside(rel, to) < 0)
			rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': "
			    "symbolic link to '%s' points outside the upload",
			    name, to ? to : "");
		else if (!(rc = replace(path, name, e)) &&
		    symlink(to, path) < 0)
			rc = sbx_err_sys(e, "tar entry '%s'", name);
		else if (!rc)
			set_time(AT_FDCWD, path, ent, AT_SYMLINK_NOFOLLOW);
	} else if (!rc && type == AE_IFREG) {
		rc = replace(path, name, e);
		if (!rc)
			rc = write_file(a, ent, path, name, total, max, e);
	} else if (!rc) {
		rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': %s are not "
		    "allowed in a build context", name,
		    type == AE_IFCHR || type == AE_IFBLK ? "device nodes" :
		    type == AE_IFIFO ? "fifos" : type == AE_IFSOCK ?
		    "sockets" : "entries of this type");
	}
	sbx_buf_release(&t);
	free(path);
	return rc;
}

int
sbx_untar_safe(const char *tar, const char *root,
    const struct sbx_untar_limits *lim, struct sbx_err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	struct sbx_buf rel = SBX_BUF_INIT, dirs = SBX_BUF_INIT;
	uint64_t total = 0, count = 0;
	int rc = 0, r;

	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, tar, 64 * 1024) != ARCHIVE_OK) {
		rc = sbx_err_set(e, SBX_EUSAGE, "the upload is not a tar "
		    "archive: %s", archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);

		if (++count > lim->max_entries) {
			rc = sbx_err_set(e, SBX_EUSAGE, "the upload has more "
			    "than %llu entries",
			    (unsigned long long)lim->max_entries);
			break;
		}
		if (!name)
			name = "";
		r = clean_name(name, &rel);
		if (r < 0) {
			rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': %s",
			    name, name[0] == '/' ? "absolute names are not "
			    "allowed" : name[0] ? "'..' is not allowed" :
			    "empty name");
			break;
		}
		if (r == 1) {
			if (archive_entry_filetype(ent) == AE_IFDIR)
				continue;	/* "./" itself */
			rc = sbx_err_set(e, SBX_EUSAGE, "tar entry '%s': not a "
			    "file name", name);
			break;
		}
		rc = one_entry(a, ent, root, rel.buf, &total, lim->max_bytes,
		    &dirs, e);
		if (rc)
			break;
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = sbx_err_set(e, SBX_EUSAGE, "the upload is not a valid "
		    "tar archive: %s", archive_error_string(a));
	if (!rc)
		dirs_fix(root, &dirs);
out:
	archive_read_free(a);
	sbx_buf_release(&rel);
	sbx_buf_release(&dirs);
	return rc;
}
