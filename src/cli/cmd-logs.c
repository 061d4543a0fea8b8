/*
 * cmd-logs.c - `sbx logs`: print a console log.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int logs_follow;

static int
logs_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_err e;

	if (argc != 1)
		return sbx_usage_error(ctx, "need exactly one sandbox");
	sbx_err_clear(&e);
	if (!ctx->backend->logs) {
		sbx_backend_unsupported(ctx->backend, "logs", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->logs(ctx->conn, argv[0], STDOUT_FILENO,
	    logs_follow, &e) < 0)
		return sbx_report_err(ctx, &e);
	return 0;
}

static const struct sbx_option logs_options[] = {
	{ 'f', "follow", SBX_OPT_BOOL, &logs_follow, NULL,
	  "keep printing new console output", 0, 0 },
	SBX_OPT_END_MARK,
};

const struct sbx_cmd cmd_logs = {
	.name = "logs",
	.summary = "print a sandbox's console log",
	.usage = "[-f] ID",
	.options = logs_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = logs_exec,
};
