/*
 * run.h - running other programs (after git's run-command.h).
 *
 * sbx never runs a shell: argv[0] is looked up on the child's PATH (the
 * caller's, unless env sets PATH or clear_env is set), or used as given
 * when it contains a '/', and executed directly. Typical use:
 *
 *	struct sbx_run r;
 *	struct sbx_buf out = SBX_BUF_INIT;
 *
 *	sbx_run_init(&r);
 *	sbx_strvec_pushl(&r.argv, "apt-get", "download", "linux-image-amd64",
 *	    NULL);
 *	r.out = SBX_RUN_CAPTURE;
 *	r.out_buf = &out;
 *	r.timeout_ms = 60000;
 *	rc = sbx_run(&r, e);		// < 0: could not run or timed out
 *	...				// >= 0: exit status, see r.signo
 *	sbx_run_release(&r);
 *
 * Ownership: the struct owns argv and env (released by sbx_run_release);
 * cwd, in_data and the capture buffers belong to the caller and must stay
 * valid until sbx_run_wait returns.
 *
 * Threads: a struct sbx_run is used by one thread at a time. Different
 * threads may run programs concurrently. The child is reaped with
 * waitpid(pid), so the process must not reap children it did not start
 * (no SIGCHLD handler calling wait(-1), no SIGCHLD SIG_IGN); if that
 * happens anyway sbx_run_wait fails with SBX_EIO instead of hanging.
 * SIGPIPE is blocked in the
 * calling thread while stdin data is written, so a child that exits
 * without reading its input never kills the caller.
 */
#ifndef SBX_CORE_RUN_H
#define SBX_CORE_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/strvec.h"

struct sbx_buf;
struct sbx_err;

/* Where one of the child's standard streams goes. */
enum sbx_run_io {
	SBX_RUN_INHERIT = 0,	/* the caller's own fd 0/1/2 */
	SBX_RUN_NULL,		/* /dev/null */
	SBX_RUN_CAPTURE,	/* out/err only: read into out_buf/err_buf */
	SBX_RUN_DATA,		/* in only: fed from in_data/in_len */
	SBX_RUN_FD,		/* dup of in_fd/out_fd/err_fd (caller keeps it) */
	SBX_RUN_PIPE,		/* a pipe whose other end sbx_run_start puts in
				   in_fd/out_fd/err_fd for the caller to use and
				   close; sbx_run_wait does not touch it */
	SBX_RUN_TO_OUT,		/* err only: same destination as stdout (2>&1) */
};

#define SBX_RUN_GRACE_MS 2000

struct sbx_run {
	/* Set by the caller. */
	struct sbx_strvec argv;		/* argv[0] = program, required */
	struct sbx_strvec env;		/* "KEY=value" sets or overrides,
					   "KEY" alone removes KEY */
	unsigned clear_env : 1;		/* start from an empty environment
					   instead of the caller's */
	unsigned new_pgroup : 1;	/* own process group; signals on
					   timeout go to the whole group */
	const char *cwd;		/* NULL: the caller's */
	enum sbx_run_io in, out, err;
	int in_fd, out_fd, err_fd;	/* for SBX_RUN_FD / SBX_RUN_PIPE */
	const void *in_data;		/* for SBX_RUN_DATA */
	size_t in_len;
	struct sbx_buf *out_buf;	/* for SBX_RUN_CAPTURE: appended to; */
	struct sbx_buf *err_buf;	/* bytes past a buffer's cap are read
					   and dropped, *_truncated set */
	uint64_t timeout_ms;		/* 0: none; else SIGTERM at the
					   deadline, SIGKILL grace_ms later */
	uint64_t grace_ms;		/* 0: SBX_RUN_GRACE_MS */
	const int *keep_fds;		/* fds the child inherits as they are
					   (all others are closed on exec) */
	size_t nr_keep_fds;

	/* Results, valid after sbx_run_start / sbx_run_wait. */
	pid_t pid;			/* kept after the child is reaped */
	int status;			/* exit code, or 128 + signal */
	int signo;			/* signal that killed it, or 0 */
	unsigned timed_out : 1;
	unsigned out_truncated : 1;
	unsigned err_truncated : 1;

	/* Private. */
	int p_in, p_out, p_err, p_pidfd;
	uint64_t p_start_ms;
	size_t p_in_off;
	unsigned p_running : 1;
};

/* Initializes `r`: empty argv/env, everything inherited, no timeout. */
void sbx_run_init(struct sbx_run *r);
/* Frees argv/env; the struct may be reused after sbx_run_init. */
void sbx_run_release(struct sbx_run *r);

/*
 * Starts the program. Returns 0 once it is executing (r->pid set), or
 * a negative code without leaving a child behind: SBX_ENOENT "cannot run
 * 'foo': no such file" when the program does not exist (on PATH or as
 * given), SBX_EPERM when it is not executable, SBX_EIO for other
 * failures (fork, pipes, chdir to r->cwd failing in the child).
 */
int sbx_run_start(struct sbx_run *r, struct sbx_err *e);

/*
 * Feeds stdin data, collects captured output, enforces the timeout and
 * reaps the child. Returns the exit status (>= 0; 128 + n with r->signo
 * = n when killed by signal n), or SBX_ETIMEDOUT when the timeout killed
 * it (r->status and r->signo still tell how it ended), or SBX_EIO.
 */
int sbx_run_wait(struct sbx_run *r, struct sbx_err *e);

/* sbx_run_start then sbx_run_wait. */
int sbx_run(struct sbx_run *r, struct sbx_err *e);

/* Sends `sig` to a started child (its group with new_pgroup). */
int sbx_run_signal(struct sbx_run *r, int sig, struct sbx_err *e);

/*
 * Finds `name` in the colon-separated `path` (NULL: $PATH, or
 * "/usr/local/bin:/usr/bin:/bin" when unset) like execvp does: the first
 * executable regular file wins; an empty entry means ".". A name with a
 * '/' is returned as is when it is executable. Returns a malloc'd path,
 * or NULL (errno ENOENT or EACCES).
 */
char *sbx_run_find_in_path(const char *name, const char *path);

/*
 * Where sbx's helper programs (sbx-vmm, sbx-init, sbx-agent, ...) are:
 * $SBX_LIBEXECDIR when set; else the installed directory when it has
 * sbx-vmm; else the directory of the running program when that has
 * sbx-vmm (a build tree, run as ./sbx or by `sbx machine`); else the
 * installed directory. The string is static.
 */
const char *sbx_libexec_dir(void);

#endif
