/*
 * cmd-create.c - `sbx create [options] [TEMPLATE]`: prints the new id.
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static struct cli_create_args args = { .env = SBX_STRVEC_INIT };

static const struct sbx_option create_options[] = {
	CLI_CREATE_OPTIONS(args),
	{ 'e', "env", SBX_OPT_LIST, &args.env, "KEY=VALUE",
	  "environment for every command (repeatable)", 0, 0 },
	SBX_OPT_END_MARK,
};

static int
create_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_create_opts o;
	struct sbx_sandbox sb;
	struct sbx_err e;
	int rc;

	if (argc > 1)
		return sbx_usage_error(ctx, "too many arguments");
	rc = cli_create_opts(ctx, &args, argc ? argv[0] : NULL, &o);
	if (rc)
		return rc;
	sbx_err_clear(&e);
	if (!ctx->backend->create) {
		sbx_backend_unsupported(ctx->backend, "create", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->create(ctx->conn, &o, &sb, &e) < 0) {
		sbx_sandbox_release(&sb);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->json)
		cli_print_sandbox_json(&sb);
	else
		printf("%s\n", sb.id);
	sbx_sandbox_release(&sb);
	return 0;
}

const struct sbx_cmd cmd_create = {
	.name = "create",
	.summary = "create a sandbox from a template, image or snapshot",
	.usage = "[--vcpus N] [--memory SIZE] [--name NAME] "
	    "[--image PATH | --from SNAPSHOT | TEMPLATE]",
	.options = create_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = create_exec,
};
