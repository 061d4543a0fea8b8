/*
 * dispatch.c - command preconditions and plugins.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "backend.h"
#include "core/buf.h"
#include "kvm/kvm.h"
#include "machine/machine.h"
#include "remote/remote.h"
#include "store/store.h"
#include "core/banned.h"

/*
 * Picks the backend: --remote/SBX_REMOTE selects the server, else a running
 * `sbx machine`'s, else kvm.
 */
static int
open_backend(struct sbx_ctx *ctx, struct sbx_err *e)
{
	struct sbx_backend_cfg cfg;
	const char *token = getenv("SBX_TOKEN");

	static char *machine_url, *machine_token;

	memset(&cfg, 0, sizeof(cfg));
	/* A running `sbx machine` is the default remote (machine.h). */
	if (!ctx->remote && !ctx->force_local &&
	    sbx_machine_remote(ctx->home, &machine_url, &machine_token)) {
		ctx->remote = machine_url;
		token = machine_token;
		if (ctx->verbose)
			fprintf(stderr, "sbx: using the machine's server at %s "
			    "('sbx machine'; --remote local for this host)\n",
			    machine_url);
	}
	cfg.home = ctx->home;
	cfg.url = ctx->remote;
	cfg.token = token && *token ? token : NULL;
	cfg.quiet = ctx->quiet;
	cfg.verbose = ctx->verbose;
	ctx->backend = ctx->remote ? &sbx_backend_remote : &sbx_backend_kvm;
	return ctx->backend->open(&cfg, &ctx->conn, e);
}

int
sbx_dispatch_backend(struct sbx_ctx *ctx, struct sbx_err *e)
{
	if (ctx->conn)
		return 0;
	if (open_backend(ctx, e) < 0) {
		ctx->backend = NULL;
		return -1;
	}
	return 0;
}

int
sbx_dispatch_prepare(struct sbx_ctx *ctx)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	if (ctx->cmd->flags & SBX_CMD_NEEDS_STORE &&
	    sbx_store_open(ctx->home, &ctx->store, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->cmd->flags & SBX_CMD_NEEDS_BACKEND &&
	    open_backend(ctx, &e) < 0) {
		ctx->backend = NULL;
		return sbx_report_err(ctx, &e);
	}
	return 0;
}

void
sbx_dispatch_finish(struct sbx_ctx *ctx)
{
	if (ctx->backend && ctx->conn)
		ctx->backend->close(ctx->conn);
	ctx->conn = NULL;
	if (ctx->store)
		sbx_store_close(ctx->store);
	ctx->store = NULL;
}

/* Plugin names are plain words so PATH lookups cannot be steered. */
static int
valid_verb(const char *verb)
{
	const char *p;

	if (!*verb || *verb == '-')
		return 0;
	for (p = verb; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '_'))
			return 0;
	return 1;
}

int
sbx_exec_plugin(struct sbx_ctx *ctx, const char *verb, int argc, char **argv)
{
	const char *path = getenv("PATH");
	struct sbx_buf file = SBX_BUF_INIT;
	const char *p, *end;

	if (!valid_verb(verb) || !path)
		return -1;
	for (p = path; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		sbx_buf_reset(&file);
		if (end == p)
			sbx_buf_addstr(&file, ".");
		else
			sbx_buf_add(&file, p, (size_t)(end - p));
		sbx_buf_addf(&file, "/sbx-%s", verb);
		if (access(file.buf, X_OK) == 0)
			break;
		sbx_buf_reset(&file);
		if (!*end)
			break;
	}
	if (!file.len) {
		sbx_buf_release(&file);
		return -1;
	}
	if (ctx->home)
		setenv("SBX_HOME", ctx->home, 1);
	if (ctx->remote)
		setenv("SBX_REMOTE", ctx->remote, 1);
	if (ctx->json)
		setenv("SBX_JSON", "1", 1);
	argv[0] = file.buf;
	(void)argc;
	execv(file.buf, argv);
	fprintf(stderr, "sbx: cannot run plugin '%s': %s\n", file.buf,
	    strerror(errno));
	sbx_buf_release(&file);
	return 1;
}
