/*
 * cmd-inspect.c - `sbx inspect`: print sandboxes as JSON.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int
inspect_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_sandbox sb;
	struct sbx_err e;
	int i, status = 0;

	if (argc < 1)
		return sbx_usage_error(ctx, "need at least one sandbox");
	for (i = 0; i < argc; i++) {
		sbx_err_clear(&e);
			if (ctx->backend->get(ctx->conn, argv[i], &sb, &e) < 0) {
			sbx_report_err(ctx, &e);
			status = 1;
		} else {
			cli_print_sandbox_json(&sb);
		}
		sbx_sandbox_release(&sb);
	}
	return status;
}

const struct sbx_cmd cmd_inspect = {
	.name = "inspect",
	.summary = "print everything known about sandboxes as JSON",
	.usage = "ID...",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = inspect_exec,
};
