/* check_cpio.c - src/image/cpio.c, read back with libarchive. */
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
#include "image/cpio.h"
#include "unit.h"
#include "core/banned.h"

/* What the reader saw, one line per entry: "type mode path [extra]". */
static void
listing(const char *path, struct sbx_buf *out)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char data[256];

	archive_read_support_filter_all(a);
	archive_read_support_format_cpio(a);
	ck_assert_int_eq(archive_read_open_filename(a, path, 4096),
	    ARCHIVE_OK);
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		mode_t t = archive_entry_filetype(e);
		la_ssize_t n;

		ck_assert_int_eq(archive_entry_uid(e), 0);
		ck_assert_int_eq(archive_entry_gid(e), 0);
		ck_assert_int_eq(archive_entry_mtime(e), 0);
		sbx_buf_addf(out, "%c %04o %s", t == AE_IFREG ? 'f' :
		    t == AE_IFDIR ? 'd' : t == AE_IFLNK ? 'l' :
		    t == AE_IFCHR ? 'c' : '?', archive_entry_perm(e),
		    archive_entry_pathname(e));
		if (t == AE_IFLNK)
			sbx_buf_addf(out, " -> %s", archive_entry_symlink(e));
		if (t == AE_IFCHR)
			sbx_buf_addf(out, " %u:%u",
			    (unsigned)archive_entry_rdevmajor(e),
			    (unsigned)archive_entry_rdevminor(e));
		if (t == AE_IFREG) {
			n = archive_read_data(a, data, sizeof(data) - 1);
			ck_assert_int_ge(n, 0);
			data[n] = '\0';
			sbx_buf_addf(out, " [%s]", data);
		}
		sbx_buf_addch(out, '\n');
	}
	archive_read_free(a);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void
build(const char *out, int flags)
{
	const char *dir = unit_tmpdir();
	char *src = xasprintf("%s/init.sh", dir);
	struct sbx_err e = { 0 };
	struct sbx_cpio_entry ents[] = {
		{ .path = "init", .type = SBX_CPIO_FILE, .mode = 0755,
		  .src = src },
		{ .path = "/dev/console", .type = SBX_CPIO_CHARDEV,
		  .mode = 0600, .major = 5, .minor = 1 },
		{ .path = "./bin/sh", .type = SBX_CPIO_SYMLINK, .mode = 0777,
		  .target = "busybox" },
		{ .path = "etc", .type = SBX_CPIO_DIR, .mode = 0700 },
		{ .path = "etc/deep/er/file", .type = SBX_CPIO_FILE,
		  .mode = 0644, .data = "in memory", .len = 9 },
		{ .path = "bin", .type = SBX_CPIO_DIR, .mode = 0755 },
		{ .path = "empty", .type = SBX_CPIO_FILE, .mode = 0600 },
	};

	write_file(src, "#!/bin/sh\necho hi\n");
	ck_assert_msg(sbx_cpio_write(out, ents, sizeof(ents) / sizeof(ents[0]),
	    flags, &e) == 0, "%s", e.msg);
	free(src);
}

START_TEST(newc_entries)
{
	static const char want[] =
	    "f 0755 init [#!/bin/sh\necho hi\n]\n"
	    "d 0755 dev\n"
	    "c 0600 dev/console 5:1\n"
	    "d 0755 bin\n"
	    "l 0777 bin/sh -> busybox\n"
	    "d 0700 etc\n"
	    "d 0755 etc/deep\n"
	    "d 0755 etc/deep/er\n"
	    "f 0644 etc/deep/er/file [in memory]\n"
	    "f 0600 empty []\n";
	const char *dir = unit_tmpdir();
	char *out = xasprintf("%s/a.cpio", dir);
	struct sbx_buf got = SBX_BUF_INIT, raw = SBX_BUF_INIT;

	build(out, 0);
	listing(out, &got);
	ck_assert_str_eq(got.buf, want);
	ck_assert_int_eq(sbx_buf_read_file(&raw, out, NULL), 0);
	ck_assert_msg(!memcmp(raw.buf, "070701", 6), "not newc: '%.6s'",
	    raw.buf);
	sbx_buf_release(&got);
	sbx_buf_release(&raw);
	free(out);
}
END_TEST

START_TEST(gzip_reproducible)
{
	const char *dir = unit_tmpdir();
	char *a = xasprintf("%s/a.cpio.gz", dir);
	char *b = xasprintf("%s/b.cpio.gz", dir);
	struct sbx_buf x = SBX_BUF_INIT, y = SBX_BUF_INIT;

	build(a, SBX_CPIO_GZIP);
	sleep(1);
	build(b, SBX_CPIO_GZIP);
	ck_assert_int_eq(sbx_buf_read_file(&x, a, NULL), 0);
	ck_assert_int_eq(sbx_buf_read_file(&y, b, NULL), 0);
	ck_assert((unsigned char)x.buf[0] == 0x1f &&
	    (unsigned char)x.buf[1] == 0x8b);
	ck_assert_msg(x.len == y.len && !memcmp(x.buf, y.buf, x.len),
	    "same entries must give the same bytes");
	sbx_buf_reset(&x);
	listing(a, &x);
	ck_assert(strstr(x.buf, "f 0644 etc/deep/er/file [in memory]\n"));
	sbx_buf_release(&x);
	sbx_buf_release(&y);
	free(a);
	free(b);
}
END_TEST

/* A failing add leaves no archive behind, and names the entry. */
static void
bad_add(const struct sbx_cpio_entry *bad, int code, const char *want)
{
	const char *dir = unit_tmpdir();
	char *out = xasprintf("%s/bad.cpio", dir);
	struct sbx_cpio_entry ok = { .path = "x", .type = SBX_CPIO_FILE,
	    .mode = 0644, .data = "x", .len = 1 };
	struct sbx_cpio_entry ents[2];
	struct sbx_err e = { 0 };

	ents[0] = ok;
	ents[1] = *bad;
	ck_assert_int_eq(sbx_cpio_write(out, ents, 2, 0, &e), code);
	ck_assert_msg(strstr(e.msg, want), "message '%s' lacks '%s'", e.msg,
	    want);
	ck_assert_int_ne(access(out, F_OK), 0);
	free(out);
}

START_TEST(refuse_bad_entries)
{
	struct sbx_cpio_entry dup = { .path = "./x", .type = SBX_CPIO_FILE,
	    .mode = 0644 };
	struct sbx_cpio_entry dotdot = { .path = "a/../../x",
	    .type = SBX_CPIO_FILE, .mode = 0644 };
	struct sbx_cpio_entry nosrc = { .path = "y", .type = SBX_CPIO_FILE,
	    .mode = 0644, .src = "/nonexistent/sbx-test" };
	struct sbx_cpio_entry notarget = { .path = "l",
	    .type = SBX_CPIO_SYMLINK, .mode = 0777 };

	bad_add(&dup, SBX_EEXIST, "cpio entry 'x': added twice");
	bad_add(&dotdot, SBX_EINVAL, "cpio entry 'a/../../x'");
	bad_add(&nosrc, SBX_EIO, "cpio entry 'y': cannot read "
	    "'/nonexistent/sbx-test'");
	bad_add(&notarget, SBX_EINVAL, "cpio entry 'l': symlink without");
}
END_TEST

Suite *suite_cpio(void)
{
	Suite *s = suite_create("cpio");
	TCase *tc = tcase_create("cpio");

	tcase_add_test(tc, newc_entries);
	tcase_add_test(tc, gzip_reproducible);
	tcase_add_test(tc, refuse_bad_entries);
	suite_add_tcase(s, tc);
	return s;
}
