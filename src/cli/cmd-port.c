/*
 * cmd-port.c - `sbx port ID [GUESTPORT] [--host ADDR:PORT]`: expose a
 * guest TCP port on the host (loopback by default, a free port unless
 * one is given) and print ADDR:PORT; without GUESTPORT, list the
 * sandbox's forwards.
 */
#include <stdio.h>
#include <string.h>

#include "cli/sandbox.h"
#include "core/parse.h"
#include "core/banned.h"

static const char *host_opt;

static const struct sbx_option port_options[] = {
	{ 0, "host", SBX_OPT_STRING, &host_opt, "ADDR:PORT",
	  "listen here on the host (default 127.0.0.1, a free port)", 0, 0 },
	SBX_OPT_END_MARK,
};

/* Splits "ADDR:PORT", "ADDR", ":PORT" or "PORT"; 0 or a usage status. */
static int
parse_host(struct sbx_ctx *ctx, const char *s, char *addr, size_t cap,
    unsigned *port)
{
	const char *colon = strrchr(s, ':'), *p = NULL;
	struct sbx_err e;
	long long n;
	size_t len;

	if (colon) {
		len = (size_t)(colon - s);
		p = colon + 1;
	} else if (strchr(s, '.')) {
		len = strlen(s);
	} else {
		len = 0;
		p = s;
	}
	if (len >= cap)
		return sbx_usage_error(ctx, "option '--host': address '%s' is "
		    "too long", s);
	if (len) {
		memcpy(addr, s, len);
		addr[len] = 0;
	}
	if (p) {
		sbx_err_clear(&e);
		if (sbx_parse_int(p, 0, 65535, &n, &e) < 0)
			return sbx_usage_error(ctx, "option '--host': port "
			    "'%s': %s", p, e.msg);
		*port = (unsigned)n;
	}
	return 0;
}

static int
list_ports(struct sbx_ctx *ctx, const char *query)
{
	struct sbx_sandbox sb;
	struct sbx_err e;
	size_t i;

	sbx_err_clear(&e);
	if (ctx->backend->get(ctx->conn, query, &sb, &e) < 0) {
		sbx_sandbox_release(&sb);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->json)
		fputs("[", stdout);
	for (i = 0; i < sb.nports; i++) {
		if (ctx->json)
			printf("%s{\"host_port\":%u,\"guest\":%u,"
			    "\"proto\":\"%s\"}", i ? "," : "",
			    sb.ports[i].host, sb.ports[i].guest,
			    sb.ports[i].proto);
		else
			printf("%u/%s -> %u\n", sb.ports[i].guest,
			    sb.ports[i].proto, sb.ports[i].host);
	}
	if (ctx->json)
		fputs("]\n", stdout);
	sbx_sandbox_release(&sb);
	return 0;
}

static int
port_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	char addr[64] = "127.0.0.1";
	unsigned host_port = 0, bound = 0;
	struct sbx_err e;
	long long guest;
	int rc;

	if (argc < 1 || argc > 2)
		return sbx_usage_error(ctx, argc ? "too many arguments" :
		    "need a sandbox");
	if (argc == 1)
		return list_ports(ctx, argv[0]);
	sbx_err_clear(&e);
	if (sbx_parse_int(argv[1], 1, 65535, &guest, &e) < 0)
		return sbx_usage_error(ctx, "guest port '%s': %s", argv[1],
		    e.msg);
	if (host_opt && (rc = parse_host(ctx, host_opt, addr, sizeof(addr),
	    &host_port)) != 0)
		return rc;
	if (!ctx->backend->port) {
		sbx_backend_unsupported(ctx->backend, "port", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->port(ctx->conn, argv[0], (unsigned)guest, addr,
	    host_port, &bound, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json)
		printf("{\"host\":\"%s\",\"host_port\":%u,\"guest\":%lld}\n",
		    addr, bound, guest);
	else
		printf("%s:%u\n", addr, bound);
	return 0;
}

const struct sbx_cmd cmd_port = {
	.name = "port",
	.summary = "expose a guest TCP port on the host, or list them",
	.usage = "[--host ADDR:PORT] ID [GUESTPORT]",
	.options = port_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = port_exec,
};
