/*
 * spawn.h - starting sbx-vmm for a sandbox (spawn.c).
 */
#ifndef SBX_KVM_SPAWN_H
#define SBX_KVM_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

struct sbx_buf;
struct sbx_err;
struct sbx_strvec;

struct kvm_spawn {
	const char *id;		/* sandbox id */
	const char *sbdir;	/* its store directory (logs go there) */
	const char *kernel;	/* bzImage path */
	const char *initrd;	/* or NULL */
	const char *cmdline;
	const char *disk;	/* or NULL */
	int disk_ro;
	uint64_t memory;	/* bytes */
	unsigned vcpus;
	const char *net;	/* NULL: no network; else the egress policy
				   (kvm/net.h kvm_net_policy) */
	uint64_t idle_ms;	/* auto-hibernate after this idle time, 0 */
	const struct sbx_strvec *more;	/* more options (data disk), or NULL */
};

/* Marker sbx-vmm leaves in hibernate/ after hibernating for idleness. */
#define KVM_IDLE_MARKER "idle-hibernated"
/* Present in hibernate/ while sbx-vmm writes that snapshot (vmm/idle.h). */
#define KVM_IDLE_PENDING "idle-hibernating"

/* sandbox.json extra key holding the sandbox's idle timeout (ms). */
#define KVM_IDLE_KEY "idle_timeout_ms"

/* The sbx-vmm binary: $SBX_LIBEXECDIR/sbx-vmm or the installed one. */
char *kvm_vmm_path(void);

/*
 * Starts sbx-vmm detached for `sp`; the VMM's pid goes to *pid. Fails
 * when the binary cannot be executed.
 */
int kvm_spawn_vmm(const struct kvm_spawn *sp, pid_t *pid,
    struct sbx_err *e);

/*
 * One request on sandbox `id`'s VMM control socket (doc/vmm-control.md),
 * which it takes (json_decref'd); the reply, or NULL with `e` filled when
 * the VMM cannot be reached, does not answer within `timeout_ms`, or
 * answers "ok": false (a fork's reply with "children" counts as a reply).
 */
json_t *kvm_ctl_request(const char *id, json_t *req, uint64_t timeout_ms,
    struct sbx_err *e);

/*
 * Runs argv detached (own session, stdin /dev/null, stdout and stderr
 * appended to `log`, default signal mask and dispositions) and returns
 * once it has been exec'd and /proc names it (kvm_vmm_alive() holds
 * from then on while it runs), with its pid in *pid.
 */
int kvm_exec_detached(char *const *argv, const char *log, pid_t *pid,
    struct sbx_err *e);

/*
 * Appends to `out` one line on what sandbox `id`'s VMM is doing: its state
 * and, over two seconds, each vCPU's CPU time and exits, each device's
 * kicks and interrupts, console bytes (a halted guest, a spinning one, a
 * stalled device). Takes 2 s; says so if the VMM does not answer.
 */
void kvm_vmm_diagnosis(const char *id, struct sbx_buf *out);

/*
 * Waits until the guest agent of sandbox `id` answers a ping, the VMM
 * `pid` dies (the error then quotes the end of its logs) or `timeout_ms`
 * passes; if the VMM lives on, the error also says what its vCPUs and
 * devices are doing. `boot`: a cold boot (the hint names SBX_BOOT_TIMEOUT),
 * else a restore.
 */
int kvm_wait_agent(const char *id, const char *sbdir, pid_t pid,
    uint64_t timeout_ms, bool boot, struct sbx_err *e);

#endif
