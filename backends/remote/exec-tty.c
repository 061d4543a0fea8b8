/*
 * exec-tty.c - the remote backend's interactive exec: POST .../exec with
 * "Upgrade: sbx-exec" (remote_upgrade), then the frames of
 * serve/xframe.h: what is typed goes out as STDIN frames as it comes,
 * each SIGWINCH (o->tty_resize_fd) as a RESIZE frame with the size of
 * stdout's terminal, end of input as STDIN_EOF; output frames are
 * written to the caller's fds until the EXIT (or ERROR) frame.
 *
 * The detach byte ends the session from this side: the server closes
 * the command's input and output; behind a kvm backend a tty command
 * keeps running in the guest, as after a local detach.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/xframe.h"
#include "store/fsutil.h"
#include "core/banned.h"

#define STDIN_CHUNK 16384

struct xclient {
	struct sbx_conn *c;
	CURL *h;
	curl_socket_t sock;
	const struct sbx_exec_opts *o;
	struct sbx_exec_result *r;
	struct sbx_buf rx;	/* server bytes not yet decoded */
	struct sbx_buf tx;	/* one frame being sent */
	int ended;		/* EXIT or ERROR seen */
};

/* Sends the frame in x->tx; 0 or an SBX_E code. */
static int
send_tx(struct xclient *x, struct sbx_err *e)
{
	int rc = remote_upgraded_send(x->h, x->sock, x->tx.buf, x->tx.len);

	sbx_buf_reset(&x->tx);
	if (rc < 0)
		return sbx_err_set(e, SBX_ENET, "lost the connection to sbx "
		    "server at %s during an interactive exec", x->c->shown);
	return 0;
}

/* Handles the whole frames in x->rx; 0 or an SBX_E code. */
static int
on_frames(struct xclient *x, struct sbx_err *e)
{
	struct sbx_xframe f;
	size_t off = 0;
	int rc = 0, got;

	while (!x->ended && (got = sbx_xframe_next(x->rx.buf, x->rx.len, &off,
	    0, &f, e)) != 0) {
		if (got < 0) {
			sbx_err_prefix(e, "sbx server at %s", x->c->shown);
			return SBX_ENET;
		}
		switch (f.type) {
		case SBX_XF_STDOUT:
			rc = sbx_fs_write_all(x->o->stdout_fd, f.p, f.len,
			    "stdout", e);
			break;
		case SBX_XF_STDERR:
			rc = sbx_fs_write_all(x->o->tty ? x->o->stdout_fd :
			    x->o->stderr_fd, f.p, f.len, "stderr", e);
			break;
		case SBX_XF_EXIT:
			x->r->exit_code = f.code;
			x->r->signal = f.sig;
			x->ended = 1;
			break;
		case SBX_XF_ERROR:
			x->ended = 1;
			return sbx_xframe_error(&f, e);
		default:
			break;
		}
		if (rc < 0)
			return rc;
	}
	memmove(x->rx.buf, x->rx.buf + off, x->rx.len - off);
	sbx_buf_setlen(&x->rx, x->rx.len - off);
	return 0;
}

/* Reads what the server sent (TLS may hold more than the socket shows). */
static int
on_server(struct xclient *x, struct sbx_err *e)
{
	size_t n;
	CURLcode cc;
	int rc;

	for (;;) {
		if (sbx_buf_grow(&x->rx, 16384) < 0)
			return sbx_err_set(e, SBX_ENET, "sbx server sent too "
			    "much at once");
		cc = curl_easy_recv(x->h, x->rx.buf + x->rx.len, 16384, &n);
		if (cc == CURLE_AGAIN)
			return 0;
		if (cc != CURLE_OK || n == 0)
			return sbx_err_set(e, SBX_ENET, "connection to sbx "
			    "server at %s ended before the command's exit "
			    "status", x->c->shown);
		sbx_buf_setlen(&x->rx, x->rx.len + n);
		if ((rc = on_frames(x, e)) < 0 || x->ended)
			return rc;
	}
}

/* Reads stdin once: 1 when the detach byte came, else 0 or an SBX_E. */
static int
on_stdin(struct xclient *x, int *open, struct sbx_err *e)
{
	char buf[STDIN_CHUNK], *d;
	ssize_t n = read(x->o->stdin_fd, buf, sizeof(buf));
	int detach = 0;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		*open = 0;
		sbx_xframe_put(&x->tx, SBX_XF_STDIN_EOF, NULL, 0);
		return send_tx(x, e);
	}
	if (x->o->detach_byte >= 0 &&
	    (d = memchr(buf, x->o->detach_byte, (size_t)n))) {
		n = d - buf;
		detach = 1;
	}
	if (n)
		sbx_xframe_put(&x->tx, SBX_XF_STDIN, buf, (size_t)n);
	if (x->tx.len && send_tx(x, e) < 0)
		return SBX_ENET;
	return detach;
}

/* A SIGWINCH: the new size of stdout's terminal goes to the server. */
static int
on_resize(struct xclient *x, struct sbx_err *e)
{
	struct winsize ws;
	char junk[64];

	if (read(x->o->tty_resize_fd, junk, sizeof(junk)) < 0 &&
	    errno != EAGAIN && errno != EINTR)
		return 0;
	if (ioctl(x->o->stdout_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row ||
	    !ws.ws_col)
		return 0;
	sbx_xframe_put_resize(&x->tx, ws.ws_row, ws.ws_col);
	return send_tx(x, e);
}

static int
session(struct xclient *x, struct sbx_err *e)
{
	int stdin_open = 1, rc;

	for (;;) {
		struct pollfd p[3];

		if ((rc = on_server(x, e)) < 0)
			return rc;
		if (x->ended)
			return 0;
		p[0] = (struct pollfd){ .fd = (int)x->sock, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = stdin_open ? x->o->stdin_fd : -1,
		    .events = POLLIN };
		p[2] = (struct pollfd){ .fd = x->o->tty_resize_fd,
		    .events = POLLIN };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return sbx_err_sys(e, "poll");
		}
		/* A new size goes before what is typed at it. */
		if ((p[2].revents & POLLIN) && (rc = on_resize(x, e)) < 0)
			return rc;
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = on_stdin(x, &stdin_open, e);
			if (rc < 0)
				return rc;
			if (rc == 1) {
				x->r->detached = 1;
				return 0;
			}
		}
	}
}

int
remote_exec_tty(struct sbx_conn *c, const char *query,
    const struct sbx_exec_opts *o, struct sbx_exec_result *r,
    struct sbx_err *e)
{
	struct xclient x;
	json_t *in = remote_exec_json(o);
	char *body = json_dumps(in, JSON_COMPACT), *path;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.o = o;
	x.r = r;
	sbx_buf_init(&x.rx, 0);
	sbx_buf_init(&x.tx, 0);
	path = remote_path(c, query, "/exec");
	rc = remote_upgrade(c, "POST", path, "sbx-exec", body, &x.h, &x.sock,
	    e);
	free(path);
	free(body);
	json_decref(in);
	if (rc == 0) {
		rc = session(&x, e);
		curl_easy_cleanup(x.h);
	}
	sbx_buf_release(&x.rx);
	sbx_buf_release(&x.tx);
	return rc;
}
