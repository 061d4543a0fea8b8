/*
 * agent-client.h - host side of the agent protocol (proto/agent.h): talks
 * to sbx-agent in a guest through sbx-vmm's vsock socket (Firecracker's
 * "CONNECT <port>\n" -> "OK <n>\n" handshake), or directly to an agent
 * listening on a unix socket (tests).
 *
 * Every call opens its own connection. Connecting is retried with backoff
 * (the guest may still be booting, or the VM was just restored), and a
 * request whose connection drops is retried: PING, STAT, LIST, MKDIR, RM,
 * RENAME and the system calls are idempotent; GET resumes at the offset
 * already received; PUT restarts from the beginning when its source is
 * seekable; EXEC reattaches to the same job by its request id, so a
 * command never runs twice.
 *
 * Errors: functions return 0 or a negative SBX_E code and fill `e`;
 * an error the agent reported keeps its errno in e->sys_errno and maps
 * ENOENT -> SBX_ENOENT, EEXIST -> SBX_EEXIST, EACCES/EPERM -> SBX_EPERM,
 * EPROTO -> SBX_EINVAL, anything else -> SBX_EIO.
 *
 * Threads: a struct sbx_agent may be used by one thread at a time; separate
 * structs (even for the same VM) are independent.
 */
#ifndef SBX_KVM_AGENT_CLIENT_H
#define SBX_KVM_AGENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvm/proto/agent.h"

struct sbx_err;

struct sbx_agent {
	char *path;		/* unix socket path (owned) */
	int vsock;		/* 1: send "CONNECT port" first */
	uint32_t port;		/* guest vsock port (vsock mode) */
	int attempts;		/* connection attempts per request (>= 1) */
	unsigned backoff_ms;	/* first retry delay; doubles, max 1 s */
	/*
	 * Called when every attempt of one connection failed; 0 means "try
	 * once more" (the kvm backend waits out an idle hibernation and wakes
	 * the sandbox), anything else keeps the failure. Only connections
	 * are retried, never a request the agent may have started.
	 */
	int (*revive)(void *arg);
	void *revive_arg;	/* malloc'd; sbx_agent_release frees it */
};

/*
 * Parses `spec`: "unix:PATH" (an agent listening on PATH) or
 * "vsock:PATH[:PORT]" (sbx-vmm's vsock socket; PORT defaults to
 * SBX_AGENT_VSOCK_PORT). Defaults: 8 attempts, 20 ms first backoff.
 */
int sbx_agent_init(struct sbx_agent *a, const char *spec, struct sbx_err *e);
void sbx_agent_release(struct sbx_agent *a);

struct sbx_agent_info {
	uint32_t version;	/* protocol version the agent speaks */
	uint64_t uptime_ms;	/* guest CLOCK_BOOTTIME */
	uint32_t pid;		/* the agent's pid (1 in a VM) */
};

int sbx_agent_ping(struct sbx_agent *a, struct sbx_agent_info *info,
    struct sbx_err *e);
/* Pings until the agent answers or `timeout_ms` passes (SBX_ETIMEDOUT). */
int sbx_agent_wait_ready(struct sbx_agent *a, uint64_t timeout_ms,
    struct sbx_err *e);

/* What an exec reports back. */
struct sbx_agent_status {
	pid_t pid;		/* guest pid (from STARTED) */
	int exited;		/* 1: code/sig valid */
	int code;		/* exit code when sig == 0 */
	int sig;		/* terminating signal, 0 if none */
	int detached;		/* 1: stopped by the detach byte */
};

/* Shell-style status: code, or 128 + signal. */
int sbx_agent_status_code(const struct sbx_agent_status *st);

/*
 * An exec request. Fill with sbx_agent_exec_init() (which also draws a
 * fresh random id), then set what you need. Output goes to on_output when
 * set, else to stdout_fd/stderr_fd when >= 0, else it is discarded.
 */
struct sbx_agent_exec {
	const char *const *argv;	/* NULL-terminated; NULL + pty: shell */
	const char *const *env;		/* "K=V" entries or NULL */
	const char *cwd;		/* absolute guest path or NULL */
	const char *user;		/* name or uid, NULL: the agent's */
	int pty;			/* run on a PTY (stdout carries it) */
	unsigned rows, cols;		/* initial PTY size, 0: unset */
	int background;			/* return at STARTED; no timeout */
	const char *log;		/* background output file, NULL */
	int stdin_fd;			/* -1: /dev/null in the guest */
	int stdout_fd, stderr_fd;	/* -1: discard (or on_output) */
	/* stream 1 = stdout, 2 = stderr; non-zero return stops the exec */
	int (*on_output)(void *cookie, int stream, const void *data,
	    size_t len);
	void *cookie;
	int resize_fd;			/* readable: drained, winsize() sent */
	int (*winsize)(void *cookie, unsigned *rows, unsigned *cols);
	int detach_byte;		/* byte on stdin that detaches, or -1 */
	uint8_t id[SBX_AGENT_ID_LEN];	/* request id (retries reattach) */
};

void sbx_agent_exec_init(struct sbx_agent_exec *x);

/*
 * Runs `x` and streams until the command exits (or, in background mode,
 * until it started). Fills `st`. The exit status of the command is not an
 * error: check st->code / st->sig. A detach leaves the command running.
 */
int sbx_agent_run(struct sbx_agent *a, struct sbx_agent_exec *x,
    struct sbx_agent_status *st, struct sbx_err *e);

/* Signals the job started with request id `id` (or, if id is NULL, guest
 * pid `pid`); group: the whole process group. */
int sbx_agent_kill(struct sbx_agent *a, const uint8_t *id, pid_t pid,
    int sig, int group, struct sbx_err *e);

struct sbx_agent_stat {
	int ftype;		/* enum sbx_agent_ftype */
	uint32_t mode;		/* permission bits */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime;
	char target[SBX_AGENT_MAX_PATH];	/* symlink target or "" */
};

/* Called as bytes move; total is 0 when unknown. Non-zero return aborts. */
typedef int (*sbx_agent_progress_fn)(void *cookie, uint64_t done,
    uint64_t total);

struct sbx_agent_put_opts {
	uint32_t mode;		/* 0: 0644 */
	int64_t uid, gid;	/* -1: leave as the agent creates it */
	int parents;		/* create missing parent directories */
	sbx_agent_progress_fn progress;
	void *cookie;
};

void sbx_agent_put_opts_init(struct sbx_agent_put_opts *o);

/*
 * Streams `fd` (read to EOF) into the guest file `path`, which appears
 * atomically when complete. `size_hint` (or 0) is passed to progress.
 */
int sbx_agent_put_fd(struct sbx_agent *a, int fd, uint64_t size_hint,
    const char *path, const struct sbx_agent_put_opts *o, struct sbx_err *e);
/* Same from a local file; mode 0 in `o` copies the local file's mode. */
int sbx_agent_put_file(struct sbx_agent *a, const char *local,
    const char *path, const struct sbx_agent_put_opts *o, struct sbx_err *e);

/*
 * Streams the guest file `path` into `fd`; `st` (may be NULL) receives its
 * attributes. On a dropped connection the transfer resumes at the offset
 * already written.
 */
int sbx_agent_get_fd(struct sbx_agent *a, const char *path, int fd,
    struct sbx_agent_stat *st, sbx_agent_progress_fn progress, void *cookie,
    struct sbx_err *e);
/* Same into a local file: written to a temp name, fsync'd, renamed. */
int sbx_agent_get_file(struct sbx_agent *a, const char *path,
    const char *local, sbx_agent_progress_fn progress, void *cookie,
    struct sbx_err *e);

/* lstat in the guest. */
int sbx_agent_stat(struct sbx_agent *a, const char *path,
    struct sbx_agent_stat *st, struct sbx_err *e);
/* Calls fn for every entry of a guest directory (not "." or ".."). */
int sbx_agent_list(struct sbx_agent *a, const char *path,
    int (*fn)(void *cookie, const char *name,
    const struct sbx_agent_stat *st), void *cookie, struct sbx_err *e);
int sbx_agent_mkdir(struct sbx_agent *a, const char *path, uint32_t mode,
    int parents, struct sbx_err *e);
int sbx_agent_rm(struct sbx_agent *a, const char *path, int recursive,
    int force, struct sbx_err *e);
int sbx_agent_rename(struct sbx_agent *a, const char *from, const char *to,
    struct sbx_err *e);

/* Sets the guest's CLOCK_REALTIME to the host's now. */
int sbx_agent_set_clock(struct sbx_agent *a, struct sbx_err *e);
/* Feeds `bytes` (<= SBX_AGENT_MAX_ENTROPY) of host randomness to the guest
 * kernel and reseeds its CRNG. */
int sbx_agent_add_entropy(struct sbx_agent *a, size_t bytes,
    struct sbx_err *e);
int sbx_agent_set_hostname(struct sbx_agent *a, const char *name,
    struct sbx_err *e);
int sbx_agent_sync(struct sbx_agent *a, struct sbx_err *e);
/* FIFREEZE (freeze != 0) or FITHAW of the guest filesystem at `path`. */
int sbx_agent_freeze(struct sbx_agent *a, const char *path, int freeze,
    struct sbx_err *e);

#endif
