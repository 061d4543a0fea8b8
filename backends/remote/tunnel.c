/*
 * tunnel.c - the remote backend's port_connect: GET
 * /v1/sandboxes/{id}/tunnel/{port} with "Upgrade: sbx-tunnel" over a
 * libcurl CONNECT_ONLY connection (so https, unix: URLs and SBX_CACERT
 * work as for every other call), then a thread copying between that
 * connection and one end of a socketpair, whose other end is the
 * caller's fd. remote_upgrade is the request and 101 part, shared with
 * the interactive exec (exec-tty.c).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/proxy.h"
#include "core/banned.h"

#define IO_MS 30000

struct tunnel {
	CURL *h;
	curl_socket_t sock;
	int fd;			/* our end of the socketpair */
};

/* Waits until the server's socket is ready for `ev`; 0 on timeout. */
static int
sock_wait(curl_socket_t s, short ev, int ms)
{
	struct pollfd p = { (int)s, ev, 0 };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

/* Sends all of buf over the tunnel's connection; 0 or -1. */
static int
t_send(struct tunnel *t, const char *buf, size_t len)
{
	size_t n;
	CURLcode cc;

	while (len) {
		cc = curl_easy_send(t->h, buf, len, &n);
		if (cc == CURLE_AGAIN) {
			if (!sock_wait(t->sock, POLLOUT, IO_MS))
				return -1;
			continue;
		}
		if (cc != CURLE_OK)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Copies both ways until either side ends. */
static void *
tunnel_main(void *arg)
{
	struct tunnel *t = arg;
	char buf[16384];
	struct pollfd p[2];
	int client_eof = 0;
	size_t n;
	ssize_t k;
	CURLcode cc;

	for (;;) {
		p[0].fd = client_eof ? -1 : t->fd;
		p[0].events = POLLIN;
		p[0].revents = 0;
		p[1].fd = (int)t->sock;
		p[1].events = POLLIN;
		/* TLS may hold decrypted bytes: drain before sleeping. */
		for (;;) {
			cc = curl_easy_recv(t->h, buf, sizeof(buf), &n);
			if (cc != CURLE_OK || n == 0)
				break;
			if (send(t->fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
				goto out;
		}
		if (cc != CURLE_AGAIN)
			goto out;	/* the server closed (n == 0) or failed */
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			goto out;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			k = recv(t->fd, buf, sizeof(buf), 0);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				client_eof = 1;
				/* Plain TCP passes the half-close on. */
				shutdown((int)t->sock, SHUT_WR);
				continue;
			}
			if (t_send(t, buf, (size_t)k) < 0)
				goto out;
		}
	}
out:
	close(t->fd);
	curl_easy_cleanup(t->h);
	free(t);
	return NULL;
}

/* Reads the response head byte by byte (nothing past it is consumed). */
static int
read_head(struct tunnel *t, struct sbx_buf *b)
{
	char ch;
	size_t n;
	CURLcode cc;

	while (b->len < 4 || memcmp(b->buf + b->len - 4, "\r\n\r\n", 4)) {
		cc = curl_easy_recv(t->h, &ch, 1, &n);
		if (cc == CURLE_AGAIN) {
			if (!sock_wait(t->sock, POLLIN, IO_MS * 4))
				return -1;
			continue;
		}
		if (cc != CURLE_OK || n == 0 || sbx_buf_add(b, &ch, 1) < 0)
			return -1;
	}
	return 0;
}

int
remote_upgrade(struct sbx_conn *c, const char *method, const char *path,
    const char *proto, const char *json, CURL **hp, curl_socket_t *sp,
    struct sbx_err *e)
{
	struct tunnel t;
	struct sbx_buf head = SBX_BUF_INIT, req = SBX_BUF_INIT;
	struct sbx_proxy_head h;
	char *url;
	const char *host = strstr(c->base, "://");
	struct curl_slist *a;
	curl_socket_t s;
	int rc;
	CURLcode cc;

	*hp = NULL;
	memset(&t, 0, sizeof(t));
	url = xasprintf("%s%s", c->base, path);
	t.h = curl_easy_init();
	curl_easy_setopt(t.h, CURLOPT_URL, url);
	curl_easy_setopt(t.h, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(t.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t.h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(t.h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t.h, CURLOPT_ERRORBUFFER, c->errbuf);
	if (c->unix_path)
		curl_easy_setopt(t.h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	if (c->cainfo)
		curl_easy_setopt(t.h, CURLOPT_CAINFO, c->cainfo);
	c->errbuf[0] = '\0';
	cc = curl_easy_perform(t.h);
	free(url);
	if (cc != CURLE_OK || curl_easy_getinfo(t.h, CURLINFO_ACTIVESOCKET,
	    &s) != CURLE_OK || s == CURL_SOCKET_BAD) {
		rc = sbx_err_set(e, SBX_ENET, "cannot reach sbx server at %s: "
		    "%s", c->shown, c->errbuf[0] ? c->errbuf :
		    curl_easy_strerror(cc));
		goto fail;
	}
	t.sock = s;
	sbx_buf_addf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sbx/"
	    PACKAGE_VERSION "\r\nConnection: Upgrade\r\nUpgrade: %s\r\n",
	    method, path, host ? host + 3 : "localhost", proto);
	for (a = c->auth; a; a = a->next)
		sbx_buf_addf(&req, "%s\r\n", a->data);
	if (json)
		sbx_buf_addf(&req, "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n%s", strlen(json), json);
	else
		sbx_buf_addstr(&req, "\r\n");
	rc = t_send(&t, req.buf, req.len);
	head.cap = SBX_PROXY_HEAD_MAX;
	if (rc < 0 || read_head(&t, &head) < 0) {
		rc = sbx_err_set(e, SBX_ENET, "lost the connection to sbx "
		    "server at %s while asking for 'Upgrade: %s'", c->shown,
		    proto);
		goto fail;
	}
	if (sbx_proxy_head_parse(head.buf, head.len, &h, e) != 1) {
		rc = sbx_err_set(e, SBX_ENET, "sbx server at %s sent a "
		    "malformed answer to an 'Upgrade: %s' request", c->shown,
		    proto);
		goto fail;
	}
	if (h.status != 101) {
		struct sbx_buf body = SBX_BUF_INIT;
		char buf[4096];
		size_t n;
		long status = (long)h.status;
		int64_t want = h.length;

		/* The error body: JSON with Content-Length. */
		body.cap = 64 * 1024;
		while (want < 0 || (int64_t)body.len < want) {
			cc = curl_easy_recv(t.h, buf, sizeof(buf), &n);
			if (cc == CURLE_AGAIN && sock_wait(t.sock, POLLIN,
			    IO_MS))
				continue;
			if (cc != CURLE_OK || n == 0 ||
			    sbx_buf_add(&body, buf, n) < 0)
				break;
		}
		sbx_proxy_head_release(&h);
		if (status >= 200 && status < 300)
			rc = sbx_err_set(e, SBX_ENOTSUP, "sbx server at %s does "
			    "not know 'Upgrade: %s' (it answered %ld): it is "
			    "older than this client", c->shown, proto, status);
		else
			rc = remote_http_error(status, body.buf, body.len,
			    c->shown, e);
		sbx_buf_release(&body);
		goto fail;
	}
	sbx_proxy_head_release(&h);
	sbx_buf_release(&head);
	sbx_buf_release(&req);
	*hp = t.h;
	*sp = t.sock;
	return 0;
fail:
	curl_easy_cleanup(t.h);
	sbx_buf_release(&head);
	sbx_buf_release(&req);
	return rc;
}

int
remote_upgraded_send(CURL *h, curl_socket_t s, const void *buf, size_t len)
{
	struct tunnel t = { h, s, -1 };

	return t_send(&t, buf, len);
}

int
remote_port_connect(struct sbx_conn *c, const char *query,
    unsigned guest_port, int *fd, struct sbx_err *e)
{
	struct tunnel *t = xcalloc(1, sizeof(*t));
	char *path, suffix[32];
	pthread_t th;
	pthread_attr_t at;
	int sp[2] = { -1, -1 }, rc;

	*fd = -1;
	snprintf(suffix, sizeof(suffix), "/tunnel/%u", guest_port);
	path = remote_path(c, query, suffix);
	rc = remote_upgrade(c, "GET", path, "sbx-tunnel", NULL, &t->h,
	    &t->sock, e);
	free(path);
	if (rc < 0) {
		free(t);
		return rc;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		rc = sbx_err_sys(e, "cannot make a socket pair");
		goto fail;
	}
	t->fd = sp[1];
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, tunnel_main, t);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		rc = sbx_err_set(e, SBX_EIO, "cannot start a tunnel thread");
		goto fail;
	}
	*fd = sp[0];
	return 0;
fail:
	if (sp[0] >= 0)
		close(sp[0]);
	if (sp[1] >= 0)
		close(sp[1]);
	curl_easy_cleanup(t->h);
	free(t);
	return rc;
}
