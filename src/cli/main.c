/*
 * main.c - sbx: global options, the dispatcher and plugins.
 *
 * `sbx [global options] <verb> [options] [operands]`. The dispatcher
 * resolves $SBX_HOME, finds the verb in the command table (or an
 * `sbx-<verb>` plugin on PATH), parses the verb's options, checks the
 * command's preconditions and runs it. Exit status: 0 ok, 1 failed,
 * 2 usage error, or what the command returns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "core/xmalloc.h"
#include "core/banned.h"

static void
main_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: sbx [--json] [-q] [-v] [--home DIR] [--remote URL] "
	    "<command> [args]\n\n");
	sbx_list_commands(fp);
	fprintf(fp, "\nRun 'sbx <command> -h' for a command's options.\n");
}

/* $SBX_HOME, else $XDG_DATA_HOME/sbx, else ~/.local/share/sbx. */
static char *
default_home(void)
{
	const char *h = getenv("SBX_HOME"), *x;

	if (h && *h)
		return xstrdup(h);
	x = getenv("XDG_DATA_HOME");
	if (x && *x == '/')
		return xasprintf("%s/sbx", x);
	h = getenv("HOME");
	return xasprintf("%s/.local/share/sbx", h && *h ? h : "/");
}

/* Takes the value of a global option; returns it or NULL (usage error). */
static const char *
option_value(int *i, int argc, char **argv, const char *name)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (a[n] == '=')
		return a + n + 1;
	if (*i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int
is_opt(const char *a, const char *name)
{
	size_t n = strlen(name);

	return !strncmp(a, name, n) && (a[n] == '\0' || a[n] == '=');
}

int
main(int argc, char **argv)
{
	struct sbx_ctx ctx;
	const struct sbx_cmd *cmd;
	char *home = NULL;
	const char *remote = getenv("SBX_REMOTE");
	int i, n, status;

	memset(&ctx, 0, sizeof(ctx));
	ctx.prog = "sbx";
	ctx.remote = remote && *remote ? remote : NULL;
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			ctx.json = 1;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			ctx.quiet = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			ctx.verbose++;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			main_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			argv[i] = "version";
			break;
		} else if (is_opt(a, "--home") || is_opt(a, "--remote")) {
			int home = is_opt(a, "--home");
			const char *v = option_value(&i, argc, argv,
			    home ? "--home" : "--remote");

			if (!v || !*v) {
				fprintf(stderr, "sbx: option '%s' needs a "
				    "value\n", home ? "--home" : "--remote");
				return 2;
			}
			if (home)
				ctx.home = v;
			else
				ctx.remote = v;
		} else {
			fprintf(stderr, "sbx: unknown option '%s'\n", a);
			main_usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		main_usage(stderr);
		return 2;
	}
	cmd = sbx_cmd_find(sbx_commands, argv[i]);
	if (!cmd) {
		if (sbx_exec_plugin(&ctx, argv[i], argc - i, argv + i) < 0) {
			fprintf(stderr, "sbx: '%s' is not an sbx command\n\n",
			    argv[i]);
			sbx_list_commands(stderr);
			return 2;
		}
		return 1;
	}
	ctx.cmd = cmd;
	argv += i;
	argc -= i;
	n = sbx_parse_cmd_options(&ctx, cmd, argc, &argv, &status);
	if (n < 0)
		return status;
	if (!ctx.home)
		ctx.home = home = default_home();
	/* "local" is this host's backend, even while `sbx machine` runs. */
	if (ctx.remote && !strcmp(ctx.remote, "local")) {
		ctx.remote = NULL;
		ctx.force_local = 1;
	}
	status = sbx_dispatch_prepare(&ctx);
	if (status) {
		free(home);
		return status;
	}
	status = cmd->exec(&ctx, n, argv);
	sbx_dispatch_finish(&ctx);
	free(home);
	fflush(stdout);
	if (ferror(stdout)) {
		fprintf(stderr, "sbx: cannot write output: %s\n",
		    strerror(errno));
		return status ? status : 1;
	}
	return status;
}
