/*
 * check_ext4.c - the libext2fs image writer: every entry type, layer
 * replacement, removal, parent symlinks, bad input. Every image is
 * checked with `e2fsck -fn` and read back with debugfs.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "unit.h"
#include "image-util.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "core/banned.h"

static char img[4096];
static struct sbx_ext4 *w;
static struct sbx_err e;
static struct sbx_buf out = SBX_BUF_INIT;

static void fresh(void)
{
	snprintf(img, sizeof(img), "%s/t.img", unit_tmpdir());
	sbx_err_clear(&e);
	ck_assert_msg(sbx_ext4_create(img, 64ULL << 20, 0, &w, &e) == 0,
	    "create '%s': %s (%s)", img, e.msg, e.hint);
}

static void finish(void)
{
	ck_assert_msg(sbx_ext4_close(w, &e) == 0, "close: %s", e.msg);
	w = NULL;
	ck_fsck_clean(img);
}

static struct sbx_ext4_entry ent(const char *path, mode_t mode)
{
	struct sbx_ext4_entry x;

	memset(&x, 0, sizeof(x));
	x.path = path;
	x.mode = mode;
	x.uid = 1000;
	x.gid = 100;
	x.mtime = x.atime = x.ctime = 1700000000;
	return x;
}

static void add(struct sbx_ext4_entry x)
{
	ck_assert_msg(sbx_ext4_add(w, &x, &e) == 0, "add '%s': %s", x.path,
	    e.msg);
}

static void data(const char *path, const char *text)
{
	ck_assert_msg(sbx_ext4_add_data(w, path, text, strlen(text), 0644, 0,
	    0, &e) == 0, "add_data '%s': %s", path, e.msg);
}

static void expect_cat(const char *path, const char *want)
{
	img_debugfs(img, &out, "cat %s", path);
	ck_assert_msg(!strcmp(out.buf, want), "cat '%s': got '%s', want '%s'",
	    path, out.buf, want);
}

static void expect_stat(const char *path, const char *needle)
{
	img_debugfs(img, &out, "stat %s", path);
	ck_assert_msg(strstr(out.buf, needle), "stat '%s' lacks '%s':\n%s",
	    path, needle, out.buf);
}

static void expect_missing(const char *path)
{
	img_debugfs(img, &out, "stat %s", path);
	ck_assert_msg(strstr(out.buf, "File not found") ||
	    strstr(out.buf, "is not a directory"), "'%s' still "
	    "exists:\n%s", path, out.buf);
}

START_TEST(every_entry_type)
{
	static const unsigned char cap[20] = { 1, 0, 0, 2, 0, 0x20 };
	struct sbx_ext4_xattr xa = { "security.capability", cap, sizeof(cap) };
	struct sbx_ext4_entry x;
	char *slow = xmalloc(301), *big = xcalloc(1, 1 << 20);

	fresh();
	add(ent("etc", S_IFDIR | 0755));
	x = ent("etc/hostname", S_IFREG | 0640);
	x.size = 4;
	ck_assert_int_eq(sbx_ext4_file_begin(w, &x, &e), 0);
	ck_assert_int_eq(sbx_ext4_file_write(w, 0, "box\n", 4, &e), 0);
	ck_assert_int_eq(sbx_ext4_file_end(w, &e), 0);

	/* 8 MiB file, zero but for 1 MiB in the middle: written sparse */
	x = ent("var/sparse", S_IFREG | 0600);
	x.size = 8 << 20;
	memset(big, 'z', 1 << 20);
	ck_assert_int_eq(sbx_ext4_file_begin(w, &x, &e), 0);
	ck_assert_int_eq(sbx_ext4_file_write(w, 4 << 20, big, 1 << 20, &e), 0);
	memset(big, 0, 1 << 20);
	ck_assert_int_eq(sbx_ext4_file_write(w, 0, big, 1 << 20, &e), 0);
	ck_assert_int_eq(sbx_ext4_file_end(w, &e), 0);

	x = ent("usr/bin/ping", S_IFREG | 04755);
	x.xattrs = &xa;
	x.nxattrs = 1;
	add(x);
	x = ent("etc/fast", S_IFLNK | 0777);
	x.symlink = "hostname";
	add(x);
	memset(slow, 's', 300);
	slow[300] = '\0';
	x = ent("etc/slow", S_IFLNK | 0777);
	x.symlink = slow;
	add(x);
	x = ent("etc/hard", 0);
	x.hardlink = "etc/hostname";
	add(x);
	x = ent("dev/null", S_IFCHR | 0666);
	x.rdev = makedev(1, 3);
	add(x);
	x = ent("dev/big", S_IFBLK | 0660);
	x.rdev = makedev(259, 300);
	add(x);
	add(ent("run/fifo", S_IFIFO | 0600));
	finish();

	expect_cat("/etc/hostname", "box\n");
	expect_cat("/etc/hard", "box\n");
	expect_stat("/etc/hostname", "Mode:  0640");
	expect_stat("/etc/hostname", "User:  1000   Group:   100");
	expect_stat("/etc/hostname", "Links: 2");
	expect_stat("/etc/hostname", "mtime: 0x6553f100");
	expect_stat("/etc/fast", "Fast link dest: \"hostname\"");
	expect_stat("/etc/slow", "Size: 300");
	expect_stat("/dev/null", "Device major/minor number: 01:03");
	expect_stat("/dev/big", "Device major/minor number: 259:300");
	expect_stat("/run/fifo", "Type: FIFO");
	expect_stat("/usr/bin/ping", "Mode:  04755");
	expect_stat("/var/sparse", "Size: 8388608");
	/* 1 MiB of data = 2048 sectors (+ extent blocks at most) */
	expect_stat("/var/sparse", "Blockcount: 2048");
	img_debugfs(img, &out, "ea_list /usr/bin/ping");
	ck_assert_msg(strstr(out.buf, "security.capability (20)"),
	    "no capability: %s", out.buf);
	img_debugfs(img, &out, "dump_extents /var/sparse");
	ck_assert_msg(strstr(out.buf, "1024 -  1279"), "extents: %s", out.buf);
	free(slow);
	free(big);
}
END_TEST

START_TEST(later_entries_replace)
{
	struct sbx_ext4_entry x;

	fresh();
	data("a/b/old", "old");
	data("a/keep", "k");
	data("f", "first");
	data("f", "second");
	add(ent("a", S_IFDIR | 0700));	/* dir over dir: content stays */
	data("a/b", "file over a directory tree");
	x = ent("lnk", S_IFLNK | 0777);
	x.symlink = "f";
	add(x);
	add(ent("lnk", S_IFDIR | 0755));	/* dir over a symlink */
	finish();

	expect_cat("/f", "second");
	expect_cat("/a/keep", "k");
	expect_cat("/a/b", "file over a directory tree");
	expect_stat("/a", "Mode:  0700");
	expect_stat("/lnk", "Type: directory");
	expect_missing("/a/b/old");
}
END_TEST

START_TEST(remove_and_empty)
{
	fresh();
	data("d/x", "x");
	data("d/sub/y", "y");
	data("o/z", "z");
	data("gone", "g");
	ck_assert_int_eq(sbx_ext4_remove(w, "d", 0, &e), 0);
	ck_assert_int_eq(sbx_ext4_remove(w, "o", 1, &e), 0);
	ck_assert_int_eq(sbx_ext4_remove(w, "gone", 0, &e), 0);
	ck_assert_int_eq(sbx_ext4_remove(w, "never/was", 0, &e), 0);
	ck_assert_int_eq(sbx_ext4_exists(w, "o"), 1);
	ck_assert_int_eq(sbx_ext4_exists(w, "o/z"), 0);
	data("o/new", "n");
	finish();
	expect_missing("/d");
	expect_missing("/gone");
	expect_missing("/o/z");
	expect_cat("/o/new", "n");
}
END_TEST

START_TEST(parent_symlinks_followed)
{
	struct sbx_ext4_entry x;
	struct sbx_buf b = SBX_BUF_INIT;

	fresh();
	add(ent("usr/lib", S_IFDIR | 0755));
	x = ent("lib", S_IFLNK | 0777);
	x.symlink = "usr/lib";
	add(x);
	x = ent("abs", S_IFLNK | 0777);
	x.symlink = "/usr/../usr/lib";
	add(x);
	data("lib/a.so", "A");
	data("abs/b.so", "B");
	sbx_ext4_set_flags(w, SBX_EXT4_KEEP_DIR_SYMLINKS);
	add(ent("lib", S_IFDIR | 0755));
	ck_assert_int_eq(sbx_ext4_read_file(w, "lib/a.so", &b, 100, &e), 0);
	ck_assert_str_eq(b.buf, "A");
	finish();
	expect_cat("/usr/lib/a.so", "A");
	expect_cat("/usr/lib/b.so", "B");
	expect_stat("/lib", "Type: symlink");
	sbx_buf_release(&b);
}
END_TEST

START_TEST(many_entries_in_one_directory)
{
	char name[64];
	int i;

	fresh();
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "share/doc/package-%04d", i);
		data(name, "d");
	}
	finish();
	expect_cat("/share/doc/package-2999", "d");
	img_debugfs(img, &out, "ls /share/doc");
	ck_assert_msg(strstr(out.buf, "package-0000") &&
	    strstr(out.buf, "package-1500"), "listing: %.300s", out.buf);
}
END_TEST

START_TEST(add_host_file)
{
	char src[4096];
	int fd;

	fresh();
	snprintf(src, sizeof(src), "%s/host-file", unit_tmpdir());
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "#!/bin/sh\necho agent\n", 21), 21);
	close(fd);
	ck_assert_msg(sbx_ext4_add_file(w, "usr/libexec/sbx/agent", src, 0755,
	    0, 0, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(sbx_ext4_add_file(w, "x", "/nonexistent/file", 0644,
	    0, 0, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot open '/nonexistent/file': no such "
	    "file");
	finish();
	/* and into an existing image */
	ck_assert_int_eq(sbx_ext4_open(img, &w, &e), 0);
	ck_assert_int_eq(sbx_ext4_add_file(w, "usr/libexec/sbx/agent2", src,
	    0700, 0, 0, &e), 0);
	finish();
	expect_cat("/usr/libexec/sbx/agent", "#!/bin/sh\necho agent\n");
	expect_stat("/usr/libexec/sbx/agent2", "Mode:  0700");
}
END_TEST

START_TEST(bad_input)
{
	struct sbx_ext4_entry x;
	char want[8192];

	fresh();
	x = ent("../escape", S_IFREG | 0644);
	ck_assert_int_eq(sbx_ext4_add(w, &x, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), "cannot add '../escape' to image '%s': "
	    "bad path", img);
	ck_assert_str_eq(e.msg, want);
	x = ent("a//b", S_IFDIR | 0755);
	ck_assert_int_eq(sbx_ext4_add(w, &x, &e), SBX_EINVAL);
	x = ent("h", 0);
	x.hardlink = "no/such";
	ck_assert_int_eq(sbx_ext4_add(w, &x, &e), SBX_ENOENT);
	snprintf(want, sizeof(want), "cannot add 'h' to image '%s': hard link "
	    "target 'no/such' does not exist", img);
	ck_assert_str_eq(e.msg, want);
	data("file", "f");
	x = ent("file/under", S_IFREG | 0644);
	ck_assert_int_eq(sbx_ext4_add(w, &x, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), "cannot add 'file/under' to image '%s': "
	    "'file' is not a directory", img);
	ck_assert_str_eq(e.msg, want);
	finish();
	ck_assert_int_eq(sbx_ext4_open("/nonexistent.img", &w, &e),
	    SBX_EINVAL);
	ck_assert_msg(!strncmp(e.msg, "cannot open image '/nonexistent.img': ",
	    38), "%s", e.msg);
}
END_TEST

START_TEST(full_image_is_a_clean_error)
{
	char *big = xcalloc(1, 1 << 20);
	struct sbx_ext4_entry x = ent("huge", S_IFREG | 0644);
	uint64_t off;
	int rc = 0;

	fresh();
	memset(big, 'x', 1 << 20);
	x.size = 200 << 20;
	ck_assert_int_eq(sbx_ext4_file_begin(w, &x, &e), 0);
	for (off = 0; off < x.size && !rc; off += 1 << 20)
		rc = sbx_ext4_file_write(w, off, big, 1 << 20, &e);
	ck_assert_int_eq(rc, SBX_EIO);
	ck_assert_msg(strstr(e.msg, "cannot write 'huge' in image") &&
	    strstr(e.msg, "no space left"), "%s", e.msg);
	sbx_ext4_file_end(w, NULL);
	sbx_ext4_abort(w);
	free(big);
}
END_TEST

Suite *suite_ext4(void)
{
	Suite *s = suite_create("ext4");
	TCase *tc = tcase_create("writer");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_entry_type);
	tcase_add_test(tc, later_entries_replace);
	tcase_add_test(tc, remove_and_empty);
	tcase_add_test(tc, parent_symlinks_followed);
	tcase_add_test(tc, many_entries_in_one_directory);
	tcase_add_test(tc, add_host_file);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, full_image_is_a_clean_error);
	suite_add_tcase(s, tc);
	return s;
}
