/*
 * kvm.h - the local backend: sandboxes run as sbx-vmm processes on this
 * host, their records live in the store (store/registry.h).
 *
 * Runtime files of a running sandbox (sockets, pid) live in
 * $XDG_RUNTIME_DIR/sbx/<id>/ (or /tmp/sbx-<uid>/<id>/ without it): the
 * VMM's control socket `ctl.sock` and the guest's vsock socket
 * `vsock.sock`. Persistent files (the console log `console.log`, disk
 * layers) live in the sandbox's store directory.
 */
#ifndef SBX_KVM_KVM_H
#define SBX_KVM_KVM_H

#include "backend.h"

struct sbx_store;

extern const struct sbx_backend sbx_backend_kvm;

struct sbx_conn {
	struct sbx_store *store;
	char *home;
	int quiet;
	int verbose;
};

/*
 * sandbox.json extra key: the guest memory (bytes) a running sandbox's
 * balloon leaves it, when less than spec.memory (the RAM it booted with);
 * its next clean boot gets that much RAM (kvm_start).
 */
#define KVM_MEMORY_TARGET_KEY "memory_target"
/* Memory bounds of a sandbox (sbx resize, sbx create). */
#define KVM_MIN_MEMORY (64ULL << 20)
#define KVM_MAX_MEMORY (256ULL << 30)

/* The runtime directory of sandbox `id` (malloc'd). */
char *kvm_rundir(const char *id);
/* A file in it (malloc'd). */
char *kvm_runfile(const char *id, const char *name);
/*
 * Creates the runtime directory (mode 0700, parents too) and checks that
 * it and its parent are directories of this user that nobody else may
 * enter: its sockets (control, vsock, the proxy's port forwards) are
 * reachable by whoever can. 0 or SBX_EPERM naming the directory.
 */
int kvm_rundir_make(const char *id, struct sbx_err *e);
/* Removes the runtime directory of a sandbox whose VMM is gone. */
void kvm_rundir_remove(const char *id);
/* A file in the sandbox's store directory (malloc'd). */
char *kvm_sbfile(struct sbx_conn *c, const char *id, const char *name);

/*
 * 1 if `pid` is alive and is an sbx-vmm process (so a recycled pid is not
 * mistaken for the sandbox's VMM).
 */
int kvm_vmm_alive(pid_t pid);

/*
 * Reconciles a loaded record with reality: a sandbox recorded as running
 * or paused whose VMM is gone becomes `error`, with the reason in
 * extra.error (saved under the sandbox's lock). Returns 0 or < 0.
 */
int kvm_refresh(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e);

/*
 * Stops the VMM of `sb` (SIGTERM, then SIGKILL after `grace_ms`) and
 * waits for it to be gone. No-op when it is not running.
 */
int kvm_vmm_kill(struct sbx_sandbox *sb, unsigned grace_ms,
    struct sbx_err *e);

/*
 * Opens an agent client (agent-client.h) for the running sandbox named by
 * `query`; writes its id to `id` when not NULL. SBX_EBUSY when it is not
 * running.
 */
struct sbx_agent;
int kvm_agent_for(struct sbx_conn *c, const char *query, struct sbx_agent *a,
    char id[SBX_SANDBOX_ID_SIZE], struct sbx_err *e);

/* The ops of sbx_backend_kvm, by file. ops-create.c: */
int kvm_create(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *sb, struct sbx_err *e);
int kvm_start(struct sbx_conn *c, const char *query, struct sbx_err *e);
/* ops-resize.c: memory live through the balloon, the rest next boot. */
int kvm_resize(struct sbx_conn *c, const char *query, unsigned vcpus,
    uint64_t memory, struct sbx_err *e);
/*
 * Gives a guest that just booted, was restored or forked its identity:
 * the host's clock, fresh entropy (reseeding its CRNG) and hostname `id`.
 */
int kvm_personalize(const char *id, struct sbx_err *e);
/*
 * Merges `env` ("KEY=VALUE"; NULL = none) into the record's "env", the
 * environment every command in the sandbox gets (a later key wins).
 */
int kvm_env_record(struct sbx_sandbox *sb, const struct sbx_strvec *env,
    struct sbx_err *e);
/* ops-agent.c: */
int kvm_exec(struct sbx_conn *c, const char *query,
    const struct sbx_exec_opts *o, struct sbx_exec_result *r,
    struct sbx_err *e);
int kvm_file_put(struct sbx_conn *c, const char *query, int src_fd,
    const char *path, uint32_t mode, struct sbx_err *e);
int kvm_file_get(struct sbx_conn *c, const char *query, const char *path,
    int dst_fd, struct sbx_err *e);
int kvm_file_stat(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat *out, struct sbx_err *e);
int kvm_file_list(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat **out, size_t *n, struct sbx_err *e);
int kvm_file_mkdir(struct sbx_conn *c, const char *query, const char *path,
    uint32_t mode, struct sbx_err *e);
int kvm_file_rm(struct sbx_conn *c, const char *query, const char *path,
    int recursive, struct sbx_err *e);
int kvm_file_rename(struct sbx_conn *c, const char *query, const char *from,
    const char *to, struct sbx_err *e);

/* ops-stats.c: live figures from the VMM's control socket + smaps_rollup. */
int kvm_stats(struct sbx_conn *c, const char *query, json_t **out,
    struct sbx_err *e);

/* ops-snap.c: hibernate/resume through a snapshot, live fork. */
int kvm_hibernate(struct sbx_conn *c, const char *query, struct sbx_err *e);
/* SBX_BOOT_TIMEOUT (a duration), else 5 minutes: the longest wait for
 * a guest to come up. */
uint64_t kvm_boot_timeout_ms(void);
/*
 * Loads the sandbox named by `query` into `sb` (initialised here, release
 * it), resuming it first when hibernated (a concurrent resume by another
 * caller is fine; one already under way is waited for, as is a create);
 * SBX_EBUSY with a hint unless it then runs.
 */
int kvm_wake(struct sbx_conn *c, const char *query, struct sbx_sandbox *sb,
    struct sbx_err *e);
int kvm_resume(struct sbx_conn *c, const char *query, struct sbx_err *e);
int kvm_fork(struct sbx_conn *c, const char *query, unsigned count,
    struct sbx_strvec *ids, struct sbx_err *e);
int kvm_snapshot(struct sbx_conn *c, const char *query, const char *message,
    struct sbx_snapshot_info *out, struct sbx_err *e);
int kvm_log(struct sbx_conn *c, const char *query,
    struct sbx_snapshot_info **out, size_t *n, struct sbx_err *e);
/* `sbx create --from SNAPSHOT`: restores it into a new sandbox. */
int kvm_create_from(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *sb, struct sbx_err *e);

#endif
