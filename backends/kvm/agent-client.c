/*
 * agent-client.c - connections, retries and the simple requests of the
 * host-side agent client. Exec is in agent-exec.c, file transfer in
 * agent-files.c; both use the helpers of agent-client-int.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/xmalloc.h"
#include "kvm/agent-client.h"
#include "kvm/agent-client-int.h"
#include "core/sock.h"
#include "core/banned.h"

#define HANDSHAKE_TIMEOUT_MS 10000

int
sbx_agent_init(struct sbx_agent *a, const char *spec, struct sbx_err *e)
{
	memset(a, 0, sizeof(*a));
	a->attempts = 8;
	a->backoff_ms = 20;
	a->port = SBX_AGENT_VSOCK_PORT;
	if (!strncmp(spec, "unix:", 5) && spec[5]) {
		a->path = xstrdup(spec + 5);
		return 0;
	}
	if (!strncmp(spec, "vsock:", 6) && spec[6]) {
		const char *colon = strrchr(spec + 6, ':');
		long long port;

		a->vsock = 1;
		if (colon && colon[1] >= '0' && colon[1] <= '9') {
			if (sbx_parse_int(colon + 1, 1, UINT32_MAX, &port,
			    e) < 0)
				return SBX_EINVAL;
			a->port = (uint32_t)port;
			a->path = xstrndup(spec + 6, (size_t)(colon - spec - 6));
		} else {
			a->path = xstrdup(spec + 6);
		}
		return 0;
	}
	return sbx_err_set(e, SBX_EINVAL, "bad agent address '%s'", spec);
}

void
sbx_agent_release(struct sbx_agent *a)
{
	free(a->path);
	a->path = NULL;
	free(a->revive_arg);
	a->revive_arg = NULL;
	a->revive = NULL;
}

int
agent_errno_code(int err)
{
	switch (err) {
	case ENOENT:
		return SBX_ENOENT;
	case EEXIST:
		return SBX_EEXIST;
	case EACCES:
	case EPERM:
		return SBX_EPERM;
	case EPROTO:
		return SBX_EINVAL;
	}
	return SBX_EIO;
}

int
agent_remote_error(const struct sbx_agent_msg *m, struct sbx_err *e)
{
	int code = agent_errno_code((int)m->err);

	sbx_err_set(e, code, "%s", m->message ? m->message : "agent error");
	if (e)
		e->sys_errno = (int)m->err;
	return code;
}

void
agent_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Reads the "OK <port>\n" line of the vsock handshake. 0 or -errno. */
static int
vsock_handshake(int fd, uint32_t port)
{
	char line[64];
	size_t n = 0;
	int len, r;

	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	if ((r = sbx_agent_write_full(fd, line, (size_t)len)) < 0)
		return r;
	while (n < sizeof(line) - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		/* The VMM answers once the guest accepted or refused. */
		if (poll(&p, 1, HANDSHAKE_TIMEOUT_MS) == 0)
			return -ETIMEDOUT;
		k = read(fd, line + n, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNREFUSED;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	return strncmp(line, "OK ", 3) ? -ECONNREFUSED : 0;
}

/* One connection attempt; returns an fd or -errno. */
static int
connect_once(struct sbx_agent *a)
{
	int fd = sbx_unix_connect(a->path), r;

	if (fd < 0)
		return fd;
	if (a->vsock && (r = vsock_handshake(fd, a->port)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int
agent_connect(struct sbx_agent *a, struct sbx_err *e)
{
	unsigned delay;
	int i, round, fd = -EINVAL;

	for (round = 0; round < 2; round++) {
		delay = a->backoff_ms ? a->backoff_ms : 20;
		for (i = 0; i < (a->attempts > 0 ? a->attempts : 1); i++) {
			if (i)
				agent_sleep_ms(delay), delay = delay * 2 >
				    1000 ? 1000 : delay * 2;
			fd = connect_once(a);
			if (fd >= 0)
				return fd;
			if (fd != -ECONNREFUSED && fd != -ENOENT &&
			    fd != -EAGAIN && fd != -ECONNRESET &&
			    fd != -EPIPE && fd != -ETIMEDOUT)
				break;
		}
		if (round || !a->revive || a->revive(a->revive_arg) != 0)
			break;
	}
	errno = -fd;
	sbx_err_sys(e, "cannot connect to the agent at '%s'%s", a->path,
	    a->vsock ? " (vsock)" : "");
	return SBX_ENET;
}

int
agent_read_msg(int fd, uint8_t *buf, struct sbx_agent_msg *m,
    struct sbx_err *e)
{
	struct sbx_agent_hdr h;
	const char *why = "";
	int r;

	r = sbx_agent_read_frame(fd, &h, buf, &why);
	if (r == 1 || r == -EPIPE || r == -ECONNRESET ||
	    (r == -EPROTO && !strncmp(why, "connection closed", 17))) {
		sbx_err_set(e, SBX_ENET, "the agent closed the connection");
		return AGENT_DROPPED;
	}
	if (r < 0 && r != -EPROTO) {
		errno = -r;
		sbx_err_sys(e, "cannot read from the agent");
		return AGENT_DROPPED;
	}
	if (r < 0 || sbx_agent_msg_decode(h.type, h.flags, buf, h.len, m,
	    &why) < 0)
		return sbx_err_set(e, SBX_EINVAL, "bad '%s' frame from the "
		    "agent: %s", sbx_agent_type_name(h.type), why);
	return 0;
}

/*
 * Sends `req` on a new connection and reads one reply into `reply`,
 * retrying the whole request when the connection drops. With
 * `ok_errnos`, an ERROR whose errno is listed counts as success on a
 * retry (the first attempt may have done the work).
 */
static int
simple_request(struct sbx_agent *a, const struct sbx_agent_msg *req,
    struct sbx_agent_msg *reply, const int *ok_errnos, struct sbx_err *e)
{
	uint8_t *buf = xmalloc(SBX_AGENT_MAX_PAYLOAD);
	int attempt, r = SBX_ENET;

	for (attempt = 0; attempt < (a->attempts > 0 ? a->attempts : 1);
	    attempt++) {
		int fd;

		if (attempt)
			agent_sleep_ms(a->backoff_ms);
		if ((fd = agent_connect(a, e)) < 0) {
			r = fd;
			break;
		}
		if (sbx_agent_write_msg(fd, req) < 0) {
			close(fd);
			continue;
		}
		r = agent_read_msg(fd, buf, reply, e);
		close(fd);
		if (r == AGENT_DROPPED) {
			r = SBX_ENET;
			continue;
		}
		if (r < 0)
			break;
		if (reply->type == SBX_AGENT_ERROR) {
			const int *p;

			for (p = ok_errnos; attempt && p && *p; p++)
				if (*p == (int)reply->err)
					break;
			if (attempt && p && *p) {
				sbx_agent_msg_free(reply);
				sbx_agent_msg_init(reply, SBX_AGENT_OK, 0);
				r = 0;
				break;
			}
			r = agent_remote_error(reply, e);
			sbx_agent_msg_free(reply);
			break;
		}
		if (reply->type != SBX_AGENT_OK) {
			r = sbx_err_set(e, SBX_EINVAL, "unexpected '%s' reply "
			    "from the agent", sbx_agent_type_name(reply->type));
			sbx_agent_msg_free(reply);
			break;
		}
		r = 0;
		break;
	}
	free(buf);
	return r;
}

/* simple_request for requests whose reply carries nothing we need. */
static int
simple(struct sbx_agent *a, struct sbx_agent_msg *req, const int *ok_errnos,
    struct sbx_err *e)
{
	struct sbx_agent_msg reply;
	int r = simple_request(a, req, &reply, ok_errnos, e);

	if (r == 0)
		sbx_agent_msg_free(&reply);
	sbx_agent_msg_free(req);
	return r;
}

int
sbx_agent_ping(struct sbx_agent *a, struct sbx_agent_info *info,
    struct sbx_err *e)
{
	struct sbx_agent_msg req, reply;
	int r;

	sbx_agent_msg_init(&req, SBX_AGENT_PING, 0);
	if ((r = simple_request(a, &req, &reply, NULL, e)) < 0)
		return r;
	if (info) {
		info->version = reply.version;
		info->uptime_ms = reply.uptime;
		info->pid = reply.pid;
	}
	sbx_agent_msg_free(&reply);
	return 0;
}

int
sbx_agent_wait_ready(struct sbx_agent *a, uint64_t timeout_ms,
    struct sbx_err *e)
{
	struct timespec t0, t;
	struct sbx_agent once = *a;
	uint64_t el;

	once.attempts = 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (sbx_agent_ping(&once, NULL, e) == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		el = (uint64_t)(t.tv_sec - t0.tv_sec) * 1000 +
		    (uint64_t)((t.tv_nsec - t0.tv_nsec) / 1000000);
		if (el >= timeout_ms)
			break;
		agent_sleep_ms(20);
	}
	return sbx_err_set(e, SBX_ETIMEDOUT, "the agent at '%s' did not "
	    "answer within %llu ms", a->path, (unsigned long long)timeout_ms);
}

int
sbx_agent_kill(struct sbx_agent *a, const uint8_t *id, pid_t pid, int sig,
    int group, struct sbx_err *e)
{
	static const int ok[] = { ESRCH, 0 };
	struct sbx_agent_msg req;

	sbx_agent_msg_init(&req, SBX_AGENT_KILL, group ? SBX_AGENT_F_GROUP : 0);
	if (id) {
		memcpy(req.id, id, SBX_AGENT_ID_LEN);
		req.have |= 1u << SBX_AGENT_T_ID;
	} else {
		req.pid = (uint32_t)pid;
		req.have |= 1u << SBX_AGENT_T_PID;
	}
	req.sig = (uint32_t)sig;
	req.have |= 1u << SBX_AGENT_T_SIGNAL;
	return simple(a, &req, ok, e);
}

void
agent_stat_from(struct sbx_agent_stat *st, const struct sbx_agent_msg *m)
{
	memset(st, 0, sizeof(*st));
	st->ftype = (int)m->ftype;
	st->mode = m->mode;
	st->uid = m->uid;
	st->gid = m->gid;
	st->size = m->size;
	st->mtime = m->mtime;
	if (m->target)
		snprintf(st->target, sizeof(st->target), "%s", m->target);
}

/* A request carrying one path. */
static void
path_req(struct sbx_agent_msg *req, uint8_t type, uint16_t flags,
    const char *path)
{
	sbx_agent_msg_init(req, type, flags);
	sbx_agent_msg_set(req, SBX_AGENT_T_PATH, path);
}

int
sbx_agent_stat(struct sbx_agent *a, const char *path,
    struct sbx_agent_stat *st, struct sbx_err *e)
{
	struct sbx_agent_msg req, reply;
	int r;

	path_req(&req, SBX_AGENT_STAT, 0, path);
	r = simple_request(a, &req, &reply, NULL, e);
	sbx_agent_msg_free(&req);
	if (r < 0)
		return r;
	agent_stat_from(st, &reply);
	sbx_agent_msg_free(&reply);
	return 0;
}

int
sbx_agent_mkdir(struct sbx_agent *a, const char *path, uint32_t mode,
    int parents, struct sbx_err *e)
{
	static const int ok[] = { EEXIST, 0 };
	struct sbx_agent_msg req;

	path_req(&req, SBX_AGENT_MKDIR, parents ? SBX_AGENT_F_PARENTS : 0,
	    path);
	if (mode) {
		req.mode = mode;
		req.have |= 1u << SBX_AGENT_T_MODE;
	}
	return simple(a, &req, ok, e);
}

int
sbx_agent_rm(struct sbx_agent *a, const char *path, int recursive, int force,
    struct sbx_err *e)
{
	static const int ok[] = { ENOENT, 0 };
	struct sbx_agent_msg req;

	path_req(&req, SBX_AGENT_RM, (recursive ? SBX_AGENT_F_RECURSIVE : 0) |
	    (force ? SBX_AGENT_F_FORCE : 0), path);
	return simple(a, &req, ok, e);
}

int
sbx_agent_rename(struct sbx_agent *a, const char *from, const char *to,
    struct sbx_err *e)
{
	/* On a retry the first attempt may have moved the source already. */
	static const int ok[] = { ENOENT, 0 };
	struct sbx_agent_msg req;

	path_req(&req, SBX_AGENT_RENAME, 0, from);
	sbx_agent_msg_set(&req, SBX_AGENT_T_PATH2, to);
	return simple(a, &req, ok, e);
}

int
sbx_agent_set_clock(struct sbx_agent *a, struct sbx_err *e)
{
	struct sbx_agent_msg req;
	struct timespec ts;

	/* Read the clock per attempt would be better; one retry is ~ms. */
	clock_gettime(CLOCK_REALTIME, &ts);
	sbx_agent_msg_init(&req, SBX_AGENT_SET_CLOCK, 0);
	req.sec = (int64_t)ts.tv_sec;
	req.nsec = (uint32_t)ts.tv_nsec;
	req.have |= 1u << SBX_AGENT_T_SEC | 1u << SBX_AGENT_T_NSEC;
	return simple(a, &req, NULL, e);
}

int
sbx_agent_add_entropy(struct sbx_agent *a, size_t bytes, struct sbx_err *e)
{
	struct sbx_agent_msg req;

	if (bytes == 0 || bytes > SBX_AGENT_MAX_ENTROPY)
		return sbx_err_set(e, SBX_EINVAL, "entropy size %zu out of "
		    "range 1..%d", bytes, SBX_AGENT_MAX_ENTROPY);
	sbx_agent_msg_init(&req, SBX_AGENT_ENTROPY, 0);
	req.data = xmalloc(bytes);
	req.datalen = bytes;
	if (getrandom(req.data, bytes, 0) != (ssize_t)bytes) {
		sbx_agent_msg_free(&req);
		return sbx_err_sys(e, "cannot read host randomness");
	}
	req.have |= 1u << SBX_AGENT_T_DATA;
	return simple(a, &req, NULL, e);
}

int
sbx_agent_set_hostname(struct sbx_agent *a, const char *name,
    struct sbx_err *e)
{
	struct sbx_agent_msg req;

	sbx_agent_msg_init(&req, SBX_AGENT_HOSTNAME, 0);
	sbx_agent_msg_set(&req, SBX_AGENT_T_NAME, name);
	return simple(a, &req, NULL, e);
}

int
sbx_agent_sync(struct sbx_agent *a, struct sbx_err *e)
{
	struct sbx_agent_msg req;

	sbx_agent_msg_init(&req, SBX_AGENT_SYNC, 0);
	return simple(a, &req, NULL, e);
}

int
sbx_agent_freeze(struct sbx_agent *a, const char *path, int freeze,
    struct sbx_err *e)
{
	struct sbx_agent_msg req;

	path_req(&req, freeze ? SBX_AGENT_FREEZE : SBX_AGENT_THAW, 0, path);
	return simple(a, &req, NULL, e);
}
