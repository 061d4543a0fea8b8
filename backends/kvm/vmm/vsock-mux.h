/*
 * vsock-mux.h - the connection logic of sbx-vmm's userspace virtio-vsock,
 * independent of the virtio transport (vsock.c wires it to the queues).
 *
 * Host side (Firecracker's convention): one unix socket per VM. A host
 * process connects to it and writes "CONNECT <port>\n"; the mux asks the
 * guest for a stream connection to <port> (REQUEST) and, once the guest
 * answers (RESPONSE), writes "OK <local port>\n" and relays bytes both
 * ways. A guest connection to the host (CID 2) port P is relayed to the
 * unix socket "<path>_<P>" (RST when nobody listens there).
 *
 * Guest side: packets are a 44-byte little-endian header plus payload.
 * vsock_mux_tx() takes one packet the guest sent (TX queue); it never
 * trusts a field: wrong CIDs, types, lengths and unknown connections are
 * answered with RST or dropped, never a crash. vsock_mux_rx() produces the
 * next packet for the guest (RX queue) when vsock_mux_rx_pending() says
 * there is one. Credit flow control both ways: the mux never sends more
 * than the guest advertised (buf_alloc - (tx_cnt - fwd_cnt)), advertises
 * VSOCK_BUF_ALLOC itself, buffers at most that much guest data per
 * connection and resets a connection whose guest overruns it.
 *
 * Threads: not thread-safe; the caller (the device) serialises every call
 * with its lock. Host fds are watched through the caller's `ops`, with a
 * stable per-slot cookie that stays valid for the mux's lifetime (a stale
 * event for a reused slot is harmless: every socket is non-blocking).
 */
#ifndef SBX_KVM_VMM_VSOCK_MUX_H
#define SBX_KVM_VMM_VSOCK_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;
struct vsock_mux;

#define VSOCK_HDR_SIZE 44
#define VSOCK_HOST_CID 2
#define VSOCK_BUF_ALLOC (256u * 1024)	/* what we advertise per connection */
#define VSOCK_MAX_PKT (64u * 1024)	/* largest payload we accept */
#define VSOCK_MAX_CONNS 256
#define VSOCK_LOCAL_PORT0 (1u << 30)	/* host-side ports handed out */

enum vsock_op {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};
#define VSOCK_TYPE_STREAM 1
#define VSOCK_SHUTDOWN_RCV 1
#define VSOCK_SHUTDOWN_SEND 2

struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

void vsock_hdr_encode(uint8_t out[VSOCK_HDR_SIZE], const struct vsock_hdr *h);
void vsock_hdr_decode(const uint8_t in[VSOCK_HDR_SIZE], struct vsock_hdr *h);

/* How the mux asks its owner to watch host fds (EPOLLIN/EPOLLOUT bits). */
struct vsock_mux_ops {
	/* Starts watching `fd`; events for it must reach vsock_mux_on_host()
	 * with `cookie`. 0 or -1. */
	int (*watch)(void *owner, int fd, uint32_t events, void *cookie);
	int (*modify)(void *owner, int fd, uint32_t events);
	void (*unwatch)(void *owner, int fd);
};

/*
 * Creates the mux and its listening socket at `uds_path` (an old socket
 * file there is replaced). The listening fd is watched through ops with
 * cookie NULL: deliver its events to vsock_mux_on_host(m, NULL, ev).
 * Returns NULL with `e` filled on failure.
 */
struct vsock_mux *vsock_mux_new(uint64_t guest_cid, const char *uds_path,
    const struct vsock_mux_ops *ops, void *owner, struct sbx_err *e);
/* Closes every connection and the listener, unlinks the socket file. */
void vsock_mux_free(struct vsock_mux *m);

/* A watched host fd became ready (cookie NULL: the listener). */
void vsock_mux_on_host(struct vsock_mux *m, void *cookie, uint32_t events);

/*
 * One packet from the guest (header + payload, `len` bytes). Returns 0,
 * or -1 with *why when the packet was malformed and dropped.
 */
int vsock_mux_tx(struct vsock_mux *m, const uint8_t *pkt, size_t len,
    const char **why);
/* True when vsock_mux_rx() has a packet to give. */
bool vsock_mux_rx_pending(const struct vsock_mux *m);
/*
 * Writes the next packet for the guest into `buf` (at most `cap` bytes,
 * cap >= VSOCK_HDR_SIZE + 1) and returns its length, or 0 if none.
 */
size_t vsock_mux_rx(struct vsock_mux *m, uint8_t *buf, size_t cap);

/*
 * Drops every connection (host sockets closed) without telling the guest:
 * for a device reset or a transport reset after restore or fork.
 */
void vsock_mux_reset(struct vsock_mux *m);
/*
 * Moves the listener to a new socket `uds_path` (a fork child must not
 * accept on its parent's socket). The old socket file is left alone: it
 * belongs to whoever else holds it. 0, or a negative SBX_E code with `e`
 * (the old listener is then kept).
 */
int vsock_mux_rebind(struct vsock_mux *m, const char *uds_path,
    struct sbx_err *e);
/* Live connections, for stats and tests. */
unsigned vsock_mux_nconns(const struct vsock_mux *m);
/* Connections made so far: one that opened and closed between two looks
 * at nconns still shows here. */
uint64_t vsock_mux_nopened(const struct vsock_mux *m);

#endif
