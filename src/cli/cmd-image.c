/*
 * cmd-image.c - `sbx image pull|ls`: the images sandboxes boot.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "core/run.h"
#include "core/strvec.h"
#include "image/pull.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
#include "core/banned.h"

static int pull_no_rootfs;
static const char *pull_name;
static const char *pull_template;

static void
pull_note(void *arg, const char *msg)
{
	sbx_info(arg, "image: %s", msg);
}

#define IMAGE_HINT "images live with the server: run it where 'sbx serve' " \
	"runs, without --remote or SBX_REMOTE"

static int
pull_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_pull_opts o;
	struct sbx_pull_result res;
	struct sbx_err e;
	char hex[SBX_OID_HEXLEN + 1];
	int r0;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	if ((r0 = sbx_local_only(ctx, "image pull", IMAGE_HINT)) != 0)
		return r0;
	memset(&o, 0, sizeof(o));
	if (pull_template && pull_no_rootfs)
		return sbx_usage_error(ctx, "--template and --no-rootfs "
		    "exclude each other");
	o.name = pull_name;
	o.template = pull_template;
	o.libexec = sbx_libexec_dir();
	o.home = ctx->home;
	o.rootfs = !pull_no_rootfs;
	o.note = pull_note;
	o.note_arg = ctx;
	sbx_err_clear(&e);
	if (sbx_image_pull(ctx->store, &o, &res, &e) < 0)
		return sbx_report_err(ctx, &e);
	sbx_oid_to_hex(&res.manifest, hex);
	if (ctx->json)
		printf("{\"name\": \"%s\", \"manifest\": \"%s\", "
		    "\"kernel_package\": \"%s\", \"rootfs\": %s}\n",
		    pull_name ? pull_name : "default", hex,
		    res.kernel_package, res.has_rootfs ? "true" : "false");
	else
		printf("%s\n", hex);
	return 0;
}

static int
ls_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_strvec names = SBX_STRVEC_INIT;
	struct sbx_err e;
	json_t *arr = json_array();
	size_t i;

	(void)argc;
	(void)argv;
	if (ctx->remote) {
		json_decref(arr);
		return sbx_local_only(ctx, "image ls", IMAGE_HINT);
	}
	sbx_err_clear(&e);
	if (sbx_ref_list(ctx->store, "images", &names, &e) < 0) {
		json_decref(arr);
		return sbx_report_err(ctx, &e);
	}
	if (!ctx->json)
		printf("%-16s  %-12s  %-28s  %s\n", "NAME", "MANIFEST",
		    "KERNEL", "ROOT DISK");
	for (i = 0; i < names.nr; i++) {
		struct sbx_oid id;
		json_t *m = NULL;
		char hex[SBX_OID_HEXLEN + 1];
		const char *kp;

		if (sbx_ref_read(ctx->store, "images", names.v[i], &id,
		    &e) < 0 ||
		    sbx_manifest_load(ctx->store, &id, &m, &e) < 0) {
			sbx_strvec_clear(&names);
			json_decref(arr);
			return sbx_report_err(ctx, &e);
		}
		sbx_oid_to_hex(&id, hex);
		kp = json_string_value(json_object_get(m, "kernel_package"));
		if (ctx->json) {
			json_object_set_new(m, "name", json_string(names.v[i]));
			json_object_set_new(m, "manifest", json_string(hex));
			json_array_append(arr, m);
		} else {
			printf("%-16s  %.12s  %-28s  %s\n", names.v[i], hex,
			    kp ? kp : "-",
			    json_object_get(m, "rootfs") ? "yes" : "no");
		}
		json_decref(m);
	}
	if (ctx->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
	}
	json_decref(arr);
	sbx_strvec_clear(&names);
	return 0;
}

static const struct sbx_option pull_options[] = {
	{ 0, "no-rootfs", SBX_OPT_BOOL, &pull_no_rootfs, NULL,
	  "no root disk: guests run from the initramfs (busybox)", 0, 0 },
	{ 0, "name", SBX_OPT_STRING, &pull_name, "NAME",
	  "store the image under NAME (default: default)", 0, 0 },
	{ 't', "template", SBX_OPT_STRING, &pull_template, "TEMPLATE",
	  "root disk from this template (default: the embedded base)", 0, 0 },
	SBX_OPT_END_MARK,
};

static const struct sbx_cmd image_pull = {
	.name = "pull",
	.summary = "fetch Debian's kernel and build the default image",
	.usage = "[--no-rootfs | -t TEMPLATE] [--name NAME]",
	.options = pull_options,
	.flags = SBX_CMD_NEEDS_STORE,
	.exec = pull_exec,
};

static const struct sbx_cmd image_ls = {
	.name = "ls",
	.summary = "list the images in the store",
	.usage = "[--json]",
	.flags = SBX_CMD_NEEDS_STORE,
	.exec = ls_exec,
};

static const struct sbx_cmd *const image_subcmds[] = {
	&image_ls, &image_pull, NULL,
};

extern const struct sbx_cmd cmd_image;

static int
image_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return sbx_run_subcmd(ctx, &cmd_image, argc, argv);
}

const struct sbx_cmd cmd_image = {
	.name = "image",
	.summary = "fetch and list the images sandboxes boot",
	.usage = "pull|ls [options]",
	.flags = SBX_CMD_NEEDS_STORE | SBX_CMD_RAW_ARGS,
	.exec = image_exec,
	.subcmds = image_subcmds,
};
