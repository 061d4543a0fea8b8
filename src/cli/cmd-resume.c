/*
 * cmd-resume.c - `sbx resume`: restore hibernated sandboxes.
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int
op_resume(struct sbx_ctx *ctx, const char *id, struct sbx_err *e)
{
	if (!ctx->backend->resume)
		return sbx_backend_unsupported(ctx->backend, "resume", e);
	return ctx->backend->resume(ctx->conn, id, e);
}

static int
resume_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return cli_each(ctx, argc, argv, op_resume);
}

const struct sbx_cmd cmd_resume = {
	.name = "resume",
	.summary = "restore hibernated sandboxes where they stopped",
	.usage = "ID...",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = resume_exec,
};
