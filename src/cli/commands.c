/*
 * commands.c - the command table, sorted by name.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "core/banned.h"

extern const struct sbx_cmd cmd___complete;
extern const struct sbx_cmd cmd_build;
extern const struct sbx_cmd cmd_cp;
extern const struct sbx_cmd cmd_create;
extern const struct sbx_cmd cmd_doctor;
extern const struct sbx_cmd cmd_exec;
extern const struct sbx_cmd cmd_fork;
extern const struct sbx_cmd cmd_gc;
extern const struct sbx_cmd cmd_help;
extern const struct sbx_cmd cmd_hibernate;
extern const struct sbx_cmd cmd_image;
extern const struct sbx_cmd cmd_inspect;
extern const struct sbx_cmd cmd_log;
extern const struct sbx_cmd cmd_logs;
extern const struct sbx_cmd cmd_ls;
extern const struct sbx_cmd cmd_machine;
extern const struct sbx_cmd cmd_port;
extern const struct sbx_cmd cmd_resume;
extern const struct sbx_cmd cmd_rm;
extern const struct sbx_cmd cmd_run;
extern const struct sbx_cmd cmd_serve;
extern const struct sbx_cmd cmd_shell;
extern const struct sbx_cmd cmd_snapshot;
extern const struct sbx_cmd cmd_resize;
extern const struct sbx_cmd cmd_start;
extern const struct sbx_cmd cmd_stop;
extern const struct sbx_cmd cmd_templates;
extern const struct sbx_cmd cmd_token;
extern const struct sbx_cmd cmd_top;
extern const struct sbx_cmd cmd_version;

const struct sbx_cmd *const sbx_commands[] = {
	&cmd___complete,
	&cmd_build,
	&cmd_cp,
	&cmd_create,
	&cmd_doctor,
	&cmd_exec,
	&cmd_fork,
	&cmd_gc,
	&cmd_help,
	&cmd_hibernate,
	&cmd_image,
	&cmd_inspect,
	&cmd_log,
	&cmd_logs,
	&cmd_ls,
	&cmd_machine,
	&cmd_port,
	&cmd_resize,
	&cmd_resume,
	&cmd_rm,
	&cmd_run,
	&cmd_serve,
	&cmd_shell,
	&cmd_snapshot,
	&cmd_start,
	&cmd_stop,
	&cmd_templates,
	&cmd_token,
	&cmd_top,
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
