/*
 * sandbox.c - option handling and exec plumbing shared by the sandbox
 * commands.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "cli/term.h"
#include "core/parse.h"
#include "core/banned.h"

/* "KEY=VALUE" with a non-empty KEY of [A-Za-z0-9_]. */
static int
env_valid(const char *kv)
{
	const char *p;

	for (p = kv; *p && *p != '='; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return p != kv && *p == '=';
}

static int
check_env(struct sbx_ctx *ctx, const struct sbx_strvec *env)
{
	size_t i;

	for (i = 0; i < env->nr; i++)
		if (!env_valid(env->v[i]))
			return sbx_usage_error(ctx, "invalid environment "
			    "entry '%s': expected KEY=VALUE", env->v[i]);
	return 0;
}

int
cli_create_opts(struct sbx_ctx *ctx, struct cli_create_args *a,
    const char *template, struct sbx_create_opts *o)
{
	struct sbx_err e;
	uint64_t ms;

	memset(o, 0, sizeof(*o));
	o->template = template;
	o->image = a->image;
	o->snapshot = a->from;
	o->name = a->name;
	o->vcpus = (unsigned)a->vcpus;
	o->memory = a->memory;
	o->disk = a->disk;
	o->idle_timeout_ms = -1;
	o->env = &a->env;
	o->allow = &a->allow;
	o->deny = &a->deny;
	o->no_network = a->no_network;
	if (a->memory && (a->memory < (64ULL << 20) ||
	    a->memory > (256ULL << 30)))
		return sbx_usage_error(ctx, "memory must be between 64M and "
		    "256G");
	if (a->idle_timeout_str) {
		sbx_err_clear(&e);
		if (sbx_parse_duration(a->idle_timeout_str, 0,
		    30ULL * 86400 * 1000, &ms, &e) < 0)
			return sbx_usage_error(ctx, "option '--idle-timeout': "
			    "%s", e.msg);
		o->idle_timeout_ms = (int64_t)ms;
	}
	if ((template != NULL) + (a->image != NULL) + (a->from != NULL) > 1)
		return sbx_usage_error(ctx, "give only one of TEMPLATE, "
		    "--image and --from");
	return check_env(ctx, &a->env);
}

int
cli_exec(struct sbx_ctx *ctx, const char *id, struct cli_exec_args *a,
    char **argv)
{
	struct sbx_exec_opts o;
	struct sbx_exec_result r;
	struct sbx_err e;
	int raw = 0, rc;

	if (check_env(ctx, &a->env))
		return 2;
	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.argv = (const char *const *)argv;
	o.env = (const char *const *)a->env.v;
	o.cwd = a->workdir;
	o.user = a->user;
	o.stdin_fd = a->interactive || a->tty ? STDIN_FILENO : -1;
	o.stdout_fd = STDOUT_FILENO;
	o.stderr_fd = STDERR_FILENO;
	o.tty = a->tty;
	o.tty_resize_fd = -1;
	o.detach_byte = -1;
	o.background = a->detach;
	o.timeout_ms = a->timeout;
	if (a->tty) {
		if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
			return sbx_usage_error(ctx, "-t needs a terminal on "
			    "standard input and output");
		term_size(STDOUT_FILENO, &o.rows, &o.cols);
		o.tty_resize_fd = term_winch_fd();
		o.detach_byte = 0x1d;
		raw = term_raw(STDIN_FILENO) == 0;
	}
	if (!ctx->backend->exec) {
		sbx_backend_unsupported(ctx->backend, "exec", &e);
		return sbx_report_err(ctx, &e);
	}
	sbx_err_clear(&e);
	rc = ctx->backend->exec(ctx->conn, id, &o, &r, &e);
	if (raw)
		term_restore();
	if (rc < 0)
		return sbx_report_err(ctx, &e);
	if (a->detach) {
		printf("%ld\n", (long)r.pid);
		return 0;
	}
	if (r.detached) {
		sbx_info(ctx, "detached from '%s' (the session keeps running)",
		    id);
		return 0;
	}
	if (r.signal)
		return 128 + r.signal;
	return r.exit_code;
}

void
cli_print_sandbox_json(const struct sbx_sandbox *sb)
{
	json_t *j = sbx_sandbox_to_json(sb);

	json_dumpf(j, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(j);
}

/* Calls `op` for every operand; reports each failure, returns 0 or 1. */
int
cli_each(struct sbx_ctx *ctx, int argc, char **argv,
    int (*op)(struct sbx_ctx *, const char *, struct sbx_err *))
{
	struct sbx_err e;
	int i, status = 0;

	if (argc < 1)
		return sbx_usage_error(ctx, "need at least one sandbox");
	for (i = 0; i < argc; i++) {
		sbx_err_clear(&e);
		if (op(ctx, argv[i], &e) < 0) {
			sbx_report_err(ctx, &e);
			status = 1;
			continue;
		}
		if (!ctx->json)
			printf("%s\n", argv[i]);
	}
	return status;
}
