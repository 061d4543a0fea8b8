/*
 * cmd-stop.c - `sbx stop`: stop sandboxes, keeping their disks.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int
op_stop(struct sbx_ctx *ctx, const char *id, struct sbx_err *e)
{
	if (!ctx->backend->stop)
		return sbx_backend_unsupported(ctx->backend, "stop", e);
	return ctx->backend->stop(ctx->conn, id, e);
}

static int
stop_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return cli_each(ctx, argc, argv, op_stop);
}

const struct sbx_cmd cmd_stop = {
	.name = "stop",
	.summary = "stop sandboxes, dropping memory and files written since boot",
	.usage = "ID...",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = stop_exec,
};
