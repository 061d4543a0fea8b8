/*
 * options.c - the declarative option parser shared by every command.
 *
 * Global options (--json, -q, -v, --remote, --home) are accepted after the
 * verb too, so `sbx ls --json` and `sbx --json ls` mean the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "core/parse.h"
#include "core/banned.h"

static const struct sbx_option *
find_long(const struct sbx_option *opts, const char *name, size_t len)
{
	for (; opts && opts->type != SBX_OPT_END; opts++)
		if (opts->long_name && strlen(opts->long_name) == len &&
		    !strncmp(opts->long_name, name, len))
			return opts;
	return NULL;
}

static const struct sbx_option *
find_short(const struct sbx_option *opts, int c)
{
	for (; opts && opts->type != SBX_OPT_END; opts++)
		if (opts->short_name == c)
			return opts;
	return NULL;
}

static int
takes_arg(const struct sbx_option *o)
{
	return o->type != SBX_OPT_BOOL && o->type != SBX_OPT_COUNT;
}

static void
opt_name(const struct sbx_option *o, char *buf, size_t len)
{
	if (o->long_name)
		snprintf(buf, len, "--%s", o->long_name);
	else
		snprintf(buf, len, "-%c", o->short_name);
}

/* Stores `arg` into the option's value; returns 0 or -1 with a message. */
static int
set_value(struct sbx_ctx *ctx, const struct sbx_option *o, const char *arg,
    int negated)
{
	struct sbx_err e;
	char name[64];
	long long ll;
	uint64_t u;
	long long max;

	sbx_err_clear(&e);
	opt_name(o, name, sizeof(name));
	switch (o->type) {
	case SBX_OPT_BOOL:
		*(int *)o->value = !negated;
		return 0;
	case SBX_OPT_COUNT:
		(*(int *)o->value)++;
		return 0;
	case SBX_OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case SBX_OPT_LIST:
		sbx_strvec_push(o->value, arg);
		return 0;
	case SBX_OPT_INT:
		max = o->max ? o->max : (o->min ? o->min : 0);
		if (!o->min && !o->max)
			max = (1LL << 62);
		if (sbx_parse_int(arg, o->min, o->max ? o->max : max, &ll,
		    &e) < 0)
			break;
		*(long long *)o->value = ll;
		return 0;
	case SBX_OPT_SIZE:
		if (sbx_parse_size(arg, 0, UINT64_MAX, &u, &e) < 0)
			break;
		*(uint64_t *)o->value = u;
		return 0;
	case SBX_OPT_DURATION:
		if (sbx_parse_duration(arg, 0, UINT64_MAX, &u, &e) < 0)
			break;
		*(uint64_t *)o->value = u;
		return 0;
	case SBX_OPT_END:
		break;
	}
	sbx_usage_error(ctx, "option '%s': %s", name, e.msg);
	return -1;
}

/* Options every command accepts, bound to the context. */
static void
global_options(struct sbx_ctx *ctx, struct sbx_option out[6])
{
	const struct sbx_option g[6] = {
		{ 0, "json", SBX_OPT_BOOL, &ctx->json, NULL,
		  "print results as JSON", 0, 0 },
		{ 'q', "quiet", SBX_OPT_BOOL, &ctx->quiet, NULL,
		  "no progress output", 0, 0 },
		{ 'v', "verbose", SBX_OPT_COUNT, &ctx->verbose, NULL,
		  "more output (repeat for more)", 0, 0 },
		{ 0, "remote", SBX_OPT_STRING, &ctx->remote, "URL",
		  "use the sbx server at URL", 0, 0 },
		{ 0, "home", SBX_OPT_STRING, &ctx->home, "DIR",
		  "store directory (default $SBX_HOME)", 0, 0 },
		SBX_OPT_END_MARK,
	};

	memcpy(out, g, sizeof(g));
}

static const struct sbx_option *
lookup_long(const struct sbx_option *cmd_opts, const struct sbx_option *g,
    const char *name, size_t len)
{
	const struct sbx_option *o = find_long(cmd_opts, name, len);

	return o ? o : find_long(g, name, len);
}

int
sbx_parse_cmd_options(struct sbx_ctx *ctx, const struct sbx_cmd *cmd,
    int argc, char ***argvp, int *status)
{
	char **argv = *argvp;
	struct sbx_option g[6];
	int i, nops = 0, dashdash = 0;

	global_options(ctx, g);
	ctx->dashdash = -1;
	*status = 2;
	for (i = 1; i < argc; i++) {
		char *a = argv[i];
		const struct sbx_option *o;

		if (dashdash || cmd->flags & SBX_CMD_RAW_ARGS ||
		    a[0] != '-' || !a[1]) {
			/* Operand: keep order, compacting at the front. */
			argv[nops++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = 1;
			ctx->dashdash = nops;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			sbx_cmd_usage(cmd, ctx->parent, stdout);
			*status = 0;
			return -1;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int negated = 0;

			o = lookup_long(cmd->options, g, name, len);
			if (!o && len > 3 && !strncmp(name, "no-", 3)) {
				o = lookup_long(cmd->options, g, name + 3,
				    len - 3);
				if (o && o->type == SBX_OPT_BOOL)
					negated = 1;
				else
					o = NULL;
			}
			if (!o) {
				sbx_usage_error(ctx, "unknown option '--%.*s'",
				    (int)len, name);
				sbx_cmd_usage(cmd, ctx->parent, stderr);
				return -1;
			}
			if (!takes_arg(o)) {
				if (eq) {
					sbx_usage_error(ctx, "option '--%s' "
					    "takes no value", o->long_name);
					return -1;
				}
				if (set_value(ctx, o, NULL, negated) < 0)
					return -1;
				continue;
			}
			if (eq) {
				if (set_value(ctx, o, eq + 1, 0) < 0)
					return -1;
				continue;
			}
			if (i + 1 >= argc) {
				sbx_usage_error(ctx, "option '--%s' needs a "
				    "value", o->long_name);
				return -1;
			}
			if (set_value(ctx, o, argv[++i], 0) < 0)
				return -1;
			continue;
		}
		/* A cluster of short options: -qv, -n4, -n 4. */
		for (a++; *a; a++) {
			o = find_short(cmd->options, *a);
			if (!o)
				o = find_short(g, *a);
			if (!o) {
				sbx_usage_error(ctx, "unknown option '-%c'",
				    *a);
				sbx_cmd_usage(cmd, ctx->parent, stderr);
				return -1;
			}
			if (!takes_arg(o)) {
				if (set_value(ctx, o, NULL, 0) < 0)
					return -1;
				continue;
			}
			if (a[1]) {
				if (set_value(ctx, o, a + 1, 0) < 0)
					return -1;
			} else if (i + 1 < argc) {
				if (set_value(ctx, o, argv[++i], 0) < 0)
					return -1;
			} else {
				sbx_usage_error(ctx, "option '-%c' needs a "
				    "value", *a);
				return -1;
			}
			break;
		}
	}
	argv[nops] = NULL;
	*argvp = argv;
	*status = 0;
	return nops;
}

static void
print_options(const struct sbx_option *o, FILE *fp)
{
	char left[64];

	for (; o && o->type != SBX_OPT_END; o++) {
		int n = 0;

		if (o->short_name && o->long_name)
			n = snprintf(left, sizeof(left), "-%c, --%s",
			    o->short_name, o->long_name);
		else if (o->long_name)
			n = snprintf(left, sizeof(left), "    --%s",
			    o->long_name);
		else
			n = snprintf(left, sizeof(left), "-%c", o->short_name);
		if (o->argh && n > 0 && (size_t)n < sizeof(left))
			snprintf(left + n, sizeof(left) - (size_t)n, " %s",
			    o->argh);
		fprintf(fp, "    %-26s %s\n", left, o->help ? o->help : "");
	}
}

void
sbx_cmd_usage(const struct sbx_cmd *cmd, const char *parent, FILE *fp)
{
	const struct sbx_cmd *const *sub;

	if (parent)
		fprintf(fp, "usage: sbx %s %s%s%s\n", parent, cmd->name,
		    cmd->usage && *cmd->usage ? " " : "",
		    cmd->usage ? cmd->usage : "");
	else
		fprintf(fp, "usage: sbx %s%s%s\n", cmd->name,
		    cmd->usage && *cmd->usage ? " " : "",
		    cmd->usage ? cmd->usage : "");
	fprintf(fp, "\n%s\n", cmd->summary);
	if (cmd->alias)
		fprintf(fp, "alias: %s\n", cmd->alias);
	if (cmd->subcmds) {
		fprintf(fp, "\ncommands:\n");
		for (sub = cmd->subcmds; *sub; sub++)
			if (!((*sub)->flags & SBX_CMD_HIDDEN))
				fprintf(fp, "    %-12s %s\n", (*sub)->name,
				    (*sub)->summary);
	}
	if (cmd->options && cmd->options->type != SBX_OPT_END) {
		fprintf(fp, "\noptions:\n");
		print_options(cmd->options, fp);
	}
}

int
sbx_run_subcmd(struct sbx_ctx *ctx, const struct sbx_cmd *cmd, int argc,
    char **argv)
{
	const struct sbx_cmd *sub;
	const struct sbx_cmd *saved = ctx->cmd;
	int n, status, r;

	if (argc < 1) {
		sbx_usage_error(ctx, "missing command");
		sbx_cmd_usage(cmd, NULL, stderr);
		return 2;
	}
	if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "help")) {
		sbx_cmd_usage(cmd, NULL, stdout);
		return 0;
	}
	sub = sbx_cmd_find(cmd->subcmds, argv[0]);
	if (!sub) {
		sbx_usage_error(ctx, "unknown command '%s'", argv[0]);
		sbx_cmd_usage(cmd, NULL, stderr);
		return 2;
	}
	ctx->cmd = sub;
	ctx->parent = cmd->name;
	n = sbx_parse_cmd_options(ctx, sub, argc, &argv, &status);
	r = n < 0 ? status : sub->exec(ctx, n, argv);
	ctx->cmd = saved;
	ctx->parent = NULL;
	return r;
}

const struct sbx_cmd *
sbx_cmd_find(const struct sbx_cmd *const *table, const char *name)
{
	for (; table && *table; table++)
		if (!strcmp((*table)->name, name) ||
		    ((*table)->alias && !strcmp((*table)->alias, name)))
			return *table;
	return NULL;
}
