/*
 * control.c - control socket server: one JSON object per line each way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/control.h"
#include "kvm/vmm/datadisk.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/virtio_balloon.h"
#include "kvm/vmm/virtio_net.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define MAX_CLIENTS 16

struct client {
	struct control *ctl;
	int fd;			/* -1: free slot */
	struct sbx_buf in;
	bool events;		/* subscribed: receives event lines only */
};

struct control {
	struct vmm *vm;
	struct loop *loop;
	char *path;
	int lfd;
	int stop_timer;		/* timerfd of a graceful stop, or -1 */
	pthread_mutex_t lock;	/* clients vs control_event() */
	struct client cl[MAX_CLIENTS];
};

static uint64_t
ns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void
client_close(struct client *cl)
{
	if (cl->fd < 0)
		return;
	loop_del(cl->ctl->loop, cl->fd);
	close(cl->fd);
	cl->fd = -1;
	cl->events = false;
	sbx_buf_release(&cl->in);
}

/* Sends one JSON line (takes the reference); drops a stuck client. */
static void
client_send(struct client *cl, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	size_t len, off = 0;

	json_decref(j);
	if (!s)
		return;
	len = strlen(s);
	s[len] = '\n';		/* json_dumps left room for the NUL */
	while (off < len + 1) {
		ssize_t w = send(cl->fd, s + off, len + 1 - off,
		    MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			client_close(cl);
			break;
		}
		off += w;
	}
	free(s);
}

static json_t *
reply_err(const char *fmt, const char *arg)
{
	char msg[SBX_ERR_MSG_MAX + 64];

	snprintf(msg, sizeof(msg), fmt, arg);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static const char *
state_name(struct vmm *vm)
{
	if (vm->exiting)
		return SBX_VMM_STATE_STOPPING;
	return vmm_paused(vm) ? SBX_VMM_STATE_PAUSED : SBX_VMM_STATE_RUNNING;
}

static long
rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

static json_t *
op_status(struct control *c)
{
	struct vmm *vm = c->vm;

	return json_pack("{s:b, s:s, s:I, s:i, s:I, s:i, s:b}", "ok", 1,
	    "state", state_name(vm),
	    "uptime_ms", (json_int_t)((ns_now() - vm->start_ns) / 1000000),
	    "vcpus", (int)vm->nvcpu, "memory", (json_int_t)vm->mem.size,
	    "pid", (int)getpid(), "panic_seen", vm->panic_seen);
}

static json_t *
op_stats(struct control *c)
{
	struct vmm *vm = c->vm;
	json_t *cpus = json_array(), *devs = json_array(), *rep;
	struct virtio_dev *balloon = virtio_balloon_find(vm);
	unsigned i;

	for (i = 0; i < vm->nvcpu; i++) {
		struct vcpu *v = &vm->vcpu[i];
		struct timespec ts = { 0, 0 };
		clockid_t cid;

		if (v->started && pthread_getcpuclockid(v->thread, &cid) == 0)
			clock_gettime(cid, &ts);
		json_array_append_new(cpus, json_pack(
		    "{s:i, s:I, s:I, s:I, s:I}", "index", (int)i,
		    "cpu_ns", (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
		    "exits", (json_int_t)v->exits,
		    "io_exits", (json_int_t)v->io_exits,
		    "mmio_exits", (json_int_t)v->mmio_exits));
	}
	for (i = 0; i < vm->nvdev; i++)
		json_array_append_new(devs, json_pack("{s:s, s:I, s:I, s:b}",
		    "name", vm->vdev[i]->ops->name,
		    "notifies", (json_int_t)vm->vdev[i]->notifies,
		    "irqs", (json_int_t)vm->vdev[i]->irqs,
		    "failed", vm->vdev[i]->failed));
	rep = json_pack("{s:b, s:I, s:I, s:I, s:o, s:o}", "ok", 1,
	    "uptime_ms", (json_int_t)((ns_now() - vm->start_ns) / 1000000),
	    "rss", (json_int_t)rss_bytes(),
	    "console_bytes", (json_int_t)vm->serial.tx_bytes,
	    "vcpus", cpus, "devices", devs);
	if (balloon)
		json_object_set_new(rep, "balloon",
		    virtio_balloon_json(balloon, vm->mem.size));
	if (vm->data_disk)
		json_object_set_new(rep, "data_disk", datadisk_stats_json(vm));
	return rep;
}

static void
stop_timer_fired(void *arg, uint32_t events)
{
	struct control *c = arg;

	vmm_exit(c->vm, SBX_VMM_EXIT_STOPPED);
}

static json_t *
op_stop(struct control *c, json_t *req)
{
	json_t *t = json_object_get(req, "timeout_ms");
	json_int_t ms = t ? json_integer_value(t) : 0;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (t && (!json_is_integer(t) || ms < 0 || ms > 3600000))
		return reply_err("'timeout_ms' must be an integer in "
		    "[0, 3600000]%s", "");
	if (ms == 0 || c->stop_timer >= 0) {
		if (ms == 0)
			vmm_exit(c->vm, SBX_VMM_EXIT_STOPPED);
		return json_pack("{s:b, s:s}", "ok", 1, "state",
		    SBX_VMM_STATE_STOPPING);
	}
	c->stop_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000;
	if (c->stop_timer < 0 ||
	    timerfd_settime(c->stop_timer, 0, &its, NULL) < 0 ||
	    loop_add(c->loop, c->stop_timer, EPOLLIN, stop_timer_fired, c) < 0)
		vmm_exit(c->vm, SBX_VMM_EXIT_STOPPED);
	return json_pack("{s:b, s:s, s:I}", "ok", 1, "state",
	    state_name(c->vm), "timeout_ms", ms);
}

/* Answers one request line. */
static void
client_line(struct client *cl, const char *line, size_t len)
{
	struct control *c = cl->ctl;
	json_error_t jerr;
	json_t *req, *rep;
	const char *op;
	struct sbx_err e = { 0 };

	req = json_loadb(line, len, 0, &jerr);
	if (!req || !json_is_object(req)) {
		client_send(cl, reply_err("request is not a JSON object: %s",
		    req ? "wrong type" : jerr.text));
		json_decref(req);
		return;
	}
	op = json_string_value(json_object_get(req, "op"));
	if (!op) {
		rep = reply_err("request has no 'op' string%s", "");
	} else if (!strcmp(op, SBX_CONTROL_HELLO)) {
		json_t *p = json_object_get(req, "proto");

		if (p && json_integer_value(p) != SBX_CONTROL_PROTO)
			rep = reply_err("protocol version mismatch: "
			    "sbx-vmm speaks 1%s", "");
		else
			rep = json_pack("{s:b, s:i, s:s, s:i}", "ok", 1,
			    "proto", SBX_CONTROL_PROTO, "vmm",
			    "sbx-vmm " PACKAGE_VERSION, "pid", (int)getpid());
	} else if (!strcmp(op, SBX_CONTROL_STATUS)) {
		rep = op_status(c);
	} else if (!strcmp(op, SBX_CONTROL_STATS)) {
		rep = op_stats(c);
	} else if (!strcmp(op, SBX_CONTROL_PAUSE)) {
		if (vmm_pause(c->vm, 5000, &e) < 0)
			rep = reply_err("%s", e.msg);
		else
			rep = json_pack("{s:b, s:s}", "ok", 1, "state",
			    state_name(c->vm));
	} else if (!strcmp(op, SBX_CONTROL_RESUME)) {
		vmm_resume(c->vm);
		rep = json_pack("{s:b, s:s}", "ok", 1, "state",
		    SBX_VMM_STATE_RUNNING);
	} else if (!strcmp(op, SBX_CONTROL_STOP)) {
		rep = op_stop(c, req);
	} else if (!strcmp(op, SBX_CONTROL_EVENTS)) {
		rep = json_pack("{s:b}", "ok", 1);
		pthread_mutex_lock(&c->lock);
		cl->events = true;
		client_send(cl, rep);
		pthread_mutex_unlock(&c->lock);
		json_decref(req);
		return;
	} else if ((rep = snap_control(c->vm, op, req)) != NULL) {
		/* snapshot, fork (snapshot.h) */
	} else if ((rep = virtio_net_control(c->vm, op, req)) != NULL) {
		/* port, net (virtio_net.h) */
	} else if ((rep = virtio_balloon_control(c->vm, op, req)) != NULL) {
		/* balloon (virtio_balloon.h) */
	} else {
		rep = reply_err("unknown op '%s'", op);
	}
	json_decref(req);
	pthread_mutex_lock(&c->lock);
	if (cl->fd >= 0)
		client_send(cl, rep);
	else
		json_decref(rep);
	pthread_mutex_unlock(&c->lock);
}

static void
client_ready(void *arg, uint32_t events)
{
	struct client *cl = arg;
	char buf[1024];
	ssize_t n;
	char *nl;

	n = read(cl->fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0 || sbx_buf_add(&cl->in, buf, n) < 0) {
		pthread_mutex_lock(&cl->ctl->lock);
		client_close(cl);
		pthread_mutex_unlock(&cl->ctl->lock);
		return;
	}
	while (cl->fd >= 0 && (nl = memchr(cl->in.buf, '\n', cl->in.len))) {
		size_t len = nl - cl->in.buf;

		if (len)
			client_line(cl, cl->in.buf, len);
		if (cl->fd < 0)
			break;
		memmove(cl->in.buf, nl + 1, cl->in.len - len - 1);
		sbx_buf_setlen(&cl->in, cl->in.len - len - 1);
	}
}

static void
control_accept(void *arg, uint32_t events)
{
	struct control *c = arg;
	int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	unsigned i;

	if (fd < 0)
		return;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < MAX_CLIENTS && c->cl[i].fd >= 0; i++)
		;
	if (i == MAX_CLIENTS) {
		pthread_mutex_unlock(&c->lock);
		close(fd);
		return;
	}
	c->cl[i].fd = fd;
	sbx_buf_init(&c->cl[i].in, 256);
	c->cl[i].in.cap = SBX_CONTROL_LINE_MAX;
	if (loop_add(c->loop, fd, EPOLLIN, client_ready, &c->cl[i]) < 0)
		client_close(&c->cl[i]);
	pthread_mutex_unlock(&c->lock);
}

struct control *
control_new(const char *path, struct vmm *vm, struct loop *loop,
    struct sbx_err *e)
{
	struct control *c;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	unsigned i;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		sbx_err_set(e, SBX_EUSAGE, "control socket path '%s' is longer "
		    "than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c = xcalloc(1, sizeof(*c));
	c->vm = vm;
	c->loop = loop;
	c->stop_timer = -1;
	pthread_mutex_init(&c->lock, NULL);
	for (i = 0; i < MAX_CLIENTS; i++) {
		c->cl[i].fd = -1;
		c->cl[i].ctl = c;
	}
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(c->lfd, 8) < 0 ||
	    loop_add(loop, c->lfd, EPOLLIN, control_accept, c) < 0) {
		sbx_err_sys(e, "cannot listen on control socket '%s'", path);
		if (c->lfd >= 0)
			close(c->lfd);
		free(c);
		return NULL;
	}
	c->path = xstrdup(path);
	return c;
}

void
control_event(struct control *c, const char *name, int status)
{
	unsigned i;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (i = 0; i < MAX_CLIENTS; i++) {
		json_t *j;

		if (c->cl[i].fd < 0 || !c->cl[i].events)
			continue;
		if (!strcmp(name, "exit"))
			j = json_pack("{s:s, s:s, s:i}", "event", name,
			    "reason", vmm_exit_name(status), "status", status);
		else
			j = json_pack("{s:s}", "event", name);
		client_send(&c->cl[i], j);
	}
	pthread_mutex_unlock(&c->lock);
}

void
control_free(struct control *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < MAX_CLIENTS; i++)
		client_close(&c->cl[i]);
	loop_del(c->loop, c->lfd);
	close(c->lfd);
	if (c->stop_timer >= 0) {
		loop_del(c->loop, c->stop_timer);
		close(c->stop_timer);
	}
	unlink(c->path);
	free(c->path);
	free(c);
}
