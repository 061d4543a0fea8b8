/*
 * exec.c - sbx-agent's process runner: the job table, spawning with pipes
 * or a PTY, the output pump, the reaper, and the EXEC and KILL requests.
 *
 * A job outlives its connection: when the connection drops, the pump keeps
 * queueing output (up to JOB_QUEUE_CAP, then the child blocks on its pipe)
 * and a retried EXEC with the same request id reattaches and receives the
 * rest, then EXIT. A finished job stays in the table for JOB_KEEP_SEC so a
 * late retry gets its exit status instead of running the command twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "kvm/guest/agentd.h"
#include "core/banned.h"

#define JOB_QUEUE_CAP (4u << 20)
#define JOB_KEEP_SEC 600
#define STDIN_BACKLOG (1u << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
	"/sbin:/bin"

struct chunk {
	struct chunk *next;
	uint8_t type;		/* SBX_AGENT_STDOUT or _STDERR */
	size_t len;
	uint8_t data[];
};

struct job {
	struct job *next;
	uint8_t id[SBX_AGENT_ID_LEN];
	pid_t pid;
	int background, pty;
	int in_fd;		/* stdin pipe or PTY master; -1 once closed */
	int out_fd, err_fd;	/* read by the pump; -1 when at EOF */
	int wake[2];		/* reaper -> pump */
	int evfd;		/* pump, reaper -> attached connection */
	struct chunk *head, *tail;
	size_t queued;
	int exited, status;	/* waitpid status once exited */
	int drained;		/* the pump is done: all output is queued */
	int delivered;		/* EXIT was sent */
	int attached;		/* connections attached (0 or 1, briefly 2) */
	unsigned gen;		/* attach generation; newest wins */
	pthread_cond_t space;
	time_t done_at;
};

static pthread_mutex_t jobs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs;

static time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
job_free(struct job *j)
{
	struct chunk *c;

	while ((c = j->head)) {
		j->head = c->next;
		free(c);
	}
	if (j->in_fd >= 0)
		close(j->in_fd);
	if (j->evfd >= 0)
		close(j->evfd);
	if (j->wake[0] >= 0) {
		close(j->wake[0]);
		close(j->wake[1]);
	}
	pthread_cond_destroy(&j->space);
	free(j);
}

/* Drops finished, unattached jobs older than JOB_KEEP_SEC. Locked. */
static void
jobs_gc(void)
{
	struct job **pp = &jobs;
	time_t now = now_sec();

	while (*pp) {
		struct job *j = *pp;

		if (j->exited && (j->background || j->drained) &&
		    !j->attached && now - j->done_at > JOB_KEEP_SEC) {
			*pp = j->next;
			job_free(j);
		} else {
			pp = &j->next;
		}
	}
}

static struct job *
job_find_id(const uint8_t *id)
{
	struct job *j;

	for (j = jobs; j; j = j->next)
		if (!memcmp(j->id, id, SBX_AGENT_ID_LEN))
			return j;
	return NULL;
}

static void
job_remove(struct job *dead)
{
	struct job **pp;

	for (pp = &jobs; *pp; pp = &(*pp)->next)
		if (*pp == dead) {
			*pp = dead->next;
			return;
		}
}

static void
notify(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		return;
}

/* Reaps every child on SIGCHLD and records the status of our jobs. */
static void *
reaper_main(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		pid_t pid;
		int st;

		sigwaitinfo(&set, NULL);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
			struct job *j;
			char b = 0;

			pthread_mutex_lock(&jobs_mu);
			for (j = jobs; j; j = j->next)
				if (j->pid == pid && !j->exited)
					break;
			if (j) {
				j->exited = 1;
				j->status = st;
				j->done_at = now_sec();
				if (j->wake[1] >= 0 &&
				    write(j->wake[1], &b, 1) < 0)
					b = 1;
				notify(j->evfd);
			}
			pthread_mutex_unlock(&jobs_mu);
		}
	}
	return NULL;
}

void
exec_start_reaper(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, reaper_main, NULL) != 0) {
		agentd_log("cannot start the reaper thread");
		abort();
	}
	pthread_detach(t);
}

/* Queues output for the attached (or a future) connection. */
static void
job_queue(struct job *j, uint8_t type, const uint8_t *data, size_t len)
{
	struct chunk *c = malloc(sizeof(*c) + len);

	if (!c)
		abort();
	c->next = NULL;
	c->type = type;
	c->len = len;
	memcpy(c->data, data, len);
	pthread_mutex_lock(&jobs_mu);
	while (j->queued > JOB_QUEUE_CAP)
		pthread_cond_wait(&j->space, &jobs_mu);
	if (j->tail)
		j->tail->next = c;
	else
		j->head = c;
	j->tail = c;
	j->queued += len;
	notify(j->evfd);
	pthread_mutex_unlock(&jobs_mu);
}

/*
 * Moves the child's stdout/stderr into the job queue until both reach
 * EOF, or until the child has exited and no output came for 100 ms (a
 * background grandchild may hold the pipes open forever).
 */
static void *
pump_main(void *arg)
{
	struct job *j = arg;
	uint8_t *buf = malloc(SBX_AGENT_CHUNK);
	int fds[2] = { j->out_fd, j->err_fd };

	if (!buf)
		abort();
	while (fds[0] >= 0 || fds[1] >= 0) {
		struct pollfd p[3];
		int exited, n, i;

		pthread_mutex_lock(&jobs_mu);
		exited = j->exited;
		pthread_mutex_unlock(&jobs_mu);
		for (i = 0; i < 2; i++) {
			p[i].fd = fds[i];
			p[i].events = POLLIN;
		}
		p[2].fd = j->wake[0];
		p[2].events = POLLIN;
		n = poll(p, 3, exited ? 100 : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && exited)
			break;
		if (p[2].revents & POLLIN) {
			char tmp[64];

			if (read(j->wake[0], tmp, sizeof(tmp)) < 0)
				continue;
		}
		for (i = 0; i < 2; i++) {
			ssize_t r;

			if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP |
			    POLLERR)))
				continue;
			r = read(fds[i], buf, SBX_AGENT_CHUNK);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (r <= 0) {	/* EOF, or EIO on a hung-up PTY */
				close(fds[i]);
				fds[i] = -1;
				continue;
			}
			job_queue(j, i ? SBX_AGENT_STDERR : SBX_AGENT_STDOUT,
			    buf, (size_t)r);
		}
	}
	free(buf);
	pthread_mutex_lock(&jobs_mu);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	j->out_fd = j->err_fd = -1;
	j->drained = 1;
	if (j->exited)
		j->done_at = now_sec();
	notify(j->evfd);
	pthread_mutex_unlock(&jobs_mu);
	return NULL;
}

/* Finds `prog` on `path`; writes the result to `out`. 0 or -ENOENT. */
static int
find_program(const char *prog, const char *path, char *out, size_t cap)
{
	const char *p = path, *end;
	struct stat st;

	if (strchr(prog, '/')) {
		snprintf(out, cap, "%s", prog);
		return 0;
	}
	for (; p && *p; p = *end ? end + 1 : end) {
		size_t dl;

		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		dl = (size_t)(end - p);
		if ((size_t)snprintf(out, cap, "%.*s/%s", (int)(dl ? dl : 1),
		    dl ? p : ".", prog) >= cap)
			continue;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

struct spawn {
	char prog[4096];
	char **argv;
	char **envp;		/* built by build_env, freed by the caller */
	const char *cwd;
	int cwd_default;	/* cwd is the user's home: fall back to / */
	struct user_info user;
	int set_user;
	char slave[128];	/* PTY slave path */
	int fd0, fd1, fd2;	/* child's stdio (pipe ends, files) */
	int errpipe;		/* write end, CLOEXEC */
};

/* Failure record a child sends through the CLOEXEC error pipe. */
struct child_err {
	int stage;
	int err;
};

enum { STAGE_TTY = 1, STAGE_USER, STAGE_CWD, STAGE_EXEC };

static void __attribute__((noreturn))
child_fail(int fd, int stage)
{
	struct child_err ce = { stage, errno };

	if (write(fd, &ce, sizeof(ce)) < 0)
		_exit(126);
	_exit(127);
}

/* Runs in the forked child: async-signal-safe calls only. */
static void __attribute__((noreturn))
child_main(struct spawn *s)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	setsid();
	if (s->slave[0]) {
		int t = open(s->slave, O_RDWR);

		if (t < 0 || ioctl(t, TIOCSCTTY, 0) < 0)
			child_fail(s->errpipe, STAGE_TTY);
		s->fd0 = s->fd1 = s->fd2 = t;
	}
	if (dup2(s->fd0, 0) < 0 || dup2(s->fd1, 1) < 0 || dup2(s->fd2, 2) < 0)
		child_fail(s->errpipe, STAGE_TTY);
	if (s->errpipe > 3)
		syscall(SYS_close_range, 3, s->errpipe - 1, 0);
	syscall(SYS_close_range, s->errpipe + 1, ~0u, 0);
	if (s->set_user) {
		if (setgroups((size_t)s->user.ngroups, s->user.groups) < 0 ||
		    setgid(s->user.gid) < 0 || setuid(s->user.uid) < 0)
			child_fail(s->errpipe, STAGE_USER);
	}
	if (s->cwd && chdir(s->cwd) < 0 && (!s->cwd_default ||
	    chdir("/") < 0))
		child_fail(s->errpipe, STAGE_CWD);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < 65; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(s->prog, s->argv, s->envp);
	child_fail(s->errpipe, STAGE_EXEC);
}

/* Environment: defaults for the user, then the request's entries. */
static char **
build_env(struct sbx_agent_msg *req, struct spawn *s)
{
	char **env = calloc(req->envc + 8, sizeof(*env));
	size_t n = 0, i, k;
	char tmp[512];

	if (!env)
		abort();
#define ADD(...) do { snprintf(tmp, sizeof(tmp), __VA_ARGS__); \
	env[n++] = strdup(tmp); } while (0)
	ADD("PATH=%s", DEFAULT_PATH);
	ADD("HOME=%s", s->set_user ? s->user.home : "/root");
	if (s->set_user) {
		ADD("USER=%s", s->user.name);
		ADD("LOGNAME=%s", s->user.name);
		ADD("SHELL=%s", s->user.shell);
	}
	if (req->flags & SBX_AGENT_F_PTY)
		ADD("TERM=xterm-256color");
#undef ADD
	for (i = 0; i < req->envc; i++) {
		size_t kl = (size_t)(strchr(req->env[i], '=') - req->env[i]);

		for (k = 0; k < n; k++)
			if (!strncmp(env[k], req->env[i], kl + 1))
				break;
		if (k < n)
			free(env[k]);
		else
			n++;
		env[k] = strdup(req->env[i]);
	}
	for (k = 0; k < n; k++)
		if (!env[k])
			abort();
	env[n] = NULL;
	return env;
}

static void
free_vec(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static const char *
stage_what(int stage)
{
	switch (stage) {
	case STAGE_TTY: return "cannot set up the terminal";
	case STAGE_USER: return "cannot switch to the user";
	case STAGE_CWD: return "cannot change to the working directory";
	}
	return "cannot run";
}

/* Opens a PTY master; fills the slave path. -errno. */
static int
open_pty(struct sbx_agent_msg *req, char *slave, size_t cap)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (m < 0)
		return -errno;
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, slave, cap)) {
		int e = errno;

		close(m);
		return -e;
	}
	if (SBX_AGENT_HAS(req, SBX_AGENT_T_ROWS) &&
	    SBX_AGENT_HAS(req, SBX_AGENT_T_COLS)) {
		struct winsize ws = { .ws_row = (unsigned short)req->rows,
		    .ws_col = (unsigned short)req->cols };

		ioctl(m, TIOCSWINSZ, &ws);
	}
	return m;
}

/*
 * Starts the job for `req` and inserts it into the table. On failure it
 * replies ERROR and returns NULL.
 */
static struct job *
job_spawn(struct conn *c, struct sbx_agent_msg *req)
{
	struct spawn s;
	struct job *j;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int ep[2] = { -1, -1 }, master = -1, r;
	char *shargv[2] = { NULL, NULL };
	struct child_err ce;
	const char *path;
	pid_t pid;
	ssize_t n;

	memset(&s, 0, sizeof(s));
	s.fd0 = s.fd1 = s.fd2 = -1;
	if (req->user) {
		if ((r = user_lookup(req->user, &s.user, NULL, NULL)) < 0) {
			conn_error(c, -r, "unknown user '%s'", req->user);
			return NULL;
		}
		s.set_user = 1;
	}
	s.cwd = req->cwd ? req->cwd : s.set_user ? s.user.home : NULL;
	s.cwd_default = !req->cwd;
	s.envp = build_env(req, &s);
	path = NULL;
	for (size_t i = 0; s.envp[i]; i++)
		if (!strncmp(s.envp[i], "PATH=", 5))
			path = s.envp[i] + 5;
	s.argv = req->argv;
	if (req->argc == 0) {	/* PTY without a command: a login shell */
		shargv[0] = s.set_user ? s.user.shell : "/bin/sh";
		s.argv = shargv;
	}
	if (find_program(s.argv[0], path, s.prog, sizeof(s.prog)) < 0) {
		conn_error(c, ENOENT, "command '%s' not found", s.argv[0]);
		goto fail;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	memcpy(j->id, req->id, SBX_AGENT_ID_LEN);
	j->background = !!(req->flags & SBX_AGENT_F_BACKGROUND);
	j->pty = !!(req->flags & SBX_AGENT_F_PTY);
	j->in_fd = j->out_fd = j->err_fd = j->wake[0] = j->wake[1] = -1;
	j->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_cond_init(&j->space, NULL);
	if (j->evfd < 0 || pipe2(ep, O_CLOEXEC) < 0)
		goto sysfail;
	if (j->background) {
		const char *log = req->log ? req->log : "/dev/null";

		s.fd0 = open("/dev/null", O_RDONLY | O_CLOEXEC);
		s.fd1 = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0644);
		if (s.fd1 < 0) {
			conn_error(c, errno, "cannot open log file '%s': %s",
			    log, strerror(errno));
			goto fail_job;
		}
		s.fd2 = s.fd1;
	} else if (j->pty) {
		if ((master = open_pty(req, s.slave, sizeof(s.slave))) < 0) {
			errno = -master;
			goto sysfail;
		}
	} else {
		if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
			goto sysfail;
		if (req->flags & SBX_AGENT_F_STDIN) {
			if (pipe2(in, O_CLOEXEC) < 0)
				goto sysfail;
			s.fd0 = in[0];
		} else {
			s.fd0 = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		s.fd1 = out[1];
		s.fd2 = err[1];
	}
	if (!j->background && pipe2(j->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		goto sysfail;
	s.errpipe = ep[1];
	pthread_mutex_lock(&jobs_mu);
	pid = fork();
	if (pid == 0)
		child_main(&s);
	if (pid < 0) {
		pthread_mutex_unlock(&jobs_mu);
		goto sysfail;
	}
	j->pid = pid;
	j->next = jobs;
	jobs = j;
	pthread_mutex_unlock(&jobs_mu);
	close(ep[1]);
	ep[1] = -1;
	do
		n = read(ep[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(ce)) {
		pthread_mutex_lock(&jobs_mu);
		job_remove(j);
		pthread_mutex_unlock(&jobs_mu);
		errno = ce.err;
		conn_error(c, ce.err, "%s '%s': %s", stage_what(ce.stage),
		    ce.stage == STAGE_CWD ? s.cwd : ce.stage == STAGE_USER ?
		    s.user.name : s.argv[0], strerror(ce.err));
		goto fail_job;
	}
	close(ep[0]);
	if (j->pty) {
		j->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 0);
		j->out_fd = master;
		master = -1;
	} else if (!j->background) {
		j->in_fd = in[1];
		j->out_fd = out[0];
		j->err_fd = err[0];
		in[1] = out[0] = err[0] = -1;
	}
	if (j->in_fd >= 0)
		fcntl(j->in_fd, F_SETFL, fcntl(j->in_fd, F_GETFL) | O_NONBLOCK);
	for (int *fd = (int[]){ in[0], in[1], out[0], out[1], err[0], err[1],
	    s.fd0 == in[0] ? -1 : s.fd0, s.fd1 == out[1] ? -1 : s.fd1, -2 };
	    *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	free_vec(s.envp);
	if (!j->background) {
		pthread_t t;

		if (pthread_create(&t, NULL, pump_main, j) != 0)
			abort();
		pthread_detach(t);
	}
	return j;
sysfail:
	conn_error(c, errno, "cannot start '%s': %s", s.argv[0],
	    strerror(errno));
fail_job:
	for (int *fd = (int[]){ in[0], in[1], out[0], out[1], err[0], err[1],
	    ep[0], ep[1], master, s.fd0 == in[0] ? -1 : s.fd0,
	    s.fd1 == out[1] ? -1 : s.fd1, -2 }; *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	job_free(j);	/* never inserted, or removed again */
fail:
	free_vec(s.envp);
	return NULL;
}

/* Sends STARTED for `j`. */
static int
send_started(struct conn *c, struct job *j, int reattached)
{
	struct sbx_agent_msg m;

	sbx_agent_msg_init(&m, SBX_AGENT_STARTED,
	    reattached ? SBX_AGENT_F_REATTACHED : 0);
	m.pid = (uint32_t)j->pid;
	m.have |= 1u << SBX_AGENT_T_PID;
	return sbx_agent_write_msg(c->fd, &m);
}

static int
send_exit(struct conn *c, int status)
{
	struct sbx_agent_msg m;

	sbx_agent_msg_init(&m, SBX_AGENT_EXIT, 0);
	if (WIFSIGNALED(status)) {
		m.sig = (uint32_t)WTERMSIG(status);
		m.have |= 1u << SBX_AGENT_T_SIGNAL;
	} else {
		m.code = (uint32_t)WEXITSTATUS(status);
		m.have |= 1u << SBX_AGENT_T_CODE;
	}
	return sbx_agent_write_msg(c->fd, &m);
}

/* Per-connection state of an attached foreground exec. */
struct attach {
	struct conn *c;
	struct job *j;
	unsigned gen;
	uint8_t *pending;	/* stdin bytes not yet written to the child */
	size_t npending;
	int stdin_eof;
};

/*
 * Sends the queued output. Returns 1 when EXIT was sent, 0 to go on,
 * -1 when the connection failed or another connection took the job over.
 */
static int
attach_flush(struct attach *a)
{
	struct job *j = a->j;
	struct chunk *list, *c;
	int done, status;

	pthread_mutex_lock(&jobs_mu);
	if (j->gen != a->gen) {
		pthread_mutex_unlock(&jobs_mu);
		return -1;
	}
	list = j->head;
	j->head = j->tail = NULL;
	j->queued = 0;
	pthread_cond_broadcast(&j->space);
	done = j->exited && j->drained;
	status = j->status;
	pthread_mutex_unlock(&jobs_mu);
	while ((c = list)) {
		if (sbx_agent_write_frame(a->c->fd, c->type, 0, c->data,
		    c->len) < 0) {
			struct chunk *t = list;
			size_t n = 0;

			/* Put the unsent output back for a reattach. */
			while (t->next) {
				n += t->len;
				t = t->next;
			}
			n += t->len;
			pthread_mutex_lock(&jobs_mu);
			t->next = j->head;
			if (!j->head)
				j->tail = t;
			j->head = list;
			j->queued += n;
			pthread_mutex_unlock(&jobs_mu);
			return -1;
		}
		list = c->next;
		free(c);
	}
	if (!done)
		return 0;
	if (send_exit(a->c, status) < 0)
		return -1;
	pthread_mutex_lock(&jobs_mu);
	j->delivered = 1;
	pthread_mutex_unlock(&jobs_mu);
	return 1;
}

/* Handles one frame from the client. -1 ends the attachment. */
static int
attach_input(struct attach *a)
{
	struct sbx_agent_hdr h;
	struct sbx_agent_msg m;
	const char *why = "";
	struct job *j = a->j;

	if (sbx_agent_read_frame(a->c->fd, &h, a->c->buf, &why) != 0)
		return -1;
	switch (h.type) {
	case SBX_AGENT_STDIN:
		if (a->stdin_eof || j->in_fd < 0)
			return 0;	/* the child closed its stdin */
		a->pending = realloc(a->pending, a->npending + h.len + 1);
		if (!a->pending)
			abort();
		memcpy(a->pending + a->npending, a->c->buf, h.len);
		a->npending += h.len;
		return 0;
	case SBX_AGENT_STDIN_EOF:
		a->stdin_eof = 1;
		return 0;
	case SBX_AGENT_WINSIZE:
	case SBX_AGENT_SIGNAL:
		if (sbx_agent_msg_decode(h.type, h.flags, a->c->buf, h.len, &m,
		    &why) < 0) {
			agentd_log("bad %s frame: %s",
			    sbx_agent_type_name(h.type), why);
			return -1;
		}
		if (h.type == SBX_AGENT_WINSIZE && j->pty && j->in_fd >= 0) {
			struct winsize ws = { .ws_row = (unsigned short)m.rows,
			    .ws_col = (unsigned short)m.cols };

			ioctl(j->in_fd, TIOCSWINSZ, &ws);
		} else if (h.type == SBX_AGENT_SIGNAL) {
			kill(-j->pid, (int)m.sig);
		}
		sbx_agent_msg_free(&m);
		return 0;
	}
	agentd_log("unexpected '%s' frame during exec",
	    sbx_agent_type_name(h.type));
	return -1;
}

/* Writes pending stdin without blocking; closes stdin after EOF. */
static void
attach_stdin(struct attach *a)
{
	struct job *j = a->j;

	while (a->npending && j->in_fd >= 0) {
		ssize_t n = write(j->in_fd, a->pending, a->npending);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {	/* EPIPE: the child closed stdin */
			a->npending = 0;
			break;
		}
		memmove(a->pending, a->pending + n, a->npending - (size_t)n);
		a->npending -= (size_t)n;
	}
	if (a->stdin_eof && !a->npending && j->in_fd >= 0 && !j->pty) {
		pthread_mutex_lock(&jobs_mu);
		close(j->in_fd);
		j->in_fd = -1;
		pthread_mutex_unlock(&jobs_mu);
	}
}

/* Streams a foreground job over the connection until EXIT or a drop. */
static void
attach_run(struct conn *c, struct job *j)
{
	struct attach a = { .c = c, .j = j };
	int r = 0;

	pthread_mutex_lock(&jobs_mu);
	a.gen = ++j->gen;
	j->attached++;
	pthread_mutex_unlock(&jobs_mu);
	while ((r = attach_flush(&a)) == 0) {
		struct pollfd p[3];
		int n = 0, want_in = a.npending < STDIN_BACKLOG;

		p[n++] = (struct pollfd){ .fd = j->evfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = want_in ? c->fd : -1,
		    .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = a.npending ? j->in_fd : -1,
		    .events = POLLOUT };
		if (poll(p, (nfds_t)n, 250) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			uint64_t v;

			if (read(j->evfd, &v, sizeof(v)) < 0)
				v = 0;
		}
		if ((p[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    attach_input(&a) < 0)
			break;
		attach_stdin(&a);
	}
	free(a.pending);
	pthread_mutex_lock(&jobs_mu);
	j->attached--;
	pthread_mutex_unlock(&jobs_mu);
}

int
exec_handle(struct conn *c, struct sbx_agent_msg *req)
{
	struct job *j;
	int reattached = 0;

	pthread_mutex_lock(&jobs_mu);
	jobs_gc();
	j = job_find_id(req->id);
	if (j) {
		reattached = 1;
		j->attached++;	/* pin against gc until attach_run */
	}
	pthread_mutex_unlock(&jobs_mu);
	if (!j && !(j = job_spawn(c, req)))
		return -1;
	if (!reattached) {
		pthread_mutex_lock(&jobs_mu);
		j->attached++;
		pthread_mutex_unlock(&jobs_mu);
	}
	if (send_started(c, j, reattached) == 0 && !j->background)
		attach_run(c, j);
	pthread_mutex_lock(&jobs_mu);
	j->attached--;
	pthread_mutex_unlock(&jobs_mu);
	return 0;
}

int
kill_handle(struct conn *c, struct sbx_agent_msg *req)
{
	struct job *j = NULL;
	pid_t pid;
	int exited = 0;

	pthread_mutex_lock(&jobs_mu);
	if (SBX_AGENT_HAS(req, SBX_AGENT_T_ID))
		j = job_find_id(req->id);
	if (j) {
		pid = j->pid;
		exited = j->exited;
	} else {
		pid = (pid_t)req->pid;
	}
	pthread_mutex_unlock(&jobs_mu);
	if (!SBX_AGENT_HAS(req, SBX_AGENT_T_PID) && !j)
		return conn_error(c, ESRCH, "no exec with that id");
	if (exited || pid <= 1)
		return conn_error(c, ESRCH, "process %d has exited", (int)pid);
	if (kill((req->flags & SBX_AGENT_F_GROUP) ? -pid : pid,
	    (int)req->sig) < 0)
		return conn_error(c, errno, "cannot signal process %d: %s",
		    (int)pid, strerror(errno));
	return conn_ok(c, NULL);
}
