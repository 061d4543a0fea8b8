/*
 * net_slirp.h - the user-mode network (libslirp) behind sbx-vmm's
 * virtio-net: NAT to the host, no root needed. Guest 10.0.2.15/24,
 * gateway 10.0.2.2 (= the host's loopback), DNS 10.0.2.3, no DHCP needed.
 *
 * One instance per sbx-vmm process (a fork child or a restored VM builds
 * its own: slirp's host sockets never survive restore or fork).
 *
 * Threads: libslirp is not thread-safe; every call here and every
 * callback (to_guest) runs on the VMM's I/O thread. slirp's sockets are
 * watched through one inner epoll fd registered with the VMM loop, and
 * its timeouts through one timerfd; after each round of slirp work the
 * inner set is brought in line with what slirp asked for.
 */
#ifndef SBX_KVM_VMM_NET_SLIRP_H
#define SBX_KVM_VMM_NET_SLIRP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct net_slirp;
struct sbx_err;

/* Gives one Ethernet frame to the guest (drops it if it cannot). */
typedef void (*net_to_guest_fn)(void *arg, const uint8_t *frame, size_t len);

/* NULL with `e` filled when slirp or the fds cannot be set up. */
struct net_slirp *net_slirp_new(struct loop *loop, net_to_guest_fn to_guest,
    void *arg, struct sbx_err *e);
void net_slirp_free(struct net_slirp *s);

/* One frame from the guest (without the virtio-net header). */
void net_slirp_input(struct net_slirp *s, const uint8_t *frame, size_t len);
/* Re-reads what slirp wants watched; call after a batch of inputs. */
void net_slirp_sync(struct net_slirp *s);

/*
 * Forwards TCP `addr`:`host_port` on the host to the guest's
 * `guest_port`; host_port 0 picks a free port. The bound port goes to
 * *bound. 0 or a negative SBX_E code.
 */
int net_slirp_forward(struct net_slirp *s, const char *addr,
    unsigned host_port, unsigned guest_port, unsigned *bound,
    struct sbx_err *e);
/*
 * Stops the TCP forward listening on `addr`:`host_port` (connections it
 * accepted go on). 0, or SBX_ENOENT when there is no such forward.
 */
int net_slirp_unforward(struct net_slirp *s, const char *addr,
    unsigned host_port, struct sbx_err *e);
/*
 * Forwards connections to the unix socket `path` (absolute; a socket
 * already there is replaced, any other file refused) to the guest's
 * `guest_port`: reachable only by who may enter its directory (the
 * proxy of `sbx serve`). 0 or a negative SBX_E code.
 */
int net_slirp_forward_unix(struct net_slirp *s, const char *path,
    unsigned guest_port, struct sbx_err *e);

#endif
