/* check_deb.c - src/image/deb.c on .debs built here with libarchive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <check.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/deb.h"
#include "unit.h"
#include "core/banned.h"

struct tent {
	const char *path;
	char type;		/* 'f' file, 'd' dir, 'l' symlink, 'h' hardlink */
	const char *data;	/* contents, or link target */
	unsigned mode;
};

/* A tar (gzip'd) of `ents` in memory; returns its size. */
static size_t
make_tar(char *buf, size_t cap, const struct tent *ents, size_t n)
{
	struct archive *a = archive_write_new();
	size_t used = 0, i;

	archive_write_set_format_pax_restricted(a);
	archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used),
	    ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		struct archive_entry *e = archive_entry_new();

		archive_entry_set_pathname(e, ents[i].path);
		archive_entry_set_perm(e, ents[i].mode ? ents[i].mode : 0644);
		switch (ents[i].type) {
		case 'f':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_size(e, (la_int64_t)strlen(ents[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, ents[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, ents[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(e, AE_IFCHR);
			break;
		}
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (ents[i].type == 'f')
			archive_write_data(a, ents[i].data, strlen(ents[i].data));
		archive_entry_free(e);
	}
	archive_write_close(a);
	archive_write_free(a);
	return used;
}

static void
ar_member(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	archive_write_data(a, data, len);
	archive_entry_free(e);
}

/* Writes dir/name.deb holding `data` entries and a control file. */
static char *
make_deb(const char *dir, const char *name, const struct tent *data,
    size_t n)
{
	static const struct tent control[] = {
		{ "./control", 'f', "Package: hello\nVersion: 1.2-3\n"
		    "Description: test\n multi line\n", 0 },
	};
	size_t cap = 1 << 20, clen, dlen;
	char *cbuf = xmalloc(cap), *dbuf = xmalloc(cap);
	char *path = xasprintf("%s/%s.deb", dir, name);
	struct archive *a = archive_write_new();

	clen = make_tar(cbuf, cap, control, 1);
	dlen = make_tar(dbuf, cap, data, n);
	archive_write_set_format_ar_svr4(a);
	ck_assert_int_eq(archive_write_open_filename(a, path), ARCHIVE_OK);
	ar_member(a, "debian-binary", "2.0\n", 4);
	ar_member(a, "control.tar.gz", cbuf, clen);
	ar_member(a, "data.tar.gz", dbuf, dlen);
	archive_write_close(a);
	archive_write_free(a);
	free(cbuf);
	free(dbuf);
	return path;
}

static char *
slurp(const char *dir, const char *rel)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *p = xasprintf("%s/%s", dir, rel);
	int r = sbx_buf_read_file(&b, p, NULL);

	free(p);
	if (r < 0) {
		sbx_buf_release(&b);
		return NULL;
	}
	return sbx_buf_detach(&b, NULL);
}

static int
exists(const char *dir, const char *rel)
{
	struct stat st;
	char *p = xasprintf("%s/%s", dir, rel);
	int r = lstat(p, &st) == 0;

	free(p);
	return r;
}

static const struct tent good[] = {
	{ "./", 'd', NULL, 0755 },
	{ "./boot/", 'd', NULL, 0755 },
	{ "./boot/vmlinuz-1", 'f', "KERNEL", 0644 },
	{ "./lib/modules/1/kernel/a.ko", 'f', "A", 0644 },
	{ "./lib/modules/1/kernel/b.ko", 'f', "B", 0600 },
	{ "./lib/modules/1/kernel/link.ko", 'l', "a.ko", 0777 },
	{ "./lib/modules/1/up", 'l', "../../../boot/vmlinuz-1", 0777 },
	{ "./usr/bin/tool", 'f', "#!/bin/sh\n", 04755 },
	{ "./usr/bin/tool2", 'h', "./usr/bin/tool", 0755 },
};

START_TEST(extract_all)
{
	const char *dir = unit_tmpdir();
	char *deb = make_deb(dir, "good", good, sizeof(good) / sizeof(good[0]));
	char *dest = xasprintf("%s/out", dir), *s;
	struct sbx_err e = { 0 };
	struct stat st;
	size_t n = 0;

	ck_assert_int_eq(mkdir(dest, 0755), 0);
	ck_assert_msg(sbx_deb_extract(deb, dest, NULL, 0, &n, &e) == 0,
	    "extract '%s': %s", deb, e.msg);
	ck_assert_uint_eq(n, 8);
	s = slurp(dest, "boot/vmlinuz-1");
	ck_assert_str_eq(s, "KERNEL");
	free(s);
	s = slurp(dest, "lib/modules/1/kernel/link.ko");
	ck_assert_str_eq(s, "A");
	free(s);
	s = slurp(dest, "lib/modules/1/up");
	ck_assert_str_eq(s, "KERNEL");
	free(s);
	s = slurp(dest, "usr/bin/tool2");
	ck_assert_str_eq(s, "#!/bin/sh\n");
	free(s);
	free(deb);
	deb = xasprintf("%s/lib/modules/1/kernel/b.ko", dest);
	ck_assert_int_eq(stat(deb, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	free(deb);
	deb = xasprintf("%s/usr/bin/tool", dest);
	ck_assert_int_eq(stat(deb, &st), 0);
	ck_assert_msg((st.st_mode & 07777) == 0755,
	    "set-id bit must be dropped, mode %o", st.st_mode & 07777);
	free(deb);
	free(dest);
}
END_TEST

START_TEST(extract_prefix)
{
	const char *dir = unit_tmpdir();
	char *deb = make_deb(dir, "good", good, sizeof(good) / sizeof(good[0]));
	char *dest = xasprintf("%s/out", dir);
	const char *const wanted[] = { "lib/modules/1/kernel/", "./boot", NULL };
	struct sbx_err e = { 0 };
	size_t n = 0;

	ck_assert_int_eq(mkdir(dest, 0755), 0);
	ck_assert_msg(sbx_deb_extract(deb, dest, wanted, 0, &n, &e) == 0,
	    "%s", e.msg);
	ck_assert(exists(dest, "boot/vmlinuz-1"));
	ck_assert(exists(dest, "lib/modules/1/kernel/a.ko"));
	ck_assert(exists(dest, "lib/modules/1/kernel/link.ko"));
	ck_assert(!exists(dest, "lib/modules/1/up"));
	ck_assert(!exists(dest, "usr"));
	ck_assert_uint_eq(n, 5);
	free(deb);
	free(dest);
}
END_TEST

/* Extracting a one-entry data.tar must fail naming the entry. */
static void
refused(const struct tent *bad, int flags, const char *want_msg)
{
	const char *dir = unit_tmpdir();
	char *deb = make_deb(dir, "bad", bad, 1);
	char *dest = xasprintf("%s/out", dir);
	struct sbx_err e = { 0 };

	ck_assert_int_eq(mkdir(dest, 0755), 0);
	ck_assert_int_eq(sbx_deb_extract(deb, dest, NULL, flags, NULL, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, deb) && strstr(e.msg, want_msg),
	    "message '%s' should name '%s' and say '%s'", e.msg, deb,
	    want_msg);
	ck_assert(!exists(dir, "evil"));
	free(deb);
	free(dest);
}

START_TEST(refuse_dotdot)
{
	static const struct tent t = { "./a/../../evil", 'f', "x", 0 };

	refused(&t, 0, "entry './a/../../evil': '..' in path");
}
END_TEST

START_TEST(refuse_absolute)
{
	static const struct tent t = { "/evil", 'f', "x", 0 };

	refused(&t, 0, "entry '/evil': absolute path");
}
END_TEST

START_TEST(refuse_symlink_out)
{
	static const struct tent t = { "./a/link", 'l', "../../evil", 0777 };

	refused(&t, 0, "entry './a/link': symlink to '../../evil' points "
	    "outside");
}
END_TEST

START_TEST(refuse_symlink_absolute)
{
	static const struct tent t = { "./a/link", 'l', "/etc/passwd", 0777 };

	refused(&t, 0, "symlink to absolute path '/etc/passwd'");
}
END_TEST

START_TEST(refuse_device)
{
	static const struct tent t = { "./dev/evil", 'c', NULL, 0600 };

	refused(&t, 0, "entry './dev/evil': unsupported file type");
}
END_TEST

START_TEST(rootfs_links)
{
	static const struct tent t[] = {
		{ "./usr/lib/libx.so", 'l', "/usr/lib/libx.so.1", 0777 },
	};
	const char *dir = unit_tmpdir();
	char *deb = make_deb(dir, "rootfs", t, 1);
	char *dest = xasprintf("%s/out", dir), *link;
	struct sbx_err e = { 0 };
	char target[256];
	ssize_t n;

	ck_assert_int_eq(mkdir(dest, 0755), 0);
	ck_assert_msg(sbx_deb_extract(deb, dest, NULL, SBX_DEB_ROOTFS_LINKS,
	    NULL, &e) == 0, "%s", e.msg);
	link = xasprintf("%s/usr/lib/libx.so", dest);
	n = readlink(link, target, sizeof(target) - 1);
	ck_assert_int_gt(n, 0);
	target[n] = '\0';
	ck_assert_str_eq(target, "/usr/lib/libx.so.1");
	free(link);
	free(deb);
	free(dest);
}
END_TEST

START_TEST(not_a_deb)
{
	const char *dir = unit_tmpdir();
	char *path = xasprintf("%s/plain.deb", dir);
	FILE *f = fopen(path, "w");
	struct sbx_err e = { 0 };

	fputs("this is not an ar archive\n", f);
	fclose(f);
	ck_assert_int_eq(sbx_deb_extract(path, dir, NULL, 0, NULL, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "not a .deb"), "%s", e.msg);
	free(path);
	path = xasprintf("%s/missing.deb", dir);
	ck_assert_int_eq(sbx_deb_extract(path, dir, NULL, 0, NULL, &e),
	    SBX_ENOENT);
	ck_assert_msg(strstr(e.msg, "missing.deb") &&
	    strstr(e.msg, "no such file"), "%s", e.msg);
	free(path);
}
END_TEST

START_TEST(control)
{
	const char *dir = unit_tmpdir();
	char *deb = make_deb(dir, "good", good, 1), *v;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e = { 0 };

	ck_assert_msg(sbx_deb_read_control(deb, "control", &b, &e) == 0, "%s",
	    e.msg);
	v = sbx_deb_control_field(b.buf, "version");
	ck_assert_str_eq(v, "1.2-3");
	free(v);
	v = sbx_deb_control_field(b.buf, "Package");
	ck_assert_str_eq(v, "hello");
	free(v);
	ck_assert_ptr_null(sbx_deb_control_field(b.buf, "Depends"));
	ck_assert_int_eq(sbx_deb_read_control(deb, "md5sums", &b, &e),
	    SBX_ENOENT);
	sbx_buf_release(&b);
	free(deb);
}
END_TEST

Suite *suite_deb(void)
{
	Suite *s = suite_create("deb");
	TCase *tc = tcase_create("deb");

	tcase_add_test(tc, extract_all);
	tcase_add_test(tc, extract_prefix);
	tcase_add_test(tc, refuse_dotdot);
	tcase_add_test(tc, refuse_absolute);
	tcase_add_test(tc, refuse_symlink_out);
	tcase_add_test(tc, refuse_symlink_absolute);
	tcase_add_test(tc, refuse_device);
	tcase_add_test(tc, rootfs_links);
	tcase_add_test(tc, not_a_deb);
	tcase_add_test(tc, control);
	suite_add_tcase(s, tc);
	return s;
}
