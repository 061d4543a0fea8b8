/*
 * cmd-rm.c - `sbx rm`: remove sandboxes.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int rm_force;

static int
op_rm(struct sbx_ctx *ctx, const char *id, struct sbx_err *e)
{
	return ctx->backend->destroy(ctx->conn, id, rm_force, e);
}

static int
rm_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return cli_each(ctx, argc, argv, op_rm);
}

static const struct sbx_option rm_options[] = {
	{ 'f', "force", SBX_OPT_BOOL, &rm_force, NULL,
	  "stop a running sandbox first", 0, 0 },
	SBX_OPT_END_MARK,
};

const struct sbx_cmd cmd_rm = {
	.name = "rm",
	.summary = "remove sandboxes",
	.usage = "[-f] ID...",
	.options = rm_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = rm_exec,
};
