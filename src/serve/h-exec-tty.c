/*
 * h-exec-tty.c - POST /v1/sandboxes/{id}/exec with "Connection: Upgrade"
 * and "Upgrade: sbx-exec": an interactive exec. The request JSON is the
 * plain exec's (without "stdin" and "background"); after the 101 the
 * connection carries the frames of xframe.h both ways (doc/api.md).
 *
 * Two threads per session: the worker runs the backend's exec op, the
 * session thread moves frames between the client's socket and the
 * worker's fds. With a tty the worker's stdout is the slave of a host
 * pseudo-terminal in raw mode: the backend reads the window size from
 * it (backend.h, tty_resize_fd), so a RESIZE frame sets the size on the
 * master and pokes the resize pipe. Without a tty, stdout and stderr are
 * pipes. A client that goes away (or a server that stops) closes the
 * command's stdin and output: the backend's next write of output fails
 * and it returns; the session thread does not wait for that. (The
 * backend interface cannot signal a command: a silent command keeps the
 * worker until it writes or ends. The kvm agent keeps a tty job running
 * after its client left, as after a local detach; without a tty the
 * command sees the end of its input.) The session is freed by whichever
 * thread lets go last.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <microhttpd.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "serve/xframe.h"
#include "store/registry.h"
#include "core/banned.h"

#define SLICE_MS 250		/* how often the loop looks at `stopping` */
#define QUEUE_MAX (256u * 1024)	/* stdin / output buffered at most */
#define READ_CHUNK (32u * 1024)
#define DRAIN_MS 2000		/* output still read after the op ends */

struct xsess {
	pthread_mutex_t mu;
	int refs;
	struct sbx_server *srv;	/* only while the session thread runs */
	const struct sbx_backend *b;
	struct sbx_conn *conn;
	char *query;
	struct sbx_serve_exec_req x;
	/* the worker's ends */
	int w_in, w_out, w_err, w_resize;
	/* the session's ends */
	int in_w, out_r, err_r, resize_w, done_r, done_w;
	int done;		/* the op returned (rc, err, res valid) */
	int rc;
	struct sbx_err err;
	struct sbx_exec_result res;
	/* the upgraded connection */
	MHD_socket sock;
	struct MHD_UpgradeResponseHandle *urh;
	struct sbx_buf rx;	/* client bytes not yet decoded */
	struct sbx_buf tx;	/* frames for the client */
	struct sbx_buf stdin_q;	/* stdin bytes for the command */
	int stdin_eof;		/* close in_w once stdin_q is empty */
	int failed;		/* an error frame is queued: flush, close */
};

static void
xsess_unref(struct xsess *s)
{
	int last;

	pthread_mutex_lock(&s->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	serve_fd_close(&s->w_in);
	serve_fd_close(&s->w_out);
	serve_fd_close(&s->w_err);
	serve_fd_close(&s->w_resize);
	serve_fd_close(&s->in_w);
	serve_fd_close(&s->out_r);
	serve_fd_close(&s->err_r);
	serve_fd_close(&s->resize_w);
	serve_fd_close(&s->done_r);
	serve_fd_close(&s->done_w);
	if (s->conn)
		s->b->close(s->conn);
	sbx_serve_exec_req_release(&s->x);
	free(s->query);
	sbx_buf_release(&s->rx);
	sbx_buf_release(&s->tx);
	sbx_buf_release(&s->stdin_q);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* The worker thread: the backend op on the worker's ends. */
static void *
worker(void *arg)
{
	struct xsess *s = arg;
	struct sbx_exec_opts o;
	char x = 1;

	memset(&o, 0, sizeof(o));
	o.argv = (const char *const *)s->x.argv;
	o.env = (const char *const *)s->x.env;
	o.cwd = s->x.cwd;
	o.user = s->x.user;
	o.stdin_fd = s->w_in;
	o.stdout_fd = s->w_out;
	o.stderr_fd = s->x.tty ? s->w_out : s->w_err;
	o.tty = s->x.tty;
	o.rows = s->x.rows;
	o.cols = s->x.cols;
	o.tty_resize_fd = s->x.tty ? s->w_resize : -1;
	o.detach_byte = -1;
	o.timeout_ms = s->x.timeout_ms;
	s->rc = s->b->exec(s->conn, s->query, &o, &s->res, &s->err);
	serve_fd_close(&s->w_in);
	serve_fd_close(&s->w_out);
	serve_fd_close(&s->w_err);
	serve_fd_close(&s->w_resize);
	pthread_mutex_lock(&s->mu);
	if (s->done_w >= 0 && write(s->done_w, &x, 1) < 0)
		x = 0;
	pthread_mutex_unlock(&s->mu);
	xsess_unref(s);
	return NULL;
}

/* A host pty in raw mode of the given size: master in *m, slave in *sl. */
static int
open_pty(unsigned rows, unsigned cols, int *m, int *sl, struct sbx_err *e)
{
	struct winsize ws = { (unsigned short)(rows ? rows : 24),
	    (unsigned short)(cols ? cols : 80), 0, 0 };
	struct termios t;
	char name[128];

	*m = *sl = -1;
	*m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*m < 0 || grantpt(*m) < 0 || unlockpt(*m) < 0 ||
	    ptsname_r(*m, name, sizeof(name)) != 0)
		goto fail;
	*sl = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*sl < 0 || tcgetattr(*sl, &t) < 0)
		goto fail;
	cfmakeraw(&t);
	if (tcsetattr(*sl, TCSANOW, &t) < 0 ||
	    ioctl(*m, TIOCSWINSZ, &ws) < 0)
		goto fail;
	return 0;
fail:
	sbx_err_sys(e, "cannot open a pseudo-terminal for the session");
	serve_fd_close(m);
	serve_fd_close(sl);
	return -1;
}

static int
pipe_pair(int *r, int *w)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*r = p[0];
	*w = p[1];
	return 0;
}

/* Makes the fds of both sides; 0 or -1 (e). */
static int
make_fds(struct xsess *s, struct sbx_err *e)
{
	if (pipe_pair(&s->w_in, &s->in_w) < 0 ||
	    pipe_pair(&s->done_r, &s->done_w) < 0)
		return sbx_err_sys(e, "cannot make a pipe");
	if (s->x.tty) {
		if (open_pty(s->x.rows, s->x.cols, &s->out_r, &s->w_out, e) < 0)
			return -1;
		if (pipe_pair(&s->w_resize, &s->resize_w) < 0)
			return sbx_err_sys(e, "cannot make a pipe");
	} else if (pipe_pair(&s->out_r, &s->w_out) < 0 ||
	    pipe_pair(&s->err_r, &s->w_err) < 0) {
		return sbx_err_sys(e, "cannot make a pipe");
	}
	fcntl(s->in_w, F_SETFL, O_NONBLOCK);
	fcntl(s->out_r, F_SETFL, O_NONBLOCK);
	if (s->err_r >= 0)
		fcntl(s->err_r, F_SETFL, O_NONBLOCK);
	fcntl(s->resize_w, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Queues an error frame; the session ends once it is sent. */
static void
fail(struct xsess *s, int code, const char *msg)
{
	if (s->failed)
		return;
	sbx_xframe_put_error(&s->tx, code, msg);
	s->failed = 1;
}

/*
 * A SIGNAL frame. The backend interface has no way to signal a running
 * command; with a tty, SIGINT, SIGQUIT and SIGTSTP become the terminal's
 * control characters, which the guest's line discipline turns into the
 * signal for the foreground process group, as a keyboard would.
 */
static void
on_signal(struct xsess *s, int sig)
{
	char c;

	switch (sig) {
	case SIGINT:
		c = 0x03;
		break;
	case SIGQUIT:
		c = 0x1c;
		break;
	case SIGTSTP:
		c = 0x1a;
		break;
	default:
		c = 0;
		break;
	}
	if (!s->x.tty || !c || s->stdin_eof) {
		struct sbx_err e;

		sbx_err_set(&e, SBX_ENOTSUP, "signal %d cannot be sent to "
		    "the command%s (only SIGINT, SIGQUIT and SIGTSTP, as "
		    "terminal characters, with a tty whose input is open)",
		    sig, s->x.tty ? "" : " of a session without a tty");
		fail(s, e.code, e.msg);
		return;
	}
	sbx_buf_add(&s->stdin_q, &c, 1);
}

/* Decodes what the client sent; frames act on the session. */
static void
on_client_bytes(struct xsess *s)
{
	struct sbx_xframe f;
	struct sbx_err e;
	size_t off = 0;
	int rc;

	sbx_err_clear(&e);
	while (!s->failed && (rc = sbx_xframe_next(s->rx.buf, s->rx.len, &off,
	    1, &f, &e)) != 0) {
		if (rc < 0) {
			fail(s, SBX_EINVAL, e.msg);
			break;
		}
		switch (f.type) {
		case SBX_XF_STDIN:
			if (s->stdin_eof) {
				fail(s, SBX_EINVAL, "'stdin' exec frame after "
				    "'stdin-eof'");
				break;
			}
			sbx_buf_add(&s->stdin_q, f.p, f.len);
			break;
		case SBX_XF_STDIN_EOF:
			s->stdin_eof = 1;
			break;
		case SBX_XF_RESIZE:
			if (s->x.tty) {
				struct winsize ws = { (unsigned short)f.rows,
				    (unsigned short)f.cols, 0, 0 };
				char c = 0;

				if (ioctl(s->out_r, TIOCSWINSZ, &ws) == 0 &&
				    write(s->resize_w, &c, 1) < 0) {
					/* full: a resize is pending anyway */
				}
			}
			break;	/* without a tty there is nothing to size */
		case SBX_XF_SIGNAL:
			on_signal(s, f.sig);
			break;
		default:
			break;
		}
	}
	memmove(s->rx.buf, s->rx.buf + off, s->rx.len - off);
	sbx_buf_setlen(&s->rx, s->rx.len - off);
}

/* Moves queued stdin into the command's pipe without blocking. */
static void
feed_stdin(struct xsess *s)
{
	ssize_t n;

	while (s->in_w >= 0 && s->stdin_q.len) {
		n = write(s->in_w, s->stdin_q.buf, s->stdin_q.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			/* The command stopped reading: drop the rest. */
			sbx_buf_reset(&s->stdin_q);
			serve_fd_close(&s->in_w);
			return;
		}
		memmove(s->stdin_q.buf, s->stdin_q.buf + n, s->stdin_q.len -
		    (size_t)n);
		sbx_buf_setlen(&s->stdin_q, s->stdin_q.len - (size_t)n);
	}
	if (s->stdin_eof && !s->stdin_q.len)
		serve_fd_close(&s->in_w);
}

/* Reads output fd *fd into frames of `type`; closes it at EOF (or EIO). */
static void
read_output(struct xsess *s, int *fd, unsigned type)
{
	char buf[READ_CHUNK];
	ssize_t n;

	while (*fd >= 0 && s->tx.len < QUEUE_MAX) {
		n = read(*fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			serve_fd_close(fd);
			return;
		}
		sbx_xframe_put(&s->tx, type, buf, (size_t)n);
	}
}

/* Sends what the socket takes; -1 when the client is gone. */
static int
flush_tx(struct xsess *s)
{
	ssize_t n;

	while (s->tx.len) {
		n = send(s->sock, s->tx.buf, s->tx.len, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0)
			return -1;
		memmove(s->tx.buf, s->tx.buf + n, s->tx.len - (size_t)n);
		sbx_buf_setlen(&s->tx, s->tx.len - (size_t)n);
	}
	return 0;
}

/* Receives what the client sent; -1 when it closed or failed. */
static int
recv_rx(struct xsess *s)
{
	ssize_t n;

	if (sbx_buf_grow(&s->rx, READ_CHUNK) < 0)
		return -1;
	n = recv(s->sock, s->rx.buf + s->rx.len, READ_CHUNK, MSG_DONTWAIT);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	sbx_buf_setlen(&s->rx, s->rx.len + (size_t)n);
	return 0;
}

/* The last frame: the exit status, or the op's error. */
static void
finish(struct xsess *s)
{
	if (s->failed)
		return;
	if (s->rc < 0) {
		fail(s, s->err.code ? s->err.code : s->rc, s->err.msg);
		return;
	}
	sbx_xframe_put_exit(&s->tx, s->res.exit_code, s->res.signal);
	s->failed = 1;	/* nothing follows */
}

static int
running(const struct xsess *s)
{
	return !__atomic_load_n(&s->srv->stopping, __ATOMIC_SEQ_CST);
}

/* The session loop; returns when the session is over either way. */
static void
session(struct xsess *s)
{
	uint64_t drain_end = 0, flush_end = 0;

	while (running(s)) {
		struct pollfd p[5];
		int n = 0, i_sock = -1, i_in = -1, i_out = -1, i_err = -1,
		    i_done = -1;

		if (s->failed) {
			if (!flush_end)
				flush_end = sbx_clock_ms() + (uint64_t)
				    s->srv->timeout_s * 1000u;
			if (!s->tx.len || sbx_clock_ms() >= flush_end)
				return;
		}
		if (s->done && !s->failed && ((s->out_r < 0 && s->err_r < 0) ||
		    sbx_clock_ms() >= drain_end)) {
			finish(s);
			continue;
		}
		i_sock = n;
		p[n++] = (struct pollfd){ .fd = s->sock, .events =
		    (s->stdin_q.len < QUEUE_MAX && !s->failed ? POLLIN : 0) |
		    (s->tx.len ? POLLOUT : 0) };
		if (s->in_w >= 0 && s->stdin_q.len) {
			i_in = n;
			p[n++] = (struct pollfd){ .fd = s->in_w,
			    .events = POLLOUT };
		}
		if (s->out_r >= 0 && s->tx.len < QUEUE_MAX && !s->failed) {
			i_out = n;
			p[n++] = (struct pollfd){ .fd = s->out_r,
			    .events = POLLIN };
		}
		if (s->err_r >= 0 && s->tx.len < QUEUE_MAX && !s->failed) {
			i_err = n;
			p[n++] = (struct pollfd){ .fd = s->err_r,
			    .events = POLLIN };
		}
		if (!s->done) {
			i_done = n;
			p[n++] = (struct pollfd){ .fd = s->done_r,
			    .events = POLLIN };
		}
		if (poll(p, (nfds_t)n, SLICE_MS) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[i_sock].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (recv_rx(s) < 0)
				return;		/* the client is gone */
			on_client_bytes(s);
		}
		if (i_in >= 0 && p[i_in].revents)
			feed_stdin(s);
		else if (s->stdin_eof && !s->stdin_q.len)
			serve_fd_close(&s->in_w);
		if (i_out >= 0 && p[i_out].revents)
			read_output(s, &s->out_r, SBX_XF_STDOUT);
		if (i_err >= 0 && p[i_err].revents)
			read_output(s, &s->err_r, SBX_XF_STDERR);
		if (i_done >= 0 && p[i_done].revents) {
			s->done = 1;	/* the worker's fds are closed */
			drain_end = sbx_clock_ms() + DRAIN_MS;
		}
		if (s->tx.len && flush_tx(s) < 0)
			return;
	}
}

struct upgraded {
	struct xsess *s;
	char *extra;
	size_t extra_len;
};

/* The session thread of one upgraded connection. */
static void *
session_main(void *arg)
{
	struct upgraded *u = arg;
	struct xsess *s = u->s;
	struct sbx_server *srv = s->srv;
	pthread_t th;

	if (u->extra_len) {
		sbx_buf_add(&s->rx, u->extra, u->extra_len);
		on_client_bytes(s);
	}
	free(u->extra);
	free(u);
	pthread_mutex_lock(&s->mu);
	s->refs++;
	pthread_mutex_unlock(&s->mu);
	if (pthread_create(&th, NULL, worker, s) != 0) {
		s->refs--;
		s->rc = sbx_err_set(&s->err, SBX_EIO, "cannot start a thread "
		    "for the command");
		s->done = 1;
	} else {
		pthread_detach(th);
	}
	session(s);
	/* Whatever is left: the command sees EOF and failing writes. */
	pthread_mutex_lock(&s->mu);
	serve_fd_close(&s->done_w);
	pthread_mutex_unlock(&s->mu);
	serve_fd_close(&s->in_w);
	serve_fd_close(&s->out_r);
	serve_fd_close(&s->err_r);
	/* resize_w stays open: a backend polling its read end would see
	 * POLLHUP on every poll. The last unref closes it. */
	MHD_upgrade_action(s->urh, MHD_UPGRADE_ACTION_CLOSE);
	xsess_unref(s);
	__atomic_sub_fetch(&srv->upgraded, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void
on_upgrade(void *cls, struct MHD_Connection *mc, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct upgraded *u = xcalloc(1, sizeof(*u));
	struct xsess *s = cls;
	pthread_attr_t at;
	pthread_t th;

	(void)mc;
	(void)con_cls;
	u->s = s;
	s->sock = sock;
	s->urh = urh;
	if (extra_in_size) {
		u->extra = xmalloc(extra_in_size);
		memcpy(u->extra, extra_in, extra_in_size);
		u->extra_len = extra_in_size;
	}
	__atomic_add_fetch(&s->srv->upgraded, 1, __ATOMIC_SEQ_CST);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &at, session_main, u) != 0) {
		__atomic_sub_fetch(&s->srv->upgraded, 1, __ATOMIC_SEQ_CST);
		free(u->extra);
		free(u);
		xsess_unref(s);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	}
	pthread_attr_destroy(&at);
}

int
exec_wants_upgrade(struct req *r)
{
	const char *up = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND,
	    "Upgrade");
	const char *conn = MHD_lookup_connection_value(r->mc,
	    MHD_HEADER_KIND, "Connection");

	return up && conn && strcasestr(conn, "upgrade") &&
	    !strcasecmp(up, "sbx-exec");
}

enum MHD_Result
h_exec_upgrade(struct req *r, struct sbx_serve_exec_req *x)
{
	struct MHD_Response *resp;
	struct sbx_sandbox sb;
	struct xsess *s;
	struct sbx_err e;
	int rc;

	if (x->stdin_data || x->background) {
		const char *field = x->background ? "background" : "stdin";

		sbx_serve_exec_req_release(x);
		return reply_error(r, 400, "bad_request", "an interactive exec "
		    "(Upgrade: sbx-exec) takes no '%s': stdin comes as frames",
		    field);
	}
	sbx_err_clear(&e);
	/* A missing sandbox is a plain 404, before switching protocols. */
	sbx_sandbox_init(&sb);
	rc = req_conn(r, &e) ? r->srv->backend->get(r->conn, r->arg, &sb, &e) :
	    -1;
	sbx_sandbox_release(&sb);
	if (rc < 0) {
		sbx_serve_exec_req_release(x);
		return reply_err(r, &e);
	}
	s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->refs = 1;
	s->srv = r->srv;
	s->b = r->srv->backend;
	s->conn = r->conn;
	r->conn = NULL;
	s->query = xstrdup(r->arg);
	s->x = *x;
	memset(x, 0, sizeof(*x));
	s->w_in = s->w_out = s->w_err = s->w_resize = -1;
	s->in_w = s->out_r = s->err_r = s->resize_w = -1;
	s->done_r = s->done_w = -1;
	sbx_buf_init(&s->rx, 0);
	sbx_buf_init(&s->tx, 0);
	sbx_buf_init(&s->stdin_q, 0);
	sbx_err_clear(&s->err);
	if (make_fds(s, &e) < 0) {
		xsess_unref(s);
		return reply_err(r, &e);
	}
	resp = MHD_create_response_for_upgrade(on_upgrade, s);
	if (!resp) {
		xsess_unref(s);
		return reply_error(r, 500, "failed", "cannot switch "
		    "protocols");
	}
	MHD_add_response_header(resp, "Upgrade", "sbx-exec");
	return reply_response(r, 101, resp);
}
