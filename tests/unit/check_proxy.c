/*
 * check_proxy.c - the pure parts of sbx serve's port proxy (proxy.h):
 * target URIs, header filtering, the guest's response head.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "backend.h"
#include "core/err.h"
#include "serve/proxy.h"
#include "serve/serve.h"
#include "serve/token.h"
#include "core/banned.h"

static const struct {
	const char *uri, *id, *target;
	unsigned port;
} good_targets[] = {
	{ "/v1/sandboxes/sb-1/ports/8000", "sb-1", "/", 8000 },
	{ "/v1/sandboxes/sb-1/ports/8000/", "sb-1", "/", 8000 },
	{ "/v1/sandboxes/web/ports/1/a/b%2Fc?x=1&y", "web", "/a/b%2Fc?x=1&y",
	  1 },
	{ "/v1/sandboxes/x/ports/65535?q=%20", "x", "/?q=%20", 65535 },
};

START_TEST(test_target_good)
{
	struct sbx_err e = { 0 };
	char *id, *target;
	unsigned port;

	ck_assert_msg(sbx_proxy_target(good_targets[_i].uri, "ports", &id,
	    &port, &target, &e) == 0, "%s: %s", good_targets[_i].uri, e.msg);
	ck_assert_str_eq(id, good_targets[_i].id);
	ck_assert_str_eq(target, good_targets[_i].target);
	ck_assert_uint_eq(port, good_targets[_i].port);
	free(id);
	free(target);
}
END_TEST

static const char *const bad_targets[] = {
	"/v1/sandboxes/sb-1/ports/0", "/v1/sandboxes/sb-1/ports/65536/",
	"/v1/sandboxes/sb-1/ports/", "/v1/sandboxes/sb-1/ports/80x",
	"/v1/sandboxes/sb-1/ports/9999999", "/v1/sandboxes//ports/80",
	"/v1/sandboxes/sb-1/tunnel/80", "/v1/other",
};

START_TEST(test_target_bad)
{
	struct sbx_err e = { 0 };
	char *id, *target;
	unsigned port;

	ck_assert_msg(sbx_proxy_target(bad_targets[_i], "ports", &id, &port,
	    &target, &e) == SBX_EUSAGE, "%s was accepted", bad_targets[_i]);
	ck_assert_ptr_null(id);
	ck_assert_ptr_null(target);
	ck_assert_msg(e.msg[0], "%s: no message", bad_targets[_i]);
}
END_TEST

START_TEST(test_headers)
{
	ck_assert(sbx_proxy_drop_request_header("authorization", NULL, 0));
	ck_assert(sbx_proxy_drop_request_header("Connection", NULL, 0));
	ck_assert(sbx_proxy_drop_request_header("keep-alive", NULL, 0));
	ck_assert(sbx_proxy_drop_request_header("Transfer-Encoding", NULL, 0));
	ck_assert(sbx_proxy_drop_request_header("Upgrade", NULL, 0));
	ck_assert(!sbx_proxy_drop_request_header("Upgrade", "Upgrade", 1));
	ck_assert(sbx_proxy_drop_request_header("X-Secret", "close, x-secret",
	    0));
	ck_assert(!sbx_proxy_drop_request_header("X-Secrets", "x-secret", 0));
	ck_assert(!sbx_proxy_drop_request_header("Cookie", "close", 0));
	ck_assert(!sbx_proxy_drop_request_header("Host", NULL, 0));
	ck_assert(!sbx_proxy_drop_response_header("Set-Cookie", NULL, 0));
	ck_assert(sbx_proxy_drop_response_header("Content-Length", NULL, 0));
	ck_assert(!sbx_proxy_drop_response_header("Sec-WebSocket-Accept",
	    "Upgrade", 1));
}
END_TEST

START_TEST(test_head_good)
{
	const char *r = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
	    "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length:  5 \r\n"
	    "\r\nhello";
	struct sbx_proxy_head h;
	struct sbx_err e = { 0 };

	ck_assert_int_eq(sbx_proxy_head_parse(r, strlen(r), &h, &e), 1);
	ck_assert_uint_eq(h.status, 200);
	ck_assert_int_eq(h.length, 5);
	ck_assert_uint_eq(h.head_len, strlen(r) - 5);
	ck_assert_uint_eq(h.hdr.nr, 8);
	ck_assert_str_eq(h.hdr.v[4], "Set-Cookie");
	ck_assert_str_eq(h.hdr.v[5], "b=2");
	ck_assert_str_eq(h.hdr.v[7], "5");
	sbx_proxy_head_release(&h);
	r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n\x81\x02hi";
	ck_assert_int_eq(sbx_proxy_head_parse(r, strlen(r), &h, &e), 1);
	ck_assert_uint_eq(h.status, 101);
	ck_assert_int_eq(h.length, -1);
	ck_assert_str_eq(h.connection, "Upgrade");
	sbx_proxy_head_release(&h);
	/* Incomplete: more bytes needed. */
	ck_assert_int_eq(sbx_proxy_head_parse(r, 30, &h, &e), 0);
	sbx_proxy_head_release(&h);
}
END_TEST

static const char *const bad_heads[] = {
	"SSH-2.0-OpenSSH\r\n\r\n",
	"HTTP/1.1 20 OK\r\n\r\n",
	"HTTP/2 200 OK\r\n\r\n",
	"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
	"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
};

START_TEST(test_head_bad)
{
	struct sbx_proxy_head h;
	struct sbx_err e = { 0 };

	ck_assert_msg(sbx_proxy_head_parse(bad_heads[_i],
	    strlen(bad_heads[_i]), &h, &e) == SBX_EIO, "accepted: %s",
	    bad_heads[_i]);
	ck_assert(e.msg[0]);
	sbx_proxy_head_release(&h);
}
END_TEST

START_TEST(test_head_too_long)
{
	size_t len = SBX_PROXY_HEAD_MAX + 10;
	char *buf = malloc(len);
	struct sbx_proxy_head h;
	struct sbx_err e = { 0 };

	memset(buf, 'a', len);
	memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
	ck_assert_int_eq(sbx_proxy_head_parse(buf, len, &h, &e), SBX_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "longer"));
	sbx_proxy_head_release(&h);
	free(buf);
}
END_TEST

/*
 * A server fronting a fake backend whose port_connect hands out one end of
 * a socket pair; a thread plays the guest on the other end.
 */
struct sbx_conn {
	int unused;
};

static char guest_saw[4096];

static int
fake_open(const struct sbx_backend_cfg *cfg, struct sbx_conn **out,
    struct sbx_err *e)
{
	(void)cfg;
	(void)e;
	*out = calloc(1, sizeof(**out));
	return 0;
}

static void
fake_close(struct sbx_conn *c)
{
	free(c);
}

/* Port 1: answers one request; port 2: closes at once. */
static void *
guest_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	size_t len = 0;
	ssize_t n;
	const char *ans = "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n"
	    "X-Guest: yes\r\nConnection: close\r\n\r\nhello";

	while (len < sizeof(guest_saw) - 1 && !strstr(guest_saw, "\r\n\r\n")) {
		n = read(fd, guest_saw + len, sizeof(guest_saw) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
		guest_saw[len] = 0;
	}
	if (write(fd, ans, strlen(ans)) < 0)
		guest_saw[0] = 0;
	close(fd);
	return NULL;
}

static int
fake_connect(struct sbx_conn *c, const char *query, unsigned port, int *fd,
    struct sbx_err *e)
{
	pthread_t th;
	int sp[2];

	(void)c;
	if (strcmp(query, "sb-aaaaaaaaaaaa"))
		return sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", query);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sp);
	*fd = sp[0];
	if (port == 2) {
		close(sp[1]);
		return 0;
	}
	pthread_create(&th, NULL, guest_main, (void *)(intptr_t)sp[1]);
	pthread_detach(th);
	return 0;
}

static const struct sbx_backend fake = {
	.name = "fake", .open = fake_open, .close = fake_close,
	.port_connect = fake_connect,
};

/* Sends `req` to the server at `url`, returns what came back. */
static char *
roundtrip(const char *url, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static char buf[8192];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_port = htons((uint16_t)strtoul(strrchr(url, ':') + 1, NULL,
	    10));
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(fd);
	return buf;
}

START_TEST(test_proxy_server)
{
	struct sbx_serve_cfg cfg = { 0 };
	struct sbx_token_info ti;
	struct sbx_server *srv;
	struct sbx_err e = { 0 };
	char home[512], req[1024], *tok, *r;

	snprintf(home, sizeof(home), "%s/proxy-home", unit_tmpdir());
	mkdir(home, 0700);
	ck_assert_int_eq(sbx_token_create(home, SBX_SCOPE_WRITE, time(NULL),
	    0, "t", &tok, &ti, &e), 0);
	sbx_token_info_release(&ti);
	cfg.listen = "127.0.0.1:0";
	cfg.home = home;
	cfg.backend = &fake;
	cfg.timeout_s = 3;
	ck_assert_msg(sbx_serve_start(&cfg, &srv, &e) == 0, "%s", e.msg);
	snprintf(req, sizeof(req), "GET /v1/sandboxes/sb-aaaaaaaaaaaa/ports/1"
	    "/a%%20b?x=%%2F HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "
	    "%s\r\nX-Keep: 1\r\nConnection: close, X-Drop\r\nX-Drop: 1"
	    "\r\n\r\n", tok);
	r = roundtrip(sbx_serve_url(srv), req);
	ck_assert_msg(!strncmp(r, "HTTP/1.1 200", 12), "got: %s", r);
	ck_assert_msg(strstr(r, "\r\n\r\nhello"), "no body: %s", r);
	ck_assert_msg(strstr(r, "X-Guest: yes"), "no guest header: %s", r);
	ck_assert_msg(!strncmp(guest_saw, "GET /a%20b?x=%2F HTTP/1.0\r\n", 27),
	    "guest saw: %s", guest_saw);
	ck_assert_msg(!strstr(guest_saw, "Bearer"), "token leaked: %s",
	    guest_saw);
	ck_assert_msg(!strstr(guest_saw, "X-Drop"), "X-Drop passed: %s",
	    guest_saw);
	ck_assert_msg(strstr(guest_saw, "X-Keep: 1"), "X-Keep lost: %s",
	    guest_saw);
	snprintf(req, sizeof(req), "GET /v1/sandboxes/sb-aaaaaaaaaaaa/ports/2"
	    "/ HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\r\n"
	    "Connection: close\r\n\r\n", tok);
	r = roundtrip(sbx_serve_url(srv), req);
	ck_assert_msg(!strncmp(r, "HTTP/1.1 502", 12), "got: %s", r);
	ck_assert_msg(strstr(r, "bad_gateway"), "got: %s", r);
	snprintf(req, sizeof(req), "GET /v1/sandboxes/sb-bbbbbbbbbbbb/ports/1"
	    "/ HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer %s\r\n"
	    "Connection: close\r\n\r\n", tok);
	r = roundtrip(sbx_serve_url(srv), req);
	ck_assert_msg(!strncmp(r, "HTTP/1.1 404", 12), "got: %s", r);
	sbx_serve_stop(srv);
	free(tok);
}
END_TEST

Suite *suite_proxy(void)
{
	Suite *s = suite_create("proxy");
	TCase *tc = tcase_create("proxy");

	tcase_add_loop_test(tc, test_target_good, 0,
	    sizeof(good_targets) / sizeof(good_targets[0]));
	tcase_add_loop_test(tc, test_target_bad, 0,
	    sizeof(bad_targets) / sizeof(bad_targets[0]));
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_head_good);
	tcase_add_loop_test(tc, test_head_bad, 0,
	    sizeof(bad_heads) / sizeof(bad_heads[0]));
	tcase_add_test(tc, test_head_too_long);
	suite_add_tcase(s, tc);
	tc = tcase_create("server");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_proxy_server);
	suite_add_tcase(s, tc);
	return s;
}
