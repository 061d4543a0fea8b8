/* check_vsock.c - the userspace vsock connection logic (vsock-mux.c),
 * driven with real unix sockets on the host side and hand-made packets
 * on the guest side. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "core/err.h"
#include "kvm/vmm/vsock-mux.h"
#include "core/banned.h"

#define CID 3

/* Fake owner: remembers the cookie of every watched fd. */
struct fake {
	int fds[64];
	void *cookies[64];
	uint32_t events[64];
	int n;
};

static int
f_watch(void *owner, int fd, uint32_t ev, void *cookie)
{
	struct fake *f = owner;

	f->fds[f->n] = fd;
	f->cookies[f->n] = cookie;
	f->events[f->n] = ev;
	f->n++;
	return 0;
}

static int
f_modify(void *owner, int fd, uint32_t ev)
{
	struct fake *f = owner;

	for (int i = f->n - 1; i >= 0; i--)
		if (f->fds[i] == fd) {
			f->events[i] = ev;
			break;
		}
	return 0;
}

static void
f_unwatch(void *owner, int fd)
{
	struct fake *f = owner;

	for (int i = 0; i < f->n; i++)
		if (f->fds[i] == fd)
			f->fds[i] = -1;
}

static const struct vsock_mux_ops fops = { f_watch, f_modify, f_unwatch };

static struct fake fk;
static struct vsock_mux *mux;
static char path[100];
static uint8_t pkt[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];

static void
setup(void)
{
	struct sbx_err e;

	memset(&fk, 0, sizeof(fk));
	snprintf(path, sizeof(path), "%s/v.sock", unit_tmpdir());
	mux = vsock_mux_new(CID, path, &fops, &fk, &e);
	ck_assert_msg(mux != NULL, "%s", e.msg);
}

static void
teardown(void)
{
	vsock_mux_free(mux);
}

static int
host_connect(const char *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Delivers an event to the newest watch (the latest connection). */
static void
kick_last(uint32_t ev)
{
	vsock_mux_on_host(mux, fk.cookies[fk.n - 1], ev);
}

/* Takes the next guest-bound packet; returns its header. */
static struct vsock_hdr
rx(size_t *len)
{
	struct vsock_hdr h;
	size_t n;

	ck_assert_msg(vsock_mux_rx_pending(mux), "no packet pending");
	n = vsock_mux_rx(mux, pkt, sizeof(pkt));
	ck_assert_uint_ge(n, VSOCK_HDR_SIZE);
	vsock_hdr_decode(pkt, &h);
	ck_assert_uint_eq(h.len, n - VSOCK_HDR_SIZE);
	if (len)
		*len = n;
	return h;
}

/* Sends a packet from the guest. */
static int
tx(uint32_t sport, uint32_t dport, uint16_t op, uint32_t flags,
    uint32_t buf_alloc, uint32_t fwd, const void *data, uint32_t len,
    const char **why)
{
	static uint8_t b[VSOCK_HDR_SIZE + VSOCK_BUF_ALLOC + 16];
	struct vsock_hdr h = { CID, VSOCK_HOST_CID, sport, dport, len,
	    VSOCK_TYPE_STREAM, op, flags, buf_alloc, fwd };

	vsock_hdr_encode(b, &h);
	if (len)
		memcpy(b + VSOCK_HDR_SIZE, data, len);
	return vsock_mux_tx(mux, b, VSOCK_HDR_SIZE + len, why);
}

/* Host connects to guest port 1024 and the guest accepts; returns fd and
 * the host-side port. */
static int
open_conn(uint32_t *lport, uint32_t buf_alloc)
{
	struct vsock_hdr h;
	char line[64] = "";
	const char *why;
	int fd = host_connect(path);
	ssize_t n;

	vsock_mux_on_host(mux, NULL, EPOLLIN);	/* accept */
	ck_assert_int_eq(write(fd, "CONNECT 1024\n", 13), 13);
	kick_last(EPOLLIN);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	ck_assert_uint_eq(h.src_cid, VSOCK_HOST_CID);
	ck_assert_uint_eq(h.dst_cid, CID);
	ck_assert_uint_eq(h.dst_port, 1024);
	ck_assert_uint_ge(h.src_port, VSOCK_LOCAL_PORT0);
	ck_assert_uint_eq(h.buf_alloc, VSOCK_BUF_ALLOC);
	*lport = h.src_port;
	ck_assert_int_eq(tx(1024, h.src_port, VSOCK_OP_RESPONSE, 0, buf_alloc,
	    0, NULL, 0, &why), 0);
	n = read(fd, line, sizeof(line) - 1);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	snprintf((char *)pkt, 64, "OK %u\n", h.src_port);
	ck_assert_str_eq(line, (char *)pkt);
	return fd;
}

START_TEST(connect_and_relay)
{
	uint32_t lport;
	int fd = open_conn(&lport, 65536);
	struct vsock_hdr h;
	const char *why;
	char buf[64];
	size_t n;

	ck_assert_int_eq(write(fd, "ping", 4), 4);
	kick_last(EPOLLIN);
	h = rx(&n);
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_uint_eq(h.len, 4);
	ck_assert_mem_eq(pkt + VSOCK_HDR_SIZE, "ping", 4);
	ck_assert(!vsock_mux_rx_pending(mux));
	ck_assert_int_eq(tx(1024, lport, VSOCK_OP_RW, 0, 65536, 4, "pong!", 5,
	    &why), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 5);
	ck_assert_mem_eq(buf, "pong!", 5);
	ck_assert_uint_eq(vsock_mux_nconns(mux), 1);
	/* guest RST closes the host socket */
	ck_assert_int_eq(tx(1024, lport, VSOCK_OP_RST, 0, 0, 0, NULL, 0, &why),
	    0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(vsock_mux_nconns(mux), 0);
	close(fd);
}
END_TEST

START_TEST(credit_is_respected)
{
	uint32_t lport;
	int fd = open_conn(&lport, 100);
	struct vsock_hdr h;
	const char *why;
	char big[300];

	memset(big, 'x', sizeof(big));
	ck_assert_int_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	kick_last(EPOLLIN);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_uint_eq(h.len, 100);
	kick_last(EPOLLIN);
	ck_assert_msg(!vsock_mux_rx_pending(mux), "sent beyond the credit");
	/* the guest consumed 100 bytes */
	ck_assert_int_eq(tx(1024, lport, VSOCK_OP_CREDIT_UPDATE, 0, 100, 100,
	    NULL, 0, &why), 0);
	kick_last(EPOLLIN);
	h = rx(NULL);
	ck_assert_uint_eq(h.len, 100);
	/* credit request is answered with our counters */
	ck_assert_int_eq(tx(1024, lport, VSOCK_OP_CREDIT_REQUEST, 0, 100, 100,
	    NULL, 0, &why), 0);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_CREDIT_UPDATE);
	ck_assert_uint_eq(h.buf_alloc, VSOCK_BUF_ALLOC);
	close(fd);
}
END_TEST

START_TEST(guest_overrun_resets)
{
	static uint8_t lots[VSOCK_MAX_PKT];
	uint32_t lport;
	int fd = open_conn(&lport, 65536), i;
	struct vsock_hdr h;
	const char *why;

	/* nobody reads fd: the kernel buffer fills, then ours, then RST */
	h.op = 0;
	for (i = 0; i < 64 && h.op != VSOCK_OP_RST; i++) {
		tx(1024, lport, VSOCK_OP_RW, 0, 65536, 0, lots, sizeof(lots),
		    &why);
		while (h.op != VSOCK_OP_RST && vsock_mux_rx_pending(mux))
			h = rx(NULL);
	}
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.dst_port, 1024);
	ck_assert_uint_eq(vsock_mux_nconns(mux), 0);
	close(fd);
}
END_TEST

START_TEST(unknown_connection_gets_rst)
{
	struct vsock_hdr h;
	const char *why;

	ck_assert_int_eq(tx(5000, 77, VSOCK_OP_RW, 0, 0, 0, "x", 1, &why), 0);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.src_port, 77);
	ck_assert_uint_eq(h.dst_port, 5000);
	ck_assert_uint_eq(h.dst_cid, CID);
	/* an RST for an unknown connection is not answered */
	ck_assert_int_eq(tx(5000, 77, VSOCK_OP_RST, 0, 0, 0, NULL, 0, &why), 0);
	ck_assert(!vsock_mux_rx_pending(mux));
	/* a guest connection to a host port nobody listens on */
	ck_assert_int_eq(tx(5001, 9999, VSOCK_OP_REQUEST, 0, 4096, 0, NULL, 0,
	    &why), 0);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
}
END_TEST

START_TEST(malformed_packets)
{
	struct vsock_hdr h = { CID, VSOCK_HOST_CID, 1, 2, 10,
	    VSOCK_TYPE_STREAM, VSOCK_OP_RW, 0, 0, 0 };
	uint8_t b[VSOCK_HDR_SIZE + 4];
	const char *why = NULL;

	memset(b, 0, sizeof(b));
	ck_assert_int_eq(vsock_mux_tx(mux, b, 10, &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "shorter"));
	vsock_hdr_encode(b, &h);
	ck_assert_int_eq(vsock_mux_tx(mux, b, sizeof(b), &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "length"));
	h.len = 0;
	h.src_cid = 99;
	vsock_hdr_encode(b, &h);
	ck_assert_int_eq(vsock_mux_tx(mux, b, sizeof(b), &why), -1);
	ck_assert_ptr_nonnull(strstr(why, "CID"));
	h.src_cid = CID;
	h.type = 2;	/* SEQPACKET: not supported, answered with RST */
	vsock_hdr_encode(b, &h);
	ck_assert_int_eq(vsock_mux_tx(mux, b, sizeof(b), &why), 0);
	ck_assert_uint_eq(rx(NULL).op, VSOCK_OP_RST);
}
END_TEST

START_TEST(bad_handshake_closes)
{
	char buf[8];
	int fd = host_connect(path);

	vsock_mux_on_host(mux, NULL, EPOLLIN);
	ck_assert_int_eq(write(fd, "HELLO 1\n", 8), 8);
	kick_last(EPOLLIN);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
	ck_assert(!vsock_mux_rx_pending(mux));
	ck_assert_uint_eq(vsock_mux_nconns(mux), 0);
	close(fd);
}
END_TEST

START_TEST(guest_refuses)
{
	struct vsock_hdr h;
	const char *why;
	char buf[8];
	int fd = host_connect(path);

	vsock_mux_on_host(mux, NULL, EPOLLIN);
	ck_assert_int_eq(write(fd, "CONNECT 1024\n", 13), 13);
	kick_last(EPOLLIN);
	h = rx(NULL);
	ck_assert_int_eq(tx(1024, h.src_port, VSOCK_OP_RST, 0, 0, 0, NULL, 0,
	    &why), 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
	close(fd);
}
END_TEST

START_TEST(shutdowns)
{
	uint32_t lport;
	int fd = open_conn(&lport, 65536);
	struct vsock_hdr h;
	const char *why;
	char buf[8];

	/* host closes: guest gets SHUTDOWN(SEND) after the data */
	ck_assert_int_eq(write(fd, "bye", 3), 3);
	shutdown(fd, SHUT_WR);
	kick_last(EPOLLIN);
	kick_last(EPOLLIN);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(h.flags, VSOCK_SHUTDOWN_SEND);
	/* guest closes both ways: host sees EOF, guest gets its RST */
	ck_assert_int_eq(tx(1024, lport, VSOCK_OP_SHUTDOWN, 3, 65536, 0, NULL,
	    0, &why), 0);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(vsock_mux_nconns(mux), 0);
	close(fd);
}
END_TEST

START_TEST(guest_connects_to_host)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_hdr h;
	const char *why;
	char buf[8];
	int l, c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_52", path);
	l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(l, 4), 0);
	ck_assert_int_eq(tx(3000, 52, VSOCK_OP_REQUEST, 0, 4096, 0, NULL, 0,
	    &why), 0);
	h = rx(NULL);
	ck_assert_uint_eq(h.op, VSOCK_OP_RESPONSE);
	ck_assert_uint_eq(h.src_port, 52);
	ck_assert_uint_eq(h.dst_port, 3000);
	c = accept(l, NULL, NULL);
	ck_assert_int_ge(c, 0);
	ck_assert_int_eq(tx(3000, 52, VSOCK_OP_RW, 0, 4096, 0, "hey", 3,
	    &why), 0);
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 3);
	ck_assert_mem_eq(buf, "hey", 3);
	vsock_mux_reset(mux);
	ck_assert_uint_eq(vsock_mux_nconns(mux), 0);
	ck_assert_int_eq(read(c, buf, sizeof(buf)), 0);
	close(c);
	close(l);
}
END_TEST

START_TEST(rebind_moves_listener)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char np[100];
	struct sbx_err e;
	uint32_t lport;
	int fd;

	snprintf(np, sizeof(np), "%.80s.child", path);
	ck_assert_int_eq(vsock_mux_rebind(mux, np, &e), 0);
	/* the old socket file has no listener any more */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
	snprintf(path, sizeof(path), "%s", np);
	fd = open_conn(&lport, 4096);
	ck_assert_uint_eq(vsock_mux_nconns(mux), 1);
	close(fd);
}
END_TEST

START_TEST(bad_cid_refused)
{
	struct sbx_err e;

	ck_assert_ptr_null(vsock_mux_new(2, "/tmp/x", &fops, &fk, &e));
	ck_assert_ptr_nonnull(strstr(e.msg, "CID"));
}
END_TEST

Suite *suite_vsock(void)
{
	Suite *s = suite_create("vsock");
	TCase *tc = tcase_create("mux");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, connect_and_relay);
	tcase_add_test(tc, credit_is_respected);
	tcase_add_test(tc, guest_overrun_resets);
	tcase_add_test(tc, unknown_connection_gets_rst);
	tcase_add_test(tc, malformed_packets);
	tcase_add_test(tc, bad_handshake_closes);
	tcase_add_test(tc, guest_refuses);
	tcase_add_test(tc, shutdowns);
	tcase_add_test(tc, guest_connects_to_host);
	tcase_add_test(tc, rebind_moves_listener);
	tcase_add_test(tc, bad_cid_refused);
	suite_add_tcase(s, tc);
	return s;
}
