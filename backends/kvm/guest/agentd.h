/*
 * agentd.h - internals of sbx-agent, the guest agent (static binary).
 *
 * Threads: main accepts connections and starts one detached thread per
 * connection (conn_serve); one reaper thread waits for SIGCHLD (blocked in
 * every other thread) and records exits in the job table; one pump thread
 * per foreground exec moves the child's output into its job's queue.
 * The job table is guarded by one mutex (agentd_jobs_lock).
 */
#ifndef SBX_KVM_GUEST_AGENTD_H
#define SBX_KVM_GUEST_AGENTD_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvm/proto/agent.h"

/* One accepted connection; `buf` holds SBX_AGENT_MAX_PAYLOAD bytes. */
struct conn {
	int fd;
	uint8_t *buf;
};

/* Sends ERROR{err, message}; returns -1 so handlers can `return`. */
int conn_error(struct conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sends an OK frame carrying `m`'s fields (m may be NULL). 0 or -errno. */
int conn_ok(struct conn *c, struct sbx_agent_msg *m);
/* Logs one line to stderr (the console) prefixed "sbx-agent: ". */
void agentd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Request handlers: the request is decoded and checked; they reply. */
int exec_handle(struct conn *c, struct sbx_agent_msg *req);
int kill_handle(struct conn *c, struct sbx_agent_msg *req);
int files_handle(struct conn *c, struct sbx_agent_msg *req);
int sys_handle(struct conn *c, struct sbx_agent_msg *req);

/* Starts the reaper thread; SIGCHLD must already be blocked. */
void exec_start_reaper(void);

/* /etc/passwd and /etc/group, parsed without NSS (static binary). */
struct user_info {
	uid_t uid;
	gid_t gid;
	char home[256];
	char shell[256];
	char name[64];
	gid_t groups[64];
	int ngroups;
};

/*
 * Resolves `user` (a name or a decimal uid) against `passwd`/`group`
 * files (NULL: /etc/passwd, /etc/group). A numeric uid missing from the
 * file is accepted with gid = uid and home "/". 0 or -errno (-ENOENT for
 * an unknown name).
 */
int user_lookup(const char *user, struct user_info *u,
    const char *passwd, const char *group);

#endif
