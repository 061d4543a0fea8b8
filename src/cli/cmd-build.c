/*
 * cmd-build.c - `sbx build [--rootfs-only] [--no-cache] TEMPLATE`: turn a
 * template into images in the store.
 *
 * This stage builds the root file system (src/image/rootfs.h) and prints
 * the id of its manifest; the build steps in a VM and the ready snapshot
 * come on top of it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "core/progress.h"
#include "image/rootfs.h"
#include "store/store.h"
#include "template/template.h"
#include "core/banned.h"

static int opt_rootfs_only;
static int opt_no_cache;

static const struct sbx_option build_options[] = {
	{ 0, "rootfs-only", SBX_OPT_BOOL, &opt_rootfs_only, NULL,
	  "build only the root file system image and print its id", 0, 0 },
	{ 0, "no-cache", SBX_OPT_BOOL, &opt_no_cache, NULL,
	  "rebuild even when an unchanged build is cached", 0, 0 },
	SBX_OPT_END_MARK,
};

static void build_note(void *arg, const char *msg)
{
	sbx_info(arg, "%s", msg);
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
	if (!opt_rootfs_only)
		return sbx_usage_error(ctx, "only the root file system stage "
		    "exists so far: use --rootfs-only");
	sbx_err_clear(&e);
	rc = sbx_template_open(argv[0], ctx->home, &t, NULL, &e);
	if (rc)
		return sbx_report_err(ctx, &e);
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
	.usage = "[--rootfs-only] [--no-cache] [--json] TEMPLATE",
	.options = build_options,
	.flags = SBX_CMD_NEEDS_STORE,
	.exec = build_exec,
};
