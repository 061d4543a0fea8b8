/*
 * check_untar.c - sbx_untar_safe (src/serve/untar.c): build contexts
 * unpack with their files, directories, links, modes and times; entries
 * that would land outside the root, special files, writing through a
 * link and going past the limits are refused naming the entry.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "unit.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "serve/serve.h"
#include "store/fsutil.h"
#include "core/banned.h"

/* One entry to write: type 'f' file, 'd' dir, 'l' symlink, 'h' hard
 * link, 'c' char device, 'p' fifo. */
struct ent {
	char type;
	const char *name;
	const char *data;	/* file content or link target */
	int mode;
};

static char *dir, *tarpath, *root;

static void
setup(void)
{
	dir = xstrdup("/tmp/sbx-untar-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	tarpath = xasprintf("%s/ctx.tar.gz", dir);
	root = xasprintf("%s/root", dir);
	ck_assert_int_eq(mkdir(root, 0700), 0);
}

static void
teardown(void)
{
	struct sbx_err e;

	sbx_fs_remove_tree(dir, &e);
	free(dir);
	free(tarpath);
	free(root);
}

static void
make_tar(const struct ent *v, size_t n)
{
	struct archive *w = archive_write_new();
	struct archive_entry *a;
	size_t i;

	archive_write_set_format_pax_restricted(w);
	archive_write_add_filter_gzip(w);
	ck_assert_int_eq(archive_write_open_filename(w, tarpath), ARCHIVE_OK);
	for (i = 0; i < n; i++) {
		a = archive_entry_new();
		archive_entry_set_pathname(a, v[i].name);
		archive_entry_set_perm(a, v[i].mode ? v[i].mode : 0644);
		archive_entry_set_mtime(a, 1000000000, 0);
		switch (v[i].type) {
		case 'f':
			archive_entry_set_filetype(a, AE_IFREG);
			archive_entry_set_size(a, (la_int64_t)strlen(v[i].data));
			break;
		case 'd':
			archive_entry_set_filetype(a, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(a, AE_IFLNK);
			archive_entry_set_symlink(a, v[i].data);
			break;
		case 'h':
			archive_entry_set_filetype(a, AE_IFREG);
			archive_entry_set_hardlink(a, v[i].data);
			break;
		case 'c':
			archive_entry_set_filetype(a, AE_IFCHR);
			archive_entry_set_rdev(a, makedev(1, 3));
			break;
		case 'p':
			archive_entry_set_filetype(a, AE_IFIFO);
			break;
		}
		ck_assert_int_eq(archive_write_header(w, a), ARCHIVE_OK);
		if (v[i].type == 'f')
			archive_write_data(w, v[i].data, strlen(v[i].data));
		archive_entry_free(a);
	}
	archive_write_close(w);
	archive_write_free(w);
}

static int
untar(struct sbx_err *e)
{
	static const struct sbx_untar_limits lim = { 1 << 20, 100 };

	sbx_err_clear(e);
	return sbx_untar_safe(tarpath, root, &lim, e);
}

START_TEST(test_untar_good)
{
	static const struct ent v[] = {
		{ 'd', "./", NULL, 0755 },
		{ 'f', "./t.yaml", "name: t\n", 0644 },
		{ 'd', "conf/sub", NULL, 0755 },
		{ 'f', "conf//sub/run.sh", "#!/bin/sh\n", 0755 },
		{ 'l', "conf/link", "sub/run.sh", 0 },
		{ 'l', "conf/sub/up", "../../t.yaml", 0 },
		{ 'h', "hard", "t.yaml", 0 },
		{ 'd', "empty", NULL, 0755 },
	};
	struct sbx_err e;
	struct stat st;
	char *p, buf[64];
	ssize_t n;

	make_tar(v, sizeof(v) / sizeof(v[0]));
	ck_assert_msg(untar(&e) == 0, "untar: %s", e.msg);
	p = xasprintf("%s/conf/sub/run.sh", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0755);
	ck_assert_int_eq(st.st_mtime, 1000000000);
	free(p);
	p = xasprintf("%s/conf/link", root);
	n = readlink(p, buf, sizeof(buf) - 1);
	ck_assert_int_eq(n, 10);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "sub/run.sh");
	free(p);
	p = xasprintf("%s/hard", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_nlink, 2);
	free(p);
	p = xasprintf("%s/empty", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	free(p);
	/* Directories keep their time although entries went into them. */
	p = xasprintf("%s/conf/sub", root);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mtime, 1000000000);
	free(p);
	p = xasprintf("%s/conf/link", root);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_int_eq(st.st_mtime, 1000000000);
	free(p);
}
END_TEST

static const struct {
	struct ent v[2];
	const char *want;
} bad[] = {
	{ { { 'f', "../x", "x", 0 } }, "tar entry '../x': '..' is not allowed" },
	{ { { 'f', "a/../../x", "x", 0 } },
	  "tar entry 'a/../../x': '..' is not allowed" },
	{ { { 'f', "/etc/x", "x", 0 } },
	  "tar entry '/etc/x': absolute names are not allowed" },
	{ { { 'l', "l", "../..", 0 } },
	  "tar entry 'l': symbolic link to '../..' points outside" },
	{ { { 'l', "a/l", "../../x", 0 } },
	  "tar entry 'a/l': symbolic link to '../../x' points outside" },
	{ { { 'l', "l", "/etc", 0 } },
	  "tar entry 'l': symbolic link to '/etc' points outside" },
	{ { { 'c', "null", NULL, 0 } },
	  "tar entry 'null': device nodes are not allowed" },
	{ { { 'p', "fifo", NULL, 0 } },
	  "tar entry 'fifo': fifos are not allowed" },
	{ { { 'l', "l", "sub", 0 }, { 'f', "l/x", "x", 0 } },
	  "tar entry 'l/x': 'l' is not a directory" },
	{ { { 'h', "h", "../etc/passwd", 0 } },
	  "tar entry 'h': hard link to '../etc/passwd' points outside" },
	{ { { 'f', "f", "x", 0 }, { 'd', "f", NULL, 0 } },
	  "tar entry 'f/': something other than a directory" },
};

START_TEST(test_untar_bad)
{
	struct sbx_err e;
	size_t n = bad[_i].v[1].name ? 2 : 1;

	make_tar(bad[_i].v, n);
	ck_assert_int_eq(untar(&e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, bad[_i].want), "got '%s', want '%s'",
	    e.msg, bad[_i].want);
}
END_TEST

START_TEST(test_untar_limits)
{
	static const struct sbx_untar_limits small = { 10, 2 };
	struct ent v[3] = { { 'f', "a", "0123456789abc", 0 },
	    { 'f', "b", "", 0 }, { 'f', "c", "", 0 } };
	struct sbx_err e;
	int fd;

	make_tar(v, 1);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_untar_safe(tarpath, root, &small, &e),
	    SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "more than 10 bytes"), "%s", e.msg);
	v[0].data = "";
	make_tar(v, 3);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_untar_safe(tarpath, root, &small, &e),
	    SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "more than 2 entries"), "%s", e.msg);
	fd = open(tarpath, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "not a tar at all\n", 17), 17);
	close(fd);
	ck_assert_int_eq(untar(&e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "tar archive"), "%s", e.msg);
}
END_TEST

Suite *suite_untar(void)
{
	Suite *s = suite_create("untar");
	TCase *tc = tcase_create("untar");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_untar_good);
	tcase_add_loop_test(tc, test_untar_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_untar_limits);
	suite_add_tcase(s, tc);
	return s;
}
