/*
 * idle.c - auto-hibernation of an idle VM (idle.h).
 *
 * A timerfd on the I/O loop samples the vsock device's connection count
 * and how many connections were ever made (every agent request is a
 * connection, so this sees exec, cp, shell and the host's pings, even
 * those that open and close between two samples); the VM is idle once no
 * sample for the whole timeout saw a connection open or a new one. Then it is snapshotted as for
 * `sbx hibernate` (snapshot.h, control op "snapshot"), the marker file is
 * written and the VMM exits with status "stopped".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/xmalloc.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/idle.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/vmm.h"
#include "kvm/vmm/vsock.h"
#include "core/banned.h"

struct idle {
	struct vmm *vm;
	struct virtio_dev *vsock;
	int tfd;
	uint64_t timeout_ms, last_busy_ms;
	uint64_t opened;	/* vsock connections made at the last tick */
	char *dir;
};

static uint64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void
on_tick(void *arg, uint32_t events)
{
	struct idle *w = arg;
	uint64_t ticks, opened, now = now_ms();
	json_t *req, *rep;
	char *marker, *pending;
	int fd;

	(void)events;
	if (read(w->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	/*
	 * Busy: a connection open now, or one made since the last tick
	 * (a short exec can open and close between two ticks).
	 */
	opened = virtio_vsock_nopened(w->vsock);
	if (virtio_vsock_nconns(w->vsock) > 0 || opened != w->opened ||
	    vmm_paused(w->vm)) {
		w->opened = opened;
		w->last_busy_ms = now;
		return;
	}
	if (now - w->last_busy_ms < w->timeout_ms)
		return;
	pending = xasprintf("%s/%s", w->dir, VMM_IDLE_PENDING);
	mkdir(w->dir, 0700);	/* snap_control makes it too; EEXIST is fine */
	fd = open(pending, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	req = json_pack("{s:s, s:s}", "op", "snapshot", "dir", w->dir);
	rep = snap_control(w->vm, "snapshot", req);
	json_decref(req);
	if (!json_is_true(json_object_get(rep, "ok"))) {
		unlink(pending);
		free(pending);
		vmm_log("idle for %llu s, but cannot hibernate: %s",
		    (unsigned long long)((now - w->last_busy_ms) / 1000),
		    json_string_value(json_object_get(rep, "error")));
		json_decref(rep);
		w->last_busy_ms = now;	/* try again after another timeout */
		return;
	}
	json_decref(rep);
	marker = xasprintf("%s/%s", w->dir, VMM_IDLE_MARKER);
	fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(marker);
	unlink(pending);	/* after the marker: never neither while up */
	free(pending);
	vmm_log("idle for %llu s: hibernated into %s",
	    (unsigned long long)((now - w->last_busy_ms) / 1000), w->dir);
	vmm_exit(w->vm, SBX_VMM_EXIT_STOPPED);
}

int
idle_watch(struct vmm *vm, struct loop *l, uint64_t timeout_ms,
    const char *dir, struct sbx_err *e)
{
	struct itimerspec its;
	struct idle *w;
	uint64_t period;
	unsigned i;

	w = xcalloc(1, sizeof(*w));
	for (i = 0; i < vm->nvdev; i++)
		if (vm->vdev[i] && vm->vdev[i]->ops->device_id ==
		    VIRTIO_ID_VSOCK)
			w->vsock = vm->vdev[i];
	if (!w->vsock) {
		free(w);
		return sbx_err_set(e, SBX_EUSAGE, "--idle-timeout needs a "
		    "vsock device (--vsock)");
	}
	w->vm = vm;
	w->timeout_ms = timeout_ms;
	w->last_busy_ms = now_ms();
	w->dir = xstrdup(dir);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	period = timeout_ms / 4 < 1000 ? (timeout_ms / 4 ? timeout_ms / 4 : 1) :
	    1000;
	memset(&its, 0, sizeof(its));
	its.it_interval.tv_sec = period / 1000;
	its.it_interval.tv_nsec = (long)(period % 1000) * 1000000;
	its.it_value = its.it_interval;
	if (w->tfd < 0 || timerfd_settime(w->tfd, 0, &its, NULL) < 0 ||
	    loop_add(l, w->tfd, EPOLLIN, on_tick, w) < 0) {
		sbx_err_sys(e, "cannot start the idle timer");
		if (w->tfd >= 0)
			close(w->tfd);
		free(w->dir);
		free(w);
		return -1;
	}
	return 0;	/* lives as long as the VMM */
}

uint64_t idle_ms;
const char *idle_dir;

int
idle_option(int opt, const char *arg, struct sbx_err *e)
{
	if (opt == 'H') {
		if (!*arg)
			return sbx_err_set(e, SBX_EUSAGE, "--hibernate-dir: "
			    "empty path");
		idle_dir = arg;
		return 0;
	}
	if (sbx_parse_duration(arg, 0, 366ULL * 86400 * 1000, &idle_ms,
	    e) < 0) {
		sbx_err_prefix(e, "--idle-timeout");
		return -1;
	}
	return 0;
}

int
idle_check(struct sbx_err *e)
{
	if (idle_ms && !idle_dir)
		return sbx_err_set(e, SBX_EUSAGE, "--idle-timeout needs "
		    "--hibernate-dir");
	return 0;
}
