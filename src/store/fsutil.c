/*
 * fsutil.c - durable writes, directory fsync and recursive removal.
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

#include "core/err.h"
#include "core/xmalloc.h"
#include "store/fsutil.h"
#include "core/banned.h"

int
sbx_fs_fsync_dir(const char *path, struct sbx_err *e)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return sbx_err_sys(e, "cannot open directory '%s'", path);
	if (fsync(fd) < 0 && errno != EINVAL) {
		sbx_err_sys(e, "cannot fsync directory '%s'", path);
		close(fd);
		return SBX_EIO;
	}
	close(fd);
	return 0;
}

int
sbx_fs_fsync_parent(const char *path, struct sbx_err *e)
{
	char *copy = xstrdup(path);
	int r = sbx_fs_fsync_dir(dirname(copy), e);

	free(copy);
	return r;
}

int
sbx_fs_mkdir(const char *path, mode_t mode, struct sbx_err *e)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return sbx_fs_fsync_parent(path, e);
	if (errno != EEXIST)
		return sbx_err_sys(e, "cannot create directory '%s'", path);
	if (stat(path, &st) < 0)
		return sbx_err_sys(e, "cannot stat '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return sbx_err_set(e, SBX_EEXIST,
		    "'%s' exists and is not a directory", path);
	return 0;
}

int
sbx_fs_mkdir_p(const char *path, mode_t mode, struct sbx_err *e)
{
	char *copy = xstrdup(path), *p;
	int r = 0;

	for (p = copy + 1; *p && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			r = sbx_err_sys(e, "cannot create directory '%s'", copy);
		*p = '/';
	}
	free(copy);
	if (r == 0)
		r = sbx_fs_mkdir(path, mode, e);
	return r;
}

int
sbx_fs_write_all(int fd, const void *data, size_t len, const char *what,
    struct sbx_err *e)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sbx_err_sys(e, "cannot write '%s'", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sbx_fs_write_atomic(const char *path, const char *tmpdir, const void *data,
    size_t len, mode_t mode, struct sbx_err *e)
{
	char *dir_copy = NULL, *tmp;
	const char *dir = tmpdir;
	int fd, r;

	if (!dir) {
		dir_copy = xstrdup(path);
		dir = dirname(dir_copy);
	}
	tmp = xasprintf("%s/.atomic-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = sbx_err_sys(e, "cannot create a temporary file in '%s'",
		    dir);
		goto out;
	}
	r = sbx_fs_write_all(fd, data, len, tmp, e);
	if (r == 0 && fchmod(fd, mode) < 0)
		r = sbx_err_sys(e, "cannot chmod '%s'", tmp);
	if (r == 0 && fsync(fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", tmp);
	if (close(fd) < 0 && r == 0)
		r = sbx_err_sys(e, "cannot close '%s'", tmp);
	if (r == 0 && rename(tmp, path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", tmp, path);
	if (r < 0) {
		unlink(tmp);
		goto out;
	}
	r = sbx_fs_fsync_parent(path, e);
out:
	free(tmp);
	free(dir_copy);
	return r;
}

/* Removes the contents of the directory open as `dfd`, then closes it. */
static int
remove_dir_contents(int dfd, const char *path, struct sbx_err *e)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(dfd);
		return sbx_err_sys(e, "cannot read directory '%s'", path);
	}
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (unlinkat(dirfd(d), n, 0) == 0 || errno == ENOENT)
			continue;
		if (errno == EISDIR || errno == EPERM) {
			char *sub = xasprintf("%s/%s", path, n);
			int cfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);

			if (cfd < 0)
				r = sbx_err_sys(e, "cannot open '%s'", sub);
			else if ((r = remove_dir_contents(cfd, sub, e)) == 0 &&
			    unlinkat(dirfd(d), n, AT_REMOVEDIR) < 0)
				r = sbx_err_sys(e, "cannot remove '%s'", sub);
			free(sub);
			if (r < 0)
				break;
			continue;
		}
		r = sbx_err_sys(e, "cannot remove '%s/%s'", path, n);
		break;
	}
	closedir(d);
	return r;
}

int
sbx_fs_remove_tree(const char *path, struct sbx_err *e)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return sbx_err_sys(e, "cannot stat '%s'", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) < 0 && errno != ENOENT)
			return sbx_err_sys(e, "cannot remove '%s'", path);
		return 0;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	r = remove_dir_contents(fd, path, e);
	if (r == 0 && rmdir(path) < 0 && errno != ENOENT)
		r = sbx_err_sys(e, "cannot remove '%s'", path);
	return r;
}
