/*
 * fuzz-vsock.c - libFuzzer target for the guest side of sbx-vmm's vsock
 * (vsock-mux.c): the input is a sequence of guest TX packets, each
 * preceded by a 2-byte little-endian length; after each packet the RX
 * side is drained with a varying buffer size. A host unix listener on
 * port 1234 lets fuzzed REQUESTs open real connections.
 *
 * Build: make fuzz-vsock (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/err.h"
#include "kvm/vmm/vsock-mux.h"

static int
w(void *o, int fd, uint32_t ev, void *cookie)
{
	return 0;
}

static int
m(void *o, int fd, uint32_t ev)
{
	return 0;
}

static void
u(void *o, int fd)
{
}

static const struct vsock_mux_ops ops = { w, m, u };
static struct vsock_mux *mux;
static int lfd = -1;
static char path[64], port_path[80];

/* The two sockets go with the process (libFuzzer ends with exit()). */
static void
remove_sockets(void)
{
	unlink(path);
	unlink(port_path);
}

static void
init(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sbx_err e;

	snprintf(path, sizeof(path), "/tmp/fuzz-vsock-%d.sock", (int)getpid());
	snprintf(port_path, sizeof(port_path), "%s_1234", path);
	atexit(remove_sockets);
	mux = vsock_mux_new(3, path, &ops, NULL, &e);
	if (!mux)
		abort();
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", port_path);
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 512) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[VSOCK_HDR_SIZE + VSOCK_MAX_PKT];
	const char *why;
	int fd;

	if (!mux)
		init();
	while (size >= 2) {
		size_t n = (size_t)(data[0] | data[1] << 8), cap;

		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		vsock_mux_tx(mux, data, n, &why);
		cap = VSOCK_HDR_SIZE + 1 + (n * 131) % VSOCK_MAX_PKT;
		while (vsock_mux_rx_pending(mux))
			if (!vsock_mux_rx(mux, out, cap))
				abort();	/* pending must produce */
		data += n;
		size -= n;
	}
	while ((fd = accept(lfd, NULL, NULL)) >= 0)
		close(fd);
	vsock_mux_reset(mux);
	return 0;
}
