/*
 * ops-stats.c - the kvm backend's `stats` op: live figures of a running
 * sandbox from its sbx-vmm (control protocol, doc/vmm-control.md) and
 * the host's view of that process's memory (/proc/<pid>/smaps_rollup).
 *
 * The reply is the VMM's stats object without "ok", plus:
 *   "cpu_ns"  sum of the vCPUs' host CPU time
 *   "rss"     host resident bytes of the VMM (smaps_rollup, else the VMM's)
 *   "pss"     proportional set size: pages shared copy-on-write with
 *             forks or the page cache count by share (absent if unknown)
 *   "state"   the VMM's state ("running", "paused", ...)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "kvm/kvm.h"
#include "kvm/proto/control.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "core/sock.h"
#include "core/banned.h"

#define STATS_TIMEOUT_MS 3000
#define STATS_REPLY_MAX (256 * 1024)

/* Connects to the control socket at `path`. */
static int
ctl_connect(const char *path, const char *id, struct sbx_err *e)
{
	int fd = sbx_unix_connect(path);

	if (fd == -ENAMETOOLONG)
		return sbx_err_set(e, SBX_EINVAL, "control socket path '%s' "
		    "is too long", path);
	if (fd < 0) {
		errno = -fd;
		sbx_err_sys(e, "cannot reach the VMM of '%s' at '%s'", id,
		    path);
		return -1;
	}
	return fd;
}

/*
 * Sends one request line and reads one reply line, both within the
 * deadline; returns the reply object (checked "ok") or NULL.
 */
static json_t *
ctl_call(int fd, const char *req, struct sbx_buf *in, uint64_t deadline,
    const char *id, struct sbx_err *e)
{
	size_t len = strlen(req), off = 0;
	json_error_t jerr;
	json_t *rep;
	char *nl;

	while (off < len) {
		ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sbx_err_sys(e, "cannot talk to the VMM of '%s'", id);
			return NULL;
		}
		off += (size_t)n;
	}
	while (!(nl = memchr(in->buf, '\n', in->len))) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = sbx_clock_ms();
		char buf[4096];
		ssize_t n;
		int r;

		if (now >= deadline) {
			sbx_err_set(e, SBX_ETIMEDOUT, "the VMM of '%s' did "
			    "not answer within %dms", id, STATS_TIMEOUT_MS);
			return NULL;
		}
		r = poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sbx_err_sys(e, "cannot talk to the VMM of '%s'", id);
			return NULL;
		}
		if (r == 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				sbx_err_set(e, SBX_EIO, "the VMM of '%s' "
				    "closed the control connection", id);
			else
				sbx_err_sys(e, "cannot read from the VMM of "
				    "'%s'", id);
			return NULL;
		}
		if (sbx_buf_add(in, buf, (size_t)n) < 0) {
			sbx_err_set(e, SBX_EINVAL, "the VMM of '%s' sent a "
			    "reply longer than %d bytes", id, STATS_REPLY_MAX);
			return NULL;
		}
	}
	rep = json_loadb(in->buf, (size_t)(nl - in->buf), 0, &jerr);
	/* Drop the line from the buffer. */
	len = in->len - (size_t)(nl + 1 - in->buf);
	memmove(in->buf, nl + 1, len);
	sbx_buf_setlen(in, len);
	if (!rep || !json_is_object(rep)) {
		sbx_err_set(e, SBX_EINVAL, "bad reply from the VMM of '%s': "
		    "%s", id, rep ? "not an object" : jerr.text);
		json_decref(rep);
		return NULL;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		const char *m = json_string_value(json_object_get(rep,
		    "error"));

		sbx_err_set(e, SBX_EIO, "the VMM of '%s' refused: %s", id,
		    m ? m : "no reason given");
		json_decref(rep);
		return NULL;
	}
	json_object_del(rep, "ok");
	return rep;
}

/*
 * Reads "Rss:" and "Pss:" (kB) of process `pid` from smaps_rollup.
 * Leaves them at -1 when the file or a line is missing.
 */
static void
read_rollup(pid_t pid, long long *rss, long long *pss)
{
	char path[64], line[256];
	FILE *f;
	long long kb;

	*rss = *pss = -1;
	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Rss: %lld kB", &kb) == 1)
			*rss = kb * 1024;
		else if (sscanf(line, "Pss: %lld kB", &kb) == 1)
			*pss = kb * 1024;
	}
	fclose(f);
}

int
kvm_stats(struct sbx_conn *c, const char *query, json_t **out,
    struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_buf in = SBX_BUF_INIT;
	uint64_t deadline = sbx_clock_ms() + STATS_TIMEOUT_MS;
	json_t *hello = NULL, *st = NULL, *status = NULL, *v;
	long long rss, pss, sum = 0;
	char *path = NULL;
	size_t i;
	int fd = -1, rc = -1;

	*out = NULL;
	if (sbx_backend_kvm.get(c, query, &sb, e) < 0)
		goto out;
	if (sb.state != SBX_SB_RUNNING && sb.state != SBX_SB_PAUSED) {
		sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s", sb.id,
		    sbx_sandbox_state_name(sb.state));
		sbx_err_hint(e, "live figures need a running sandbox");
		goto out;
	}
	in.cap = STATS_REPLY_MAX;
	path = kvm_runfile(sb.id, "ctl.sock");
	fd = ctl_connect(path, sb.id, e);
	if (fd < 0)
		goto out;
	hello = ctl_call(fd, "{\"op\":\"" SBX_CONTROL_HELLO "\",\"proto\":"
	    "1}\n", &in, deadline, sb.id, e);
	if (!hello)
		goto out;
	st = ctl_call(fd, "{\"op\":\"" SBX_CONTROL_STATS "\"}\n", &in,
	    deadline, sb.id, e);
	if (!st)
		goto out;
	status = ctl_call(fd, "{\"op\":\"" SBX_CONTROL_STATUS "\"}\n", &in,
	    deadline, sb.id, e);
	if (!status)
		goto out;
	v = json_object_get(st, "vcpus");
	if (json_is_array(v)) {
		json_t *cpu;

		json_array_foreach(v, i, cpu) {
			json_t *ns = json_object_get(cpu, "cpu_ns");

			if (json_is_integer(ns) && json_integer_value(ns) > 0)
				sum += json_integer_value(ns);
		}
	}
	json_object_set_new(st, "cpu_ns", json_integer(sum));
	if (json_is_string(json_object_get(status, "state")))
		json_object_set(st, "state", json_object_get(status,
		    "state"));
	/* The host's view counts pages shared with forks fairly. */
	read_rollup(sb.pid, &rss, &pss);
	if (rss >= 0)
		json_object_set_new(st, "rss", json_integer(rss));
	if (pss >= 0)
		json_object_set_new(st, "pss", json_integer(pss));
	*out = st;
	st = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(hello);
	json_decref(st);
	json_decref(status);
	free(path);
	sbx_buf_release(&in);
	sbx_sandbox_release(&sb);
	return rc;
}
