/*
 * deb.c - reading .deb packages: an ar archive whose control.tar.* and
 * data.tar.* members are read as nested libarchive streams.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/deb.h"
#include "core/banned.h"

#define DEB_CONTROL_MAX (1 << 20)

/* An open .deb positioned at one of its inner tar members. */
struct deb {
	const char *path;
	struct archive *outer;		/* the ar archive */
	struct archive *inner;		/* the tar inside the chosen member */
	char member[256];
	char block[65536];
};

/* libarchive read callback: the inner tar's bytes come from the ar member. */
static la_ssize_t
deb_inner_read(struct archive *a, void *data, const void **buf)
{
	struct deb *d = data;
	la_ssize_t n;

	(void)a;
	n = archive_read_data(d->outer, d->block, sizeof(d->block));
	*buf = d->block;
	return n < 0 ? ARCHIVE_FATAL : n;
}

static void
deb_close(struct deb *d)
{
	if (d->inner)
		archive_read_free(d->inner);
	if (d->outer)
		archive_read_free(d->outer);
	d->inner = d->outer = NULL;
}

/*
 * Opens `path` and positions d->inner at the member whose name starts with
 * `prefix` ("control.tar" or "data.tar"), after checking debian-binary.
 */
static int
deb_open(struct deb *d, const char *path, const char *prefix,
    struct sbx_err *e)
{
	struct archive_entry *ent;
	struct stat st;
	int r, seen_binary = 0;

	memset(d, 0, sizeof(*d) - sizeof(d->block));
	d->path = path;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return sbx_err_set(e, SBX_ENOENT,
			    "cannot open package '%s': no such file", path);
		return sbx_err_sys(e, "cannot open package '%s'", path);
	}
	d->outer = archive_read_new();
	archive_read_support_format_ar(d->outer);
	if (archive_read_open_filename(d->outer, path, 65536) != ARCHIVE_OK) {
		r = sbx_err_set(e, SBX_EINVAL, "'%s': not a .deb package: %s",
		    path, archive_error_string(d->outer));
		deb_close(d);
		return r;
	}
	for (;;) {
		const char *name;

		r = archive_read_next_header(d->outer, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			r = sbx_err_set(e, SBX_EINVAL,
			    "'%s': not a .deb package: %s", path,
			    archive_error_string(d->outer));
			deb_close(d);
			return r;
		}
		name = archive_entry_pathname(ent);
		if (!name)
			continue;
		if (!seen_binary) {
			char ver[16] = "";
			la_ssize_t n;

			n = archive_read_data(d->outer, ver, sizeof(ver) - 1);
			if (strcmp(name, "debian-binary") || n < 4 ||
			    strncmp(ver, "2.", 2)) {
				deb_close(d);
				return sbx_err_set(e, SBX_EINVAL,
				    "'%s': not a .deb package (no "
				    "'debian-binary' 2.x first member)", path);
			}
			seen_binary = 1;
			continue;
		}
		if (strncmp(name, prefix, strlen(prefix)))
			continue;
		snprintf(d->member, sizeof(d->member), "%s", name);
		d->inner = archive_read_new();
		archive_read_support_filter_all(d->inner);
		archive_read_support_format_tar(d->inner);
		if (archive_read_open(d->inner, d, NULL, deb_inner_read,
		    NULL) != ARCHIVE_OK) {
			r = sbx_err_set(e, SBX_EINVAL, "'%s': member '%s': %s",
			    path, name, archive_error_string(d->inner));
			deb_close(d);
			return r;
		}
		return 0;
	}
	deb_close(d);
	if (!seen_binary)
		return sbx_err_set(e, SBX_EINVAL,
		    "'%s': not a .deb package (empty archive)", path);
	return sbx_err_set(e, SBX_EINVAL, "'%s': no '%s*' member", path,
	    prefix);
}

/*
 * Normalizes an archive path into `out`: drops leading "./", "." and
 * empty components and a trailing "/". Returns 1 for the root itself
 * (nothing to write), 0 when fine, or -1 with `why` set when the path is
 * absolute or has a ".." component.
 */
static int
deb_norm_path(const char *raw, char *out, size_t len, const char **why)
{
	size_t o = 0;
	const char *p = raw;

	if (*p == '/') {
		*why = "absolute path";
		return -1;
	}
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
			*why = "'..' in path";
			return -1;
		}
		if (o + n + 2 > len) {
			*why = "path too long";
			return -1;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, s, n);
		o += n;
	}
	out[o] = '\0';
	return o == 0 ? 1 : 0;
}

/*
 * Checks that a symlink at `path` (normalized, relative to the
 * destination) with `target` stays inside the destination.
 */
static int
deb_link_inside(const char *path, const char *target)
{
	const char *p;
	long depth = 0;

	for (p = path; *p; p++)
		if (*p == '/')
			depth++;
	for (p = target; *p;) {
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
			if (--depth < 0)
				return 0;
		} else {
			depth++;
		}
	}
	return 1;
}

static int
deb_selected(const char *path, const char *const *wanted)
{
	size_t i;

	if (!wanted)
		return 1;
	for (i = 0; wanted[i]; i++) {
		const char *w = wanted[i];
		size_t n;

		while (*w == '.' && w[1] == '/')
			w += 2;
		while (*w == '/')
			w++;
		n = strlen(w);
		while (n && w[n - 1] == '/')
			n--;
		if (n == 0)
			return 1;
		if (!strncmp(path, w, n) && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

/* Writes one checked entry below `dest` with the disk writer `w`. */
static int
deb_write_entry(struct deb *d, struct archive *w, struct archive_entry *ent,
    const char *dest, const char *rel, struct sbx_err *e)
{
	char *full = xasprintf("%s/%s", dest, rel);
	int r;

	archive_entry_set_pathname(ent, full);
	free(full);
	r = archive_write_header(w, ent);
	if (r < ARCHIVE_WARN) {
		r = sbx_err_set(e, SBX_EIO, "'%s': entry '%s': cannot write: "
		    "%s", d->path, rel, archive_error_string(w));
		return r;
	}
	if (archive_entry_filetype(ent) == AE_IFREG &&
	    !archive_entry_hardlink(ent)) {
		for (;;) {
			const void *buf;
			size_t size;
			la_int64_t off;

			r = archive_read_data_block(d->inner, &buf, &size, &off);
			if (r == ARCHIVE_EOF)
				break;
			if (r < ARCHIVE_WARN)
				return sbx_err_set(e, SBX_EINVAL,
				    "'%s': entry '%s': %s", d->path, rel,
				    archive_error_string(d->inner));
			if (archive_write_data_block(w, buf, size, off) <
			    ARCHIVE_WARN)
				return sbx_err_set(e, SBX_EIO,
				    "'%s': entry '%s': cannot write: %s",
				    d->path, rel, archive_error_string(w));
		}
	}
	if (archive_write_finish_entry(w) < ARCHIVE_WARN)
		return sbx_err_set(e, SBX_EIO, "'%s': entry '%s': cannot "
		    "write: %s", d->path, rel, archive_error_string(w));
	return 0;
}

static int deb_selected(const char *path, const char *const *wanted);

/*
 * Validates one entry and rewrites its names; 1 = skip it (the root, or
 * not selected). Paths are checked on every entry, the rest only on the
 * selected ones.
 */
static int
deb_check_entry(struct deb *d, struct archive_entry *ent, const char *dest,
    const char *const *wanted, int flags, char *rel, size_t len,
    struct sbx_err *e)
{
	const char *why = NULL, *raw = archive_entry_pathname(ent);
	const char *link;
	char hl[4096];
	mode_t type = archive_entry_filetype(ent);
	int r;

	if (!raw)
		return sbx_err_set(e, SBX_EINVAL, "'%s': entry without a name",
		    d->path);
	r = deb_norm_path(raw, rel, len, &why);
	if (r < 0)
		return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': %s",
		    d->path, raw, why);
	if (r > 0 || !deb_selected(rel, wanted))
		return 1;
	if ((link = archive_entry_hardlink(ent))) {
		if (deb_norm_path(link, hl, sizeof(hl), &why) != 0)
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "hard link to '%s': %s", d->path, raw, link,
			    why ? why : "the root");
		{
			char *full = xasprintf("%s/%s", dest, hl);

			archive_entry_set_hardlink(ent, full);
			free(full);
		}
		return 0;
	}
	switch (type) {
	case AE_IFREG:
		archive_entry_set_perm(ent, archive_entry_perm(ent) & 0777);
		break;
	case AE_IFDIR:
		archive_entry_set_perm(ent,
		    (archive_entry_perm(ent) & 0777) | 0700);
		break;
	case AE_IFLNK:
		link = archive_entry_symlink(ent);
		if (!link || !*link)
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "symlink without a target", d->path, raw);
		if (link[0] == '/' && !(flags & SBX_DEB_ROOTFS_LINKS))
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "symlink to absolute path '%s' points outside "
			    "the destination", d->path, raw, link);
		if (link[0] != '/' && !deb_link_inside(rel, link))
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "symlink to '%s' points outside the destination",
			    d->path, raw, link);
		break;
	default:
		return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
		    "unsupported file type (device, FIFO or socket)", d->path,
		    raw);
	}
	return 0;
}

int
sbx_deb_extract(const char *deb, const char *dest, const char *const *wanted,
    int flags, size_t *count, struct sbx_err *e)
{
	struct deb *d = xmalloc(sizeof(*d));
	struct archive *w;
	struct archive_entry *ent;
	char rel[4096];
	size_t n = 0;
	int r;

	if (count)
		*count = 0;
	r = deb_open(d, deb, "data.tar", e);
	if (r < 0) {
		free(d);
		return r;
	}
	w = archive_write_disk_new();
	archive_write_disk_set_options(w, ARCHIVE_EXTRACT_PERM |
	    ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_UNLINK |
	    ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS);
	for (;;) {
		r = archive_read_next_header(d->inner, &ent);
		if (r == ARCHIVE_EOF) {
			r = 0;
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = sbx_err_set(e, SBX_EINVAL, "'%s': member '%s': %s",
			    deb, d->member, archive_error_string(d->inner));
			break;
		}
		r = deb_check_entry(d, ent, dest, wanted, flags, rel,
		    sizeof(rel), e);
		if (r < 0)
			break;
		if (r > 0)
			continue;
		r = deb_write_entry(d, w, ent, dest, rel, e);
		if (r < 0)
			break;
		n++;
	}
	if (archive_write_close(w) != ARCHIVE_OK && r == 0)
		r = sbx_err_set(e, SBX_EIO, "'%s': cannot finish writing to "
		    "'%s': %s", deb, dest, archive_error_string(w));
	archive_write_free(w);
	deb_close(d);
	free(d);
	if (r == 0 && count)
		*count = n;
	return r;
}

int
sbx_deb_read_control(const char *deb, const char *name, struct sbx_buf *out,
    struct sbx_err *e)
{
	struct deb *d = xmalloc(sizeof(*d));
	struct archive_entry *ent;
	char rel[4096];
	const char *why;
	int r;

	r = deb_open(d, deb, "control.tar", e);
	if (r < 0) {
		free(d);
		return r;
	}
	for (;;) {
		r = archive_read_next_header(d->inner, &ent);
		if (r == ARCHIVE_EOF) {
			r = sbx_err_set(e, SBX_ENOENT, "'%s': no control file "
			    "'%s'", deb, name);
			break;
		}
		if (r < ARCHIVE_WARN) {
			r = sbx_err_set(e, SBX_EINVAL, "'%s': member '%s': %s",
			    deb, d->member, archive_error_string(d->inner));
			break;
		}
		if (!archive_entry_pathname(ent) ||
		    deb_norm_path(archive_entry_pathname(ent), rel,
		    sizeof(rel), &why) != 0 || strcmp(rel, name))
			continue;
		if (archive_entry_size(ent) > DEB_CONTROL_MAX) {
			r = sbx_err_set(e, SBX_EINVAL, "'%s': control file "
			    "'%s' is larger than 1 MiB", deb, name);
			break;
		}
		for (r = 0;;) {
			la_ssize_t got = archive_read_data(d->inner, d->block,
			    sizeof(d->block));

			if (got == 0)
				break;
			if (got < 0) {
				r = sbx_err_set(e, SBX_EINVAL, "'%s': control "
				    "file '%s': %s", deb, name,
				    archive_error_string(d->inner));
				break;
			}
			sbx_buf_add(out, d->block, (size_t)got);
		}
		break;
	}
	deb_close(d);
	free(d);
	return r;
}

char *
sbx_deb_control_field(const char *control, const char *field)
{
	size_t flen = strlen(field);
	const char *p = control;

	while (p && *p) {
		if (!strncasecmp(p, field, flen) && p[flen] == ':') {
			const char *v = p + flen + 1, *end;

			while (*v == ' ' || *v == '\t')
				v++;
			end = strchr(v, '\n');
			if (!end)
				end = v + strlen(v);
			while (end > v && (end[-1] == ' ' || end[-1] == '\t' ||
			    end[-1] == '\r'))
				end--;
			return xstrndup(v, (size_t)(end - v));
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}
