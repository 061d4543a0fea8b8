/*
 * commands.c - the command table, sorted by name.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "core/banned.h"

extern const struct sbx_cmd cmd_doctor;
extern const struct sbx_cmd cmd_help;
extern const struct sbx_cmd cmd_version;

const struct sbx_cmd *const sbx_commands[] = {
	&cmd_doctor,
	&cmd_help,
	&cmd_version,
	NULL,
};

void
sbx_list_commands(FILE *fp)
{
	const struct sbx_cmd *const *c;

	fprintf(fp, "commands:\n");
	for (c = sbx_commands; *c; c++)
		if (!((*c)->flags & SBX_CMD_HIDDEN))
			fprintf(fp, "    %-12s %s\n", (*c)->name,
			    (*c)->summary);
}
