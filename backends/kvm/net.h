/*
 * net.h - the local backend's side of sandbox networking (ops-port.c):
 * the egress policy recorded at create and handed to sbx-vmm at every
 * boot, and port forwards set up through the VMM's control socket and
 * re-applied when the sandbox boots or resumes again.
 *
 * sandbox.json keeps them in extra.network: {"enabled": bool,
 * "allow": [RULE...], "deny": [RULE...], "forwards": [{"host": ADDR,
 * "host_port": N, "guest": N}...]}; the forwards are also in `ports`, so
 * `sbx ls --json` shows them. The caller holds the sandbox's lock.
 */
#ifndef SBX_KVM_NET_H
#define SBX_KVM_NET_H

#include "backend.h"

/* Checks and records the network options of a new sandbox. */
int kvm_net_record(struct sbx_sandbox *sb, const struct sbx_create_opts *o,
    struct sbx_err *e);
/*
 * Adds the egress rules of `o` (--allow/--deny of a create from a
 * snapshot or built template) to the record `sb` inherited, checked and
 * without repeats; refuses --no-network and rules for a machine that has
 * no network device.
 */
int kvm_net_extend(struct sbx_sandbox *sb, const struct sbx_create_opts *o,
    struct sbx_err *e);
/* sbx-vmm's --net policy for `sb` (malloc'd), or NULL for no network. */
char *kvm_net_policy(const struct sbx_sandbox *sb);
/*
 * Asks the running VMM of `sb` for every recorded forward again (after a
 * boot or a resume). A port that cannot be bound any more is dropped from
 * the record; returns how many were re-applied.
 */
int kvm_ports_apply(struct sbx_sandbox *sb);

/* The backend op `port` (backend.h). */
int kvm_port(struct sbx_conn *c, const char *query, unsigned guest_port,
    const char *addr, unsigned host_port, unsigned *bound,
    struct sbx_err *e);
/* The backend op `port_close` (backend.h). */
int kvm_port_close(struct sbx_conn *c, const char *query,
    unsigned guest_port, const char *addr, unsigned host_port,
    unsigned *closed, struct sbx_err *e);

/*
 * The backend op `port_connect`: wakes a hibernated sandbox, asks its VMM
 * (once per VMM process and port) for a forward from a free port on
 * 127.0.0.1 to guest port N, remembered as "PID PORT" in proxy-N.port in
 * the run directory (not in sandbox.json), and connects to it.
 */
int kvm_port_connect(struct sbx_conn *c, const char *query,
    unsigned guest_port, int *fd, struct sbx_err *e);

#endif
