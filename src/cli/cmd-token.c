/*
 * cmd-token.c - `sbx token create|ls|revoke`: API tokens for `sbx serve`
 * (src/serve/token.h). `create` prints the token alone on its last
 * stdout line; it is never shown again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "serve/token.h"
#include "core/banned.h"

static const char *create_scope = "read";
static const char *create_name;
static uint64_t create_expires_ms;

static const struct sbx_option create_options[] = {
	{ 's', "scope", SBX_OPT_STRING, &create_scope, "SCOPE",
	  "read, write or admin (default read)", 0, 0 },
	{ 'e', "expires", SBX_OPT_DURATION, &create_expires_ms, "DURATION",
	  "expire after this long (\"30d\"; default never)", 0, 0 },
	{ 'n', "name", SBX_OPT_STRING, &create_name, "NAME",
	  "a label shown by 'sbx token ls'", 0, 0 },
	SBX_OPT_END_MARK,
};

/* "2026-11-26T13:47:19Z" or "never" / "-". */
static void
fmt_time(int64_t t, const char *none, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!t) {
		snprintf(buf, len, "%s", none);
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
info_json(const struct sbx_token_info *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "id", t->id, "name",
	    t->name ? t->name : "", "scope", sbx_token_scope_name(t->scope),
	    "created", (json_int_t)t->created);

	json_object_set_new(o, "expires", t->expires ?
	    json_integer(t->expires) : json_null());
	json_object_set_new(o, "revoked", t->revoked ?
	    json_integer(t->revoked) : json_null());
	return o;
}

static int
create_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_token_info ti;
	struct sbx_err e;
	char *tok, when[32];
	json_t *o;
	int scope;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	sbx_err_clear(&e);
	if (sbx_token_scope_parse(create_scope, &scope, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (create_expires_ms && create_expires_ms < 1000)
		return sbx_usage_error(ctx, "--expires must be at least 1s");
	if (sbx_token_create(ctx->home, scope, (int64_t)time(NULL),
	    (int64_t)(create_expires_ms / 1000), create_name, &tok, &ti,
	    &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json) {
		o = info_json(&ti);
		json_object_set_new(o, "token", json_string(tok));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else {
		fmt_time(ti.expires, "never", when, sizeof(when));
		sbx_info(ctx, "created token %s (scope %s, expires %s); it is "
		    "shown only now:", ti.id, sbx_token_scope_name(ti.scope),
		    when);
	}
	/* The token alone on the last line, also after --json. */
	printf("%s\n", tok);
	sbx_token_info_release(&ti);
	free(tok);
	return 0;
}

static int
ls_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_token_info *v;
	struct sbx_err e;
	char c[32], x[32], state[48];
	int64_t now = (int64_t)time(NULL);
	json_t *arr;
	size_t n, i;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	sbx_err_clear(&e);
	if (sbx_token_list(ctx->home, &v, &n, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			json_array_append_new(arr, info_json(&v[i]));
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else {
		printf("%-16s  %-5s  %-20s  %-20s  %-7s  %s\n", "ID", "SCOPE",
		    "CREATED", "EXPIRES", "STATE", "NAME");
		for (i = 0; i < n; i++) {
			fmt_time(v[i].created, "-", c, sizeof(c));
			fmt_time(v[i].expires, "never", x, sizeof(x));
			snprintf(state, sizeof(state), "%s", v[i].revoked ?
			    "revoked" : v[i].expires && v[i].expires <= now ?
			    "expired" : "active");
			printf("%-16s  %-5s  %-20s  %-20s  %-7s  %s\n",
			    v[i].id, sbx_token_scope_name(v[i].scope), c, x,
			    state, v[i].name);
		}
	}
	sbx_token_info_free_array(v, n);
	return 0;
}

static int
revoke_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_err e;
	int i, status = 0;

	if (argc < 1)
		return sbx_usage_error(ctx, "missing token id");
	for (i = 0; i < argc; i++) {
		sbx_err_clear(&e);
		if (sbx_token_revoke(ctx->home, argv[i], (int64_t)time(NULL),
		    &e) < 0)
			status = sbx_report_err(ctx, &e);
		else
			sbx_info(ctx, "revoked token %s", argv[i]);
	}
	return status;
}

static const struct sbx_cmd token_create = {
	.name = "create",
	.summary = "make a token (printed once, alone on the last line)",
	.usage = "[--scope read|write|admin] [--expires DURATION] "
	    "[--name NAME]",
	.options = create_options,
	.exec = create_exec,
};

static const struct sbx_cmd token_ls = {
	.name = "ls",
	.alias = "list",
	.summary = "list tokens (never their secrets)",
	.usage = "[--json]",
	.exec = ls_exec,
};

static const struct sbx_cmd token_revoke = {
	.name = "revoke",
	.summary = "revoke tokens; a running server refuses them at once",
	.usage = "ID...",
	.exec = revoke_exec,
};

static const struct sbx_cmd *const token_subcmds[] = {
	&token_create, &token_ls, &token_revoke, NULL,
};

static int
token_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_err e;

	/* Tokens live with the server; a --remote here would be ignored. */
	if (ctx->remote) {
		sbx_err_set(&e, SBX_EUSAGE, "'sbx token' manages the tokens of "
		    "the server on this machine, not of '%s'", ctx->remote);
		sbx_err_hint(&e, "run it where 'sbx serve' runs (without "
		    "--remote or SBX_REMOTE), or use /v1/tokens with an admin "
		    "token");
		return sbx_report_err(ctx, &e);
	}
	return sbx_run_subcmd(ctx, ctx->cmd, argc, argv);
}

const struct sbx_cmd cmd_token = {
	.name = "token",
	.summary = "manage API tokens for 'sbx serve'",
	.usage = "create|ls|revoke [options]",
	.flags = SBX_CMD_RAW_ARGS,
	.exec = token_exec,
	.subcmds = token_subcmds,
};
