/*
 * cmd-serve.c - `sbx serve [--listen ADDR:PORT | --unix PATH]`: the REST
 * API server in the foreground until SIGINT or SIGTERM (src/serve). It
 * fronts the backend the dispatcher picked (the local one; with --remote,
 * another server), opening one connection per request.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cli/cmd.h"
#include "serve/serve.h"
#include "serve/token.h"
#include "core/banned.h"

static const char *serve_listen;
static const char *serve_unix;
static long long serve_max_conns = 256;
static uint64_t serve_timeout_ms = 30000;
static uint64_t serve_tunnel_idle_ms = 600000;
static const char *serve_tls_cert;
static const char *serve_tls_key;

static const struct sbx_option serve_options[] = {
	{ 'l', "listen", SBX_OPT_STRING, &serve_listen, "ADDR:PORT",
	  "listen on this TCP address (default 127.0.0.1:7777; port 0 "
	  "picks a free one)", 0, 0 },
	{ 0, "unix", SBX_OPT_STRING, &serve_unix, "PATH",
	  "listen on a unix socket instead", 0, 0 },
	{ 0, "max-conns", SBX_OPT_INT, &serve_max_conns, "N",
	  "most connections at once (default 256)", 1, 65536 },
	{ 0, "timeout", SBX_OPT_DURATION, &serve_timeout_ms, "DURATION",
	  "close idle or stalled connections after this (default 30s)", 0,
	  0 },
	{ 0, "tunnel-idle", SBX_OPT_DURATION, &serve_tunnel_idle_ms,
	  "DURATION", "close a proxied WebSocket or tunnel after this long "
	  "without traffic either way (default 10m; 0 = never)", 0, 0 },
	{ 0, "tls-cert", SBX_OPT_STRING, &serve_tls_cert, "FILE",
	  "serve HTTPS with this PEM certificate (chain)", 0, 0 },
	{ 0, "tls-key", SBX_OPT_STRING, &serve_tls_key, "FILE",
	  "the PEM private key of --tls-cert", 0, 0 },
	SBX_OPT_END_MARK,
};

/* 1 if the URL names a unix socket or a loopback address. */
static int
loopback(const char *url)
{
	return !strncmp(url, "unix:", 5) ||
	    !strncmp(url, "http://127.", 11) ||
	    !strncmp(url, "http://[::1]", 12);
}

static int
serve_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_serve_cfg cfg;
	struct sbx_server *srv;
	struct sbx_token_info *toks;
	struct sbx_err e;
	sigset_t set;
	size_t ntoks = 0;
	int sig = 0;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	if (serve_listen && serve_unix)
		return sbx_usage_error(ctx, "give either --listen or --unix, "
		    "not both");
	if (!serve_tls_cert != !serve_tls_key)
		return sbx_usage_error(ctx, "--tls-cert and --tls-key go "
		    "together");
	if (serve_timeout_ms < 1000)
		return sbx_usage_error(ctx, "--timeout must be at least 1s");
	if (serve_tunnel_idle_ms > 7ull * 24 * 3600 * 1000)
		return sbx_usage_error(ctx, "--tunnel-idle must be at most 7d "
		    "(0 = never)");
	sbx_err_clear(&e);
	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = ctx->backend;	/* kvm, or remote with --remote */
	if (!cfg.backend) {
		sbx_err_set(&e, SBX_ENOTSUP, "no backend to serve");
		return sbx_report_err(ctx, &e);
	}
	cfg.listen = serve_listen;
	cfg.unix_path = serve_unix;
	cfg.home = ctx->home;
	cfg.bcfg.home = ctx->home;
	cfg.bcfg.url = ctx->remote;
	cfg.bcfg.token = getenv("SBX_TOKEN");
	cfg.bcfg.quiet = 1;
	cfg.max_conns = (unsigned)serve_max_conns;
	cfg.timeout_s = (unsigned)(serve_timeout_ms / 1000);
	cfg.tunnel_idle_ms = (unsigned)serve_tunnel_idle_ms;
	cfg.log_requests = !ctx->quiet;
	cfg.tls_cert = serve_tls_cert;
	cfg.tls_key = serve_tls_key;
	/* Threads started below inherit the mask; only sigwait sees these. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (sbx_serve_start(&cfg, &srv, &e) < 0)
		return sbx_report_err(ctx, &e);
	fprintf(stderr, "sbx serve: listening on %s (backend '%s')\n",
	    sbx_serve_url(srv), cfg.backend->name);
	if (!serve_tls_cert && !loopback(sbx_serve_url(srv)))
		fprintf(stderr, "sbx serve: warning: plain HTTP on a network "
		    "address: tokens and data cross the network unencrypted "
		    "(give --tls-cert and --tls-key)\n");
	if (sbx_token_list(ctx->home, &toks, &ntoks, NULL) == 0) {
		sbx_token_info_free_array(toks, ntoks);
		if (!ntoks)
			fprintf(stderr, "sbx serve: no tokens yet; create one "
			    "with 'sbx token create --scope admin'\n");
	}
	fflush(stderr);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
		;
	sbx_info(ctx, "sbx serve: stopping (signal %d)", sig);
	sbx_serve_stop(srv);
	return 0;
}

const struct sbx_cmd cmd_serve = {
	.name = "serve",
	.summary = "serve the REST API over HTTP",
	.usage = "[--listen ADDR:PORT | --unix PATH] [--max-conns N] "
	    "[--timeout DURATION] [--tls-cert FILE --tls-key FILE]",
	.options = serve_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = serve_exec,
};
