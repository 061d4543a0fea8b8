/*
 * idle.h - auto-hibernation (idle.c): when no agent connection (exec, cp,
 * shell, ping) has been open for the idle timeout, the VMM snapshots the
 * VM into the sandbox's hibernate directory, leaves a marker there and
 * exits, so sbx records the sandbox as hibernated and wakes it on use.
 */
#ifndef SBX_VMM_IDLE_H
#define SBX_VMM_IDLE_H

#include <stdint.h>

struct loop;
struct sbx_err;
struct vmm;

/* The marker a hibernation for idleness leaves in the directory. */
#define VMM_IDLE_MARKER "idle-hibernated"
/*
 * Present in the directory while the VMM writes its idle snapshot: a
 * client whose agent connection fails then waits for the VMM to exit and
 * wakes the sandbox instead of failing (kvm/ops-agent.c).
 */
#define VMM_IDLE_PENDING "idle-hibernating"

/*
 * Watches `vm` from the I/O loop; after `timeout_ms` without an agent
 * connection it hibernates into `dir`. Needs a vsock device.
 */
int idle_watch(struct vmm *vm, struct loop *l, uint64_t timeout_ms,
    const char *dir, struct sbx_err *e);

/* --idle-timeout (0 = never) and --hibernate-dir, for both programs. */
extern uint64_t idle_ms;
extern const char *idle_dir;
/* Parses --idle-timeout ('T') or --hibernate-dir ('H'). */
int idle_option(int opt, const char *arg, struct sbx_err *e);
/* Both or neither. */
int idle_check(struct sbx_err *e);

#endif
