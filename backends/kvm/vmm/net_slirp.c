/*
 * net_slirp.c - libslirp driven by the VMM's epoll loop (net_slirp.h).
 *
 * slirp speaks poll(2): slirp_pollfds_fill() lists the fds and events it
 * wants and a timeout, slirp_pollfds_poll() consumes the results. Here
 * the listed fds go into an inner epoll set whose fd the VMM loop
 * watches; when it is readable, or the timerfd fires, one round runs:
 * poll(2) over the last list with no wait, slirp_pollfds_poll(), expired
 * slirp timers, then a new fill that updates the inner set and re-arms
 * the timerfd.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/net_slirp.h"
#include "core/banned.h"

struct stimer {
	SlirpTimerCb cb;
	void *cb_opaque;
	int64_t expire_ms;	/* -1: not armed */
	struct stimer *next;
};

struct net_slirp {
	Slirp *slirp;
	struct loop *loop;
	net_to_guest_fn to_guest;
	void *arg;
	int ep;			/* inner epoll set of slirp's sockets */
	int tfd;		/* timerfd: slirp's timeout and timers */
	struct pollfd *pfd;	/* the last fill, by slirp's index */
	size_t npfd, cap;
	uint8_t *reg;		/* 1: fd is in the inner set */
	unsigned *seen;		/* round in which fd was listed, by fd */
	size_t nreg;
	unsigned round;
	uint32_t timeout_ms;	/* from the last fill */
	struct stimer *timers;
	unsigned guest_errors;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static ssize_t
cb_send(const void *buf, size_t len, void *opaque)
{
	struct net_slirp *s = opaque;

	s->to_guest(s->arg, buf, len);
	return (ssize_t)len;
}

static void
cb_guest_error(const char *msg, void *opaque)
{
	struct net_slirp *s = opaque;

	if (s->guest_errors++ < 10)
		vmm_log("net: guest error: %s", msg);
}

static int64_t
cb_clock(void *opaque)
{
	(void)opaque;
	return now_ns();
}

static void *
cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct net_slirp *s = opaque;
	struct stimer *t = xcalloc(1, sizeof(*t));

	t->cb = cb;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = s->timers;
	s->timers = t;
	return t;
}

static void
cb_timer_free(void *timer, void *opaque)
{
	struct net_slirp *s = opaque;
	struct stimer **pp;

	for (pp = &s->timers; *pp; pp = &(*pp)->next)
		if (*pp == timer) {
			*pp = ((struct stimer *)timer)->next;
			free(timer);
			return;
		}
}

static void arm(struct net_slirp *s);

static void
cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct stimer *t = timer;

	t->expire_ms = expire_ms;
	arm(opaque);
}

static void
cb_register(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

/* slirp closed `fd`: forget it, a new socket may get the same number. */
static void
cb_unregister(int fd, void *opaque)
{
	struct net_slirp *s = opaque;

	if (fd >= 0 && (size_t)fd < s->nreg && s->reg[fd]) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
		s->reg[fd] = 0;
	}
}

/* Buffers became free in slirp: run a round soon. */
static void
cb_notify(void *opaque)
{
	struct net_slirp *s = opaque;
	struct itimerspec its = { { 0, 0 }, { 0, 1 } };

	timerfd_settime(s->tfd, 0, &its, NULL);
}

static const SlirpCb callbacks = {
	.send_packet = cb_send,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register,
	.unregister_poll_fd = cb_unregister,
	.notify = cb_notify,
};

static int
add_poll(int fd, int events, void *opaque)
{
	struct net_slirp *s = opaque;
	struct pollfd *p;

	if (s->npfd == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 16;
		s->pfd = xreallocarray(s->pfd, s->cap, sizeof(*s->pfd));
	}
	p = &s->pfd[s->npfd];
	p->fd = fd;
	p->events = (events & SLIRP_POLL_IN ? POLLIN : 0) |
	    (events & SLIRP_POLL_OUT ? POLLOUT : 0) |
	    (events & SLIRP_POLL_PRI ? POLLPRI : 0);
	p->revents = 0;
	return (int)s->npfd++;
}

static int
get_revents(int idx, void *opaque)
{
	struct net_slirp *s = opaque;
	short r;

	if (idx < 0 || (size_t)idx >= s->npfd)
		return 0;
	r = s->pfd[idx].revents;
	return (r & POLLIN ? SLIRP_POLL_IN : 0) |
	    (r & POLLOUT ? SLIRP_POLL_OUT : 0) |
	    (r & POLLPRI ? SLIRP_POLL_PRI : 0) |
	    (r & POLLERR ? SLIRP_POLL_ERR : 0) |
	    (r & POLLHUP ? SLIRP_POLL_HUP : 0);
}

/* Arms the timerfd for the nearer of slirp's timeout and its timers. */
static void
arm(struct net_slirp *s)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	int64_t now = now_ns() / 1000000, when = -1;
	struct stimer *t;

	if (s->timeout_ms != UINT32_MAX)
		when = now + s->timeout_ms;
	for (t = s->timers; t; t = t->next)
		if (t->expire_ms >= 0 && (when < 0 || t->expire_ms < when))
			when = t->expire_ms;
	if (when >= 0) {
		int64_t d = when - now;

		if (d <= 0) {
			its.it_value.tv_nsec = 1;
		} else {
			its.it_value.tv_sec = d / 1000;
			its.it_value.tv_nsec = (d % 1000) * 1000000;
		}
	}
	timerfd_settime(s->tfd, 0, &its, NULL);
}

/* Grows the per-fd tables to hold `fd`. */
static void
reg_grow(struct net_slirp *s, int fd)
{
	size_t n;

	if ((size_t)fd < s->nreg)
		return;
	n = (size_t)fd + 64;
	s->reg = xreallocarray(s->reg, n, sizeof(*s->reg));
	s->seen = xreallocarray(s->seen, n, sizeof(*s->seen));
	memset(s->reg + s->nreg, 0, (n - s->nreg) * sizeof(*s->reg));
	memset(s->seen + s->nreg, 0, (n - s->nreg) * sizeof(*s->seen));
	s->nreg = n;
}

void
net_slirp_sync(struct net_slirp *s)
{
	size_t i;

	s->npfd = 0;
	s->timeout_ms = UINT32_MAX;
	slirp_pollfds_fill(s->slirp, &s->timeout_ms, add_poll, s);
	s->round++;
	for (i = 0; i < s->npfd; i++) {
		struct epoll_event ev = { 0 };
		int fd = s->pfd[i].fd;

		if (fd < 0)
			continue;
		reg_grow(s, fd);
		ev.events = (s->pfd[i].events & POLLIN ? EPOLLIN : 0) |
		    (s->pfd[i].events & POLLOUT ? EPOLLOUT : 0) |
		    (s->pfd[i].events & POLLPRI ? EPOLLPRI : 0);
		ev.data.fd = fd;
		s->seen[fd] = s->round;
		/* MOD every time: an fd number may have been reused. */
		if (s->reg[fd] && epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) == 0) {
			continue;
		}
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) < 0 &&
		    (errno != EEXIST ||
		    epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) < 0)) {
			vmm_log("net: cannot watch socket %d: %s", fd,
			    strerror(errno));
			continue;
		}
		s->reg[fd] = 1;
	}
	for (i = 0; i < s->nreg; i++)
		if (s->reg[i] && s->seen[i] != s->round) {
			epoll_ctl(s->ep, EPOLL_CTL_DEL, (int)i, NULL);
			s->reg[i] = 0;
		}
	arm(s);
}

/* One round of slirp work (I/O thread). */
static void
run_round(struct net_slirp *s)
{
	int64_t now;
	struct stimer *t;
	int err = 0;
	unsigned guard;

	if (s->npfd && poll(s->pfd, s->npfd, 0) < 0 && errno != EINTR)
		err = 1;
	slirp_pollfds_poll(s->slirp, err, get_revents, s);
	/* Timers may free or re-arm themselves: restart after each. */
	for (guard = 0; guard < 64; guard++) {
		now = now_ns() / 1000000;
		for (t = s->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now)
				break;
		if (!t)
			break;
		t->expire_ms = -1;
		t->cb(t->cb_opaque);
	}
	net_slirp_sync(s);
}

static void
on_sockets(void *arg, uint32_t events)
{
	struct net_slirp *s = arg;

	(void)events;
	/* The inner set is level-triggered; poll(2) gives the details. */
	run_round(s);
}

static void
on_timer(void *arg, uint32_t events)
{
	struct net_slirp *s = arg;
	uint64_t n;

	(void)events;
	if (read(s->tfd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	run_round(s);
}

struct net_slirp *
net_slirp_new(struct loop *loop, net_to_guest_fn to_guest, void *arg,
    struct sbx_err *e)
{
	struct net_slirp *s = xcalloc(1, sizeof(*s));
	SlirpConfig cfg;

	s->loop = loop;
	s->to_guest = to_guest;
	s->arg = arg;
	s->timeout_ms = UINT32_MAX;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (s->ep < 0 || s->tfd < 0) {
		sbx_err_sys(e, "net: cannot create the network's event fds");
		goto fail;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.version = 4;
	cfg.in_enabled = true;
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
	inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
	inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
	cfg.vhostname = "sbx";
	cfg.if_mtu = 1500;
	cfg.if_mru = 1500;
	s->slirp = slirp_new(&cfg, &callbacks, s);
	if (!s->slirp) {
		sbx_err_set(e, SBX_EIO, "net: cannot start libslirp");
		goto fail;
	}
	if (loop && (loop_add(loop, s->ep, EPOLLIN, on_sockets, s) < 0 ||
	    loop_add(loop, s->tfd, EPOLLIN, on_timer, s) < 0)) {
		sbx_err_sys(e, "net: cannot watch the network's event fds");
		goto fail;
	}
	net_slirp_sync(s);
	return s;
fail:
	net_slirp_free(s);
	return NULL;
}

void
net_slirp_free(struct net_slirp *s)
{
	struct stimer *t;

	if (!s)
		return;
	if (s->loop) {
		loop_del(s->loop, s->ep);
		loop_del(s->loop, s->tfd);
	}
	if (s->slirp)
		slirp_cleanup(s->slirp);
	while ((t = s->timers)) {
		s->timers = t->next;
		free(t);
	}
	if (s->ep >= 0)
		close(s->ep);
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->pfd);
	free(s->reg);
	free(s->seen);
	free(s);
}

void
net_slirp_input(struct net_slirp *s, const uint8_t *frame, size_t len)
{
	if (len > 0 && len <= 65535)
		slirp_input(s->slirp, frame, (int)len);
}

/* A free TCP port on `a` (bound and released: slirp binds it next). */
static int
pick_port(struct in_addr a, unsigned *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = a };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	*port = ntohs(sa.sin_port);
	return 0;
}

int
net_slirp_forward(struct net_slirp *s, const char *addr,
    unsigned host_port, unsigned guest_port, unsigned *bound,
    struct sbx_err *e)
{
	struct in_addr ha, ga;
	unsigned port = host_port;
	int tries;

	if (inet_pton(AF_INET, addr, &ha) != 1)
		return sbx_err_set(e, SBX_EUSAGE, "host address '%s' is not "
		    "an IPv4 address", addr);
	if (guest_port < 1 || guest_port > 65535 || host_port > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "ports must be in 1..65535");
	inet_pton(AF_INET, "10.0.2.15", &ga);
	for (tries = 0; tries < 5; tries++) {
		if (!host_port && pick_port(ha, &port) < 0)
			return sbx_err_sys(e, "cannot find a free port on "
			    "'%s'", addr);
		if (slirp_add_hostfwd(s->slirp, 0, ha, (int)port, ga,
		    (int)guest_port) == 0) {
			*bound = port;
			net_slirp_sync(s);
			return 0;
		}
		if (host_port)
			break;
	}
	return sbx_err_set(e, SBX_EBUSY, "cannot listen on %s:%u for guest "
	    "port %u (in use?)", addr, port, guest_port);
}

int
net_slirp_unforward(struct net_slirp *s, const char *addr,
    unsigned host_port, struct sbx_err *e)
{
	struct in_addr ha;

	if (inet_pton(AF_INET, addr, &ha) != 1)
		return sbx_err_set(e, SBX_EUSAGE, "host address '%s' is not "
		    "an IPv4 address", addr);
	if (host_port < 1 || host_port > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "ports must be in 1..65535");
	if (slirp_remove_hostfwd(s->slirp, 0, ha, (int)host_port) < 0)
		return sbx_err_set(e, SBX_ENOENT, "no forward listens on "
		    "%s:%u", addr, host_port);
	net_slirp_sync(s);
	return 0;
}

int
net_slirp_forward_unix(struct net_slirp *s, const char *path,
    unsigned guest_port, struct sbx_err *e)
{
	struct sockaddr_un ha = { .sun_family = AF_UNIX };
	struct sockaddr_in ga = { .sin_family = AF_INET };
	struct stat st;
	size_t n = path ? strlen(path) : 0;

	if (n == 0 || path[0] != '/' || n >= sizeof(ha.sun_path))
		return sbx_err_set(e, SBX_EUSAGE, "a unix socket path must be "
		    "absolute and under %zu bytes", sizeof(ha.sun_path));
	if (guest_port < 1 || guest_port > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "ports must be in 1..65535");
	/* A socket left by an earlier VMM is replaced; nothing else is. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sbx_err_set(e, SBX_EEXIST, "'%s' exists and is "
			    "not a socket", path);
		if (unlink(path) < 0)
			return sbx_err_sys(e, "cannot remove '%s'", path);
	}
	memcpy(ha.sun_path, path, n + 1);
	inet_pton(AF_INET, "10.0.2.15", &ga.sin_addr);
	ga.sin_port = htons((uint16_t)guest_port);
	if (slirp_add_hostxfwd(s->slirp, (struct sockaddr *)&ha, sizeof(ha),
	    (struct sockaddr *)&ga, sizeof(ga), 0) < 0)
		return sbx_err_set(e, SBX_EIO, "cannot listen on '%s' for "
		    "guest port %u", path, guest_port);
	net_slirp_sync(s);
	return 0;
}
