/*
 * cmd-help.c - `sbx help [COMMAND [SUBCOMMAND]]`.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "core/banned.h"

static int
help_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	const struct sbx_cmd *c, *sub;

	if (argc == 0) {
		printf("usage: sbx [--json] [-q] [-v] [--home DIR] "
		    "[--remote URL] <command> [args]\n\n");
		sbx_list_commands(stdout);
		printf("\nRun 'sbx help <command>' or 'sbx <command> -h' "
		    "for a command's options.\n");
		return 0;
	}
	c = sbx_cmd_find(sbx_commands, argv[0]);
	if (!c)
		return sbx_usage_error(ctx, "no such command '%s'", argv[0]);
	if (argc > 1 && c->subcmds) {
		sub = sbx_cmd_find(c->subcmds, argv[1]);
		if (!sub)
			return sbx_usage_error(ctx, "no such command '%s %s'",
			    argv[0], argv[1]);
		sbx_cmd_usage(sub, c->name, stdout);
		return 0;
	}
	sbx_cmd_usage(c, NULL, stdout);
	return 0;
}

const struct sbx_cmd cmd_help = {
	.name = "help",
	.summary = "show the commands or one command's usage",
	.usage = "[COMMAND [SUBCOMMAND]]",
	.exec = help_exec,
};
