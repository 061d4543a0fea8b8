/*
 * cmd-fork.c - `sbx fork ID [-n N]`: live copies of a running sandbox;
 * prints the new ids, one per line.
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/strvec.h"
#include "core/banned.h"

static long long fork_count = 1;

static const struct sbx_option fork_options[] = {
	{ 'n', "count", SBX_OPT_INT, &fork_count, "N",
	    "number of copies (1 to 100)", 1, 100 },
	SBX_OPT_END_MARK,
};

static int
fork_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_err e = { 0 };
	size_t i;
	int rc;

	if (argc != 1)
		return sbx_usage_error(ctx, "expects one sandbox");
	if (!ctx->backend->fork) {
		sbx_backend_unsupported(ctx->backend, "fork", &e);
		return sbx_report_err(ctx, &e);
	}
	rc = ctx->backend->fork(ctx->conn, argv[0], (unsigned)fork_count,
	    &ids, &e);
	for (i = 0; i < ids.nr; i++)
		printf("%s\n", ids.v[i]);
	fflush(stdout);
	sbx_strvec_clear(&ids);
	if (rc < 0)
		return sbx_report_err(ctx, &e);
	return 0;
}

const struct sbx_cmd cmd_fork = {
	.name = "fork",
	.summary = "make live copies of a running sandbox",
	.usage = "[-n N] ID",
	.options = fork_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = fork_exec,
};
