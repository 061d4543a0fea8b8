/*
 * fork.c - live fork of a running VM: control op "fork" (snapstate.h).
 *
 * {"op":"fork","children":[{"control":PATH,"vsock":PATH,"serial_log":PATH,
 *  "log":PATH,"id":ID}, ...]} (1..100 children; every field optional but
 * "control" is needed to talk to the child afterwards).
 *
 * The parent pauses its vCPUs, captures the whole state into memory
 * (snap_capture), and forks once per child; each child double-forks (so it
 * is nobody's zombie), starts a new session, closes every inherited fd but
 * its report pipe (KVM fds of the parent answer -EIO, eventfds would
 * inject into the parent, the epoll set is shared), unmaps the parent's
 * kvm_run pages, then builds a new VM whose RAM is the inherited
 * copy-on-write mapping and runs it (restore.c). The parent resumes as
 * soon as the last fork(2) returned, then collects "ok PID" or
 * "error MSG" from each child's pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/datadisk.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/snapstate.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define FORK_MAX 100
#define FORK_WAIT_MS 60000

static uint64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* In the grandchild: never returns. */
static void __attribute__((noreturn))
child_main(struct vmm *parent, const struct sbx_buf *state, json_t *req,
    json_t *spec, const struct datadisk_snap *ds, int wfd)
{
	struct snap_run run = { .mem_fd = -1 };
	struct snap_image img;
	struct sbx_err e = { 0 };
	const char *log = jstr(spec, "log");
	char *copy;
	unsigned i;
	int fd;

	/* Keep only stdio and the report pipe, at fd 3. */
	if (wfd != 3) {
		dup2(wfd, 3);
		close(wfd);
	}
	close_range(4, ~0U, 0);
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	if (log && (fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 3)
			close(fd);
	}
	for (i = 0; i < parent->nvcpu; i++)
		if (parent->vcpu[i].run)
			munmap(parent->vcpu[i].run, parent->run_size);
	copy = xmalloc(state->len);
	memcpy(copy, state->buf, state->len);
	if (snap_image_parse(&img, copy, state->len, "fork state", &e) < 0) {
		dprintf(3, "error %s\n", e.msg);
		_exit(1);
	}
	run.control = jstr(spec, "control");
	run.vsock = jstr(spec, "vsock");
	run.serial_log = jstr(spec, "serial_log");
	run.id = jstr(spec, "id");
	run.report_fd = 3;
	run.inherit = parent->mem.host;
	/* Its data disk: the chain, the frozen top, its own new top. */
	if (parent->data_disk)
		datadisk_fork_child(req, spec, ds, &run);
	/* Each child hibernates into its own directory, if given one. */
	run.idle_dir = jstr(spec, "hibernate_dir");
	run.idle_ms = run.idle_dir ? (uint64_t)json_integer_value(
	    json_object_get(spec, "idle_timeout_ms")) : 0;
	_exit(snap_run_vm(&img, &run));
}

/* Forks one child; returns the read end of its report pipe or -1. */
static int
fork_one(struct vmm *vm, const struct sbx_buf *state, json_t *req,
    json_t *spec, const struct datadisk_snap *ds, struct sbx_err *e)
{
	int p[2], st;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return sbx_err_sys(e, "pipe"), -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return sbx_err_sys(e, "fork"), -1;
	}
	if (pid == 0) {
		close(p[0]);
		setsid();
		pid = fork();
		if (pid != 0)
			_exit(pid < 0);
		child_main(vm, state, req, spec, ds, p[1]);
	}
	close(p[1]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		close(p[0]);
		sbx_err_set(e, SBX_EIO, "the second fork of a child failed");
		return -1;
	}
	return p[0];
}

/* Reads "ok PID" / "error MSG" from a child (waits up to the deadline). */
static json_t *
collect(int fd, uint64_t deadline_us)
{
	char buf[SBX_ERR_MSG_MAX + 64];
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t now = now_us();
		ssize_t n;

		if (now >= deadline_us || poll(&pfd, 1,
		    (int)((deadline_us - now) / 1000) + 1) == 0)
			return json_pack("{s:s}", "error", "the child did not "
			    "report within 60 s");
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
		if (memchr(buf, '\n', len) || len == sizeof(buf) - 1)
			break;
	}
	buf[len] = 0;
	if (len && buf[len - 1] == '\n')
		buf[len - 1] = 0;
	if (!strncmp(buf, "ok ", 3)) {
		char *end;
		json_t *r = json_pack("{s:i}", "pid",
		    (int)strtol(buf + 3, &end, 10));

		if (*end == ' ')	/* "ok PID MARK": its disk mark */
			json_object_set_new(r, "disk_mark",
			    json_string(end + 1));
		return r;
	}
	if (!strncmp(buf, "error ", 6))
		return json_pack("{s:s}", "error", buf + 6);
	return json_pack("{s:s}", "error", "the child died before reporting");
}

json_t *
snapfork_control(struct vmm *vm, json_t *req)
{
	json_t *kids = json_object_get(req, "children"), *out, *spec, *rep;
	struct datadisk_snap ds = { 0 };
	struct sbx_buf st = SBX_BUF_INIT;
	struct sbx_err e = { 0 }, disk_e = { 0 };
	int fds[FORK_MAX];
	uint64_t t0, t_fork, deadline;
	size_t n, i, done = 0, failed = 0;

	n = json_array_size(kids);
	if (!json_is_array(kids) || n < 1 || n > FORK_MAX)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "fork needs "
		    "'children': an array of 1 to 100 objects");
	json_array_foreach(kids, i, spec)
		if (!json_is_object(spec))
			return json_pack("{s:b, s:s}", "ok", 0, "error",
			    "every entry of 'children' must be an object");
	if (datadisk_fork_check(vm, req, &e) < 0)
		return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
	t0 = now_us();
	if (vmm_pause(vm, 5000, &e) < 0 || snap_capture(vm, &st, &e) < 0 ||
	    (vm->data_disk && datadisk_freeze(vm, json_string_value(
	    json_object_get(req, "disk_layer")), json_string_value(
	    json_object_get(req, "disk_since")), &ds, &e) < 0)) {
		vmm_resume(vm);
		sbx_buf_release(&st);
		return json_pack("{s:b, s:s}", "ok", 0, "error", e.msg);
	}
	for (i = 0; i < n; i++) {
		fds[i] = fork_one(vm, &st, req, json_array_get(kids, i), &ds,
		    &e);
		if (fds[i] < 0)
			break;
		done++;
	}
	t_fork = now_us();
	/* The parent goes on over the frozen top, in a new empty top. */
	if (vm->data_disk && done && datadisk_commit(vm, &ds, &disk_e) < 0)
		vmm_log("fork: data disk: %s", disk_e.msg);
	if (vm->data_disk && !done)
		unlink(json_string_value(json_object_get(req, "disk_layer")));
	datadisk_release(&ds);
	vmm_resume(vm);
	sbx_buf_release(&st);
	out = json_array();
	deadline = now_us() + FORK_WAIT_MS * 1000ULL;
	for (i = 0; i < done; i++) {
		json_t *r = collect(fds[i], deadline);

		close(fds[i]);
		if (json_object_get(r, "error"))
			failed++;
		json_array_append_new(out, r);
	}
	if (done < n) {
		json_array_append_new(out, json_pack("{s:s}", "error", e.msg));
		failed += n - done;
	}
	rep = json_pack("{s:b, s:o, s:I, s:I, s:I}", "ok", failed == 0 &&
	    !disk_e.msg[0],
	    "children", out, "pause_ms", (json_int_t)((t_fork - t0) / 1000),
	    "fork_us_per_child", (json_int_t)(done ? (t_fork - t0) / done : 0),
	    "ms", (json_int_t)((now_us() - t0) / 1000));
	if (vm->data_disk && disk_e.msg[0])
		json_object_set_new(rep, "disk_error", json_string(disk_e.msg));
	else if (vm->data_disk && done)
		datadisk_reply(rep, &ds);
	return rep;
}
