/*
 * output.c - how the CLI reports errors and progress (STYLE.md 2).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "core/banned.h"

int
sbx_report_err(struct sbx_ctx *ctx, const struct sbx_err *e)
{
	const char *msg = e && e->msg[0] ? e->msg : "unknown error";

	if (ctx && ctx->json) {
		json_t *o = json_pack("{s:{s:s,s:s}}", "error", "code",
		    sbx_errcode_name(e ? e->code : SBX_EFAIL), "message", msg);

		if (o && e && e->hint[0])
			json_object_set_new(json_object_get(o, "error"),
			    "hint", json_string(e->hint));
		if (o) {
			json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			fputc('\n', stdout);
			fflush(stdout);
			json_decref(o);
		}
	}
	fprintf(stderr, "sbx: %s\n", msg);
	if (e && e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
	return e && e->code == SBX_EUSAGE ? 2 : 1;
}

int
sbx_usage_error(struct sbx_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx && ctx->cmd && ctx->parent)
		fprintf(stderr, "sbx %s %s: ", ctx->parent, ctx->cmd->name);
	else if (ctx && ctx->cmd)
		fprintf(stderr, "sbx %s: ", ctx->cmd->name);
	else
		fprintf(stderr, "sbx: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

int
sbx_local_only(struct sbx_ctx *ctx, const char *what, const char *hint)
{
	struct sbx_err e;

	if (!ctx->remote)
		return 0;
	sbx_err_clear(&e);
	sbx_err_set(&e, SBX_EUSAGE, "'sbx %s' works on the store of this "
	    "machine, not on the server at '%s'", what, ctx->remote);
	sbx_err_hint(&e, "%s", hint);
	return sbx_report_err(ctx, &e);
}

void
sbx_info(struct sbx_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	if (ctx && ctx->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
