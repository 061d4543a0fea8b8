/*
 * sys.c - sbx-agent's system requests: PING, SET_CLOCK, ENTROPY,
 * HOSTNAME, SYNC, FREEZE, THAW. All are idempotent, so a retry after a
 * dropped connection is harmless.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/random.h>

#include "kvm/guest/agentd.h"
#include "core/banned.h"

static int
do_ping(struct conn *c)
{
	struct sbx_agent_msg m;
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	sbx_agent_msg_init(&m, SBX_AGENT_OK, 0);
	m.version = SBX_AGENT_VERSION;
	m.uptime = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	m.pid = (uint32_t)getpid();
	m.have |= 1u << SBX_AGENT_T_VERSION | 1u << SBX_AGENT_T_UPTIME |
	    1u << SBX_AGENT_T_PID;
	return conn_ok(c, &m);
}

/* Credits the bytes to the kernel pool and forces a CRNG reseed. */
static int
do_entropy(struct conn *c, struct sbx_agent_msg *req)
{
	struct rand_pool_info *info;
	int fd, r = 0;

	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return conn_error(c, errno, "cannot open '/dev/urandom': %s",
		    strerror(errno));
	info = calloc(1, sizeof(*info) + req->datalen + 4);
	if (!info)
		abort();
	info->entropy_count = (int)req->datalen * 8;
	info->buf_size = (int)req->datalen;
	memcpy(info->buf, req->data, req->datalen);
	if (ioctl(fd, RNDADDENTROPY, info) < 0)
		r = conn_error(c, errno, "cannot add entropy: %s",
		    strerror(errno));
	else if (ioctl(fd, RNDRESEEDCRNG) < 0)
		r = conn_error(c, errno, "cannot reseed the kernel random "
		    "generator: %s", strerror(errno));
	explicit_bzero(info->buf, req->datalen);
	free(info);
	close(fd);
	return r < 0 ? r : conn_ok(c, NULL);
}

/* FIFREEZE / FITHAW on the filesystem holding `path`. */
static int
do_freeze(struct conn *c, struct sbx_agent_msg *req, int freeze)
{
	int fd = open(req->path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return conn_error(c, errno, "cannot open '%s': %s", req->path,
		    strerror(errno));
	if (freeze)
		sync();
	if (ioctl(fd, freeze ? FIFREEZE : FITHAW, 0) < 0 &&
	    !(errno == EBUSY && freeze) && !(errno == EINVAL && !freeze)) {
		int e = errno;

		close(fd);
		return conn_error(c, e, "cannot %s '%s': %s",
		    freeze ? "freeze" : "thaw", req->path, strerror(e));
	}
	close(fd);
	return conn_ok(c, NULL);
}

int
sys_handle(struct conn *c, struct sbx_agent_msg *req)
{
	struct timespec ts;

	switch (req->type) {
	case SBX_AGENT_PING:
		return do_ping(c);
	case SBX_AGENT_SET_CLOCK:
		ts.tv_sec = (time_t)req->sec;
		ts.tv_nsec = (long)req->nsec;
		if (clock_settime(CLOCK_REALTIME, &ts) < 0)
			return conn_error(c, errno, "cannot set the clock: %s",
			    strerror(errno));
		return conn_ok(c, NULL);
	case SBX_AGENT_ENTROPY:
		return do_entropy(c, req);
	case SBX_AGENT_HOSTNAME:
		if (sethostname(req->name, strlen(req->name)) < 0)
			return conn_error(c, errno, "cannot set hostname "
			    "'%s': %s", req->name, strerror(errno));
		return conn_ok(c, NULL);
	case SBX_AGENT_SYNC:
		sync();
		return conn_ok(c, NULL);
	case SBX_AGENT_FREEZE:
	case SBX_AGENT_THAW:
		return do_freeze(c, req, req->type == SBX_AGENT_FREEZE);
	}
	return conn_error(c, EPROTO, "not a system request");
}
