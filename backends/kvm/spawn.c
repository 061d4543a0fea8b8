/*
 * spawn.c - starting an sbx-vmm process for a sandbox and waiting until
 * its guest agent answers.
 *
 * The VMM is started detached (new session, stdin /dev/null, stdout and
 * stderr to the sandbox's vmm.log) so it outlives the CLI that started it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "kvm/agent-client.h"
#include "kvm/kvm.h"
#include "kvm/spawn.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/strvec.h"
#include "core/run.h"
#include "core/xmalloc.h"
#include "core/sock.h"
#include "core/banned.h"

char *
kvm_vmm_path(void)
{
	return xasprintf("%s/sbx-vmm", sbx_libexec_dir());
}

/* Builds the sbx-vmm command line for a spawn. */
static void
vmm_argv(const struct kvm_spawn *sp, const char *rundir, const char *sbdir,
    struct sbx_strvec *av)
{
	char *vmm = kvm_vmm_path();
	size_t i;

	sbx_strvec_push(av, vmm);
	free(vmm);
	sbx_strvec_pushf(av, "--id=%s", sp->id);
	sbx_strvec_pushf(av, "--kernel=%s", sp->kernel);
	if (sp->initrd)
		sbx_strvec_pushf(av, "--initrd=%s", sp->initrd);
	sbx_strvec_pushf(av, "--cmdline=%s", sp->cmdline);
	sbx_strvec_pushf(av, "--memory=%llu",
	    (unsigned long long)sp->memory);
	sbx_strvec_pushf(av, "--vcpus=%u", sp->vcpus);
	if (sp->disk)
		sbx_strvec_pushf(av, "--disk=%s%s", sp->disk,
		    sp->disk_ro ? ",ro" : "");
	sbx_strvec_pushf(av, "--serial-log=%s/console.log", sbdir);
	sbx_strvec_pushf(av, "--control=%s/ctl.sock", rundir);
	sbx_strvec_pushf(av, "--vsock=%s/vsock.sock", rundir);
	sbx_strvec_push(av, "--cid=3");
	sbx_strvec_push(av, "--rng");
	sbx_strvec_push(av, "--balloon");	/* live memory resize */
	if (sp->net)
		sbx_strvec_pushf(av, "--net=%s", sp->net);
	if (sp->idle_ms) {
		sbx_strvec_pushf(av, "--idle-timeout=%llums",
		    (unsigned long long)sp->idle_ms);
		sbx_strvec_pushf(av, "--hibernate-dir=%s/hibernate", sbdir);
	}
	for (i = 0; sp->more && i < sp->more->nr; i++)
		sbx_strvec_push(av, sp->more->v[i]);
}

/* True if `pid` is a zombie (exited, not yet reaped). */
static int
proc_zombie(pid_t pid)
{
	char path[64], stat[512], *p;
	FILE *f;
	int z = 0;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	if (fgets(stat, sizeof(stat), f) && (p = strrchr(stat, ')')) &&
	    p[1] == ' ' && p[2] == 'Z')
		z = 1;
	fclose(f);
	return z;
}

int
kvm_exec_detached(char *const *argv, const char *log, pid_t *pid_out,
    struct sbx_err *e)
{
	int errpipe[2] = { -1, -1 }, logfd, nul, err = 0, rc = -1;
	pid_t pid, vmm_pid = 0;
	ssize_t n;

	*pid_out = 0;
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (logfd < 0 || nul < 0 || pipe2(errpipe, O_CLOEXEC) < 0) {
		sbx_err_sys(e, "cannot prepare to start the VMM ('%s')", log);
		goto out;
	}
	/*
	 * Double fork: the middle child starts a session and forks the VMM,
	 * which is then reparented to init and outlives us. The pipe carries
	 * the VMM's pid, then (only if exec failed) a negative errno; its
	 * end of file means the exec is under way (its name follows: below).
	 */
	pid = fork();
	if (pid < 0) {
		sbx_err_sys(e, "cannot fork");
		goto out;
	}
	if (pid == 0) {
		sigset_t none;
		pid_t grand;

		setsid();
		grand = fork();
		if (grand < 0)
			_exit(1);
		if (grand > 0) {
			int v = (int)grand;

			n = write(errpipe[1], &v, sizeof(v));
			_exit(n == sizeof(v) ? 0 : 1);
		}
		dup2(nul, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		/* A server blocks SIGTERM for sigwait; the VMM must not. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		/* Nothing of ours (a server's sockets) leaks into the VMM. */
		close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
		execv(argv[0], argv);
		err = -errno;
		n = write(errpipe[1], &err, sizeof(err));
		_exit(127);
	}
	close(errpipe[1]);
	errpipe[1] = -1;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	while ((n = read(errpipe[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	if (n != sizeof(err) || err <= 0) {
		sbx_err_set(e, SBX_EIO, "cannot start the VMM");
		goto out;
	}
	vmm_pid = err;
	while ((n = read(errpipe[0], &err, sizeof(err))) < 0 && errno == EINTR)
		;
	if (n == sizeof(err) && err < 0) {
		errno = -err;
		sbx_err_sys(e, "cannot run '%s'", argv[0]);
		goto out;
	}
	/*
	 * The pipe's end of file comes when execve closes close-on-exec
	 * files, which is before the kernel gives the process its new name;
	 * until then /proc says "sbx" and kvm_vmm_alive() says no. Wait for
	 * the name (or the process's end) so callers never see that gap.
	 */
	{
		uint64_t until = sbx_clock_ms() + 10000;

		while (!kvm_vmm_alive(vmm_pid) && kill(vmm_pid, 0) == 0 &&
		    !proc_zombie(vmm_pid) && sbx_clock_ms() < until)
			usleep(1000);
	}
	*pid_out = vmm_pid;
	rc = 0;
out:
	if (errpipe[0] >= 0)
		close(errpipe[0]);
	if (errpipe[1] >= 0)
		close(errpipe[1]);
	if (logfd >= 0)
		close(logfd);
	if (nul >= 0)
		close(nul);
	return rc;
}

int
kvm_spawn_vmm(const struct kvm_spawn *sp, pid_t *pid_out, struct sbx_err *e)
{
	struct sbx_strvec av = SBX_STRVEC_INIT;
	char *rundir = kvm_rundir(sp->id), *log, *vmm;
	int rc;

	*pid_out = 0;
	if (kvm_rundir_make(sp->id, e) < 0) {
		free(rundir);
		return -1;
	}
	vmm = kvm_vmm_path();
	if (access(vmm, X_OK) < 0) {
		sbx_err_sys(e, "cannot run the VMM '%s'", vmm);
		sbx_err_hint(e, "set SBX_LIBEXECDIR to the directory holding "
		    "sbx-vmm");
		free(vmm);
		free(rundir);
		kvm_rundir_remove(sp->id);
		return -1;
	}
	free(vmm);
	vmm_argv(sp, rundir, sp->sbdir, &av);
	log = xasprintf("%s/vmm.log", sp->sbdir);
	rc = kvm_exec_detached(av.v, log, pid_out, e);
	if (rc < 0)
		kvm_rundir_remove(sp->id);	/* no VMM started */
	sbx_strvec_clear(&av);
	free(log);
	free(rundir);
	return rc;
}

json_t *
kvm_ctl_request(const char *id, json_t *req, uint64_t timeout_ms,
    struct sbx_err *e)
{
	char *path = kvm_runfile(id, "ctl.sock"), *s;
	struct sbx_buf in = SBX_BUF_INIT;
	uint64_t deadline = sbx_clock_ms() + timeout_ms;
	json_t *rep = NULL;
	json_error_t jerr;
	size_t len, off = 0;
	int fd = -1;

	s = json_dumps(req, JSON_COMPACT);
	fd = sbx_unix_connect(path);
	if (fd == -ENAMETOOLONG) {
		sbx_err_set(e, SBX_EINVAL, "control socket path '%s' is too "
		    "long", path);
		goto out;
	}
	if (fd < 0) {
		errno = -fd;
		sbx_err_sys(e, "cannot reach the VMM of '%s' at '%s'", id,
		    path);
		goto out;
	}
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps left room for the NUL */
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sbx_err_sys(e, "cannot talk to the VMM of '%s'", id);
			goto out;
		}
		off += n;
	}
	while (!memchr(in.buf, '\n', in.len)) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = sbx_clock_ms();
		char buf[4096];
		ssize_t n;

		if (now >= deadline) {
			sbx_err_set(e, SBX_ETIMEDOUT, "the VMM of '%s' did not "
			    "answer within %llu s", id,
			    (unsigned long long)(timeout_ms / 1000));
			goto out;
		}
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sbx_err_set(e, SBX_EIO, "the VMM of '%s' closed the "
			    "control connection", id);
			goto out;
		}
		sbx_buf_add(&in, buf, n);
	}
	rep = json_loadb(in.buf, (char *)memchr(in.buf, '\n', in.len) - in.buf,
	    0, &jerr);
	if (!rep || !json_is_object(rep)) {
		sbx_err_set(e, SBX_EINVAL, "bad reply from the VMM of '%s'",
		    id);
		json_decref(rep);
		rep = NULL;
	} else if (!json_is_true(json_object_get(rep, "ok")) &&
	    !json_object_get(rep, "children")) {
		const char *m = json_string_value(json_object_get(rep,
		    "error"));

		sbx_err_set(e, SBX_EIO, "the VMM of '%s' refused: %s", id,
		    m ? m : "no reason given");
		json_decref(rep);
		rep = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	sbx_buf_release(&in);
	free(path);
	free(s);
	json_decref(req);
	return rep;
}

/* A stats sample's per-vCPU CPU time and exits, and per-device counters. */
static void
stats_sample(json_t *st, uint64_t *cpu, uint64_t *exits, uint64_t *dev,
    size_t max)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(st, "vcpus"), i, v)
		if (i < max) {
			cpu[i] = json_integer_value(json_object_get(v,
			    "cpu_ns"));
			exits[i] = json_integer_value(json_object_get(v,
			    "exits"));
		}
	json_array_foreach(json_object_get(st, "devices"), i, v)
		if (i < max)
			dev[2 * i] = json_integer_value(json_object_get(v,
			    "notifies")), dev[2 * i + 1] =
			    json_integer_value(json_object_get(v, "irqs"));
}

/*
 * What a VMM whose guest does not answer is doing: its state, and what
 * its vCPUs and devices did over two seconds (a halted guest waiting for
 * an interrupt that never comes, one spinning, or a device stalled).
 */
void
kvm_vmm_diagnosis(const char *id, struct sbx_buf *out)
{
	enum { MAXN = 16 };
	uint64_t c0[MAXN] = { 0 }, x0[MAXN] = { 0 }, d0[2 * MAXN] = { 0 };
	uint64_t c1[MAXN] = { 0 }, x1[MAXN] = { 0 }, d1[2 * MAXN] = { 0 };
	struct sbx_err e = { 0 };
	json_t *st0, *st1, *status, *v;
	size_t i;

	status = kvm_ctl_request(id, json_pack("{s:s}", "op", "status"), 3000,
	    &e);
	st0 = kvm_ctl_request(id, json_pack("{s:s}", "op", "stats"), 3000, &e);
	usleep(2000 * 1000);
	st1 = st0 ? kvm_ctl_request(id, json_pack("{s:s}", "op", "stats"),
	    3000, &e) : NULL;
	if (!status || !st0 || !st1) {
		sbx_buf_addf(out, "(the VMM did not answer a stats request: "
		    "%s)\n", e.msg);
		goto out;
	}
	stats_sample(st0, c0, x0, d0, MAXN);
	stats_sample(st1, c1, x1, d1, MAXN);
	sbx_buf_addf(out, "VMM state %s; in 2 s:",
	    json_string_value(json_object_get(status, "state")) ?
	    json_string_value(json_object_get(status, "state")) : "?");
	json_array_foreach(json_object_get(st1, "vcpus"), i, v)
		if (i < MAXN)
			sbx_buf_addf(out, " vCPU %zu %llu ms CPU %llu exits;", i,
			    (unsigned long long)((c1[i] - c0[i]) / 1000000),
			    (unsigned long long)(x1[i] - x0[i]));
	json_array_foreach(json_object_get(st1, "devices"), i, v)
		if (i < MAXN)
			sbx_buf_addf(out, " %s %llu kicks %llu irqs%s;",
			    json_string_value(json_object_get(v, "name")),
			    (unsigned long long)(d1[2 * i] - d0[2 * i]),
			    (unsigned long long)(d1[2 * i + 1] -
			    d0[2 * i + 1]), json_is_true(json_object_get(v,
			    "failed")) ? " (failed)" : "");
	sbx_buf_addf(out, " console +%lld bytes\n", (long long)
	    (json_integer_value(json_object_get(st1, "console_bytes")) -
	    json_integer_value(json_object_get(st0, "console_bytes"))));
out:
	json_decref(status);
	json_decref(st0);
	json_decref(st1);
}

/* Appends the last `max` bytes of a file, for error messages. */
static void
tail_file(const char *path, size_t max, struct sbx_buf *out)
{
	struct sbx_buf b = SBX_BUF_INIT;
	const char *p;

	if (sbx_buf_read_file(&b, path, NULL) < 0) {
		sbx_buf_release(&b);
		return;
	}
	p = b.len > max ? b.buf + b.len - max : b.buf;
	sbx_buf_addstr(out, p);
	sbx_buf_release(&b);
}

int
kvm_wait_agent(const char *id, const char *sbdir, pid_t pid,
    uint64_t timeout_ms, bool boot, struct sbx_err *e)
{
	struct sbx_agent a;
	struct sbx_agent_info info;
	struct sbx_err ping;
	char *sock = kvm_runfile(id, "vsock.sock"), *spec;
	uint64_t deadline = sbx_clock_ms() + timeout_ms;
	int rc = -1;

	spec = xasprintf("vsock:%s", sock);
	if (sbx_agent_init(&a, spec, e) < 0)
		goto out;
	a.attempts = 1;
	for (;;) {
		sbx_err_clear(&ping);
		if (access(sock, F_OK) == 0 &&
		    sbx_agent_ping(&a, &info, &ping) == 0) {
			rc = 0;
			break;
		}
		if (!kvm_vmm_alive(pid) || sbx_clock_ms() >= deadline) {
			struct sbx_buf t = SBX_BUF_INIT;
			char *log = xasprintf("%s/console.log", sbdir);
			char *vlog = xasprintf("%s/vmm.log", sbdir);
			int dead = !kvm_vmm_alive(pid);

			tail_file(vlog, 1200, &t);
			tail_file(log, 1500, &t);
			if (!dead)
				kvm_vmm_diagnosis(id, &t);
			if (dead)
				sbx_err_set(e, SBX_EFAIL, "sandbox '%s' stopped "
				    "while booting; last output:\n%s", id, t.buf);
			else
				sbx_err_set(e, SBX_ETIMEDOUT, "sandbox '%s' did "
				    "not become ready within %llus; last "
				    "output:\n%s", id, (unsigned long long)
				    (timeout_ms / 1000), t.buf);
			if (!dead && boot)
				sbx_err_hint(e, "raise the limit with "
				    "SBX_BOOT_TIMEOUT (a duration)");
			else if (!dead)
				sbx_err_hint(e, "a restored guest answers in "
				    "seconds; this one is stuck (sbx logs %s, "
				    "sbx stats %s)", id, id);
			sbx_buf_release(&t);
			free(log);
			free(vlog);
			break;
		}
		usleep(50 * 1000);
	}
	sbx_agent_release(&a);
out:
	free(spec);
	free(sock);
	return rc;
}
