/*
 * cmd-exec.c - `sbx exec [options] ID -- COMMAND...`: the exit status is
 * the guest command's (128+N when it was killed by signal N).
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static struct cli_exec_args args = { .env = SBX_STRVEC_INIT };

static const struct sbx_option exec_options[] = {
	CLI_EXEC_OPTIONS(args),
	{ 'd', "detach", SBX_OPT_BOOL, &args.detach, NULL,
	  "start in the background and print the guest pid", 0, 0 },
	SBX_OPT_END_MARK,
};

static int
exec_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	if (ctx->dashdash > 1)
		return sbx_usage_error(ctx, "only the sandbox may come before "
		    "'--'");
	if (argc < 2)
		return sbx_usage_error(ctx, "need a sandbox and a command "
		    "(sbx exec ID -- COMMAND...)");
	if (args.detach && (args.tty || args.interactive))
		return sbx_usage_error(ctx, "--detach cannot be combined with "
		    "-t or -i");
	return cli_exec(ctx, argv[0], &args, argv + 1);
}

const struct sbx_cmd cmd_exec = {
	.name = "exec",
	.summary = "run a command in a sandbox",
	.usage = "[-i] [-t] [-d] [-e KEY=VALUE] [-w DIR] [-u USER] "
	    "[--timeout DUR] ID -- COMMAND [ARG...]",
	.options = exec_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = exec_exec,
};
