/*
 * cmd-shell.c - `sbx shell ID [COMMAND...]`: an interactive PTY session;
 * Ctrl-] detaches.
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static struct cli_exec_args args = { .env = SBX_STRVEC_INIT };

static const struct sbx_option shell_options[] = {
	{ 'e', "env", SBX_OPT_LIST, &args.env, "KEY=VALUE",
	  "set an environment variable (repeatable)", 0, 0 },
	{ 'w', "workdir", SBX_OPT_STRING, &args.workdir, "DIR",
	  "working directory in the sandbox", 0, 0 },
	{ 'u', "user", SBX_OPT_STRING, &args.user, "USER",
	  "run as this user", 0, 0 },
	SBX_OPT_END_MARK,
};

static int
shell_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	char *login[] = { "/bin/sh", "-c",
	    "if command -v bash >/dev/null; then exec bash -l; fi; "
	    "exec sh -l", NULL };

	if (argc < 1)
		return sbx_usage_error(ctx, "need a sandbox (sbx shell ID)");
	args.tty = 1;
	args.interactive = 1;
	sbx_strvec_push(&args.env, "TERM=xterm-256color");
	return cli_exec(ctx, argv[0], &args, argc > 1 ? argv + 1 : login);
}

const struct sbx_cmd cmd_shell = {
	.name = "shell",
	.summary = "open an interactive shell in a sandbox (Ctrl-] detaches)",
	.usage = "[-e KEY=VALUE] [-w DIR] [-u USER] ID [COMMAND...]",
	.options = shell_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = shell_exec,
};
