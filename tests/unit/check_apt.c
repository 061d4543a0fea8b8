/*
 * check_apt.c - resolving and fetching Debian packages with the host's
 * apt: suite check, dependency closure, SHA256-verified cache. Needs the
 * Debian mirror (the build machines reach it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/apt.h"
#include "core/banned.h"

static const struct sbx_apt_pkg *find(const struct sbx_apt_set *s,
    const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

START_TEST(suite_check)
{
	struct sbx_err e;
	char *host = sbx_apt_host_suite(), want[512];

	ck_assert_ptr_nonnull(host);
	ck_assert_int_eq(sbx_apt_check_suite(host, &e), 0);
	ck_assert_int_eq(sbx_apt_check_suite("sbx-no-such-suite", &e),
	    SBX_ENOTSUP);
	snprintf(want, sizeof(want), "debian suite 'sbx-no-such-suite' is not "
	    "supported on this host: only '%s' (the host's own suite) can be "
	    "installed", host);
	ck_assert_str_eq(e.msg, want);
	free(host);
}
END_TEST

START_TEST(closure_and_fetch)
{
	struct sbx_strvec pk = SBX_STRVEC_INIT;
	struct sbx_apt_set set;
	const struct sbx_apt_pkg *p;
	struct sbx_err e;
	char *cache = xasprintf("%s/debs", unit_tmpdir());
	size_t n;
	FILE *f;

	sbx_strvec_push(&pk, "busybox-static");
	sbx_strvec_push(&pk, "base-files");
	ck_assert_msg(sbx_apt_resolve(&pk, 0, &set, &e) == 0, "%s", e.msg);
	/* base-files Pre-Depends on awk: a virtual package, apt picks one */
	ck_assert_ptr_nonnull(find(&set, "busybox-static"));
	ck_assert_ptr_nonnull(find(&set, "base-files"));
	ck_assert_msg(find(&set, "mawk") || find(&set, "gawk") ||
	    find(&set, "original-awk"), "no awk for base-files");
	ck_assert_ptr_nonnull(find(&set, "libc6"));
	p = find(&set, "busybox-static");
	ck_assert_uint_eq(strlen(p->sha256), 64);
	ck_assert_msg(strstr(p->file, "busybox-static_") == p->file, "%s",
	    p->file);

	ck_assert_msg(sbx_apt_fetch(&set, cache, &n, &e) == 0, "%s (%s)",
	    e.msg, e.hint);
	ck_assert_uint_eq(n, set.n);
	ck_assert_ptr_nonnull(set.v[0].path);
	/* cached and valid: nothing fetched */
	ck_assert_int_eq(sbx_apt_fetch(&set, cache, &n, &e), 0);
	ck_assert_uint_eq(n, 0);
	/* a damaged cached file is fetched again */
	f = fopen(p->path, "r+b");
	ck_assert_ptr_nonnull(f);
	fputs("damage", f);
	fclose(f);
	ck_assert_int_eq(sbx_apt_fetch(&set, cache, &n, &e), 0);
	ck_assert_uint_eq(n, 1);
	sbx_apt_set_free(&set);
	sbx_strvec_clear(&pk);
	free(cache);
}
END_TEST

START_TEST(base_set)
{
	struct sbx_strvec pk = SBX_STRVEC_INIT;
	struct sbx_apt_set set;
	struct sbx_err e;

	sbx_strvec_push(&pk, "bash");
	ck_assert_msg(sbx_apt_resolve(&pk, SBX_APT_BASE, &set, &e) == 0, "%s",
	    e.msg);
	/* debootstrap's minbase: Essential and required, merged /usr */
	ck_assert_ptr_nonnull(find(&set, "dpkg"));
	ck_assert_ptr_nonnull(find(&set, "apt"));
	ck_assert_ptr_nonnull(find(&set, "base-passwd"));
	ck_assert_ptr_nonnull(find(&set, "coreutils"));
	ck_assert_ptr_nonnull(find(&set, "usr-is-merged"));
	ck_assert_ptr_null(find(&set, "usrmerge"));
	ck_assert_ptr_null(find(&set, "systemd"));
	sbx_apt_set_free(&set);
	sbx_strvec_clear(&pk);
}
END_TEST

START_TEST(unknown_package)
{
	struct sbx_strvec pk = SBX_STRVEC_INIT;
	struct sbx_apt_set set;
	struct sbx_err e;

	sbx_strvec_push(&pk, "sbx-no-such-package");
	ck_assert_int_eq(sbx_apt_resolve(&pk, 0, &set, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "'apt-get -s' failed: Unable to locate "
	    "package sbx-no-such-package");
	sbx_strvec_clear(&pk);
	sbx_strvec_push(&pk, "-oDir=/evil");
	ck_assert_int_eq(sbx_apt_resolve(&pk, 0, &set, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "bad package name '-oDir=/evil'");
	sbx_strvec_clear(&pk);
}
END_TEST

Suite *suite_apt(void)
{
	Suite *s = suite_create("apt");
	TCase *tc = tcase_create("apt");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, suite_check);
	tcase_add_test(tc, closure_and_fetch);
	tcase_add_test(tc, base_set);
	tcase_add_test(tc, unknown_package);
	suite_add_tcase(s, tc);
	return s;
}
