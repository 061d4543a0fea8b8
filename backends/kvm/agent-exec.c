/*
 * agent-exec.c - EXEC from the host: streams stdin, output, window size
 * changes; reattaches by request id when the connection drops.
 *
 * Stdin bytes that were still in flight when a connection dropped are
 * lost (the command itself keeps running and its output is kept by the
 * agent); everything else survives a retry.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/agent-client.h"
#include "kvm/agent-client-int.h"
#include "core/banned.h"

#define STDIN_QUEUE_MAX (256u * 1024)
#define EXEC_DONE 2		/* on_frame: EXIT received (not AGENT_DROPPED) */

void
sbx_agent_exec_init(struct sbx_agent_exec *x)
{
	memset(x, 0, sizeof(*x));
	x->stdin_fd = x->stdout_fd = x->stderr_fd = x->resize_fd = -1;
	x->detach_byte = -1;
	if (getrandom(x->id, sizeof(x->id), 0) != (ssize_t)sizeof(x->id)) {
		/* getrandom cannot fail for 16 bytes once the pool is up */
		abort();
	}
}

int
sbx_agent_status_code(const struct sbx_agent_status *st)
{
	return st->sig ? 128 + st->sig : st->code;
}

/* Per-connection state of a running exec. */
struct run {
	struct sbx_agent_exec *x;
	struct sbx_agent_status *st;
	int fd;
	uint8_t *buf;
	struct sbx_buf out;	/* frames not yet sent */
	int stdin_open;
};

/* Appends one frame to the outgoing queue. */
static void
queue_frame(struct run *r, uint8_t type, const void *p, size_t len)
{
	uint8_t hdr[SBX_AGENT_HDR_SIZE];

	sbx_agent_hdr_encode(hdr, type, 0, (uint32_t)len);
	sbx_buf_add(&r->out, hdr, sizeof(hdr));
	if (len)
		sbx_buf_add(&r->out, p, len);
}

static void
queue_msg(struct run *r, struct sbx_agent_msg *m)
{
	struct sbx_agent_enc enc;
	uint8_t tmp[256];

	sbx_agent_enc_init(&enc, tmp, sizeof(tmp));
	sbx_agent_msg_encode(m, &enc);
	queue_frame(r, m->type, enc.buf, enc.len);
}

static void
queue_winsize(struct run *r)
{
	struct sbx_agent_msg m;
	unsigned rows, cols;

	if (!r->x->winsize || r->x->winsize(r->x->cookie, &rows, &cols) != 0)
		return;
	sbx_agent_msg_init(&m, SBX_AGENT_WINSIZE, 0);
	m.rows = rows;
	m.cols = cols;
	m.have |= 1u << SBX_AGENT_T_ROWS | 1u << SBX_AGENT_T_COLS;
	queue_msg(r, &m);
}

/* Sends what the socket takes without blocking; -1 when it failed. */
static int
flush_some(struct run *r, int block)
{
	while (r->out.len) {
		ssize_t n = send(r->fd, r->out.buf, r->out.len,
		    MSG_NOSIGNAL | (block ? 0 : MSG_DONTWAIT));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		memmove(r->out.buf, r->out.buf + n, r->out.len - (size_t)n);
		sbx_buf_setlen(&r->out, r->out.len - (size_t)n);
	}
	return 0;
}

/* Hands output to the callback or fd. 0, or an SBX_E code to stop. */
static int
deliver(struct run *r, int stream, const void *p, size_t len,
    struct sbx_err *e)
{
	struct sbx_agent_exec *x = r->x;
	int fd = stream == 1 ? x->stdout_fd : x->stderr_fd;

	if (x->on_output) {
		if (x->on_output(x->cookie, stream, p, len) != 0)
			return sbx_err_set(e, SBX_EFAIL, "output consumer "
			    "stopped the command");
		return 0;
	}
	if (fd >= 0 && sbx_agent_write_full(fd, p, len) < 0)
		return sbx_err_sys(e, "cannot write the command's %s",
		    stream == 1 ? "stdout" : "stderr");
	return 0;
}

/*
 * Handles one frame from the agent: EXEC_DONE when the exec ended, 0 to
 * go on, AGENT_DROPPED, or an SBX_E code.
 */
static int
on_frame(struct run *r, struct sbx_err *e)
{
	struct sbx_agent_hdr h;
	struct sbx_agent_msg m;
	const char *why = "";
	int rc;

	rc = sbx_agent_read_frame(r->fd, &h, r->buf, &why);
	if (rc == 1 || rc == -EPIPE || rc == -ECONNRESET ||
	    (rc == -EPROTO && !strncmp(why, "connection closed", 17))) {
		sbx_err_set(e, SBX_ENET, "the agent closed the connection");
		return AGENT_DROPPED;
	}
	if (rc < 0)
		return sbx_err_set(e, SBX_EINVAL, "bad frame from the agent: "
		    "%s", why);
	if (h.type == SBX_AGENT_STDOUT || h.type == SBX_AGENT_STDERR)
		return deliver(r, h.type == SBX_AGENT_STDOUT ? 1 : 2, r->buf,
		    h.len, e);
	if (sbx_agent_msg_decode(h.type, h.flags, r->buf, h.len, &m, &why) < 0)
		return sbx_err_set(e, SBX_EINVAL, "bad '%s' frame from the "
		    "agent: %s", sbx_agent_type_name(h.type), why);
	rc = 0;
	if (h.type == SBX_AGENT_EXIT) {
		r->st->exited = 1;
		r->st->sig = SBX_AGENT_HAS(&m, SBX_AGENT_T_SIGNAL) ?
		    (int)m.sig : 0;
		r->st->code = r->st->sig ? 0 : (int)m.code;
		rc = EXEC_DONE;
	} else if (h.type == SBX_AGENT_ERROR) {
		rc = agent_remote_error(&m, e);
	} else {
		rc = sbx_err_set(e, SBX_EINVAL, "unexpected '%s' frame during "
		    "exec", sbx_agent_type_name(h.type));
	}
	sbx_agent_msg_free(&m);
	return rc;
}

/* Reads stdin once; 1 when the detach byte was seen. */
static int
on_stdin(struct run *r, struct sbx_err *e)
{
	uint8_t tmp[SBX_AGENT_CHUNK];
	ssize_t n = read(r->x->stdin_fd, tmp, sizeof(tmp));
	uint8_t *d;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		queue_frame(r, SBX_AGENT_STDIN_EOF, NULL, 0);
		r->stdin_open = 0;
		return 0;
	}
	if (r->x->detach_byte >= 0 &&
	    (d = memchr(tmp, r->x->detach_byte, (size_t)n))) {
		if (d > tmp)
			queue_frame(r, SBX_AGENT_STDIN, tmp, (size_t)(d - tmp));
		return 1;
	}
	queue_frame(r, SBX_AGENT_STDIN, tmp, (size_t)n);
	return 0;
}

/* Streams one connection: 0 done, AGENT_DROPPED, or an SBX_E code. */
static int
run_stream(struct run *r, struct sbx_err *e)
{
	struct sbx_agent_exec *x = r->x;
	struct sbx_agent_msg m;
	int rc;

	if ((rc = agent_read_msg(r->fd, r->buf, &m, e)) != 0)
		return rc;
	if (m.type == SBX_AGENT_ERROR) {
		rc = agent_remote_error(&m, e);
		sbx_agent_msg_free(&m);
		return rc;
	}
	if (m.type != SBX_AGENT_STARTED) {
		sbx_agent_msg_free(&m);
		return sbx_err_set(e, SBX_EINVAL, "unexpected '%s' reply to "
		    "exec", sbx_agent_type_name(m.type));
	}
	r->st->pid = (pid_t)m.pid;
	sbx_agent_msg_free(&m);
	if (x->background)
		return 0;
	for (;;) {
		struct pollfd p[3];

		p[0] = (struct pollfd){ .fd = r->fd, .events = POLLIN |
		    (r->out.len ? POLLOUT : 0) };
		p[1] = (struct pollfd){ .fd = r->stdin_open &&
		    r->out.len < STDIN_QUEUE_MAX ? x->stdin_fd : -1,
		    .events = POLLIN };
		p[2] = (struct pollfd){ .fd = x->resize_fd, .events = POLLIN };
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return sbx_err_sys(e, "poll");
		}
		if ((p[0].revents & POLLOUT) && flush_some(r, 0) < 0)
			return AGENT_DROPPED;
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = on_frame(r, e);
			if (rc == EXEC_DONE)
				return 0;
			if (rc != 0)
				return rc;
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			rc = on_stdin(r, e);
			if (rc == 1) {
				flush_some(r, 1);
				r->st->detached = 1;
				return 0;
			}
		}
		if (p[2].revents & POLLIN) {
			char junk[64];

			if (read(x->resize_fd, junk, sizeof(junk)) >= 0)
				queue_winsize(r);
		}
	}
}

/* Builds the EXEC request of `x`. */
static void
build_request(struct sbx_agent_exec *x, struct sbx_agent_msg *m)
{
	size_t i;

	sbx_agent_msg_init(m, SBX_AGENT_EXEC,
	    (x->pty ? SBX_AGENT_F_PTY : 0) |
	    (x->background ? SBX_AGENT_F_BACKGROUND : 0) |
	    (x->stdin_fd >= 0 && !x->background ? SBX_AGENT_F_STDIN : 0));
	memcpy(m->id, x->id, SBX_AGENT_ID_LEN);
	m->have |= 1u << SBX_AGENT_T_ID;
	for (i = 0; x->argv && x->argv[i]; i++)
		sbx_agent_msg_push(m, SBX_AGENT_T_ARG, x->argv[i]);
	for (i = 0; x->env && x->env[i]; i++)
		sbx_agent_msg_push(m, SBX_AGENT_T_ENV, x->env[i]);
	if (x->cwd)
		sbx_agent_msg_set(m, SBX_AGENT_T_CWD, x->cwd);
	if (x->user)
		sbx_agent_msg_set(m, SBX_AGENT_T_USER, x->user);
	if (x->log)
		sbx_agent_msg_set(m, SBX_AGENT_T_LOG, x->log);
	if (x->pty && !x->rows && x->winsize)
		x->winsize(x->cookie, &x->rows, &x->cols);
	if (x->pty && x->rows && x->cols) {
		m->rows = x->rows;
		m->cols = x->cols;
		m->have |= 1u << SBX_AGENT_T_ROWS | 1u << SBX_AGENT_T_COLS;
	}
}

int
sbx_agent_run(struct sbx_agent *a, struct sbx_agent_exec *x,
    struct sbx_agent_status *st, struct sbx_err *e)
{
	struct sbx_agent_msg req;
	struct run r = { .x = x, .st = st };
	int attempt, rc = SBX_ENET;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; x->env && x->env[i]; i++)
		if (!strchr(x->env[i], '='))
			return sbx_err_set(e, SBX_EUSAGE, "environment entry "
			    "'%s' has no '='", x->env[i]);
	if ((!x->argv || !x->argv[0]) && !x->pty)
		return sbx_err_set(e, SBX_EUSAGE, "no command to run");
	build_request(x, &req);
	r.buf = xmalloc(SBX_AGENT_MAX_PAYLOAD);
	sbx_buf_init(&r.out, 0);
	r.stdin_open = x->stdin_fd >= 0 && !x->background;
	for (attempt = 0; attempt < (a->attempts > 0 ? a->attempts : 1);
	    attempt++) {
		if (attempt)
			agent_sleep_ms(a->backoff_ms);
		if ((r.fd = agent_connect(a, e)) < 0) {
			rc = r.fd;
			break;
		}
		sbx_buf_reset(&r.out);
		if (sbx_agent_write_msg(r.fd, &req) < 0) {
			close(r.fd);
			rc = SBX_ENET;
			continue;
		}
		rc = run_stream(&r, e);
		close(r.fd);
		if (rc != AGENT_DROPPED)
			break;
		rc = SBX_ENET;
	}
	if (rc == SBX_ENET)
		sbx_err_prefix(e, "exec of '%s'", x->argv && x->argv[0] ?
		    x->argv[0] : "shell");
	sbx_agent_msg_free(&req);
	sbx_buf_release(&r.out);
	free(r.buf);
	return rc;
}
