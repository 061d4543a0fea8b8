/*
 * run.c - fork + execve with a close-on-exec error pipe, and a poll loop
 * that feeds stdin and drains stdout/stderr together so neither side can
 * block the other. See run.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/run.h"
#include "core/xmalloc.h"
#include "core/banned.h"

extern char **environ;

#define DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"
#define CHUNK 65536

/* What the child reports through the error pipe when it cannot exec. */
enum { STAGE_FDS = 1, STAGE_CHDIR, STAGE_EXEC };
struct child_report {
	int stage;
	int err;
};

void
sbx_run_init(struct sbx_run *r)
{
	memset(r, 0, sizeof(*r));
	sbx_strvec_init(&r->argv);
	sbx_strvec_init(&r->env);
	r->in_fd = r->out_fd = r->err_fd = -1;
	r->p_in = r->p_out = r->p_err = r->p_pidfd = -1;
}

void
sbx_run_release(struct sbx_run *r)
{
	sbx_strvec_clear(&r->argv);
	sbx_strvec_clear(&r->env);
}

/* A regular file we may execute (errno EACCES for directories). */
static int
is_executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return 0;
	}
	return access(path, X_OK) == 0;
}

char *
sbx_run_find_in_path(const char *name, const char *path)
{
	int saw_eacces = 0;
	const char *p, *end;

	if (!*name) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(name, '/')) {
		if (is_executable_file(name))
			return xstrdup(name);
		return NULL;
	}
	if (!path)
		path = getenv("PATH");
	if (!path)
		path = DEFAULT_PATH;
	for (p = path;; p = end + 1) {
		size_t dlen;
		char *full;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		dlen = (size_t)(end - p);
		full = dlen ? xasprintf("%.*s/%s", (int)dlen, p, name) :
		    xasprintf("./%s", name);
		if (is_executable_file(full))
			return full;
		if (errno == EACCES)
			saw_eacces = 1;
		free(full);
		if (!*end)
			break;
	}
	errno = saw_eacces ? EACCES : ENOENT;
	return NULL;
}

/* Length of the KEY part of "KEY=value" (or of all of "KEY"). */
static size_t
env_keylen(const char *s)
{
	const char *eq = strchr(s, '=');

	return eq ? (size_t)(eq - s) : strlen(s);
}

/* The child's environment: the caller's (unless clear_env) with r->env
 * applied in order. */
static void
build_env(const struct sbx_run *r, struct sbx_strvec *out)
{
	size_t i, j;
	char **ep;

	if (!r->clear_env) {
		for (ep = environ; ep && *ep; ep++) {
			size_t klen = env_keylen(*ep);
			int overridden = 0;

			for (j = 0; j < r->env.nr && !overridden; j++)
				overridden = env_keylen(r->env.v[j]) == klen &&
				    !strncmp(r->env.v[j], *ep, klen);
			if (!overridden)
				sbx_strvec_push(out, *ep);
		}
	}
	for (i = 0; i < r->env.nr; i++) {
		const char *s = r->env.v[i];
		size_t klen = env_keylen(s);
		char *key;

		if (!s[klen])
			continue;
		/* The last assignment to a key wins. */
		key = xstrndup(s, klen);
		sbx_strvec_setenv(out, key, s + klen + 1);
		free(key);
	}
	/* A later "KEY" removes an earlier "KEY=value". */
	for (i = 0; i < r->env.nr; i++) {
		const char *s = r->env.v[i];
		size_t klen = env_keylen(s);
		int later_set = 0;

		if (s[klen])
			continue;
		for (j = i + 1; j < r->env.nr; j++)
			later_set |= env_keylen(r->env.v[j]) == klen &&
			    r->env.v[j][klen] == '=' &&
			    !strncmp(r->env.v[j], s, klen);
		if (later_set)
			continue;
		for (j = 0; j < out->nr; j++) {
			if (env_keylen(out->v[j]) == klen &&
			    !strncmp(out->v[j], s, klen)) {
				free(out->v[j]);
				memmove(&out->v[j], &out->v[j + 1],
				    (out->nr - j) * sizeof(char *));
				out->nr--;
				break;
			}
		}
	}
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Reports a failed stage to the parent and exits; async-signal-safe. */
static void __attribute__((noreturn))
child_fail(int fd, int stage)
{
	struct child_report rep = { stage, errno };
	ssize_t n;

	do
		n = write(fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Runs in the child between fork and exec: only async-signal-safe calls. */
static void __attribute__((noreturn))
child_exec(const struct sbx_run *r, const char *path, char **argv,
    char **envp, const int src[3], int report_fd, int max_fd)
{
	struct sigaction dfl, old;
	sigset_t none;
	int tmp[3], i, sig;

	for (i = 0; i < 3; i++) {
		tmp[i] = -1;
		if (src[i] >= 0 && (tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC,
		    3)) < 0)
			child_fail(report_fd, STAGE_FDS);
	}
	for (i = 0; i < 3; i++)
		if (tmp[i] >= 0 && dup2(tmp[i], i) < 0)
			child_fail(report_fd, STAGE_FDS);
	if (r->err == SBX_RUN_TO_OUT && dup2(1, 2) < 0)
		child_fail(report_fd, STAGE_FDS);

	/* Nothing but 0-2 and keep_fds survives the exec. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (i = 3; i < max_fd; i++)
			fcntl(i, F_SETFD, FD_CLOEXEC);
	for (i = 0; (size_t)i < r->nr_keep_fds; i++)
		if (r->keep_fds[i] > 2)
			fcntl(r->keep_fds[i], F_SETFD, 0);

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (r->new_pgroup)
		setpgid(0, 0);
	if (r->cwd && chdir(r->cwd) < 0)
		child_fail(report_fd, STAGE_CHDIR);
	execve(path, argv, envp);
	child_fail(report_fd, STAGE_EXEC);
}

/* "no such file" rather than strerror's capitalised sentence. */
static const char *
errno_words(int err)
{
	switch (err) {
	case ENOENT: return "no such file";
	case EACCES: return "permission denied";
	case ENOEXEC: return "not an executable";
	case ENOTDIR: return "not a directory";
	default: return strerror(err);
	}
}

static int
errno_code(int err)
{
	switch (err) {
	case ENOENT: case ENOTDIR: return SBX_ENOENT;
	case EACCES: case EPERM: return SBX_EPERM;
	default: return SBX_EIO;
	}
}

/* Opens the parent side of one stream: src is what the child gets. */
static int
setup_stream(int which, enum sbx_run_io how, int user_fd, int *parent,
    int *src, int *opened, struct sbx_err *e)
{
	int fds[2];

	*parent = *src = *opened = -1;
	switch (how) {
	case SBX_RUN_INHERIT:
	case SBX_RUN_TO_OUT:
		return 0;
	case SBX_RUN_NULL:
		*src = *opened = open("/dev/null",
		    (which ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
		if (*src < 0)
			return sbx_err_sys(e, "cannot open '/dev/null'");
		return 0;
	case SBX_RUN_FD:
		if (user_fd < 0)
			return sbx_err_set(e, SBX_EINVAL,
			    "run: no file descriptor given for fd %d", which);
		*src = user_fd;
		return 0;
	case SBX_RUN_CAPTURE:
	case SBX_RUN_DATA:
	case SBX_RUN_PIPE:
		if (pipe2(fds, O_CLOEXEC) < 0)
			return sbx_err_sys(e, "cannot create a pipe");
		*parent = which ? fds[0] : fds[1];
		*src = *opened = which ? fds[1] : fds[0];
		if (how != SBX_RUN_PIPE)
			set_nonblock(*parent);
		return 0;
	}
	return sbx_err_set(e, SBX_EINVAL, "run: bad mode for fd %d", which);
}

/* Rejects stream modes that make no sense and missing buffers. */
static int
check_request(const struct sbx_run *r, struct sbx_err *e)
{
	if (!r->argv.nr)
		return sbx_err_set(e, SBX_EINVAL, "run: no program given");
	if (r->in == SBX_RUN_CAPTURE || r->in == SBX_RUN_TO_OUT ||
	    r->out == SBX_RUN_DATA || r->out == SBX_RUN_TO_OUT ||
	    r->err == SBX_RUN_DATA)
		return sbx_err_set(e, SBX_EINVAL,
		    "run '%s': stream mode not valid for that stream",
		    r->argv.v[0]);
	if ((r->out == SBX_RUN_CAPTURE && !r->out_buf) ||
	    (r->err == SBX_RUN_CAPTURE && !r->err_buf) ||
	    (r->in == SBX_RUN_DATA && r->in_len && !r->in_data))
		return sbx_err_set(e, SBX_EINVAL,
		    "run '%s': capture or data buffer missing", r->argv.v[0]);
	return 0;
}

int
sbx_run_start(struct sbx_run *r, struct sbx_err *e)
{
	struct sbx_strvec envv = SBX_STRVEC_INIT;
	int src[3] = { -1, -1, -1 }, opened[3] = { -1, -1, -1 };
	int parent[3] = { -1, -1, -1 }, report[2] = { -1, -1 };
	struct child_report rep;
	const char *name, *pathvar;
	char *path = NULL;
	int rc, i, max_fd;
	ssize_t n;
	pid_t pid;

	r->pid = 0;
	r->p_running = 0;
	r->status = r->signo = 0;
	r->timed_out = r->out_truncated = r->err_truncated = 0;
	r->p_in = r->p_out = r->p_err = r->p_pidfd = -1;
	r->p_in_off = 0;
	if ((rc = check_request(r, e)) < 0)
		return rc;
	name = r->argv.v[0];

	build_env(r, &envv);
	pathvar = sbx_strvec_getenv(&envv, "PATH");
	path = sbx_run_find_in_path(name, pathvar ? pathvar : DEFAULT_PATH);
	if (!path) {
		int err = errno;

		rc = sbx_err_set(e, errno_code(err), "cannot run '%s': %s",
		    name, errno_words(err));
		if (err == ENOENT && !strchr(name, '/'))
			sbx_err_hint(e, "'%s' was not found on PATH", name);
		goto out;
	}

	if ((rc = setup_stream(0, r->in, r->in_fd, &parent[0], &src[0],
	    &opened[0], e)) < 0 ||
	    (rc = setup_stream(1, r->out, r->out_fd, &parent[1], &src[1],
	    &opened[1], e)) < 0 ||
	    (rc = setup_stream(2, r->err, r->err_fd, &parent[2], &src[2],
	    &opened[2], e)) < 0)
		goto out;
	if (pipe2(report, O_CLOEXEC) < 0) {
		rc = sbx_err_sys(e, "cannot create a pipe");
		goto out;
	}
	max_fd = (int)sysconf(_SC_OPEN_MAX);
	if (max_fd < 0 || max_fd > 65536)
		max_fd = 65536;

	r->p_start_ms = sbx_clock_ms();
	pid = fork();
	if (pid < 0) {
		rc = sbx_err_sys(e, "cannot run '%s': fork failed", name);
		goto out;
	}
	if (pid == 0)
		child_exec(r, path, r->argv.v, envv.v, src, report[1], max_fd);

	if (r->new_pgroup)
		setpgid(pid, pid);
	close_fd(&report[1]);
	for (i = 0; i < 3; i++)
		close_fd(&opened[i]);
	do
		n = read(report[0], &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(rep)) {
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		if (rep.stage == STAGE_CHDIR) {
			rc = sbx_err_set(e, errno_code(rep.err), "cannot run "
			    "'%s': cannot change to directory '%s': %s",
			    name, r->cwd, errno_words(rep.err));
		} else if (rep.stage == STAGE_EXEC) {
			rc = sbx_err_set(e, errno_code(rep.err),
			    "cannot run '%s': %s", name, errno_words(rep.err));
		} else {
			rc = sbx_err_set(e, SBX_EIO, "cannot run '%s': cannot "
			    "set up its standard streams: %s", name,
			    strerror(rep.err));
		}
		if (e)
			e->sys_errno = rep.err;
		goto out;
	}

	r->pid = pid;
	r->p_running = 1;
#ifdef SYS_pidfd_open
	r->p_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	if (r->in == SBX_RUN_PIPE)
		r->in_fd = parent[0];
	else
		r->p_in = parent[0];
	if (r->out == SBX_RUN_PIPE)
		r->out_fd = parent[1];
	else
		r->p_out = parent[1];
	if (r->err == SBX_RUN_PIPE)
		r->err_fd = parent[2];
	else
		r->p_err = parent[2];
	parent[0] = parent[1] = parent[2] = -1;
	if (r->in == SBX_RUN_DATA && !r->in_len)
		close_fd(&r->p_in);
	rc = 0;
out:
	for (i = 0; i < 3; i++) {
		close_fd(&opened[i]);
		close_fd(&parent[i]);
	}
	close_fd(&report[0]);
	close_fd(&report[1]);
	free(path);
	sbx_strvec_clear(&envv);
	return rc;
}

/* Reads what is available from a capture pipe; closes it at EOF. */
static void
drain(int *fd, struct sbx_buf *b, int *truncated)
{
	char scratch[4096];

	for (;;) {
		size_t room = CHUNK;
		char *dst;
		ssize_t n;

		if (b->cap && b->len >= b->cap) {
			dst = scratch;
			room = sizeof(scratch);
		} else {
			if (b->cap && b->cap - b->len < room)
				room = b->cap - b->len;
			sbx_buf_grow(b, room);
			dst = b->buf + b->len;
		}
		n = read(*fd, dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close_fd(fd);
			return;
		}
		if (dst == scratch) {
			*truncated = 1;
		} else {
			b->len += (size_t)n;
			b->buf[b->len] = '\0';
		}
	}
}

/* Writes the next piece of stdin data; closes the pipe when done. */
static void
feed(struct sbx_run *r)
{
	while (r->p_in >= 0) {
		size_t left = r->in_len - r->p_in_off;
		ssize_t n;

		if (!left) {
			close_fd(&r->p_in);
			return;
		}
		n = write(r->p_in, (const char *)r->in_data + r->p_in_off,
		    left < CHUNK ? left : CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			/* EPIPE: the child does not want the rest. */
			close_fd(&r->p_in);
			return;
		}
		r->p_in_off += (size_t)n;
	}
}

/* waitpid + status decoding: 1 reaped, 0 still running, -1 error. */
static int
reap(struct sbx_run *r, int flags)
{
	int st;
	pid_t w;

	do
		w = waitpid(r->pid, &st, flags);
	while (w < 0 && errno == EINTR);
	if (w <= 0)
		return w;
	if (WIFSIGNALED(st)) {
		r->signo = WTERMSIG(st);
		r->status = 128 + r->signo;
	} else {
		r->status = WEXITSTATUS(st);
	}
	return 1;
}

int
sbx_run_signal(struct sbx_run *r, int sig, struct sbx_err *e)
{
	if (!r->p_running)
		return sbx_err_set(e, SBX_EINVAL, "run: no child to signal");
	if (kill(r->new_pgroup ? -r->pid : r->pid, sig) < 0 &&
	    !(r->new_pgroup && errno == ESRCH && kill(r->pid, sig) == 0))
		return sbx_err_sys(e, "cannot signal '%s' (pid %d)",
		    r->argv.v[0], (int)r->pid);
	return 0;
}

/* Milliseconds until `when` (0 if past), or -1 for "no limit". */
static int
until(uint64_t when, uint64_t now)
{
	if (!when)
		return -1;
	if (when <= now)
		return 0;
	return when - now > 60000 ? 60000 : (int)(when - now);
}

int
sbx_run_wait(struct sbx_run *r, struct sbx_err *e)
{
	uint64_t deadline = 0, kill_at = 0, grace;
	sigset_t pipeset, oldmask, pending;
	int reaped = 0, rc = 0, had_pipe, trunc_out = 0, trunc_err = 0;
	char dur[32];

	if (!r->p_running)
		return sbx_err_set(e, SBX_EINVAL, "run: nothing was started");
	grace = r->grace_ms ? r->grace_ms : SBX_RUN_GRACE_MS;
	if (r->timeout_ms)
		deadline = r->p_start_ms + r->timeout_ms;
	sigemptyset(&pipeset);
	sigaddset(&pipeset, SIGPIPE);
	sigpending(&pending);
	had_pipe = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipeset, &oldmask);

	for (;;) {
		struct pollfd pfd[4];
		int nfds = 0, in_i = -1, out_i = -1, err_i = -1, pid_i = -1;
		int tmo;
		uint64_t now;

		if (r->p_in >= 0) {
			in_i = nfds;
			pfd[nfds++] = (struct pollfd){ r->p_in, POLLOUT, 0 };
		}
		if (r->p_out >= 0) {
			out_i = nfds;
			pfd[nfds++] = (struct pollfd){ r->p_out, POLLIN, 0 };
		}
		if (r->p_err >= 0) {
			err_i = nfds;
			pfd[nfds++] = (struct pollfd){ r->p_err, POLLIN, 0 };
		}
		if (reaped && !nfds)
			break;
		if (!reaped && r->p_pidfd >= 0) {
			pid_i = nfds;
			pfd[nfds++] = (struct pollfd){ r->p_pidfd, POLLIN, 0 };
		}
		now = sbx_clock_ms();
		tmo = until(kill_at ? kill_at : deadline, now);
		if (!reaped && r->p_pidfd < 0 && (tmo < 0 || tmo > 20))
			tmo = 20;	/* no pidfd: look at the child often */
		if (poll(pfd, (nfds_t)nfds, tmo) < 0 && errno != EINTR) {
			rc = sbx_err_sys(e, "cannot wait for '%s'",
			    r->argv.v[0]);
			sbx_run_signal(r, SIGKILL, NULL);
			reap(r, 0);
			break;
		}
		if (in_i >= 0 && pfd[in_i].revents)
			feed(r);
		if (out_i >= 0 && pfd[out_i].revents)
			drain(&r->p_out, r->out_buf, &trunc_out);
		if (err_i >= 0 && pfd[err_i].revents)
			drain(&r->p_err, r->err_buf, &trunc_err);
		if (!reaped && (pid_i < 0 || pfd[pid_i].revents)) {
			int got = reap(r, WNOHANG);

			if (got < 0 && errno == ECHILD) {
				/* Reaped behind our back (SIGCHLD ignored
				 * or a wait(-1) elsewhere). */
				rc = sbx_err_set(e, SBX_EIO, "lost the exit "
				    "status of '%s' (pid %d): it was reaped "
				    "elsewhere", r->argv.v[0], (int)r->pid);
				got = 1;
			}
			reaped = got == 1;
		}

		now = sbx_clock_ms();
		if (reaped) {
			/* After a timeout or past the deadline, stop waiting
			 * for descendants that still hold the pipes. */
			if (r->timed_out || (deadline && now >= deadline)) {
				close_fd(&r->p_in);
				close_fd(&r->p_out);
				close_fd(&r->p_err);
			}
			continue;
		}
		if (deadline && now >= deadline) {
			r->timed_out = 1;
			sbx_run_signal(r, SIGTERM, NULL);
			kill_at = now + grace;
			deadline = 0;
		} else if (kill_at && now >= kill_at) {
			sbx_run_signal(r, SIGKILL, NULL);
			kill_at = 0;
		}
	}

	close_fd(&r->p_in);
	close_fd(&r->p_out);
	close_fd(&r->p_err);
	close_fd(&r->p_pidfd);
	sigpending(&pending);
	if (!had_pipe && sigismember(&pending, SIGPIPE)) {
		struct timespec zero = { 0, 0 };

		sigtimedwait(&pipeset, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	r->p_running = 0;
	r->out_truncated = trunc_out;
	r->err_truncated = trunc_err;
	if (rc < 0)
		return rc;
	if (r->timed_out) {
		sbx_format_duration(r->timeout_ms, dur, sizeof(dur));
		return sbx_err_set(e, SBX_ETIMEDOUT,
		    "'%s' timed out after %s and was killed", r->argv.v[0],
		    dur);
	}
	return r->status;
}

int
sbx_run(struct sbx_run *r, struct sbx_err *e)
{
	int rc = sbx_run_start(r, e);

	return rc < 0 ? rc : sbx_run_wait(r, e);
}

const char *
sbx_libexec_dir(void)
{
	static char self[4096];
	const char *env = getenv("SBX_LIBEXECDIR");
	char *slash;
	ssize_t n;

	if (env && *env)
		return env;
	if (access(SBX_LIBEXECDIR "/sbx-vmm", X_OK) == 0)
		return SBX_LIBEXECDIR;
	n = readlink("/proc/self/exe", self, sizeof(self) - 16);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/'))) {
			memcpy(slash, "/sbx-vmm", sizeof("/sbx-vmm"));
			if (access(self, X_OK) == 0) {
				*slash = '\0';
				return self[0] ? self : "/";
			}
		}
	}
	return SBX_LIBEXECDIR;
}
