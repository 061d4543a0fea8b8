/*
 * cli.h - internals of the sbx program shared by src/cli files.
 */
#ifndef SBX_CLI_CLI_H
#define SBX_CLI_CLI_H

#include <stdio.h>

#include "cli/cmd.h"

/* Prints the command list (as `sbx help` does) to `fp`. */
void sbx_list_commands(FILE *fp);

/*
 * Looks for `sbx-<verb>` on PATH; when found, execs it with the remaining
 * arguments (never returns). Returns -1 when there is no such plugin.
 */
int sbx_exec_plugin(struct sbx_ctx *ctx, const char *verb, int argc,
    char **argv);



/*
 * Checks and sets up what the command's flags ask for (store, backend)
 * before exec; returns 0 or an exit status. sbx_dispatch_finish releases
 * it afterwards.
 */
int sbx_dispatch_prepare(struct sbx_ctx *ctx);
void sbx_dispatch_finish(struct sbx_ctx *ctx);
#endif
