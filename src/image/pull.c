/*
 * pull.c - assembling the default image from Debian packages (pull.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/run.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/apt.h"
#include "image/deb.h"
#include "image/guest.h"
#include "image/kernel.h"
#include "image/pull.h"
#include "image/rootfs.h"
#include "store/fsutil.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "template/template.h"
#include "core/banned.h"

static void
note(const struct sbx_pull_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->note(o->note_arg, msg);
}

/* The versioned package linux-image-amd64 depends on right now. */
static int
kernel_package(char **name, struct sbx_err *e)
{
	const char *env = getenv("SBX_KERNEL_PKG");
	struct sbx_buf out = SBX_BUF_INIT;
	struct sbx_run r;
	const char *p;
	int st;

	if (env && *env) {
		*name = xstrdup(env);
		return 0;
	}
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, "apt-cache", "depends", "linux-image-amd64",
	    NULL);
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	r.err = SBX_RUN_NULL;
	r.timeout_ms = 60000;
	st = sbx_run(&r, e);
	sbx_run_release(&r);
	if (st > 0)
		st = sbx_err_set(e, SBX_EFAIL, "'apt-cache depends "
		    "linux-image-amd64' failed with status %d", st);
	if (st == 0) {
		p = strstr(out.buf, "Depends: linux-image-");
		if (p) {
			p += strlen("Depends: ");
			*name = xstrndup(p, strcspn(p, " \t\r\n"));
		} else {
			st = sbx_err_set(e, SBX_ENOENT, "apt knows no kernel "
			    "package that linux-image-amd64 depends on");
			sbx_err_hint(e, "run 'apt-get update'");
		}
	}
	sbx_buf_release(&out);
	return st;
}

static const char *
find_deb(const struct sbx_apt_set *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (!strcmp(set->v[i].name, name))
			return set->v[i].path;
	return NULL;
}

/* Unpacks bin/busybox from its .deb into <dir>/busybox (cached). */
static int
busybox(const char *deb, const char *dir, char **path, struct sbx_err *e)
{
	static const char *const parts[] = { "bin/busybox", NULL };
	char *tmp;
	size_t n = 0;
	int r;

	*path = xasprintf("%s/bin/busybox", dir);
	if (access(*path, X_OK) == 0)
		return 0;
	tmp = xasprintf("%s.tmp", dir);
	sbx_fs_remove_tree(tmp, NULL);
	r = sbx_fs_mkdir_p(tmp, 0755, e);
	if (!r)
		r = sbx_deb_extract(deb, tmp, parts, 0, &n, e);
	if (!r && n == 0)
		r = sbx_err_set(e, SBX_EINVAL, "'%s' has no bin/busybox", deb);
	if (!r) {
		sbx_fs_remove_tree(dir, NULL);
		if (rename(tmp, dir) < 0)
			r = sbx_err_sys(e, "cannot rename '%s'", tmp);
	}
	sbx_fs_remove_tree(tmp, NULL);
	free(tmp);
	return r;
}

static void
rootfs_note(void *arg, const char *msg)
{
	note(arg, "%s", msg);
}

/*
 * Loads template `o->template` (a name or path), or the embedded `base`
 * when NULL, and checks that it can be made into an image.
 */
static int
load_template(const struct sbx_pull_opts *o, struct sbx_template **out,
    struct sbx_err *e)
{
	struct sbx_template *t = NULL;
	const char *text;
	size_t len;
	int r;

	*out = NULL;
	if (o->template) {
		r = sbx_template_open(o->template, o->home, &t, NULL, e);
		if (!r)
			r = sbx_template_check_paths(t, e);
	} else {
		text = sbx_template_builtin("base", &len);
		if (!text)
			return sbx_err_set(e, SBX_ENOENT,
			    "no builtin template 'base'");
		r = sbx_template_parse(text, len, "base.yaml", "", &t, e);
	}
	if (!r && t->nrun && !o->allow_steps) {
		r = sbx_err_set(e, SBX_EINVAL, "template '%s' has build steps "
		    "('run'), which an image pull does not run", t->name);
		sbx_err_hint(e, "build it with 'sbx build %s'", o->template);
	}
	if (r < 0) {
		sbx_template_free(t);
		return r;
	}
	*out = t;
	return 0;
}

/* Builds (or finds cached) the root disk of `t`. */
static int
template_rootfs(struct sbx_store *s, const struct sbx_pull_opts *o,
    const struct sbx_template *t, struct sbx_oid *image, struct sbx_err *e)
{
	struct sbx_rootfs_opts ro;
	struct sbx_rootfs_result res;
	int r;

	memset(&ro, 0, sizeof(ro));
	ro.disk = t->resources.disk;
	ro.note = rootfs_note;
	ro.note_arg = (void *)o;
	r = sbx_rootfs_build(s, t, &ro, &res, e);
	if (!r) {
		*image = res.image;
		note(o, "root disk %s(%llu MiB)", res.cached ? "cached " : "",
		    (unsigned long long)(res.size >> 20));
	}
	return r;
}

int
sbx_image_pull(struct sbx_store *s, const struct sbx_pull_opts *o,
    struct sbx_pull_result *res, struct sbx_err *e)
{
	struct sbx_strvec pkgs = SBX_STRVEC_INIT, wanted = SBX_STRVEC_INIT;
	struct sbx_apt_set set = { NULL, 0 };
	struct sbx_kernel k;
	struct sbx_guest_files g;
	struct sbx_oid kid, iid, rid;
	char *kpkg = NULL, *cache = NULL, *kcache = NULL, *bbdir = NULL;
	char *bb = NULL, *tmp = NULL;
	const char *kdeb, *bdeb;
	struct sbx_template *tmpl = NULL;
	json_t *m = NULL;
	size_t fetched = 0;
	int fd = -1, r;

	memset(res, 0, sizeof(*res));
	memset(&k, 0, sizeof(k));
	memset(&g, 0, sizeof(g));
	/* A template that cannot become an image fails before any download. */
	r = o->rootfs ? load_template(o, &tmpl, e) : 0;
	if (!r)
		r = kernel_package(&kpkg, e);
	if (r)
		goto out;
	snprintf(res->kernel_package, sizeof(res->kernel_package), "%s",
	    kpkg);
	note(o, "kernel package %s", kpkg);
	sbx_strvec_pushl(&pkgs, kpkg, "busybox-static", NULL);
	r = sbx_apt_resolve(&pkgs, 0, &set, e);
	cache = sbx_apt_cache_dir();
	if (!r)
		r = sbx_apt_fetch(&set, cache, &fetched, e);
	if (r)
		goto out;
	note(o, "%zu packages ready (%zu downloaded)", set.n, fetched);
	kdeb = find_deb(&set, kpkg);
	bdeb = find_deb(&set, "busybox-static");
	if (!kdeb || !bdeb) {
		r = sbx_err_set(e, SBX_ENOENT, "apt did not resolve '%s'",
		    kdeb ? "busybox-static" : kpkg);
		goto out;
	}
	/* Beside the .deb cache: <cache dir's parent>/kernels. */
	{
		const char *slash = strrchr(cache, '/');

		kcache = slash && slash != cache ? xasprintf("%.*s/kernels",
		    (int)(slash - cache), cache) : xasprintf("%s-kernels", cache);
	}
	r = sbx_fs_mkdir_p(kcache, 0755, e);
	sbx_strvec_pushv(&wanted, sbx_guest_modules);
	if (!r)
		r = sbx_kernel_unpack(kcache, kdeb, &wanted, &k, e);
	bbdir = xasprintf("%s/busybox", kcache);
	if (!r)
		r = busybox(bdeb, bbdir, &bb, e);
	if (r)
		goto out;
	g.init = xasprintf("%s/sbx-init", o->libexec);
	g.agent = xasprintf("%s/sbx-agent", o->libexec);
	g.busybox = bb;
	r = sbx_store_tmpfile(s, "initrd", &tmp, &fd, e);
	if (r)
		goto out;
	close(fd);
	r = sbx_guest_initramfs(&k, &g, tmp, e);
	if (!r)
		r = sbx_store_put_path(s, tmp, NULL, &iid, e);
	if (!r) {
		char *vmlinuz = xasprintf("%s/vmlinuz", k.dir);

		r = sbx_store_put_file(s, vmlinuz, &kid, NULL, e);
		free(vmlinuz);
	}
	if (r)
		goto out;
	note(o, "initramfs and kernel stored");
	if (o->rootfs) {
		r = template_rootfs(s, o, tmpl, &rid, e);
		if (r)
			goto out;
		res->has_rootfs = 1;
	}
	m = json_pack("{s:s,s:s,s:o,s:o}", "type", "image",
	    "kernel_package", kpkg,
	    "kernel", sbx_manifest_ref_json(&kid),
	    "initrd", sbx_manifest_ref_json(&iid));
	if (o->rootfs)
		json_object_set_new(m, "rootfs", sbx_manifest_ref_json(&rid));
	if (tmpl) {
		char hex[SBX_TEMPLATE_HASH_HEX];

		/* sbx build reuses the image while this is unchanged. */
		sbx_template_image_hash(tmpl, hex);
		json_object_set_new(m, "template", json_string(tmpl->name));
		json_object_set_new(m, "template_hash", json_string(hex));
		json_object_set_new(m, "sandbox",
		    sbx_template_sandbox_json(tmpl));
	}
	r = sbx_manifest_put(s, m, &res->manifest, e);
	if (!r)
		r = sbx_ref_write(s, "images", o->name ? o->name : "default",
		    &res->manifest, e);
out:
	if (tmp && r)
		unlink(tmp);
	json_decref(m);
	free((char *)g.init);
	free((char *)g.agent);
	free(bb);
	free(bbdir);
	free(tmp);
	free(kcache);
	free(cache);
	free(kpkg);
	sbx_template_free(tmpl);
	sbx_kernel_release(&k);
	sbx_apt_set_free(&set);
	sbx_strvec_clear(&pkgs);
	sbx_strvec_clear(&wanted);
	return r;
}
