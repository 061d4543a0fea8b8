/*
 * debian.c - Debian roots from .deb files into ext4 (see debian.h).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/apt.h"
#include "image/deb.h"
#include "image/debian.h"
#include "image/ext4.h"
#include "image/source.h"
#include "core/banned.h"

#define CONTROL_MAX (4 * 1024 * 1024)

int sbx_debian_measure(const struct sbx_apt_set *set, uint64_t *bytes,
    uint64_t *entries, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	size_t i;
	char *v, *p;
	int rc = 0;

	*bytes = 0;
	*entries = 0;
	for (i = 0; !rc && i < set->n; i++) {
		sbx_buf_reset(&b);
		rc = sbx_deb_read_control(set->v[i].path, "control", &b, e);
		if (rc)
			break;
		v = sbx_deb_control_field(b.buf, "Installed-Size");
		if (v)
			*bytes += strtoull(v, NULL, 10) * 1024;
		free(v);
		sbx_buf_reset(&b);
		*entries += 32;
		if (sbx_deb_read_control(set->v[i].path, "md5sums", &b,
		    NULL) == 0)
			for (p = b.buf; (p = strchr(p, '\n')); p++)
				*entries += 2;
	}
	sbx_buf_release(&b);
	return rc;
}

static void set_entry(struct sbx_ext4 *w, struct sbx_ext4_entry *ent,
    const char *path, mode_t mode)
{
	memset(ent, 0, sizeof(*ent));
	ent->path = path;
	ent->mode = mode;
	ent->mtime = ent->atime = ent->ctime = sbx_ext4_now(w);
}

/* The merged-/usr skeleton and dpkg's directories. */
static int skeleton(struct sbx_ext4 *w, struct sbx_err *e)
{
	static const char *const dirs[] = { "usr", "usr/bin", "usr/sbin",
	    "usr/lib", "usr/lib64", "var", "var/lib", "var/lib/dpkg",
	    "var/lib/dpkg/info", "var/lib/dpkg/updates",
	    "var/lib/dpkg/triggers", "var/lib/dpkg/alternatives",
	    "var/lib/dpkg/parts", "etc", "tmp", "proc", "sys", "dev", "run",
	    NULL };
	static const char *const links[][2] = { { "bin", "usr/bin" },
	    { "sbin", "usr/sbin" }, { "lib", "usr/lib" },
	    { "lib64", "usr/lib64" } };
	struct sbx_ext4_entry ent;
	size_t i;
	int rc;

	for (i = 0; dirs[i]; i++) {
		set_entry(w, &ent, dirs[i], S_IFDIR |
		    (!strcmp(dirs[i], "tmp") ? 01777 : 0755));
		if ((rc = sbx_ext4_add(w, &ent, e)))
			return rc;
	}
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		set_entry(w, &ent, links[i][0], S_IFLNK | 0777);
		ent.symlink = links[i][1];
		if ((rc = sbx_ext4_add(w, &ent, e)))
			return rc;
	}
	return 0;
}

static int list_add(const char *path, int isdir, void *arg)
{
	struct sbx_buf *list = arg;

	(void)isdir;
	if (!*path)
		sbx_buf_addstr(list, "/.\n");
	else
		sbx_buf_addf(list, "/%s\n", path);
	return 0;
}

/* The info file name prefix: "pkg" or "pkg:arch" for Multi-Arch: same. */
static char *info_name(const char *control, const struct sbx_apt_pkg *p)
{
	char *ma = sbx_deb_control_field(control, "Multi-Arch");
	char *res;

	if (ma && !strcmp(ma, "same"))
		res = xasprintf("%s:%s", p->name, p->arch);
	else
		res = xstrdup(p->name);
	free(ma);
	return res;
}

/*
 * Reads control.tar: "control" into `control`, the other members into
 * var/lib/dpkg/info/<name>.<member> (written once the name is known, so
 * they are collected first).
 */
static int read_control(const struct sbx_apt_pkg *p, struct sbx_buf *control,
    struct sbx_strvec *names, struct sbx_buf **datas, mode_t **modes,
    struct sbx_err *e)
{
	struct archive_entry *ae;
	struct archive *a;
	char norm[PATH_MAX];
	char buf[16384];
	la_ssize_t n;
	int r, rc;

	if ((rc = sbx_archive_open_member(p->path, "control.tar*", &a, e)))
		return rc;
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		struct sbx_buf *dst;

		if (!S_ISREG(archive_entry_mode(ae)))
			continue;
		if (sbx_archive_norm_path(archive_entry_pathname(ae), norm,
		    sizeof(norm)) || strchr(norm, '/') || !*norm) {
			rc = sbx_err_set(e, SBX_EINVAL, "'%s': control entry "
			    "'%s': bad name", p->path,
			    archive_entry_pathname(ae));
			break;
		}
		if (!strcmp(norm, "control")) {
			dst = control;
		} else {
			sbx_strvec_push(names, norm);
			*datas = xreallocarray(*datas, names->nr,
			    sizeof(**datas));
			*modes = xreallocarray(*modes, names->nr,
			    sizeof(**modes));
			dst = &(*datas)[names->nr - 1];
			sbx_buf_init(dst, 0);
			(*modes)[names->nr - 1] = archive_entry_perm(ae);
		}
		while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
			if (dst->len + n > CONTROL_MAX) {
				n = -2;
				break;
			}
			sbx_buf_add(dst, buf, n);
		}
		if (n < 0) {
			rc = sbx_err_set(e, SBX_EINVAL, "'%s': control entry "
			    "'%s': %s", p->path, norm, n == -2 ? "too large" :
			    archive_error_string(a));
			break;
		}
	}
	if (!rc && r != ARCHIVE_EOF)
		rc = sbx_err_set(e, SBX_EINVAL, "'%s': %s", p->path,
		    archive_error_string(a));
	if (!rc && !control->len)
		rc = sbx_err_set(e, SBX_EINVAL, "'%s': no control file",
		    p->path);
	sbx_archive_close_member(a);
	return rc;
}

/* The package's status stanza: control + Status (+ Conffiles). */
static void add_status(struct sbx_buf *status, const char *control,
    const char *conffiles)
{
	const char *p = control, *nl;
	int done = 0;

	while (*p) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p);
		if (nl == p)
			break;	/* blank line: end of stanza */
		sbx_buf_add(status, p, nl - p);
		sbx_buf_addch(status, '\n');
		if (!done && !strncmp(p, "Package:", 8)) {
			sbx_buf_addstr(status, "Status: install ok unpacked\n");
			done = 1;
		}
		p = *nl ? nl + 1 : nl;
	}
	if (conffiles && *conffiles) {
		sbx_buf_addstr(status, "Conffiles:\n");
		for (p = conffiles; *p; p = *nl ? nl + 1 : nl) {
			nl = strchr(p, '\n');
			if (!nl)
				nl = p + strlen(p);
			if (nl > p && *p == '/')
				sbx_buf_addf(status, " %.*s newconffile\n",
				    (int)(nl - p), p);
		}
	}
	sbx_buf_addch(status, '\n');
}

static int write_info(struct sbx_ext4 *w, const char *name,
    const char *member, const struct sbx_buf *b, mode_t mode,
    struct sbx_err *e)
{
	char *path = xasprintf("var/lib/dpkg/info/%s.%s", name, member);
	int rc = sbx_ext4_add_data(w, path, b->buf, b->len, mode, 0, 0, e);

	free(path);
	return rc;
}

static int install_one(const struct sbx_apt_pkg *p, struct sbx_ext4 *w,
    struct sbx_buf *status, struct sbx_err *e)
{
	struct sbx_strvec names = SBX_STRVEC_INIT;
	struct sbx_buf control = SBX_BUF_INIT, list = SBX_BUF_INIT;
	struct sbx_buf *datas = NULL;
	const char *conffiles = NULL;
	mode_t *modes = NULL;
	struct archive *a;
	char *name = NULL;
	size_t i;
	int rc;

	rc = read_control(p, &control, &names, &datas, &modes, e);
	if (rc)
		goto out;
	if ((rc = sbx_archive_open_member(p->path, "data.tar*", &a, e)))
		goto out;
	rc = sbx_archive_apply(a, p->path, w, 0, list_add, &list, e);
	sbx_archive_close_member(a);
	if (rc)
		goto out;
	name = info_name(control.buf, p);
	if ((rc = write_info(w, name, "list", &list, 0644, e)))
		goto out;
	for (i = 0; i < names.nr; i++) {
		if (!strcmp(names.v[i], "conffiles"))
			conffiles = datas[i].buf;
		if ((rc = write_info(w, name, names.v[i], &datas[i],
		    modes[i] & 0777, e)))
			goto out;
	}
	add_status(status, control.buf, conffiles);
out:
	for (i = 0; i < names.nr; i++)
		sbx_buf_release(&datas[i]);
	free(datas);
	free(modes);
	free(name);
	sbx_strvec_clear(&names);
	sbx_buf_release(&control);
	sbx_buf_release(&list);
	return rc;
}

/* etc/passwd and etc/group from base-passwd's masters, if missing. */
static int base_passwd(struct sbx_ext4 *w, struct sbx_err *e)
{
	static const char *const files[][2] = {
	    { "usr/share/base-passwd/passwd.master", "etc/passwd" },
	    { "usr/share/base-passwd/group.master", "etc/group" } };
	struct sbx_buf b = SBX_BUF_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; !rc && i < 2; i++) {
		if (sbx_ext4_exists(w, files[i][1]))
			continue;
		sbx_buf_reset(&b);
		rc = sbx_ext4_read_file(w, files[i][0], &b, 1 << 20, e);
		if (rc == SBX_ENOENT) {
			sbx_err_clear(e);
			rc = 0;
			continue;
		}
		if (!rc)
			rc = sbx_ext4_add_data(w, files[i][1], b.buf, b.len,
			    0644, 0, 0, e);
	}
	sbx_buf_release(&b);
	return rc;
}

int sbx_debian_write(const struct sbx_apt_set *set, struct sbx_ext4 *w,
    struct sbx_err *e)
{
	struct sbx_buf status = SBX_BUF_INIT;
	size_t i;
	int rc;

	sbx_ext4_set_flags(w, SBX_EXT4_KEEP_DIR_SYMLINKS);
	rc = skeleton(w, e);
	for (i = 0; !rc && i < set->n; i++) {
		if (!set->v[i].path)
			rc = sbx_err_set(e, SBX_EINVAL, "package '%s' was not "
			    "fetched", set->v[i].name);
		else
			rc = install_one(&set->v[i], w, &status, e);
	}
	if (!rc)
		rc = sbx_ext4_add_data(w, "var/lib/dpkg/status", status.buf,
		    status.len, 0644, 0, 0, e);
	if (!rc)
		rc = sbx_ext4_add_data(w, "var/lib/dpkg/available", "", 0,
		    0644, 0, 0, e);
	if (!rc)
		rc = base_passwd(w, e);
	sbx_ext4_set_flags(w, 0);
	sbx_buf_release(&status);
	return rc;
}
