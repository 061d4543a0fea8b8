/*
 * control.h - sbx-vmm's control socket server (protocol in
 * backends/kvm/proto/control.h and doc/vmm-control.md).
 *
 * Threads: requests are served on the I/O thread; control_event() may be
 * called from any thread (a vCPU thread reports a panic).
 */
#ifndef SBX_KVM_VMM_CONTROL_H
#define SBX_KVM_VMM_CONTROL_H

struct control;
struct loop;
struct sbx_err;
struct vmm;

/* Listens on unix socket `path` (replacing a stale socket file). */
struct control *control_new(const char *path, struct vmm *vm,
    struct loop *loop, struct sbx_err *e);
/*
 * Sends {"event": name, ...} to every subscribed client; for "exit",
 * `status` is the exit status (reason from vmm_exit_name()).
 */
void control_event(struct control *c, const char *name, int status);
/* Closes all clients, removes the socket file. NULL is fine. */
void control_free(struct control *c);

#endif
