/*
 * h-proxy.c - ANY /v1/sandboxes/{id}/ports/{port}/{path}: HTTP requests
 * forwarded to a TCP port of the guest (backend op port_connect, which
 * wakes a hibernated sandbox), responses streamed back; an Upgrade
 * (WebSocket) answered 101 by the guest becomes a spliced byte stream.
 * GET /v1/sandboxes/{id}/tunnel/{port} with "Upgrade: sbx-tunnel" is a
 * raw TCP tunnel. Upstream requests are HTTP/1.0 with "Connection: close"
 * (HTTP/1.1 for upgrades), so the guest's body ends at Content-Length or
 * at EOF and is never chunked.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/splice.h"
#include "core/xmalloc.h"
#include "serve/proxy.h"
#include "serve/serve-int.h"
#include "core/banned.h"

#define SLICE_MS 250		/* how often waits look at srv->stopping */

struct proxy {
	struct sbx_server *srv;
	int fd;			/* the guest connection */
	int tunnel;		/* /tunnel/: no HTTP upstream */
	int upgrade;		/* the client asked for an Upgrade */
	int send_failed;	/* the guest stopped taking the body */
	struct sbx_buf in;	/* what the guest sent, from off on unread */
	size_t off;
	int64_t left;		/* body bytes still to come, -1 = to EOF */
	unsigned port;
};

void
proxy_free(struct proxy *px)
{
	if (!px)
		return;
	if (px->fd >= 0)
		close(px->fd);
	sbx_buf_release(&px->in);
	free(px);
}

/* 1 while the server runs. */
static int
running(const struct sbx_server *srv)
{
	return !__atomic_load_n(&srv->stopping, __ATOMIC_SEQ_CST);
}

/* Waits for `ev` on fd up to ms; 1 ready, 0 timed out or stopping. */
static int
wait_fd(const struct sbx_server *srv, int fd, short ev, unsigned ms)
{
	uint64_t end = sbx_clock_ms() + ms;
	struct pollfd p = { fd, ev, 0 };

	while (running(srv)) {
		uint64_t now = sbx_clock_ms();
		int n;

		if (now >= end)
			return 0;
		n = poll(&p, 1, (int)(end - now < SLICE_MS ? end - now :
		    SLICE_MS));
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 1;	/* let the read or send report it */
	}
	return 0;
}

/* Sends all of buf to the guest; 0, or -1 (timeout, closed). */
static int
send_all(struct proxy *px, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		if (!wait_fd(px->srv, px->fd, POLLOUT, px->srv->timeout_s *
		    1000u))
			return -1;
		n = send(px->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

struct hdr_ctx {
	struct sbx_buf *b;
	const char *conn;
	int upgrade;
};

/* Copies one client header unless it stays behind. */
static enum MHD_Result
copy_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	struct hdr_ctx *x = cls;

	(void)kind;
	if (!k || sbx_proxy_drop_request_header(k, x->conn, x->upgrade) ||
	    !strncasecmp(k, "X-Forwarded-", 12))
		return MHD_YES;
	sbx_buf_addf(x->b, "%s: %s\r\n", k, v ? v : "");
	return MHD_YES;
}

/* A request header of the client, or NULL. */
static const char *
header(struct req *r, const char *name)
{
	return MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND, name);
}

/* 1 if the client asked to upgrade to `proto` (any protocol if NULL). */
static int
wants_upgrade(struct req *r, const char *proto)
{
	const char *up = header(r, "Upgrade"), *conn = header(r,
	    "Connection");

	if (!up || !conn || !strcasestr(conn, "upgrade"))
		return 0;
	return !proto || !strcasecmp(up, proto);
}

/* The request line and headers for the guest. */
static void
request_head(struct req *r, struct proxy *px, const char *id,
    const char *target, struct sbx_buf *b)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->mc,
	    MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	struct hdr_ctx x = { b, header(r, "Connection"), px->upgrade };
	const char *cl = header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char host[NI_MAXHOST];

	sbx_buf_addf(b, "%s %s HTTP/1.%d\r\n", r->method, target,
	    px->upgrade ? 1 : 0);
	MHD_get_connection_values(r->mc, MHD_HEADER_KIND, copy_header, &x);
	if (ci && ci->client_addr && (ci->client_addr->sa_family == AF_INET ||
	    ci->client_addr->sa_family == AF_INET6) &&
	    getnameinfo(ci->client_addr, ci->client_addr->sa_family ==
	    AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6), host, sizeof(host), NULL, 0,
	    NI_NUMERICHOST) == 0)
		sbx_buf_addf(b, "X-Forwarded-For: %s\r\n", host);
	sbx_buf_addf(b, "X-Forwarded-Proto: %s\r\n", r->srv->tls_cert ?
	    "https" : "http");
	sbx_buf_addf(b, "X-Forwarded-Prefix: /v1/sandboxes/%s/ports/%u\r\n",
	    id, px->port);
	if (cl)
		sbx_buf_addf(b, "Content-Length: %s\r\n", cl);
	sbx_buf_addstr(b, px->upgrade ? "Connection: Upgrade\r\n\r\n" :
	    "Connection: close\r\n\r\n");
}

/* Shared start of both routes: target, guest connection. */
static enum MHD_Result
begin(struct req *r, int tunnel)
{
	struct proxy *px;
	struct sbx_conn *conn;
	struct sbx_buf head = SBX_BUF_INIT;
	struct sbx_err e;
	char *id = NULL, *target = NULL;
	unsigned port;
	int fd;

	sbx_err_clear(&e);
	if (sbx_proxy_target(r->raw_uri ? r->raw_uri : r->url, tunnel ?
	    "tunnel" : "ports", &id, &port, &target, &e) < 0)
		return reply_error(r, 400, "bad_request", "%s", e.msg);
	if (tunnel && !wants_upgrade(r, "sbx-tunnel")) {
		free(id);
		free(target);
		return reply_error(r, 400, "bad_request", "a tunnel needs "
		    "'Connection: Upgrade' and 'Upgrade: sbx-tunnel'");
	}
	if (!tunnel && header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
		free(id);
		free(target);
		return reply_error(r, 411, "length_required", "the port proxy "
		    "forwards request bodies with a Content-Length only");
	}
	if (!(conn = req_conn(r, &e)) || r->srv->backend->port_connect(conn,
	    id, port, &fd, &e) < 0) {
		free(id);
		free(target);
		return reply_err(r, &e);
	}
	px = xcalloc(1, sizeof(*px));
	px->srv = r->srv;
	px->fd = fd;
	px->port = port;
	px->tunnel = tunnel;
	px->upgrade = tunnel || wants_upgrade(r, NULL);
	px->left = -1;
	sbx_buf_init(&px->in, 0);
	r->px = px;
	if (!tunnel) {
		request_head(r, px, id, target, &head);
		if (send_all(px, head.buf, head.len) < 0)
			px->send_failed = 1;
		sbx_buf_release(&head);
	}
	free(id);
	free(target);
	return MHD_YES;
}

enum MHD_Result
h_proxy_begin(struct req *r)
{
	return begin(r, 0);
}

enum MHD_Result
h_tunnel_begin(struct req *r)
{
	return begin(r, 1);
}

int
h_proxy_body(struct req *r, const char *data, size_t len)
{
	struct proxy *px = r->px;

	if (!px || px->send_failed || !len)
		return 0;
	if (send_all(px, data, len) < 0)
		px->send_failed = 1;	/* it may still answer: read on */
	return 0;
}

/* Reads what the guest sends into px->in; >0 bytes, 0 EOF, -1 timeout. */
static ssize_t
fill(struct proxy *px, unsigned ms)
{
	ssize_t n;

	for (;;) {
		if (!wait_fd(px->srv, px->fd, POLLIN, ms))
			return -1;
		if (sbx_buf_grow(&px->in, 16384) < 0)
			return -1;
		n = recv(px->fd, px->in.buf + px->in.len, 16384, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return 0;	/* reset: the same as EOF here */
		sbx_buf_setlen(&px->in, px->in.len + (size_t)n);
		return n;
	}
}

/* The response body, from what is buffered and then from the guest. */
static ssize_t
body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct proxy *px = cls;
	size_t n;
	ssize_t got;

	(void)pos;
	if (px->left == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (px->off == px->in.len) {
		sbx_buf_reset(&px->in);
		px->off = 0;
		got = fill(px, px->srv->timeout_s * 1000u);
		if (got < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (got == 0)
			return px->left > 0 ?
			    MHD_CONTENT_READER_END_WITH_ERROR :
			    MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = px->in.len - px->off;
	if (n > max)
		n = max;
	if (px->left >= 0 && (int64_t)n > px->left)
		n = (size_t)px->left;
	memcpy(buf, px->in.buf + px->off, n);
	px->off += n;
	if (px->left > 0)
		px->left -= (int64_t)n;
	return (ssize_t)n;
}

static void
body_free(void *cls)
{
	proxy_free(cls);
}

struct upgraded {
	struct proxy *px;
	MHD_socket sock;
	struct MHD_UpgradeResponseHandle *urh;
	char *extra;		/* what the client sent past its request */
	size_t extra_len;
};

/* The splice of one upgraded connection, in its own thread. */
static void *
upgraded_main(void *arg)
{
	struct upgraded *u = arg;
	struct proxy *px = u->px;
	struct sbx_server *srv = px->srv;
	int ok = 1;

	if (u->extra_len && send_all(px, u->extra, u->extra_len) < 0)
		ok = 0;
	/* The guest's first bytes after its 101 head. */
	while (ok && px->off < px->in.len) {
		ssize_t n;

		if (!wait_fd(srv, u->sock, POLLOUT, srv->timeout_s * 1000u))
			ok = 0;
		n = ok ? send(u->sock, px->in.buf + px->off, px->in.len -
		    px->off, MSG_NOSIGNAL | MSG_DONTWAIT) : -1;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			ok = 0;
		else
			px->off += (size_t)n;
	}
	if (ok && sbx_fd_splice(u->sock, px->fd, &srv->stopping,
	    srv->tunnel_idle_ms) && srv->log_requests)
		fprintf(stderr, "sbx serve: closed an upgraded connection to "
		    "guest port %u after %u ms without traffic\n", px->port,
		    srv->tunnel_idle_ms);
	proxy_free(px);
	free(u->extra);
	MHD_upgrade_action(u->urh, MHD_UPGRADE_ACTION_CLOSE);
	__atomic_sub_fetch(&srv->upgraded, 1, __ATOMIC_SEQ_CST);
	free(u);
	return NULL;
}

/* libmicrohttpd hands over the client's socket after a 101. */
static void
on_upgrade(void *cls, struct MHD_Connection *mc, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct upgraded *u = xcalloc(1, sizeof(*u));
	pthread_attr_t at;
	pthread_t th;

	(void)mc;
	(void)con_cls;
	u->px = cls;
	u->sock = sock;
	u->urh = urh;
	if (extra_in_size) {
		u->extra = xmalloc(extra_in_size);
		memcpy(u->extra, extra_in, extra_in_size);
		u->extra_len = extra_in_size;
	}
	__atomic_add_fetch(&u->px->srv->upgraded, 1, __ATOMIC_SEQ_CST);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, upgraded_main, u) != 0) {
		__atomic_sub_fetch(&u->px->srv->upgraded, 1, __ATOMIC_SEQ_CST);
		proxy_free(u->px);
		free(u->extra);
		free(u);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	}
	pthread_attr_destroy(&at);
}

/* Hands `px` to a 101 response that splices the connections. */
static enum MHD_Result
reply_upgrade(struct req *r, struct proxy *px, struct sbx_proxy_head *h)
{
	struct MHD_Response *resp = MHD_create_response_for_upgrade(
	    on_upgrade, px);
	size_t i;

	if (!resp) {
		proxy_free(px);
		return reply_error(r, 500, "failed", "cannot switch "
		    "protocols");
	}
	if (h) {
		for (i = 0; i + 1 < h->hdr.nr; i += 2)
			if (!sbx_proxy_drop_response_header(h->hdr.v[i],
			    h->connection, 1))
				MHD_add_response_header(resp, h->hdr.v[i],
				    h->hdr.v[i + 1]);
	} else {
		MHD_add_response_header(resp, "Upgrade", "sbx-tunnel");
	}
	return reply_response(r, 101, resp);
}

enum MHD_Result
h_proxy(struct req *r)
{
	struct proxy *px = r->px;
	struct sbx_proxy_head h;
	struct MHD_Response *resp;
	struct sbx_err e;
	uint64_t size;
	ssize_t n;
	size_t i;
	unsigned port;
	int rc = 0;

	if (r->answered || !px)
		return MHD_YES;
	port = px->port;
	r->px = NULL;
	if (px->tunnel)
		return reply_upgrade(r, px, NULL);
	sbx_err_clear(&e);
	while (rc == 0) {
		n = fill(px, px->srv->timeout_s * 1000u);
		if (n < 0) {
			proxy_free(px);
			return reply_error(r, 504, "timeout", "port %u of the "
			    "sandbox sent no answer within %u s", port,
			    r->srv->timeout_s);
		}
		if (n == 0) {
			proxy_free(px);
			return reply_error(r, 502, "bad_gateway", "port %u of "
			    "the sandbox closed the connection without an "
			    "answer (is anything listening on it?)", port);
		}
		rc = sbx_proxy_head_parse(px->in.buf, px->in.len, &h, &e);
	}
	if (rc < 0) {
		proxy_free(px);
		return reply_error(r, 502, "bad_gateway", "%s", e.msg);
	}
	if (h.status == 101 && px->upgrade) {
		px->off = h.head_len;
		rc = reply_upgrade(r, px, &h);
		sbx_proxy_head_release(&h);
		return rc;
	}
	if (h.status < 200 || h.status == 101 || h.chunked) {
		sbx_proxy_head_release(&h);
		proxy_free(px);
		return reply_error(r, 502, "bad_gateway", "port %u of the "
		    "sandbox answered an HTTP/1.0 request with %s", port,
		    h.chunked ? "a chunked body" : "an interim status");
	}
	px->off = h.head_len;
	px->left = h.length;
	if (h.status == 204 || h.status == 304)
		px->left = 0;
	size = px->left >= 0 ? (uint64_t)px->left : MHD_SIZE_UNKNOWN;
	if (!strcmp(r->method, "HEAD"))
		px->left = 0;
	resp = MHD_create_response_from_callback(size, 32 * 1024, body_reader,
	    px, body_free);
	for (i = 0; i + 1 < h.hdr.nr; i += 2)
		if (!sbx_proxy_drop_response_header(h.hdr.v[i], h.connection,
		    0))
			MHD_add_response_header(resp, h.hdr.v[i],
			    h.hdr.v[i + 1]);
	rc = reply_response(r, h.status, resp);
	sbx_proxy_head_release(&h);
	return rc;
}
