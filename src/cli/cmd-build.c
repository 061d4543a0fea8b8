/*
 * cmd-build.c - `sbx build [--rootfs-only | --image-only] [--no-cache]
 * TEMPLATE`: turn a template into what `sbx create NAME` starts.
 *
 * Two stages: the image (kernel, initramfs and root disk from the
 * template's sources: src/image/pull.h, reused while the template is
 * unchanged), then - when the template has `run` steps, `start` or
 * `ready` - the VM stage (build-steps.h): the steps run in a sandbox of
 * that image and its ready snapshot becomes the template.
 *
 * With --remote the server builds (backends/remote/build.c): a template
 * file goes up with the files it refers to, a name is the server's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/build-steps.h"
#include "cli/cmd.h"
#include "core/progress.h"
#include "core/run.h"
#include "image/pull.h"
#include "image/rootfs.h"
#include "remote/remote.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
#include "template/template.h"
#include "core/banned.h"

static int opt_rootfs_only;
static int opt_image_only;
static int opt_no_cache;

static const struct sbx_option build_options[] = {
	{ 0, "rootfs-only", SBX_OPT_BOOL, &opt_rootfs_only, NULL,
	  "build only the root file system image and print its id", 0, 0 },
	{ 0, "image-only", SBX_OPT_BOOL, &opt_image_only, NULL,
	  "build the bootable image but do not run the steps", 0, 0 },
	{ 0, "no-cache", SBX_OPT_BOOL, &opt_no_cache, NULL,
	  "rebuild even when an unchanged build is cached", 0, 0 },
	SBX_OPT_END_MARK,
};

static void build_note(void *arg, const char *msg)
{
	sbx_info(arg, "%s", msg);
}

static void
image_note(void *arg, const char *msg)
{
	sbx_info(arg, "image: %s", msg);
}

/*
 * The image of `t` as refs/images/<name>: the existing one if it was made
 * from this very template (same canonical hash), else a new one.
 */
static int
build_image(struct sbx_ctx *ctx, const struct sbx_template *t,
    const char *arg, char hex[SBX_OID_HEXLEN + 1], struct sbx_err *e)
{
	char thex[SBX_TEMPLATE_HASH_HEX];
	struct sbx_pull_opts o;
	struct sbx_pull_result res;
	struct sbx_oid id;
	json_t *m = NULL;

	sbx_template_image_hash(t, thex);
	if (!opt_no_cache && sbx_ref_read(ctx->store, "images", t->name, &id,
	    NULL) == 0 && sbx_manifest_load(ctx->store, &id, &m, NULL) == 0) {
		const char *h = json_string_value(json_object_get(m,
		    "template_hash"));
		/* Images from before "sandbox" existed are made again. */
		int same = h && !strcmp(h, thex) &&
		    json_is_object(json_object_get(m, "sandbox"));

		json_decref(m);
		if (same) {
			sbx_oid_to_hex(&id, hex);
			sbx_info(ctx, "image: '%s' is up to date", t->name);
			sbx_build_event(ctx, json_pack("{s:s, s:s, s:b}",
			    "event", "image", "image", hex, "cached", 1));
			return 0;
		}
	}
	memset(&o, 0, sizeof(o));
	o.name = t->name;
	o.template = arg;
	o.allow_steps = 1;
	o.libexec = sbx_libexec_dir();
	o.home = ctx->home;
	o.rootfs = 1;
	o.note = image_note;
	o.note_arg = ctx;
	if (sbx_image_pull(ctx->store, &o, &res, e) < 0)
		return -1;
	sbx_oid_to_hex(&res.manifest, hex);
	sbx_build_event(ctx, json_pack("{s:s, s:s, s:b}", "event", "image",
	    "image", hex, "cached", 0));
	return 0;
}

/* Image, then (if the template has any) the steps in a VM. */
static int
build_full(struct sbx_ctx *ctx, const struct sbx_template *t,
    const char *arg)
{
	char image[SBX_OID_HEXLEN + 1], snap[SBX_OID_HEXLEN + 1] = "";
	struct sbx_err e;
	int steps = t->nrun || t->start || t->ready.kind != SBX_READY_NONE;

	sbx_err_clear(&e);
	if (build_image(ctx, t, arg, image, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (steps && !opt_image_only) {
		if (sbx_build_steps(ctx, t, image, opt_no_cache, snap, &e) < 0)
			return sbx_report_err(ctx, &e);
	}
	if (ctx->json)
		sbx_build_event(ctx, json_pack("{s:s, s:s, s:s, s:s?}", "event",
		    "done", "template", t->name, "image", image, "snapshot",
		    snap[0] ? snap : NULL));
	else
		printf("%s\n", snap[0] ? snap : image);
	return 0;
}

/* A remote build's events: as sent with --json, else like a local build. */
static int
remote_event(void *arg, json_t *ev, const char *line, size_t len,
    struct sbx_err *e)
{
	struct sbx_ctx *ctx = arg;
	const char *kind = json_string_value(json_object_get(ev, "event"));
	const char *snap, *img;

	(void)e;
	if (!strcmp(kind, "error"))
		return 0;	/* reported as an error like a local one */
	if (ctx->json) {
		printf("%.*s\n", (int)len, line);
		fflush(stdout);
	} else if (!strcmp(kind, "log")) {
		const char *l = json_string_value(json_object_get(ev, "line"));

		if (l)
			sbx_info(ctx, "%s", l);
	} else if (!strcmp(kind, "done")) {
		snap = json_string_value(json_object_get(ev, "snapshot"));
		img = json_string_value(json_object_get(ev, "image"));
		printf("%s\n", snap ? snap : img ? img : "");
		fflush(stdout);
	}
	return 0;
}

/*
 * `sbx --remote URL build`: a template file is uploaded with the files it
 * refers to; anything else names a template the server knows.
 */
static int
build_remote(struct sbx_ctx *ctx, const char *arg)
{
	struct sbx_remote_build o;
	struct sbx_err e;
	size_t n = strlen(arg);

	if (opt_rootfs_only)
		return sbx_usage_error(ctx, "--rootfs-only builds on this "
		    "host; leave out --remote");
	memset(&o, 0, sizeof(o));
	o.template = arg;
	o.upload = strchr(arg, '/') || (n > 5 && !strcmp(arg + n - 5,
	    ".yaml")) || (n > 4 && !strcmp(arg + n - 4, ".yml"));
	o.no_cache = opt_no_cache;
	o.image_only = opt_image_only;
	o.on_event = remote_event;
	o.arg = ctx;
	sbx_err_clear(&e);
	if (sbx_remote_build(ctx->conn, &o, &e) < 0)
		return sbx_report_err(ctx, &e);
	return 0;
}

static int build_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_rootfs_result res;
	struct sbx_rootfs_opts o = { 0 };
	struct sbx_template *t = NULL;
	char man[SBX_OID_HEXLEN + 1], img[SBX_OID_HEXLEN + 1];
	struct sbx_err e;
	int rc;

	if (argc != 1)
		return sbx_usage_error(ctx, "expects one template (a name or a "
		    "file)");
	if (opt_rootfs_only && opt_image_only)
		return sbx_usage_error(ctx, "--rootfs-only and --image-only "
		    "exclude each other");
	if (ctx->remote)
		return build_remote(ctx, argv[0]);
	sbx_err_clear(&e);
	rc = sbx_template_open(argv[0], ctx->home, &t, NULL, &e);
	if (rc)
		return sbx_report_err(ctx, &e);
	if (!opt_rootfs_only) {
		rc = build_full(ctx, t, argv[0]);
		sbx_template_free(t);
		return rc;
	}
	o.disk = t->resources.disk;
	o.no_cache = opt_no_cache;
	o.note = build_note;
	o.note_arg = ctx;
	o.progress = 1;
	o.progress_flags = ctx->quiet ? SBX_PROGRESS_QUIET :
	    ctx->verbose ? SBX_PROGRESS_VERBOSE : 0;
	rc = sbx_rootfs_build(ctx->store, t, &o, &res, &e);
	sbx_template_free(t);
	if (rc)
		return sbx_report_err(ctx, &e);
	sbx_oid_to_hex(&res.manifest, man);
	sbx_oid_to_hex(&res.image, img);
	if (ctx->json) {
		json_t *j = json_pack("{s:s,s:s,s:I,s:b}", "rootfs", man,
		    "image", img, "size", (json_int_t)res.size, "cached",
		    res.cached);

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s\n", man);
	}
	return 0;
}

const struct sbx_cmd cmd_build = {
	.name = "build",
	.summary = "build a template's images into the store",
	.usage = "[--rootfs-only | --image-only] [--no-cache] [--json] "
	    "TEMPLATE",
	.options = build_options,
	.flags = SBX_CMD_NEEDS_STORE | SBX_CMD_NEEDS_BACKEND,
	.exec = build_exec,
};
