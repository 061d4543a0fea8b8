/*
 * agentd.c - sbx-agent: main, listener and per-connection dispatch.
 *
 * usage: sbx-agent [--listen vsock:PORT | --listen unix:PATH]
 *
 * Runs as PID 1 in the guest (exec'd by sbx-init) and then never exits;
 * on the host (tests) it listens on a unix socket and becomes a child
 * subreaper so background processes are still reaped.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "kvm/guest/agentd.h"
#include "core/banned.h"

void
agentd_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "sbx-agent: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0)
		return;
}

int
conn_error(struct conn *c, int err, const char *fmt, ...)
{
	struct sbx_agent_msg m;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sbx_agent_msg_init(&m, SBX_AGENT_ERROR, 0);
	m.err = (uint32_t)err;
	m.have |= 1u << SBX_AGENT_T_ERRNO;
	sbx_agent_msg_set(&m, SBX_AGENT_T_MESSAGE, msg);
	sbx_agent_write_msg(c->fd, &m);
	sbx_agent_msg_free(&m);
	return -1;
}

int
conn_ok(struct conn *c, struct sbx_agent_msg *m)
{
	struct sbx_agent_msg empty;

	if (!m) {
		sbx_agent_msg_init(&empty, SBX_AGENT_OK, 0);
		m = &empty;
	}
	m->type = SBX_AGENT_OK;
	return sbx_agent_write_msg(c->fd, m);
}

/* Reads the request frame of a new connection and runs its handler. */
static void *
conn_serve(void *arg)
{
	struct conn *c = arg;
	struct sbx_agent_hdr h = { .version = SBX_AGENT_VERSION };
	struct sbx_agent_msg req;
	const char *why = "";
	int r;

	r = sbx_agent_read_frame(c->fd, &h, c->buf, &why);
	if (r == -EPROTO && h.version != SBX_AGENT_VERSION)
		conn_error(c, EPROTO, "unsupported protocol version %u "
		    "(agent speaks %d)", h.version, SBX_AGENT_VERSION);
	else if (r < 0)
		conn_error(c, EPROTO, "bad request frame: %s", why);
	if (r != 0)
		goto out;
	if (sbx_agent_msg_decode(h.type, h.flags, c->buf, h.len, &req,
	    &why) < 0) {
		conn_error(c, EPROTO, "bad %s request: %s",
		    sbx_agent_type_name(h.type), why);
		goto out;
	}
	switch (req.type) {
	case SBX_AGENT_EXEC:
		exec_handle(c, &req);
		break;
	case SBX_AGENT_KILL:
		kill_handle(c, &req);
		break;
	case SBX_AGENT_PUT:
	case SBX_AGENT_GET:
	case SBX_AGENT_STAT:
	case SBX_AGENT_LIST:
	case SBX_AGENT_MKDIR:
	case SBX_AGENT_RM:
	case SBX_AGENT_RENAME:
		files_handle(c, &req);
		break;
	case SBX_AGENT_PING:
	case SBX_AGENT_SET_CLOCK:
	case SBX_AGENT_ENTROPY:
	case SBX_AGENT_HOSTNAME:
	case SBX_AGENT_SYNC:
	case SBX_AGENT_FREEZE:
	case SBX_AGENT_THAW:
		sys_handle(c, &req);
		break;
	default:
		conn_error(c, EPROTO, "'%s' is not a request",
		    sbx_agent_type_name(req.type));
	}
	sbx_agent_msg_free(&req);
out:
	close(c->fd);
	free(c->buf);
	free(c);
	return NULL;
}

/* Opens the listening socket named by `spec`; -1 with a logged reason. */
static int
listen_on(const char *spec)
{
	int fd;

	if (!strncmp(spec, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(spec + 5) >= sizeof(sa.sun_path)) {
			agentd_log("socket path '%s' too long", spec + 5);
			return -1;
		}
		memcpy(sa.sun_path, spec + 5, strlen(spec + 5) + 1);
		unlink(sa.sun_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 64) < 0) {
			agentd_log("cannot listen on '%s': %s", sa.sun_path,
			    strerror(errno));
			return -1;
		}
		return fd;
	}
	if (!strncmp(spec, "vsock:", 6)) {
		struct sockaddr_vm sa = { .svm_family = AF_VSOCK };
		char *end;
		unsigned long port;

		errno = 0;
		port = strtoul(spec + 6, &end, 10);
		if (errno || *end || end == spec + 6 || port > UINT32_MAX) {
			agentd_log("bad vsock port in '%s'", spec);
			return -1;
		}
		sa.svm_cid = VMADDR_CID_ANY;
		sa.svm_port = (unsigned int)port;
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(fd, 64) < 0) {
			agentd_log("cannot listen on vsock port %lu: %s", port,
			    strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	}
	agentd_log("unknown listen address '%s' (want vsock:PORT or "
	    "unix:PATH)", spec);
	return -1;
}

int
main(int argc, char **argv)
{
	char dflt[32];
	const char *spec = dflt;
	sigset_t set;
	int lfd, i;

	snprintf(dflt, sizeof(dflt), "vsock:%d", SBX_AGENT_VSOCK_PORT);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc)
			spec = argv[++i];
		else if (!strncmp(argv[i], "--listen=", 9))
			spec = argv[i] + 9;
		else {
			agentd_log("usage: sbx-agent [--listen vsock:PORT|"
			    "unix:PATH]");
			if (getpid() != 1)
				return 2;
		}
	}
	for (i = 0; i < 3; i++)	/* keep 0-2 taken: children dup2 onto them */
		if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
			return 1;
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	umask(022);
	exec_start_reaper();
	while ((lfd = listen_on(spec)) < 0) {
		if (getpid() != 1)
			return 1;
		sleep(1);	/* PID 1 must not exit; the module may load late */
	}
	agentd_log("listening on %s", spec);
	for (;;) {
		struct conn *c;
		pthread_t t;
		pthread_attr_t attr;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(10000);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c || !(c->buf = malloc(SBX_AGENT_MAX_PAYLOAD))) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, conn_serve, c) != 0) {
			close(fd);
			free(c->buf);
			free(c);
		}
		pthread_attr_destroy(&attr);
	}
}
