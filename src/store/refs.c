/*
 * refs.c - refs/<kind>/<name> files: validate, write, read, list.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/fsutil.h"
#include "store/refs.h"
#include "store/store-int.h"
#include "core/banned.h"

int
sbx_ref_name_check(const char *what, const char *name, struct sbx_err *e)
{
	size_t len, i;

	if (!name || !*name)
		return sbx_err_set(e, SBX_EINVAL, "%s is empty", what);
	len = strlen(name);
	if (len > SBX_REF_NAME_MAX)
		return sbx_err_set(e, SBX_EINVAL, "%s '%.40s...' is too long "
		    "(%zu bytes, at most %d)", what, name, len,
		    SBX_REF_NAME_MAX);
	if (name[0] == '.' || name[0] == '-')
		return sbx_err_set(e, SBX_EINVAL, "%s '%s' must not start "
		    "with '%c'", what, name, name[0]);
	if (strstr(name, ".."))
		return sbx_err_set(e, SBX_EINVAL, "%s '%s' must not contain "
		    "'..'", what, name);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		    c == '-')
			continue;
		if (c == '/')
			return sbx_err_set(e, SBX_EINVAL, "%s '%s' must not "
			    "contain '/'", what, name);
		if (c < 0x20 || c >= 0x7f)
			return sbx_err_set(e, SBX_EINVAL, "%s '%s' contains a "
			    "control or non-ASCII byte at offset %zu", what,
			    name, i);
		return sbx_err_set(e, SBX_EINVAL, "%s '%s' contains '%c' "
		    "(allowed: letters, digits, '.', '_', '-')", what,
		    name, c);
	}
	return 0;
}

/* Validates kind and name; returns the ref's path (free()) or NULL. */
static char *
ref_path(struct sbx_store *s, const char *kind, const char *name,
    struct sbx_err *e)
{
	if (sbx_ref_name_check("ref kind", kind, e) < 0 ||
	    sbx_ref_name_check("ref name", name, e) < 0)
		return NULL;
	return xasprintf("%s/refs/%s/%s", s->home, kind, name);
}

int
sbx_ref_write(struct sbx_store *s, const char *kind, const char *name,
    const struct sbx_oid *id, struct sbx_err *e)
{
	char line[SBX_OID_HEXLEN + 2], *path, *dir;
	int r, taken = 0;

	path = ref_path(s, kind, name, e);
	if (!path)
		return SBX_EINVAL;
	r = store_write_enter(s, &taken, e);
	if (r < 0)
		goto out;
	dir = xasprintf("%s/refs/%s", s->home, kind);
	r = sbx_fs_mkdir(dir, 0700, e);
	free(dir);
	if (r < 0)
		goto out;
	sbx_oid_to_hex(id, line);
	line[SBX_OID_HEXLEN] = '\n';
	line[SBX_OID_HEXLEN + 1] = '\0';
	r = sbx_fs_write_atomic(path, s->tmpdir, line, SBX_OID_HEXLEN + 1,
	    0600, e);
out:
	store_write_leave(s, taken);
	free(path);
	return r;
}

int
sbx_ref_read(struct sbx_store *s, const char *kind, const char *name,
    struct sbx_oid *id, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *path;
	int r;

	path = ref_path(s, kind, name, e);
	if (!path)
		return SBX_EINVAL;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		r = sbx_err_set(e, SBX_ENOENT, "no %s ref '%s'", kind, name);
		goto out;
	}
	b.cap = 4096;
	r = sbx_buf_read_file(&b, path, e);
	if (r < 0)
		goto out;
	if (b.len == SBX_OID_HEXLEN + 1 && b.buf[SBX_OID_HEXLEN] == '\n') {
		b.buf[SBX_OID_HEXLEN] = '\0';
		if (sbx_oid_from_hex(b.buf, id, NULL) == 0)
			goto out;
	}
	r = sbx_err_set(e, SBX_ECORRUPT, "ref '%s' is corrupt: it does not "
	    "hold an object id", path);
	sbx_err_hint(e, "delete it or write it again");
out:
	sbx_buf_release(&b);
	free(path);
	return r;
}

int
sbx_ref_delete(struct sbx_store *s, const char *kind, const char *name,
    struct sbx_err *e)
{
	char *path = ref_path(s, kind, name, e);
	int r = 0;

	if (!path)
		return SBX_EINVAL;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			r = sbx_err_set(e, SBX_ENOENT, "no %s ref '%s'", kind,
			    name);
		else
			r = sbx_err_sys(e, "cannot remove ref '%s'", path);
	} else {
		r = sbx_fs_fsync_parent(path, e);
	}
	free(path);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends the valid entry names of directory `dir` (sorted) to out. */
static int
list_names(const char *dir, int want_dirs, struct sbx_strvec *out,
    struct sbx_err *e)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	size_t first = out->nr;

	if (!d) {
		if (errno == ENOENT)
			return 0;
		return sbx_err_sys(e, "cannot read directory '%s'", dir);
	}
	while ((de = readdir(d)) != NULL) {
		if (sbx_ref_name_check("", de->d_name, NULL) < 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (want_dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
			continue;
		sbx_strvec_push(out, de->d_name);
	}
	closedir(d);
	qsort(out->v + first, out->nr - first, sizeof(char *), cmp_str);
	return 0;
}

int
sbx_ref_list(struct sbx_store *s, const char *kind, struct sbx_strvec *out,
    struct sbx_err *e)
{
	char *dir;
	int r;

	r = sbx_ref_name_check("ref kind", kind, e);
	if (r < 0)
		return r;
	dir = xasprintf("%s/refs/%s", s->home, kind);
	r = list_names(dir, 0, out, e);
	free(dir);
	return r;
}

int
sbx_ref_foreach(struct sbx_store *s, sbx_ref_fn fn, void *arg,
    struct sbx_err *e)
{
	struct sbx_strvec kinds = SBX_STRVEC_INIT, names = SBX_STRVEC_INIT;
	struct sbx_oid id;
	char *dir;
	size_t i, j;
	int r;

	dir = xasprintf("%s/refs", s->home);
	r = list_names(dir, 1, &kinds, e);
	free(dir);
	for (i = 0; r == 0 && i < kinds.nr; i++) {
		sbx_strvec_clear(&names);
		r = sbx_ref_list(s, kinds.v[i], &names, e);
		for (j = 0; r == 0 && j < names.nr; j++) {
			r = sbx_ref_read(s, kinds.v[i], names.v[j], &id, e);
			if (r == SBX_ENOENT) {
				r = 0;	/* deleted meanwhile */
				continue;
			}
			if (r == 0)
				r = fn(kinds.v[i], names.v[j], &id, arg);
		}
	}
	sbx_strvec_clear(&names);
	sbx_strvec_clear(&kinds);
	return r;
}
