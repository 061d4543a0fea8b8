/*
 * cmd-port.c - `sbx port ID [GUESTPORT] [--host ADDR:PORT]`: expose a
 * guest TCP port on the host (loopback by default, a free port unless
 * one is given) and print ADDR:PORT; without GUESTPORT, list the
 * sandbox's forwards. With --remote the port is opened on this machine
 * and each connection is tunnelled through the server (/tunnel/), in the
 * foreground until interrupted. `--close` ends the forwards of GUESTPORT
 * (only the one on --host, when given).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/parse.h"
#include "core/splice.h"
#include "core/xmalloc.h"
#include "core/banned.h"

static const char *host_opt;
static int close_opt;

static const struct sbx_option port_options[] = {
	{ 0, "host", SBX_OPT_STRING, &host_opt, "ADDR:PORT",
	  "listen here on the host (default 127.0.0.1, a free port)", 0, 0 },
	{ 0, "close", SBX_OPT_BOOL, &close_opt, NULL,
	  "close the forwards of GUESTPORT (with --host, only that one)", 0,
	  0 },
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

/* One accepted connection of `sbx --remote port`. */
struct relay {
	const struct sbx_backend *b;
	struct sbx_backend_cfg cfg;
	const char *query;
	unsigned guest;
	int fd;
};

/* Tunnels one local connection to the guest port through the server. */
static void *
relay_main(void *arg)
{
	struct relay *r = arg;
	struct sbx_conn *conn = NULL;
	struct sbx_err e;
	int tfd = -1;

	sbx_err_clear(&e);
	if (r->b->open(&r->cfg, &conn, &e) < 0 ||
	    r->b->port_connect(conn, r->query, r->guest, &tfd, &e) < 0)
		fprintf(stderr, "sbx port: %s\n", e.msg);
	else
		sbx_fd_splice(r->fd, tfd, NULL, 0);
	if (tfd >= 0)
		close(tfd);
	if (conn)
		r->b->close(conn);
	close(r->fd);
	free(r);
	return NULL;
}

/*
 * `sbx --remote URL port ID PORT`: listens here, prints ADDR:PORT and
 * tunnels each connection through the server until interrupted.
 */
static int
tunnel_ports(struct sbx_ctx *ctx, const char *query, unsigned guest,
    const char *addr, unsigned host_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	const char *token = getenv("SBX_TOKEN");
	struct sbx_sandbox sb;
	struct sbx_err e;
	int lfd, one = 1;

	sbx_err_clear(&e);
	/* Fail early for an unknown sandbox. */
	if (ctx->backend->get(ctx->conn, query, &sb, &e) < 0) {
		sbx_sandbox_release(&sb);
		return sbx_report_err(ctx, &e);
	}
	sbx_sandbox_release(&sb);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return sbx_usage_error(ctx, "option '--host': '%s' is not an "
		    "IPv4 address", addr);
	sa.sin_port = htons((uint16_t)host_port);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd >= 0)
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 64) < 0 || getsockname(lfd, (struct sockaddr *)&sa,
	    &sl) < 0) {
		sbx_err_sys(&e, "cannot listen on %s:%u", addr, host_port);
		if (lfd >= 0)
			close(lfd);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->json)
		printf("{\"host\":\"%s\",\"host_port\":%u,\"guest\":%u}\n",
		    addr, ntohs(sa.sin_port), guest);
	else
		printf("%s:%u\n", addr, ntohs(sa.sin_port));
	fflush(stdout);
	if (!ctx->quiet)
		fprintf(stderr, "sbx port: forwarding %s:%u to port %u of "
		    "'%s' through %s; Ctrl-C stops\n", addr,
		    ntohs(sa.sin_port), guest, query, ctx->remote);
	for (;;) {
		struct relay *r;
		pthread_attr_t at;
		pthread_t th;
		int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE) {
				if (errno == EMFILE || errno == ENFILE)
					usleep(100000);
				continue;
			}
			sbx_err_sys(&e, "cannot accept on %s:%u", addr,
			    ntohs(sa.sin_port));
			close(lfd);
			return sbx_report_err(ctx, &e);
		}
		r = xcalloc(1, sizeof(*r));
		r->b = ctx->backend;
		r->cfg.home = ctx->home;
		r->cfg.url = ctx->remote;
		r->cfg.token = token && *token ? token : NULL;
		r->cfg.quiet = 1;
		r->query = query;
		r->guest = guest;
		r->fd = cfd;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, relay_main, r) != 0) {
			close(cfd);
			free(r);
		}
		pthread_attr_destroy(&at);
	}
}

/* `sbx port ID GUESTPORT --close [--host ADDR:PORT]`. */
static int
close_ports(struct sbx_ctx *ctx, const char *query, unsigned guest)
{
	char addr[64] = "";
	unsigned host_port = 0, closed = 0;
	struct sbx_err e;
	int rc;

	if (host_opt && (rc = parse_host(ctx, host_opt, addr, sizeof(addr),
	    &host_port)) != 0)
		return rc;
	sbx_err_clear(&e);
	if (!ctx->backend->port_close) {
		sbx_backend_unsupported(ctx->backend, "port_close", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->port_close(ctx->conn, query, guest, addr[0] ? addr :
	    NULL, host_port, &closed, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json)
		printf("{\"guest\":%u,\"closed\":%u}\n", guest, closed);
	else
		printf("closed %u forward%s of guest port %u\n", closed,
		    closed == 1 ? "" : "s", guest);
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
	if (argc == 1 && close_opt)
		return sbx_usage_error(ctx, "'--close' needs the guest port");
	if (argc == 1)
		return list_ports(ctx, argv[0]);
	sbx_err_clear(&e);
	if (sbx_parse_int(argv[1], 1, 65535, &guest, &e) < 0)
		return sbx_usage_error(ctx, "guest port '%s': %s", argv[1],
		    e.msg);
	if (close_opt)
		return close_ports(ctx, argv[0], (unsigned)guest);
	if (host_opt && (rc = parse_host(ctx, host_opt, addr, sizeof(addr),
	    &host_port)) != 0)
		return rc;
	if (ctx->remote && ctx->backend->port_connect)
		return tunnel_ports(ctx, argv[0], (unsigned)guest, addr,
		    host_port);
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
	.summary = "expose a guest TCP port on the host, list or close them",
	.usage = "[--close] [--host ADDR:PORT] ID [GUESTPORT]",
	.options = port_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = port_exec,
};
