/*
 * vsock-mux.c - connection state machine and credit accounting of the
 * userspace vsock (see vsock-mux.h).
 *
 * A connection moves HANDSHAKE (host sent nothing yet, or part of its
 * CONNECT line) -> CONNECTING (REQUEST queued or sent) -> OPEN -> freed.
 * Packets for the guest are not stored: each connection keeps flags for
 * the control packets it owes (REQUEST, RESPONSE, RST, CREDIT_UPDATE,
 * SHUTDOWN) and a small buffer of host bytes already read, and
 * vsock_mux_rx() turns those into one packet at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/vsock-mux.h"
#include "core/banned.h"

#define HBUF_SIZE (64u * 1024)		/* host -> guest bytes read ahead */
#define CREDIT_THRESH (64u * 1024)	/* unreported forwarded bytes */
#define LINE_MAX_LEN 40
#define MAX_RAW_RST 64

enum cstate { C_FREE, C_HANDSHAKE, C_CONNECTING, C_OPEN, C_DEAD };

enum {
	P_REQUEST = 1,
	P_RESPONSE = 2,
	P_RST = 4,
	P_CREDIT = 8,
	P_SHUTDOWN = 16,
};

struct vconn {
	struct vsock_mux *m;
	enum cstate state;
	int fd;				/* host socket, -1 once closed */
	uint32_t events;		/* what is watched now */
	uint32_t lport, pport;		/* host-side port, guest port */
	char line[LINE_MAX_LEN];
	size_t linelen;
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	uint32_t fwd_cnt, fwd_sent;
	uint8_t *gbuf;			/* guest bytes not yet on the host */
	size_t glen;
	uint8_t *hbuf;			/* host bytes not yet sent to guest */
	size_t hlen;
	unsigned pend;			/* P_* packets owed to the guest */
	uint32_t shut_flags;
	int host_eof;			/* host will send no more */
	int hup;			/* host hung up: fd no longer watched */
	int guest_no_send, guest_no_rcv;
};

struct raw_rst {
	uint32_t src_port, dst_port;	/* as seen from the host */
};

struct vsock_mux {
	uint64_t cid;
	char *path;
	int lfd;
	const struct vsock_mux_ops *ops;
	void *owner;
	uint32_t next_port;
	unsigned rr;
	struct raw_rst rst[MAX_RAW_RST];
	unsigned nrst;
	struct vconn conns[VSOCK_MAX_CONNS];
	uint64_t opened;	/* connections ever made, both directions */
};

static void
put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

void
vsock_hdr_encode(uint8_t out[VSOCK_HDR_SIZE], const struct vsock_hdr *h)
{
	put32(out, (uint32_t)h->src_cid);
	put32(out + 4, (uint32_t)(h->src_cid >> 32));
	put32(out + 8, (uint32_t)h->dst_cid);
	put32(out + 12, (uint32_t)(h->dst_cid >> 32));
	put32(out + 16, h->src_port);
	put32(out + 20, h->dst_port);
	put32(out + 24, h->len);
	out[28] = h->type & 0xff;
	out[29] = h->type >> 8;
	out[30] = h->op & 0xff;
	out[31] = h->op >> 8;
	put32(out + 32, h->flags);
	put32(out + 36, h->buf_alloc);
	put32(out + 40, h->fwd_cnt);
}

void
vsock_hdr_decode(const uint8_t in[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
	h->src_cid = (uint64_t)get32(in) | (uint64_t)get32(in + 4) << 32;
	h->dst_cid = (uint64_t)get32(in + 8) | (uint64_t)get32(in + 12) << 32;
	h->src_port = get32(in + 16);
	h->dst_port = get32(in + 20);
	h->len = get32(in + 24);
	h->type = (uint16_t)(in[28] | in[29] << 8);
	h->op = (uint16_t)(in[30] | in[31] << 8);
	h->flags = get32(in + 32);
	h->buf_alloc = get32(in + 36);
	h->fwd_cnt = get32(in + 40);
}

/* Bytes the guest can still take on this connection. */
static uint32_t
peer_free(const struct vconn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

static void read_host(struct vconn *c);

/*
 * Brings the fd watch in line with what the connection can do now. After
 * a hang-up epoll would report the fd forever, so it is not watched and
 * the remaining bytes are read here whenever there is room for them.
 */
static void
update_watch(struct vconn *c)
{
	uint32_t ev = 0;

	if (c->fd < 0)
		return;
	if (c->state == C_HANDSHAKE)
		ev |= EPOLLIN;
	if (c->state == C_OPEN && !c->host_eof && !c->guest_no_rcv &&
	    c->hlen < HBUF_SIZE && peer_free(c) > c->hlen)
		ev |= EPOLLIN;
	if (c->glen)
		ev |= EPOLLOUT;
	if (c->hup) {
		if (ev & EPOLLIN)
			read_host(c);
		return;
	}
	if (ev != c->events && c->m->ops->modify(c->m->owner, c->fd, ev) == 0)
		c->events = ev;
}

/* Closes the host side of `c`. */
static void
close_host(struct vconn *c)
{
	if (c->fd >= 0) {
		if (!c->hup)
			c->m->ops->unwatch(c->m->owner, c->fd);
		close(c->fd);
		c->fd = -1;
	}
	free(c->gbuf);
	free(c->hbuf);
	c->gbuf = c->hbuf = NULL;
	c->glen = c->hlen = 0;
}

static void
conn_free(struct vconn *c)
{
	close_host(c);
	c->state = C_FREE;
}

/*
 * Ends `c`: closes the host socket and, when the guest knows the
 * connection, owes it an RST (the slot is freed once that is sent).
 */
static void
conn_reset(struct vconn *c)
{
	int guest_knows = c->state == C_OPEN ||
	    (c->state == C_CONNECTING && !(c->pend & P_REQUEST));

	close_host(c);
	if (!guest_knows) {
		c->state = C_FREE;
		return;
	}
	c->state = C_DEAD;
	c->pend = P_RST;
}

static struct vconn *
conn_new(struct vsock_mux *m, int fd)
{
	struct vconn *c;
	unsigned i;

	for (i = 0; i < VSOCK_MAX_CONNS; i++) {
		c = &m->conns[i];
		if (c->state != C_FREE)
			continue;
		memset(c, 0, sizeof(*c));
		c->m = m;
		c->fd = fd;
		c->hbuf = xmalloc(HBUF_SIZE);
		c->gbuf = xmalloc(VSOCK_BUF_ALLOC);
		m->opened++;
		return c;
	}
	return NULL;
}

/*
 * Where host-side ports start: random, so that a restored or forked guest,
 * whose kernel may still hold sockets of the connections its source had
 * (until it handles the transport reset), sees no reused port pair.
 */
static uint32_t
first_port(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)getpid() * 2654435761u;
	return VSOCK_LOCAL_PORT0 + r % (UINT32_MAX - VSOCK_LOCAL_PORT0 - 65536);
}

static uint32_t
alloc_port(struct vsock_mux *m)
{
	for (;;) {
		uint32_t p = m->next_port++;
		unsigned i;

		if (m->next_port < VSOCK_LOCAL_PORT0)
			m->next_port = VSOCK_LOCAL_PORT0;
		for (i = 0; i < VSOCK_MAX_CONNS; i++)
			if (m->conns[i].state != C_FREE &&
			    m->conns[i].lport == p)
				break;
		if (i == VSOCK_MAX_CONNS)
			return p;
	}
}

/* A non-blocking listening socket at `path`; -1 with `e` filled. */
static int
listen_at(const char *path, struct sbx_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) + 12 >= sizeof(sa.sun_path)) {
		sbx_err_set(e, SBX_EINVAL, "vsock socket path '%s' too long",
		    path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0) {
		sbx_err_sys(e, "cannot listen on vsock socket '%s'", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
vsock_mux_rebind(struct vsock_mux *m, const char *uds_path,
    struct sbx_err *e)
{
	int fd = listen_at(uds_path, e);

	if (fd < 0)
		return SBX_EIO;
	if (m->ops->watch(m->owner, fd, EPOLLIN, NULL) < 0) {
		close(fd);
		unlink(uds_path);
		return sbx_err_sys(e, "cannot watch vsock socket '%s'",
		    uds_path);
	}
	m->ops->unwatch(m->owner, m->lfd);
	close(m->lfd);
	m->lfd = fd;
	free(m->path);
	m->path = xstrdup(uds_path);
	return 0;
}

struct vsock_mux *
vsock_mux_new(uint64_t guest_cid, const char *uds_path,
    const struct vsock_mux_ops *ops, void *owner, struct sbx_err *e)
{
	struct vsock_mux *m;

	if (guest_cid <= VSOCK_HOST_CID || guest_cid >= UINT32_MAX) {
		sbx_err_set(e, SBX_EINVAL, "vsock guest CID %llu out of range "
		    "3..%u", (unsigned long long)guest_cid, UINT32_MAX - 1);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->cid = guest_cid;
	m->path = xstrdup(uds_path);
	m->ops = ops;
	m->owner = owner;
	m->next_port = first_port();
	m->lfd = listen_at(uds_path, e);
	if (m->lfd < 0 || ops->watch(owner, m->lfd, EPOLLIN, NULL) < 0) {
		if (m->lfd >= 0) {
			sbx_err_sys(e, "cannot watch vsock socket '%s'",
			    uds_path);
			close(m->lfd);
		}
		free(m->path);
		free(m);
		return NULL;
	}
	return m;
}

void
vsock_mux_free(struct vsock_mux *m)
{
	if (!m)
		return;
	vsock_mux_reset(m);
	m->ops->unwatch(m->owner, m->lfd);
	close(m->lfd);
	unlink(m->path);
	free(m->path);
	free(m);
}

void
vsock_mux_reset(struct vsock_mux *m)
{
	unsigned i;

	for (i = 0; i < VSOCK_MAX_CONNS; i++)
		if (m->conns[i].state != C_FREE)
			conn_free(&m->conns[i]);
	m->nrst = 0;
}

uint64_t
vsock_mux_nopened(const struct vsock_mux *m)
{
	return m->opened;
}

unsigned
vsock_mux_nconns(const struct vsock_mux *m)
{
	unsigned i, n = 0;

	for (i = 0; i < VSOCK_MAX_CONNS; i++)
		n += m->conns[i].state != C_FREE;
	return n;
}

static void
accept_all(struct vsock_mux *m)
{
	for (;;) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		struct vconn *c;

		if (fd < 0)
			return;
		if (!(c = conn_new(m, fd))) {
			close(fd);	/* too many connections */
			continue;
		}
		c->state = C_HANDSHAKE;
		c->events = EPOLLIN;
		if (m->ops->watch(m->owner, fd, EPOLLIN, c) < 0)
			conn_free(c);
	}
}

/* Reads the CONNECT line byte by byte (nothing after it is consumed). */
static void
handshake(struct vconn *c)
{
	unsigned long port;
	char *end;

	for (;;) {
		ssize_t n = read(c->fd, c->line + c->linelen, 1);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_free(c);
			return;
		}
		if (c->line[c->linelen] == '\n')
			break;
		if (++c->linelen >= LINE_MAX_LEN - 1) {
			conn_free(c);
			return;
		}
	}
	c->line[c->linelen] = '\0';
	if (strncmp(c->line, "CONNECT ", 8) || c->line[8] < '0' ||
	    c->line[8] > '9') {
		conn_free(c);
		return;
	}
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (errno || (*end && *end != '\r') || port > UINT32_MAX) {
		conn_free(c);
		return;
	}
	c->pport = (uint32_t)port;
	c->lport = alloc_port(c->m);
	c->state = C_CONNECTING;
	c->pend |= P_REQUEST;
	update_watch(c);
}

/* Writes buffered guest bytes to the host socket. */
static void
flush_guest_bytes(struct vconn *c)
{
	while (c->glen) {
		ssize_t n = send(c->fd, c->gbuf, c->glen, MSG_NOSIGNAL |
		    MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			conn_reset(c);
			return;
		}
		memmove(c->gbuf, c->gbuf + n, c->glen - (size_t)n);
		c->glen -= (size_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (c->fwd_cnt - c->fwd_sent >= CREDIT_THRESH)
		c->pend |= P_CREDIT;
	if (!c->glen && c->guest_no_send) {
		if (c->guest_no_rcv) {
			conn_reset(c);	/* the guest closed: RST ends it */
			return;
		}
		shutdown(c->fd, SHUT_WR);
	}
}

/* Reads host bytes for the guest, within credit and buffer space. */
static void
read_host(struct vconn *c)
{
	size_t room = HBUF_SIZE - c->hlen;
	uint32_t credit = peer_free(c);
	ssize_t n;

	if (credit <= c->hlen || c->host_eof || c->guest_no_rcv)
		return;
	if (room > credit - c->hlen)
		room = credit - c->hlen;
	n = read(c->fd, c->hbuf + c->hlen, room);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		conn_reset(c);
		return;
	}
	if (n == 0) {
		c->host_eof = 1;
		c->pend |= P_SHUTDOWN;
		c->shut_flags |= VSOCK_SHUTDOWN_SEND;
		return;
	}
	c->hlen += (size_t)n;
}

void
vsock_mux_on_host(struct vsock_mux *m, void *cookie, uint32_t events)
{
	struct vconn *c = cookie;

	if (!c) {
		accept_all(m);
		return;
	}
	if (c->fd < 0 || c->state == C_FREE || c->state == C_DEAD)
		return;		/* stale event for a reused slot */
	if (c->state == C_HANDSHAKE) {
		handshake(c);
		return;
	}
	if (c->state == C_CONNECTING && (events & (EPOLLHUP | EPOLLERR))) {
		conn_reset(c);	/* the host gave up before the guest answered */
		return;
	}
	if (c->state != C_OPEN)
		return;
	if ((events & (EPOLLHUP | EPOLLERR)) && !c->hup) {
		c->hup = 1;
		c->m->ops->unwatch(c->m->owner, c->fd);
		c->events = 0;
	}
	if (events & EPOLLOUT)
		flush_guest_bytes(c);
	if (c->state == C_OPEN && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		read_host(c);
	if (c->state == C_OPEN)
		update_watch(c);
}

static struct vconn *
find_conn(struct vsock_mux *m, uint32_t lport, uint32_t pport)
{
	unsigned i;

	for (i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &m->conns[i];

		if ((c->state == C_CONNECTING || c->state == C_OPEN) &&
		    c->lport == lport && c->pport == pport)
			return c;
	}
	return NULL;
}

/* Queues an RST for a packet that matches no connection. */
static void
raw_rst(struct vsock_mux *m, const struct vsock_hdr *h)
{
	if (h->op == VSOCK_OP_RST || m->nrst >= MAX_RAW_RST)
		return;
	m->rst[m->nrst].src_port = h->dst_port;
	m->rst[m->nrst].dst_port = h->src_port;
	m->nrst++;
}

/* A guest REQUEST to a host port: connect to "<path>_<port>". */
static void
guest_connect(struct vsock_mux *m, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vconn *c;
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", m->path,
	    h->dst_port);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    !(c = conn_new(m, fd))) {
		if (fd >= 0)
			close(fd);
		raw_rst(m, h);
		return;
	}
	c->state = C_OPEN;
	c->lport = h->dst_port;
	c->pport = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pend |= P_RESPONSE;
	if (m->ops->watch(m->owner, fd, 0, c) < 0) {
		conn_reset(c);
		return;
	}
	update_watch(c);
}

/* Guest payload for an open connection. */
static void
guest_data(struct vconn *c, const uint8_t *p, uint32_t len)
{
	if (c->state != C_OPEN || c->guest_no_send) {
		conn_reset(c);
		return;
	}
	if (len > VSOCK_BUF_ALLOC - c->glen) {
		conn_reset(c);	/* the guest ignored our credit */
		return;
	}
	memcpy(c->gbuf + c->glen, p, len);
	c->glen += len;
	flush_guest_bytes(c);
}

static void
guest_shutdown(struct vconn *c, uint32_t flags)
{
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->guest_no_send = 1;
	if (flags & VSOCK_SHUTDOWN_RCV) {
		c->guest_no_rcv = 1;
		c->hlen = 0;
	}
	if (c->state != C_OPEN) {
		conn_reset(c);
		return;
	}
	flush_guest_bytes(c);
}

int
vsock_mux_tx(struct vsock_mux *m, const uint8_t *pkt, size_t len,
    const char **why)
{
	struct vsock_hdr h;
	struct vconn *c;

	if (len < VSOCK_HDR_SIZE) {
		*why = "packet shorter than the vsock header";
		return -1;
	}
	vsock_hdr_decode(pkt, &h);
	if (h.len > len - VSOCK_HDR_SIZE || h.len > VSOCK_MAX_PKT) {
		*why = "vsock payload length beyond the packet";
		return -1;
	}
	if (h.src_cid != m->cid || h.dst_cid != VSOCK_HOST_CID) {
		*why = "vsock packet with a foreign CID";
		return -1;
	}
	if (h.type != VSOCK_TYPE_STREAM) {
		raw_rst(m, &h);
		return 0;
	}
	c = find_conn(m, h.dst_port, h.src_port);
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(m, &h);
		else
			raw_rst(m, &h);
		return 0;
	}
	c->peer_buf_alloc = h.buf_alloc;
	c->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VSOCK_OP_RESPONSE: {
		char ok[32];
		int n;

		if (c->state != C_CONNECTING || (c->pend & P_REQUEST)) {
			conn_reset(c);
			break;
		}
		c->state = C_OPEN;
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->lport);
		if (send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    n)
			conn_reset(c);
		break;
	}
	case VSOCK_OP_RST:
		conn_free(c);
		return 0;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(c, h.flags);
		break;
	case VSOCK_OP_RW:
		guest_data(c, pkt + VSOCK_HDR_SIZE, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pend |= P_CREDIT;
		break;
	default:		/* REQUEST on a live connection, or junk */
		conn_reset(c);
		break;
	}
	if (c->state == C_OPEN)
		update_watch(c);
	return 0;
}

static bool
conn_has_packet(const struct vconn *c)
{
	if (c->state == C_FREE || c->state == C_HANDSHAKE)
		return false;
	if (c->pend & (P_REQUEST | P_RESPONSE | P_RST | P_CREDIT))
		return true;
	if (c->state == C_OPEN && c->hlen && peer_free(c))
		return true;
	return (c->pend & P_SHUTDOWN) && !c->hlen;
}

bool
vsock_mux_rx_pending(const struct vsock_mux *m)
{
	unsigned i;

	if (m->nrst)
		return true;
	for (i = 0; i < VSOCK_MAX_CONNS; i++)
		if (conn_has_packet(&m->conns[i]))
			return true;
	return false;
}

/* Fills the header of a packet from `c` (or a raw RST when c is NULL). */
static void
fill(struct vsock_mux *m, struct vconn *c, struct vsock_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = m->cid;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	if (c) {
		h->src_port = c->lport;
		h->dst_port = c->pport;
		h->buf_alloc = VSOCK_BUF_ALLOC;
		h->fwd_cnt = c->fwd_cnt;
		c->fwd_sent = c->fwd_cnt;
		c->pend &= ~(unsigned)P_CREDIT;
	}
}

/* Produces the next packet of `c` into buf; returns its size or 0. */
static size_t
conn_rx(struct vconn *c, uint8_t *buf, size_t cap)
{
	struct vsock_hdr h;
	size_t n = 0;

	if (c->pend & P_REQUEST) {
		fill(c->m, c, &h, VSOCK_OP_REQUEST);
		c->pend &= ~(unsigned)P_REQUEST;
	} else if (c->pend & P_RESPONSE) {
		fill(c->m, c, &h, VSOCK_OP_RESPONSE);
		c->pend &= ~(unsigned)P_RESPONSE;
	} else if (c->pend & P_RST) {
		fill(c->m, c, &h, VSOCK_OP_RST);
		conn_free(c);
	} else if (c->state == C_OPEN && c->hlen && peer_free(c)) {
		n = c->hlen;
		if (n > cap - VSOCK_HDR_SIZE)
			n = cap - VSOCK_HDR_SIZE;
		if (n > peer_free(c))
			n = peer_free(c);
		fill(c->m, c, &h, VSOCK_OP_RW);
		h.len = (uint32_t)n;
		memcpy(buf + VSOCK_HDR_SIZE, c->hbuf, n);
		memmove(c->hbuf, c->hbuf + n, c->hlen - n);
		c->hlen -= n;
		c->tx_cnt += (uint32_t)n;
		update_watch(c);
	} else if (c->pend & P_CREDIT) {
		fill(c->m, c, &h, VSOCK_OP_CREDIT_UPDATE);
	} else if ((c->pend & P_SHUTDOWN) && !c->hlen) {
		fill(c->m, c, &h, VSOCK_OP_SHUTDOWN);
		h.flags = c->shut_flags;
		c->pend &= ~(unsigned)P_SHUTDOWN;
	} else {
		return 0;
	}
	vsock_hdr_encode(buf, &h);
	return VSOCK_HDR_SIZE + n;
}

size_t
vsock_mux_rx(struct vsock_mux *m, uint8_t *buf, size_t cap)
{
	unsigned i;

	if (cap < VSOCK_HDR_SIZE + 1)
		return 0;
	if (m->nrst) {
		struct vsock_hdr h;

		fill(m, NULL, &h, VSOCK_OP_RST);
		h.src_port = m->rst[m->nrst - 1].src_port;
		h.dst_port = m->rst[m->nrst - 1].dst_port;
		m->nrst--;
		vsock_hdr_encode(buf, &h);
		return VSOCK_HDR_SIZE;
	}
	for (i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct vconn *c = &m->conns[(m->rr + i) % VSOCK_MAX_CONNS];
		size_t n;

		if (!conn_has_packet(c))
			continue;
		n = conn_rx(c, buf, cap);
		if (n) {
			m->rr = (m->rr + i + 1) % VSOCK_MAX_CONNS;
			return n;
		}
	}
	return 0;
}
