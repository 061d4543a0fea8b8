/*
 * check_proxy.c - the pure parts of sbx serve's port proxy (proxy.h):
 * target URIs, header filtering, the guest's response head.
 */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/err.h"
#include "serve/proxy.h"
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
	return s;
}
