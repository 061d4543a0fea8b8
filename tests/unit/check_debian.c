/*
 * check_debian.c - a tiny Debian root from real packages (busybox-static,
 * base-files, base-passwd and their closure, fetched with apt.c from the
 * Debian mirror), written straight into ext4: e2fsck-clean, merged /usr,
 * files readable with debugfs, dpkg database ready for
 * `dpkg --configure -a`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "image-util.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/apt.h"
#include "image/debian.h"
#include "image/ext4.h"
#include "core/banned.h"

static struct sbx_buf out = SBX_BUF_INIT;

static void expect_in(const char *img, const char *cmd, const char *needle)
{
	img_debugfs(img, &out, "%s", cmd);
	ck_assert_msg(strstr(out.buf, needle), "'%s': '%s' lacks '%s':\n%.2000s",
	    img, cmd, needle, out.buf);
}

START_TEST(tiny_root)
{
	struct sbx_strvec pk = SBX_STRVEC_INIT;
	struct sbx_apt_set set;
	struct sbx_ext4 *w;
	struct sbx_err e;
	const char *dir = unit_tmpdir();
	char *cache = xasprintf("%s/debs", dir);
	char *img = xasprintf("%s/root.img", dir);
	uint64_t bytes, ents;
	size_t n;

	sbx_strvec_pushl(&pk, "busybox-static", "base-files", "base-passwd",
	    NULL);
	ck_assert_msg(sbx_apt_resolve(&pk, 0, &set, &e) == 0, "%s", e.msg);
	ck_assert_msg(sbx_apt_fetch(&set, cache, &n, &e) == 0, "%s (%s)",
	    e.msg, e.hint);
	ck_assert_int_eq(sbx_debian_measure(&set, &bytes, &ents, &e), 0);
	ck_assert_uint_gt(bytes, 1 << 20);	/* libc alone is more */
	ck_assert_uint_gt(ents, 100);
	ck_assert_int_eq(sbx_ext4_create(img, sbx_ext4_size_for(bytes, ents,
	    0), 0, &w, &e), 0);
	ck_assert_msg(sbx_debian_write(&set, w, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(sbx_ext4_close(w, &e), 0);
	ck_fsck_clean(img);

	/* merged /usr: the symlinks, and files shipped in /lib, /bin... */
	expect_in(img, "stat /bin", "Fast link dest: \"usr/bin\"");
	expect_in(img, "stat /lib64", "Fast link dest: \"usr/lib64\"");
	expect_in(img, "stat /usr/bin/busybox", "Type: regular");
	expect_in(img, "stat /usr/lib64/ld-linux-x86-64.so.2", "Type: symlink");
	expect_in(img, "cat /etc/debian_version", "12.");
	/* dpkg's database */
	expect_in(img, "cat /var/lib/dpkg/status",
	    "Package: busybox-static\nStatus: install ok unpacked\n");
	expect_in(img, "cat /var/lib/dpkg/status",
	    "Package: base-files\nStatus: install ok unpacked\n");
	expect_in(img, "cat /var/lib/dpkg/status", "Conffiles:\n /etc/");
	/* dpkg lists the paths as shipped; the file is under usr/ */
	expect_in(img, "cat /var/lib/dpkg/info/libc6:amd64.list",
	    "\n/lib/x86_64-linux-gnu/libc.so.6\n");
	expect_in(img, "stat /usr/lib/x86_64-linux-gnu/libc.so.6",
	    "Type: regular");
	expect_in(img, "cat /var/lib/dpkg/info/busybox-static.list",
	    "/.\n");
	expect_in(img, "stat /var/lib/dpkg/info/base-passwd.postinst",
	    "Mode:  0755");
	expect_in(img, "cat /var/lib/dpkg/info/libc6:amd64.md5sums",
	    "  lib/x86_64-linux-gnu/libc.so.6\n");
	expect_in(img, "stat /var/lib/dpkg/available", "Size: 0");
	/* what base-passwd's postinst would have made */
	expect_in(img, "cat /etc/passwd", "root:*:0:0:root:/root:/bin/bash");
	expect_in(img, "cat /etc/group", "root:*:0:");
	expect_in(img, "stat /tmp", "Mode:  01777");

	sbx_apt_set_free(&set);
	sbx_strvec_clear(&pk);
	free(cache);
	free(img);
}
END_TEST

START_TEST(unfetched_package)
{
	struct sbx_apt_pkg p = { .name = "ghost", .arch = "all" };
	struct sbx_apt_set set = { &p, 1 };
	struct sbx_ext4 *w;
	struct sbx_err e;
	char *img = xasprintf("%s/x.img", unit_tmpdir());

	ck_assert_int_eq(sbx_ext4_create(img, 64 << 20, 0, &w, &e), 0);
	ck_assert_int_eq(sbx_debian_write(&set, w, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "package 'ghost' was not fetched");
	sbx_ext4_abort(w);
	p.path = "/no/such.deb";
	ck_assert_int_eq(sbx_ext4_create(img, 64 << 20, 0, &w, &e), 0);
	ck_assert_int_eq(sbx_debian_write(&set, w, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot open '/no/such.deb': no such file");
	sbx_ext4_abort(w);
	free(img);
}
END_TEST

Suite *suite_debian(void)
{
	Suite *s = suite_create("debian");
	TCase *tc = tcase_create("debian");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, tiny_root);
	tcase_add_test(tc, unfetched_package);
	suite_add_tcase(s, tc);
	return s;
}
