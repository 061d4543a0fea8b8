/*
 * cmd-run.c - `sbx run [options] [TEMPLATE] -- COMMAND...`: create a
 * sandbox, run one command in it, destroy it. The exit status is the
 * command's. `--keep` leaves the sandbox and prints its id on stderr.
 */
#include <stdio.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static struct cli_create_args cargs = { .env = SBX_STRVEC_INIT };
static struct cli_exec_args xargs = { .env = SBX_STRVEC_INIT };
static int keep;

static const struct sbx_option run_options[] = {
	CLI_CREATE_OPTIONS(cargs),
	CLI_EXEC_OPTIONS(xargs),
	{ 0, "keep", SBX_OPT_BOOL, &keep, NULL,
	  "keep the sandbox afterwards", 0, 0 },
	SBX_OPT_END_MARK,
};

static int
run_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_create_opts o;
	struct sbx_sandbox sb;
	struct sbx_err e;
	int rc, status;
	const char *tmpl = NULL;

	/*
	 * Operands: [TEMPLATE] -- COMMAND..., or COMMAND... alone (default
	 * template). Only what stands before "--" can be a template.
	 */
	if (ctx->dashdash > 1)
		return sbx_usage_error(ctx, "only one TEMPLATE may come "
		    "before '--'");
	if (ctx->dashdash == 1) {
		tmpl = argv[0];
		argv++;
		argc--;
	}
	if (argc < 1)
		return sbx_usage_error(ctx, "need a command "
		    "(sbx run [TEMPLATE] -- COMMAND...)");
	rc = cli_create_opts(ctx, &cargs, tmpl, &o);
	if (rc)
		return rc;
	sbx_err_clear(&e);
	if (!ctx->backend->create || !ctx->backend->destroy) {
		sbx_backend_unsupported(ctx->backend, "run", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->create(ctx->conn, &o, &sb, &e) < 0) {
		sbx_sandbox_release(&sb);
		return sbx_report_err(ctx, &e);
	}
	status = cli_exec(ctx, sb.id, &xargs, argv);
	if (keep) {
		fprintf(stderr, "sbx: kept sandbox %s\n", sb.id);
	} else if (ctx->backend->destroy(ctx->conn, sb.id, 1, &e) < 0) {
		sbx_report_err(ctx, &e);
		if (!status)
			status = 1;
	}
	sbx_sandbox_release(&sb);
	return status;
}

const struct sbx_cmd cmd_run = {
	.name = "run",
	.summary = "create a sandbox, run a command in it and remove it",
	.usage = "[create options] [exec options] [--keep] "
	    "[TEMPLATE] -- COMMAND [ARG...]",
	.options = run_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = run_exec,
};
