/*
 * cmd-snapshot.c - `sbx snapshot ID [-m MESSAGE]`: commit a running
 * sandbox's memory and CPU state to the store; prints the snapshot id.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static const char *snap_message;

static const struct sbx_option snapshot_options[] = {
	{ 'm', "message", SBX_OPT_STRING, &snap_message, "MESSAGE",
	    "describe the snapshot (shown by sbx log)", 0, 0 },
	SBX_OPT_END_MARK,
};

static int
snapshot_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_snapshot_info info;
	struct sbx_err e = { 0 };

	if (argc != 1)
		return sbx_usage_error(ctx, "expects one sandbox");
	if (!ctx->backend->snapshot) {
		sbx_backend_unsupported(ctx->backend, "snapshot", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->snapshot(ctx->conn, argv[0], snap_message, &info,
	    &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json)
		printf("{\"id\": \"%s\", \"parent\": \"%s\", \"added_bytes\": "
		    "%llu}\n", info.id, info.parent,
		    (unsigned long long)info.added_bytes);
	else
		printf("%s\n", info.id);
	free(info.message);
	return 0;
}

const struct sbx_cmd cmd_snapshot = {
	.name = "snapshot",
	.summary = "save a running sandbox's state as a snapshot in the store",
	.usage = "[-m MESSAGE] ID",
	.options = snapshot_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = snapshot_exec,
};
