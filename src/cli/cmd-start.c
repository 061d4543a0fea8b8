/*
 * cmd-start.c - `sbx start`: boot stopped sandboxes clean.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int
op_start(struct sbx_ctx *ctx, const char *id, struct sbx_err *e)
{
	if (!ctx->backend->start)
		return sbx_backend_unsupported(ctx->backend, "start", e);
	return ctx->backend->start(ctx->conn, id, e);
}

static int
start_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return cli_each(ctx, argc, argv, op_start);
}

const struct sbx_cmd cmd_start = {
	.name = "start",
	.summary = "boot stopped sandboxes clean from their image",
	.usage = "ID...",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = start_exec,
};
