/*
 * cmd-log.c - `sbx log ID`: a sandbox's snapshots, newest first, one per
 * line: id, time, size added, message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static int
log_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_snapshot_info *v = NULL;
	struct sbx_err e = { 0 };
	size_t n = 0, i;

	if (argc != 1)
		return sbx_usage_error(ctx, "expects one sandbox");
	if (!ctx->backend->log) {
		sbx_backend_unsupported(ctx->backend, "log", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->log(ctx->conn, argv[0], &v, &n, &e) < 0) {
		for (i = 0; i < n; i++)
			free(v[i].message);
		free(v);
		return sbx_report_err(ctx, &e);
	}
	for (i = 0; i < n; i++) {
		char when[32] = "-";
		time_t t = v[i].time;
		struct tm tm;

		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		if (ctx->json)
			printf("%s{\"id\": \"%s\", \"parent\": \"%s\", "
			    "\"time\": %lld, \"added_bytes\": %llu}",
			    i ? ",\n " : "[", v[i].id, v[i].parent,
			    (long long)v[i].time,
			    (unsigned long long)v[i].added_bytes);
		else
			printf("%.12s  %s  %8.1f MiB  %s\n", v[i].id, when,
			    v[i].added_bytes / 1048576.0, v[i].message);
		free(v[i].message);
	}
	if (ctx->json)
		printf("%s]\n", n ? "" : "[");
	free(v);
	return 0;
}

const struct sbx_cmd cmd_log = {
	.name = "log",
	.summary = "list a sandbox's snapshots, newest first",
	.usage = "ID",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = log_exec,
};
