/*
 * cpio.c - initramfs writer: cpio newc through libarchive, written to a
 * temporary file that is synced and renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/cpio.h"
#include "core/banned.h"

struct sbx_cpio {
	struct archive *a;
	char *path;		/* final name */
	char *tmp;		/* temporary name in the same directory */
	int fd;
	unsigned long ino;
	struct sbx_strvec seen;	/* paths added so far (linear search:
				   initramfs archives hold hundreds) */
};

int
sbx_cpio_open(struct sbx_cpio **out, const char *path, int flags,
    struct sbx_err *e)
{
	struct sbx_cpio *c = xcalloc(1, sizeof(*c));

	*out = NULL;
	c->path = xstrdup(path);
	c->tmp = xasprintf("%s.tmp-XXXXXX", path);
	c->fd = mkstemp(c->tmp);
	if (c->fd < 0) {
		int r = sbx_err_sys(e, "cannot create '%s'", c->tmp);

		free(c->tmp);
		free(c->path);
		free(c);
		return r;
	}
	sbx_strvec_init(&c->seen);
	c->a = archive_write_new();
	archive_write_set_format_cpio_newc(c->a);
	if (flags & SBX_CPIO_GZIP) {
		archive_write_add_filter_gzip(c->a);
		/* No timestamp in the gzip header: reproducible output. */
		archive_write_set_filter_option(c->a, "gzip", "timestamp",
		    NULL);
	}
	archive_write_set_bytes_in_last_block(c->a, 1);
	if (archive_write_open_fd(c->a, c->fd) != ARCHIVE_OK) {
		int r = sbx_err_set(e, SBX_EIO, "cannot write '%s': %s", path,
		    archive_error_string(c->a));

		sbx_cpio_abort(c);
		return r;
	}
	*out = c;
	return 0;
}

static int
cpio_seen(struct sbx_cpio *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->seen.nr; i++)
		if (!strcmp(c->seen.v[i], path))
			return 1;
	return 0;
}

/* Normalizes an archive path; NULL when it is empty or has "..". */
static char *
cpio_norm(const char *raw)
{
	char *out = xmalloc(strlen(raw) + 1);
	size_t o = 0;
	const char *p = raw;

	while (*p) {
		const char *s = p;
		size_t n;

		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		while (*p == '/')
			p++;
		if (n == 0 || (n == 1 && s[0] == '.'))
			continue;
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			free(out);
			return NULL;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	if (!o) {
		free(out);
		return NULL;
	}
	return out;
}

/* Writes a header (and for files the data) for an already-checked path. */
static int
cpio_put(struct sbx_cpio *c, const char *path,
    const struct sbx_cpio_entry *ent, struct sbx_err *e)
{
	struct archive_entry *ae = archive_entry_new();
	int fd = -1, r = 0;
	off_t size = 0;

	archive_entry_set_pathname(ae, path);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_mtime(ae, 0, 0);
	archive_entry_set_ino(ae, ++c->ino);
	archive_entry_set_nlink(ae, ent->type == SBX_CPIO_DIR ? 2 : 1);
	archive_entry_set_perm(ae, ent->mode & 07777);
	archive_entry_set_size(ae, 0);
	switch (ent->type) {
	case SBX_CPIO_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		if (ent->src) {
			struct stat st;

			fd = open(ent->src, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) < 0) {
				r = sbx_err_sys(e, "cpio entry '%s': cannot "
				    "read '%s'", path, ent->src);
				goto out;
			}
			if (!S_ISREG(st.st_mode)) {
				r = sbx_err_set(e, SBX_EINVAL, "cpio entry "
				    "'%s': '%s' is not a regular file", path,
				    ent->src);
				goto out;
			}
			size = st.st_size;
		} else {
			size = (off_t)ent->len;
		}
		archive_entry_set_size(ae, size);
		break;
	case SBX_CPIO_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		break;
	case SBX_CPIO_SYMLINK:
		if (!ent->target || !*ent->target) {
			r = sbx_err_set(e, SBX_EINVAL, "cpio entry '%s': "
			    "symlink without a target", path);
			goto out;
		}
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, ent->target);
		break;
	case SBX_CPIO_CHARDEV:
		archive_entry_set_filetype(ae, AE_IFCHR);
		archive_entry_set_rdevmajor(ae, ent->major);
		archive_entry_set_rdevminor(ae, ent->minor);
		break;
	default:
		r = sbx_err_set(e, SBX_EINVAL, "cpio entry '%s': unknown type "
		    "%d", path, (int)ent->type);
		goto out;
	}
	if (archive_write_header(c->a, ae) != ARCHIVE_OK) {
		r = sbx_err_set(e, SBX_EIO, "cpio entry '%s': %s", path,
		    archive_error_string(c->a));
		goto out;
	}
	if (ent->type == SBX_CPIO_FILE && fd >= 0) {
		char buf[65536];
		off_t done = 0;
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				r = sbx_err_sys(e, "cpio entry '%s': cannot "
				    "read '%s'", path, ent->src);
				goto out;
			}
			if (done + n > size) {
				r = sbx_err_set(e, SBX_EIO, "cpio entry '%s': "
				    "'%s' grew while being read", path,
				    ent->src);
				goto out;
			}
			if (archive_write_data(c->a, buf, (size_t)n) != n) {
				r = sbx_err_set(e, SBX_EIO, "cpio entry "
				    "'%s': %s", path,
				    archive_error_string(c->a));
				goto out;
			}
			done += n;
		}
		if (done != size) {
			r = sbx_err_set(e, SBX_EIO, "cpio entry '%s': '%s' "
			    "shrank while being read", path, ent->src);
			goto out;
		}
	} else if (ent->type == SBX_CPIO_FILE && ent->len) {
		if (archive_write_data(c->a, ent->data, ent->len) !=
		    (la_ssize_t)ent->len) {
			r = sbx_err_set(e, SBX_EIO, "cpio entry '%s': %s",
			    path, archive_error_string(c->a));
			goto out;
		}
	}
	sbx_strvec_push(&c->seen, path);
out:
	if (fd >= 0)
		close(fd);
	archive_entry_free(ae);
	return r;
}

int
sbx_cpio_add(struct sbx_cpio *c, const struct sbx_cpio_entry *ent,
    struct sbx_err *e)
{
	char *path, *slash;
	int r = 0;

	path = ent->path ? cpio_norm(ent->path) : NULL;
	if (!path)
		return sbx_err_set(e, SBX_EINVAL, "cpio entry '%s': empty path "
		    "or '..' component", ent->path ? ent->path : "");
	if (cpio_seen(c, path)) {
		if (ent->type == SBX_CPIO_DIR) {
			free(path);
			return 0;
		}
		r = sbx_err_set(e, SBX_EEXIST, "cpio entry '%s': added twice",
		    path);
		free(path);
		return r;
	}
	/* Parent directories first, shortest first. */
	for (slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
		struct sbx_cpio_entry dir = {
			.type = SBX_CPIO_DIR, .mode = 0755,
		};

		*slash = '\0';
		if (!cpio_seen(c, path)) {
			dir.path = path;
			r = cpio_put(c, path, &dir, e);
		}
		*slash = '/';
		if (r < 0)
			break;
	}
	if (r == 0)
		r = cpio_put(c, path, ent, e);
	free(path);
	return r;
}

/* fsyncs the directory holding `path`. */
static int
cpio_sync_dir(const char *path, struct sbx_err *e)
{
	char *copy = xstrdup(path);
	int fd, r = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = sbx_err_sys(e, "cannot sync the directory of '%s'", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

static void
cpio_free(struct sbx_cpio *c)
{
	if (c->a)
		archive_write_free(c->a);
	if (c->fd >= 0)
		close(c->fd);
	sbx_strvec_clear(&c->seen);
	free(c->tmp);
	free(c->path);
	free(c);
}

int
sbx_cpio_close(struct sbx_cpio *c, struct sbx_err *e)
{
	int r = 0;

	if (archive_write_close(c->a) != ARCHIVE_OK)
		r = sbx_err_set(e, SBX_EIO, "cannot write '%s': %s", c->path,
		    archive_error_string(c->a));
	else if (fchmod(c->fd, 0644) < 0 || fsync(c->fd) < 0)
		r = sbx_err_sys(e, "cannot sync '%s'", c->tmp);
	else if (rename(c->tmp, c->path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", c->tmp,
		    c->path);
	else
		r = cpio_sync_dir(c->path, e);
	if (r < 0)
		unlink(c->tmp);
	cpio_free(c);
	return r;
}

void
sbx_cpio_abort(struct sbx_cpio *c)
{
	if (!c)
		return;
	unlink(c->tmp);
	cpio_free(c);
}

int
sbx_cpio_write(const char *path, const struct sbx_cpio_entry *ents, size_t n,
    int flags, struct sbx_err *e)
{
	struct sbx_cpio *c;
	size_t i;
	int r;

	r = sbx_cpio_open(&c, path, flags, e);
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		r = sbx_cpio_add(c, &ents[i], e);
		if (r < 0) {
			sbx_cpio_abort(c);
			return r;
		}
	}
	return sbx_cpio_close(c, e);
}
