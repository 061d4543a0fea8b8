/*
 * cmd-hibernate.c - `sbx hibernate`: snapshot sandboxes and stop their
 * VMMs; `sbx resume` brings them back where they were.
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int
op_hibernate(struct sbx_ctx *ctx, const char *id, struct sbx_err *e)
{
	if (!ctx->backend->hibernate)
		return sbx_backend_unsupported(ctx->backend, "hibernate", e);
	return ctx->backend->hibernate(ctx->conn, id, e);
}

static int
hibernate_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return cli_each(ctx, argc, argv, op_hibernate);
}

const struct sbx_cmd cmd_hibernate = {
	.name = "hibernate",
	.summary = "save sandboxes' memory and CPU state to disk and stop them",
	.usage = "ID...",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = hibernate_exec,
};
