/*
 * splice.c - copying bytes both ways between two sockets (splice.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/splice.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define SLICE_MS 250
#define SPLICE_BUF (64 * 1024)

int
sbx_fd_splice(int a, int b, const int *stop, unsigned idle_ms)
{
	struct {
		int from, to, eof;
		char *buf;
		size_t len, off;
	} d[2] = { { a, b, 0, NULL, 0, 0 }, { b, a, 0, NULL, 0, 0 } };
	struct pollfd p[2];
	uint64_t last = sbx_clock_ms();
	int i, n, idle = 0;
	ssize_t k;

	d[0].buf = xmalloc(SPLICE_BUF);
	d[1].buf = xmalloc(SPLICE_BUF);
	while (!(stop && __atomic_load_n(stop, __ATOMIC_SEQ_CST)) &&
	    !(d[0].eof && d[1].eof)) {
		for (i = 0; i < 2; i++) {
			p[i].fd = -1;
			p[i].events = 0;
			p[i].revents = 0;
		}
		/* p[0] watches a, p[1] watches b */
		for (i = 0; i < 2; i++) {
			if (d[i].len > d[i].off) {
				int w = d[i].to == a ? 0 : 1;

				p[w].fd = d[i].to;
				p[w].events |= POLLOUT;
			} else if (!d[i].eof) {
				int rd = d[i].from == a ? 0 : 1;

				p[rd].fd = d[i].from;
				p[rd].events |= POLLIN;
			}
		}
		n = poll(p, 2, SLICE_MS);
		if (n < 0 && errno != EINTR)
			break;
		if (idle_ms && sbx_clock_ms() - last >= idle_ms) {
			idle = 1;
			break;
		}
		if (n <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			int rd = d[i].from == a ? 0 : 1, w = 1 - rd;

			if (d[i].len == d[i].off && !d[i].eof &&
			    (p[rd].revents & (POLLIN | POLLHUP | POLLERR))) {
				k = recv(d[i].from, d[i].buf, SPLICE_BUF,
				    MSG_DONTWAIT);
				if (k < 0 && (errno == EAGAIN ||
				    errno == EINTR))
					continue;
				if (k <= 0) {
					d[i].eof = 1;
					shutdown(d[i].to, SHUT_WR);
					if (k < 0)
						d[1 - i].eof = 1;
					continue;
				}
				d[i].len = (size_t)k;
				d[i].off = 0;
				last = sbx_clock_ms();
			}
			if (d[i].len > d[i].off && (p[w].revents &
			    (POLLOUT | POLLERR | POLLHUP))) {
				k = send(d[i].to, d[i].buf + d[i].off,
				    d[i].len - d[i].off, MSG_NOSIGNAL |
				    MSG_DONTWAIT);
				if (k < 0 && (errno == EAGAIN ||
				    errno == EINTR))
					continue;
				if (k <= 0) {
					d[0].eof = d[1].eof = 1;
					break;
				}
				d[i].off += (size_t)k;
				last = sbx_clock_ms();
				if (d[i].off == d[i].len)
					d[i].len = d[i].off = 0;
			}
		}
	}
	free(d[0].buf);
	free(d[1].buf);
	return idle;
}
