/*
 * apt.c - resolving and fetching Debian packages with the host's apt
 * (see apt.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/run.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/apt.h"
#include "store/fsutil.h"
#include "core/banned.h"

#define APT_TIMEOUT_MS (30 * 60 * 1000)
#define APT_OUT_MAX (256 * 1024 * 1024)

/*
 * Runs apt (`argv`), stdout into `out` (NULL: discarded). On a non-zero
 * exit the error quotes apt's last "E:" line.
 */
static int run_apt_show(const char *cwd, struct sbx_buf *out, int show,
    const struct sbx_strvec *argv, struct sbx_err *e);

static int run_apt(const char *cwd, struct sbx_buf *out,
    const struct sbx_strvec *argv, struct sbx_err *e)
{
	return run_apt_show(cwd, out, 0, argv, e);
}

/* run_apt; with `show` (and no `out`) apt's stdout goes to our stderr. */
static int run_apt_show(const char *cwd, struct sbx_buf *out, int show,
    const struct sbx_strvec *argv, struct sbx_err *e)
{
	struct sbx_buf err = SBX_BUF_INIT;
	struct sbx_run r;
	const char *p, *last = NULL;
	int st;

	sbx_run_init(&r);
	sbx_strvec_pushv(&r.argv, (const char *const *)argv->v);
	if (geteuid() == 0)	/* the _apt user cannot write our dirs */
		sbx_strvec_pushl(&r.argv, "-o", "APT::Sandbox::User=root",
		    NULL);
	sbx_strvec_push(&r.env, "LC_ALL=C");
	r.cwd = cwd;
	r.in = SBX_RUN_NULL;
	r.out = out ? SBX_RUN_CAPTURE : show ? SBX_RUN_FD : SBX_RUN_NULL;
	r.out_fd = 2;
	r.out_buf = out;
	r.err = SBX_RUN_CAPTURE;
	err.cap = 64 * 1024;
	r.err_buf = &err;
	r.timeout_ms = APT_TIMEOUT_MS;
	st = sbx_run(&r, e);
	sbx_run_release(&r);
	if (st == SBX_ENOENT)
		sbx_err_hint(e, "sbx builds Debian images with the host's apt; "
		    "this needs a Debian host");
	if (st > 0) {
		for (p = err.buf; p && *p; p = strchr(p, '\n') ? strchr(p,
		    '\n') + 1 : NULL)
			if (!strncmp(p, "E: ", 3))
				last = p + 3;
		if (!last)
			last = err.len ? err.buf : "no message";
		st = sbx_err_set(e, SBX_EFAIL, "'%s %s' failed: %.*s",
		    argv->v[0], argv->v[1], (int)strcspn(last, "\n"), last);
	}
	sbx_buf_release(&err);
	return st;
}

char *sbx_apt_host_suite(void)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *res = NULL, *p;
	size_t n;

	b.cap = 64 * 1024;
	if (sbx_buf_read_file(&b, "/etc/os-release", NULL) == 0) {
		for (p = b.buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 :
		    NULL) {
			if (strncmp(p, "VERSION_CODENAME=", 17))
				continue;
			p += 17;
			if (*p == '"')
				p++;
			n = strcspn(p, "\"\n");
			if (n)
				res = xstrndup(p, n);
			break;
		}
	}
	sbx_buf_release(&b);
	return res;
}

int sbx_apt_check_suite(const char *suite, struct sbx_err *e)
{
	char *host = sbx_apt_host_suite();
	int rc = 0;

	if (!host)
		rc = sbx_err_set(e, SBX_ENOTSUP, "debian suite '%s' is not "
		    "supported on this host: it is not Debian (no "
		    "VERSION_CODENAME in /etc/os-release)", suite);
	else if (strcmp(host, suite)) {
		rc = sbx_err_set(e, SBX_ENOTSUP, "debian suite '%s' is not "
		    "supported on this host: only '%s' (the host's own suite) "
		    "can be installed", suite, host);
		sbx_err_hint(e, "use 'debian: %s', or build from 'tar:' or "
		    "'oci:' images of other releases", host);
	}
	free(host);
	return rc;
}

/* Names of Essential and Priority: required packages apt knows. */
static int base_packages(struct sbx_strvec *out, struct sbx_err *e)
{
	struct sbx_strvec argv = SBX_STRVEC_INIT;
	struct sbx_buf b = SBX_BUF_INIT;
	char *p, *end, *name = NULL;
	int want = 0, rc;
	size_t i;

	sbx_strvec_pushl(&argv, "apt-cache", "dumpavail", NULL);
	b.cap = APT_OUT_MAX;
	rc = run_apt(NULL, &b, &argv, e);
	sbx_strvec_clear(&argv);
	for (p = b.buf; !rc && p && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, '\n');
		if (end)
			*end = '\0';
		if (!*p) {	/* end of a stanza */
			if (want && name) {
				for (i = 0; i < out->nr; i++)
					if (!strcmp(out->v[i], name))
						break;
				if (i == out->nr)
					sbx_strvec_push(out, name);
			}
			want = 0;
			name = NULL;
		} else if (!strncmp(p, "Package: ", 9)) {
			name = p + 9;
		} else if (!strcmp(p, "Priority: required") ||
		    !strcmp(p, "Essential: yes") || (name &&
		    !strcmp(name, "usr-is-merged"))) {
			/* usr-is-merged: as debootstrap, the root is merged
			   already, so apt need not pull usrmerge and perl */
			want = 1;
		}
	}
	sbx_buf_release(&b);
	return rc;
}

static void pkg_free(struct sbx_apt_pkg *p)
{
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->file);
	free(p->sha256);
	free(p->path);
}

void sbx_apt_set_free(struct sbx_apt_set *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		pkg_free(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* "Inst NAME (VERSION SUITE... [ARCH])" lines of apt-get -s. */
static int parse_sim(const char *text, struct sbx_apt_set *set,
    struct sbx_err *e)
{
	const char *p, *sp, *lp, *ab;

	for (p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 :
	    NULL) {
		struct sbx_apt_pkg *k;

		const char *eol;

		if (strncmp(p, "Inst ", 5))
			continue;
		p += 5;
		eol = p + strcspn(p, "\n");
		sp = strchr(p, ' ');
		lp = sp ? strstr(sp, " (") : NULL;
		ab = lp ? strchr(lp, '[') : NULL;
		if (!sp || !lp || lp != sp || !ab || ab > eol)
			return sbx_err_set(e, SBX_EINVAL, "cannot parse apt's "
			    "plan: '%.*s'", (int)strcspn(p, "\n"), p);
		set->v = xreallocarray(set->v, set->n + 1, sizeof(*set->v));
		k = &set->v[set->n++];
		memset(k, 0, sizeof(*k));
		k->name = xstrndup(p, sp - p);
		k->version = xstrndup(lp + 2, strcspn(lp + 2, " )"));
		k->arch = xstrndup(ab + 1, strcspn(ab + 1, "]"));
	}
	if (!set->n)
		return sbx_err_set(e, SBX_EINVAL, "apt planned no packages");
	return 0;
}

/* "name:arch=version" ("name=version" for arch "all"). */
static void push_spec(struct sbx_strvec *argv, const struct sbx_apt_pkg *p)
{
	if (!strcmp(p->arch, "all"))
		sbx_strvec_pushf(argv, "%s=%s", p->name, p->version);
	else
		sbx_strvec_pushf(argv, "%s:%s=%s", p->name, p->arch,
		    p->version);
}

/* Fills file, size and sha256 from `apt-get download --print-uris`. */
static int add_uris(struct sbx_apt_set *set, struct sbx_err *e)
{
	struct sbx_strvec argv = SBX_STRVEC_INIT;
	struct sbx_buf b = SBX_BUF_INIT;
	char file[512], sum[128];
	unsigned long long size;
	const char *p;
	size_t i, k = 0;
	int rc;

	sbx_strvec_pushl(&argv, "apt-get", "download", "--print-uris", NULL);
	for (i = 0; i < set->n; i++)
		push_spec(&argv, &set->v[i]);
	b.cap = APT_OUT_MAX;
	rc = run_apt(NULL, &b, &argv, e);
	sbx_strvec_clear(&argv);
	for (p = b.buf; !rc && p && *p; p = strchr(p, '\n') ? strchr(p, '\n')
	    + 1 : NULL) {
		const char *q = strstr(p, "' ");

		if (*p != '\'' || !q)
			continue;
		if (sscanf(q + 2, "%511s %llu %127s", file, &size, sum) != 3 ||
		    strncmp(sum, "SHA256:", 7) || strlen(sum + 7) != 64) {
			rc = sbx_err_set(e, SBX_EINVAL, "apt gives no SHA256 "
			    "for '%.*s'", (int)strcspn(p, "\n"), p);
			break;
		}
		/* apt answers in its own order: match "name_" */
		for (i = 0; i < set->n; i++) {
			size_t nl = strlen(set->v[i].name);

			if (!set->v[i].file && !strncmp(file, set->v[i].name,
			    nl) && file[nl] == '_')
				break;
		}
		if (i == set->n || strchr(file, '/')) {
			rc = sbx_err_set(e, SBX_EINVAL, "unexpected file "
			    "'%s' from apt", file);
			break;
		}
		set->v[i].file = xstrdup(file);
		set->v[i].size = size;
		set->v[i].sha256 = xstrdup(sum + 7);
		k++;
	}
	if (!rc && k != set->n)
		rc = sbx_err_set(e, SBX_EINVAL, "apt gave %zu download URIs "
		    "for %zu packages", k, set->n);
	sbx_buf_release(&b);
	return rc;
}

int sbx_apt_resolve(const struct sbx_strvec *pkgs, int flags,
    struct sbx_apt_set *out, struct sbx_err *e)
{
	struct sbx_strvec argv = SBX_STRVEC_INIT;
	struct sbx_strvec all = SBX_STRVEC_INIT;
	struct sbx_buf b = SBX_BUF_INIT;
	size_t i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((flags & SBX_APT_BASE) && (rc = base_packages(&all, e)))
		goto done;
	for (i = 0; i < pkgs->nr; i++) {
		if (pkgs->v[i][0] == '-' || strchr(pkgs->v[i], ' ')) {
			rc = sbx_err_set(e, SBX_EINVAL, "bad package name "
			    "'%s'", pkgs->v[i]);
			goto done;
		}
		sbx_strvec_push(&all, pkgs->v[i]);
	}
	if (!all.nr) {
		rc = sbx_err_set(e, SBX_EINVAL, "no packages to install");
		goto done;
	}
	sbx_strvec_pushl(&argv, "apt-get", "-s", "-q",
	    "-o", "Dir::State::Status=/dev/null",
	    "-o", "Debug::NoLocking=1",
	    "-o", "APT::Install-Recommends=false",
	    "-o", "APT::Install-Suggests=false", "install", NULL);
	sbx_strvec_pushv(&argv, (const char *const *)all.v);
	b.cap = APT_OUT_MAX;
	rc = run_apt(NULL, &b, &argv, e);
	if (rc == SBX_EFAIL && strstr(e->msg, "Unable to locate package")) {
		e->code = rc = SBX_ENOENT;
		sbx_err_hint(e, "check the package names; 'apt-get update' "
		    "refreshes the host's package lists");
	}
	if (!rc)
		rc = parse_sim(b.buf, out, e);
	if (!rc)
		rc = add_uris(out, e);
done:
	if (rc)
		sbx_apt_set_free(out);
	sbx_strvec_clear(&argv);
	sbx_strvec_clear(&all);
	sbx_buf_release(&b);
	return rc;
}

char *sbx_apt_cache_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");

	if (x && *x == '/')
		return xasprintf("%s/sbx/debs", x);
	return xasprintf("%s/.cache/sbx/debs", h && *h ? h : "/tmp");
}

int sbx_apt_sha256_file(const char *path, char hex[65], struct sbx_err *e)
{
	crypto_hash_sha256_state st;
	unsigned char out[crypto_hash_sha256_BYTES];
	unsigned char buf[65536];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT, "cannot "
		    "open '%s': no such file", path) :
		    sbx_err_sys(e, "cannot open '%s'", path);
	if (sodium_init() < 0) {
		close(fd);
		return sbx_err_set(e, SBX_EFAIL, "cannot initialize "
		    "libsodium");
	}
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = sbx_err_sys(e, "cannot read '%s'", path);
			close(fd);
			return (int)n;
		}
		crypto_hash_sha256_update(&st, buf, n);
	}
	close(fd);
	crypto_hash_sha256_final(&st, out);
	sodium_bin2hex(hex, 65, out, sizeof(out));
	return 0;
}

/* 1 when `path` holds a file with `sha`. */
static int cached_ok(const char *path, const char *sha)
{
	char hex[65];

	return sbx_apt_sha256_file(path, hex, NULL) == 0 && !strcmp(hex, sha);
}

int sbx_apt_fetch(struct sbx_apt_set *set, const char *cachedir,
    size_t *fetched, struct sbx_err *e)
{
	return sbx_apt_fetch_flags(set, cachedir, 0, fetched, e);
}

int sbx_apt_fetch_flags(struct sbx_apt_set *set, const char *cachedir,
    int flags, size_t *fetched, struct sbx_err *e)
{
	struct sbx_strvec argv = SBX_STRVEC_INIT;
	char *tmp = NULL, *src = NULL;
	char hex[65];
	size_t i, n = 0;
	int rc;

	if ((rc = sbx_fs_mkdir_p(cachedir, 0755, e)))
		return rc;
	sbx_strvec_pushl(&argv, "apt-get", "download", "-q", NULL);
	for (i = 0; i < set->n; i++) {
		struct sbx_apt_pkg *p = &set->v[i];

		free(p->path);
		p->path = xasprintf("%s/%s", cachedir, p->file);
		if (cached_ok(p->path, p->sha256))
			continue;
		push_spec(&argv, p);
		n++;
	}
	if (fetched)
		*fetched = n;
	if (!n)
		goto out;
	tmp = xasprintf("%s/.partial-%ld", cachedir, (long)getpid());
	sbx_fs_remove_tree(tmp, NULL);
	if ((rc = sbx_fs_mkdir(tmp, 0755, e)))
		goto out;
	if ((rc = run_apt_show(tmp, NULL, flags & SBX_APT_SHOW, &argv, e))) {
		sbx_err_hint(e, "is the Debian mirror reachable? "
		    "'apt-get update' refreshes the host's package lists");
		goto out;
	}
	for (i = 0; i < set->n; i++) {
		struct sbx_apt_pkg *p = &set->v[i];

		free(src);
		src = xasprintf("%s/%s", tmp, p->file);
		if (access(src, F_OK) < 0)
			continue;	/* was cached */
		if ((rc = sbx_apt_sha256_file(src, hex, e)))
			goto out;
		if (strcmp(hex, p->sha256)) {
			rc = sbx_err_set(e, SBX_ECORRUPT, "downloaded '%s' has "
			    "SHA256 %s, apt expects %s", p->file, hex,
			    p->sha256);
			goto out;
		}
		if (rename(src, p->path) < 0) {
			rc = sbx_err_sys(e, "cannot move '%s' into '%s'", src,
			    cachedir);
			goto out;
		}
	}
	rc = sbx_fs_fsync_dir(cachedir, e);
out:
	if (tmp)
		sbx_fs_remove_tree(tmp, NULL);
	free(tmp);
	free(src);
	sbx_strvec_clear(&argv);
	return rc;
}
