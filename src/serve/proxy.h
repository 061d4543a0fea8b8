/*
 * proxy.h - the pure parts of `sbx serve`'s port proxy (proxy.c): where a
 * request goes, which headers travel, and the guest's response head. No
 * I/O; exported for the unit tests. h-proxy.c does the talking.
 */
#ifndef SBX_SERVE_PROXY_H
#define SBX_SERVE_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/strvec.h"

#define SBX_PROXY_HEAD_MAX (32u << 10)	/* the guest's response head */

/*
 * Splits a raw request URI "/v1/sandboxes/ID/KIND/PORT[/path][?query]"
 * (KIND is "ports" or "tunnel") into the id (malloc'd), the port and the
 * request target for the guest ("/path?query", at least "/"; malloc'd).
 * SBX_EUSAGE naming the problem for a port not in 1..65535 or a URI of
 * another shape.
 */
int sbx_proxy_target(const char *uri, const char *kind, char **id,
    unsigned *port, char **target, struct sbx_err *e);

/*
 * 1 if request header `name` stays behind: hop-by-hop headers (RFC 9110
 * 7.6.1) and those named in the request's Connection header `conn` (may
 * be NULL), Authorization (the caller's sbx token), Host-independent
 * framing (Content-Length, Transfer-Encoding, Expect) the proxy sets
 * itself. With `upgrade`, Upgrade passes (a WebSocket handshake).
 */
int sbx_proxy_drop_request_header(const char *name, const char *conn,
    int upgrade);
/* 1 if response header `name` of the guest is not passed to the client. */
int sbx_proxy_drop_response_header(const char *name, const char *conn,
    int upgrade);

/* A guest's response head. */
struct sbx_proxy_head {
	unsigned status;		/* 100..999 */
	struct sbx_strvec hdr;		/* name, value, name, value, ... */
	int64_t length;			/* Content-Length, -1 = none */
	int chunked;			/* Transfer-Encoding: chunked */
	const char *connection;		/* Connection value (in hdr) or NULL */
	size_t head_len;		/* bytes up to and with the blank line */
};

/*
 * Parses the head at the start of buf[0..len): 1 when complete (h filled,
 * release it), 0 when more bytes are needed, SBX_EIO naming the problem
 * for a malformed head or one longer than SBX_PROXY_HEAD_MAX.
 */
int sbx_proxy_head_parse(const char *buf, size_t len,
    struct sbx_proxy_head *h, struct sbx_err *e);
void sbx_proxy_head_release(struct sbx_proxy_head *h);

#endif
