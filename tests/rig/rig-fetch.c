/*
 * rig-fetch.c - getting the rig's Debian packages into the cache with
 * apt-get, and checking them against the SHA256 sums apt knows.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/run.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "rig-prep.h"
#include "core/banned.h"

#define APT_TIMEOUT_MS (10 * 60 * 1000)

struct pkg {
	char *name;
	char *file;		/* as apt-get download names it */
	char sha[65];
};

/* Runs apt with `argv`, stdout captured into `out` (or to our stderr). */
static int
apt(const char *cwd, struct sbx_buf *out, const char *const *argv,
    struct sbx_err *e)
{
	struct sbx_run r;
	int st;

	sbx_run_init(&r);
	sbx_strvec_pushv(&r.argv, argv);
	if (geteuid() == 0)	/* no "_apt cannot access" warning as root */
		sbx_strvec_pushl(&r.argv, "-o", "APT::Sandbox::User=root",
		    NULL);
	r.cwd = cwd;
	r.timeout_ms = APT_TIMEOUT_MS;
	if (out) {
		r.out = SBX_RUN_CAPTURE;
		r.out_buf = out;
	} else {
		r.out = SBX_RUN_FD;
		r.out_fd = 2;
	}
	st = sbx_run(&r, e);
	sbx_run_release(&r);
	if (st > 0)
		st = sbx_err_set(e, SBX_EFAIL, "'%s %s %s' failed with status "
		    "%d", argv[0], argv[1], argv[2] ? argv[2] : "", st);
	return st;
}

/* The versioned kernel package linux-image-amd64 depends on. */
static int
kernel_package(char **name, struct sbx_err *e)
{
	static const char *const argv[] = { "apt-cache", "depends",
	    "linux-image-amd64", NULL };
	struct sbx_buf out = SBX_BUF_INIT;
	const char *env = getenv("SBX_RIG_KERNEL_PKG"), *p;
	int r;

	if (env && *env) {
		*name = xstrdup(env);
		return 0;
	}
	r = apt(NULL, &out, argv, e);
	if (r == 0) {
		p = strstr(out.buf, "Depends: linux-image-");
		if (p) {
			p += strlen("Depends: ");
			*name = xstrndup(p, strcspn(p, " \t\r\n"));
		} else {
			r = sbx_err_set(e, SBX_ENOENT, "apt knows no kernel "
			    "package that linux-image-amd64 depends on");
		}
	}
	sbx_buf_release(&out);
	return r;
}

/* Asks apt where `p->name` comes from: the file name and its SHA256. */
static int
print_uris(struct pkg *p, struct sbx_err *e)
{
	const char *argv[] = { "apt-get", "download", "--print-uris", p->name,
	    NULL };
	struct sbx_buf out = SBX_BUF_INIT;
	char uri[2048], file[512], sum[128];
	unsigned long long size;
	int r;

	r = apt(NULL, &out, argv, e);
	if (r == 0 && sscanf(out.buf, "%2047s %511s %llu %127s", uri, file,
	    &size, sum) == 4 && !strncmp(sum, "SHA256:", 7) &&
	    strlen(sum + 7) == 64 && !strchr(file, '/')) {
		p->file = xstrdup(file);
		memcpy(p->sha, sum + 7, 64);
		p->sha[64] = '\0';
	} else if (r == 0) {
		r = sbx_err_set(e, SBX_EINVAL, "unexpected output of "
		    "'apt-get download --print-uris %s': '%.200s'", p->name,
		    out.buf);
	}
	sbx_buf_release(&out);
	return r;
}

/*
 * Checks cache/debs/<file> against p->sha. A "<file>.ok" stamp with the
 * hash, size and mtime saves hashing 70 MB on every run. Returns 1 when
 * valid, 0 when missing or wrong (a wrong file is removed).
 */
static int
verify(const char *debs, const struct pkg *p, struct sbx_err *e)
{
	char *path = xasprintf("%s/%s", debs, p->file);
	char *stamp = xasprintf("%s.ok", path);
	struct sbx_buf old = SBX_BUF_INIT, want = SBX_BUF_INIT;
	char hex[65];
	struct stat st;
	int r = 0;

	if (stat(path, &st) < 0)
		goto out;
	sbx_buf_addf(&want, "%s %lld %lld.%09ld\n", p->sha,
	    (long long)st.st_size, (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	if (sbx_buf_read_file(&old, stamp, NULL) == 0 &&
	    !strcmp(old.buf, want.buf)) {
		r = 1;
		goto out;
	}
	if (rig_sha256_file(path, hex, e) < 0)
		goto out;
	if (strcmp(hex, p->sha)) {
		rig_note("'%s': SHA256 %s, expected %s: removing it", path,
		    hex, p->sha);
		unlink(path);
		unlink(stamp);
		goto out;
	}
	r = rig_write_file(stamp, want.buf, want.len, e) < 0 ? -1 : 1;
out:
	sbx_buf_release(&old);
	sbx_buf_release(&want);
	free(stamp);
	free(path);
	return r;
}

/* Makes sure the verified package is in the cache. */
static int
get(const char *debs, struct pkg *p, struct sbx_err *e)
{
	const char *argv[] = { "apt-get", "download", "-q", p->name, NULL };
	int r;

	r = verify(debs, p, e);
	if (r != 0)
		return r < 0 ? r : 0;
	rig_note("downloading %s", p->file);
	r = apt(debs, NULL, argv, e);
	if (r < 0)
		return r;
	r = verify(debs, p, e);
	if (r < 0)
		return r;
	if (r == 0)
		return sbx_err_set(e, SBX_ECORRUPT, "'%s/%s' does not match its "
		    "SHA256 %s after download", debs, p->file, p->sha);
	return 0;
}

/* Reads "name file sha" lines recorded by the last successful fetch. */
static int
last_fetch(const char *cache, struct pkg *pk, struct sbx_err *e)
{
	char *rec = xasprintf("%s/last-fetch", cache);
	struct sbx_buf text = SBX_BUF_INIT;
	char name[256], file[512], sha[65];
	const char *line;
	int r, i;

	r = sbx_buf_read_file(&text, rec, NULL);
	for (i = 0, line = text.buf; r == 0 && i < 2; i++) {
		if (!line || sscanf(line, "%255s %511s %64s", name, file,
		    sha) != 3) {
			r = -1;
			break;
		}
		pk[i].name = xstrdup(name);
		pk[i].file = xstrdup(file);
		snprintf(pk[i].sha, sizeof(pk[i].sha), "%s", sha);
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	sbx_buf_release(&text);
	free(rec);
	if (r < 0)
		return sbx_err_set(e, SBX_ENOENT, "no usable '%s/last-fetch'",
		    cache);
	return 0;
}

/*
 * Whether the last fetch is recent enough to skip apt: younger than
 * $SBX_RIG_REFRESH seconds (default a day; 0 asks apt every time).
 */
static int
fresh(const char *cache)
{
	char *rec = xasprintf("%s/last-fetch", cache);
	const char *env = getenv("SBX_RIG_REFRESH");
	long long max = 86400;
	struct stat st;
	int r;

	if (env && *env && sbx_parse_int(env, 0, 1LL << 40, &max, NULL) < 0)
		max = 86400;
	r = stat(rec, &st) == 0 && time(NULL) - st.st_mtime < max;
	free(rec);
	return r;
}

static void
pkg_release(struct pkg *p)
{
	free(p->name);
	free(p->file);
	p->name = p->file = NULL;
}

int
rig_fetch(const char *cache, struct rig_debs *d, struct sbx_err *e)
{
	struct pkg pk[2] = { { 0 }, { 0 } };
	struct sbx_err apterr = { 0 };
	struct sbx_buf rec = SBX_BUF_INIT;
	char *debs = xasprintf("%s/debs", cache);
	int r, i, offline = 0;

	r = rig_mkdirs(debs, e);
	if (r < 0)
		goto out;
	/* Asking apt costs seconds per run: once a day is enough. */
	if (fresh(cache) && last_fetch(cache, pk, NULL) == 0) {
		if (verify(debs, &pk[0], NULL) == 1 &&
		    verify(debs, &pk[1], NULL) == 1) {
			offline = 1;
			goto have;
		}
		pkg_release(&pk[0]);
		pkg_release(&pk[1]);
	}
	pk[1].name = xstrdup("busybox-static");
	r = kernel_package(&pk[0].name, &apterr);
	for (i = 0; i < 2 && r == 0; i++)
		r = print_uris(&pk[i], &apterr);
	if (r < 0) {
		pkg_release(&pk[0]);
		pkg_release(&pk[1]);
		if (last_fetch(cache, pk, NULL) < 0) {
			r = sbx_err_set(e, apterr.code, "%s", apterr.msg);
			sbx_err_hint(e, "run 'apt-get update' (as root) so apt "
			    "knows linux-image-amd64 and busybox-static");
			goto out;
		}
		rig_note("apt failed (%s); using the packages of the last "
		    "fetch", apterr.msg);
		offline = 1;
	}
have:
	for (i = 0; i < 2; i++) {
		if (offline) {
			char *path = xasprintf("%s/%s", debs, pk[i].file);

			r = verify(debs, &pk[i], e);
			if (r == 0)
				r = sbx_err_set(e, SBX_ECORRUPT, "'%s' is "
				    "missing or damaged and apt cannot fetch "
				    "it again", path);
			free(path);
			r = r > 0 ? 0 : r;
		} else {
			r = get(debs, &pk[i], e);
		}
		if (r < 0)
			goto out;
		sbx_buf_addf(&rec, "%s %s %s\n", pk[i].name, pk[i].file,
		    pk[i].sha);
	}
	if (!offline) {
		char *path = xasprintf("%s/last-fetch", cache);

		r = rig_write_file(path, rec.buf, rec.len, e);
		free(path);
		if (r < 0)
			goto out;
	}
	d->kernel = xasprintf("%s/%s", debs, pk[0].file);
	d->busybox = xasprintf("%s/%s", debs, pk[1].file);
out:
	pkg_release(&pk[0]);
	pkg_release(&pk[1]);
	sbx_buf_release(&rec);
	free(debs);
	return r;
}

void
rig_debs_release(struct rig_debs *d)
{
	free(d->kernel);
	free(d->busybox);
	d->kernel = d->busybox = NULL;
}
