/*
 * check_splice.c - sbx_fd_splice: bytes both ways, EOF passed on, the stop
 * flag, and the idle timeout of proxied WebSockets and tunnels.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "core/clock.h"
#include "core/splice.h"
#include "core/banned.h"

/* a[0] and b[0] are the test's ends; a[1] and b[1] are spliced. */
struct pair {
	int a[2], b[2];
	int stop;
	unsigned idle_ms;
	int ret;
	uint64_t ended;
	pthread_t th;
};

static void *
splice_main(void *arg)
{
	struct pair *p = arg;

	p->ret = sbx_fd_splice(p->a[1], p->b[1], &p->stop, p->idle_ms);
	p->ended = sbx_clock_ms();
	return NULL;
}

static void
pair_start(struct pair *p, unsigned idle_ms)
{
	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->a), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p->b), 0);
	p->idle_ms = idle_ms;
	ck_assert_int_eq(pthread_create(&p->th, NULL, splice_main, p), 0);
}

static void
pair_end(struct pair *p)
{
	int i;

	pthread_join(p->th, NULL);
	for (i = 0; i < 2; i++) {
		close(p->a[i]);
		close(p->b[i]);
	}
}

/* Reads exactly n bytes (or up to EOF); returns the count. */
static size_t
read_n(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t k;

	while (got < n && (k = read(fd, buf + got, n - got)) > 0)
		got += (size_t)k;
	return got;
}

START_TEST(test_both_ways)
{
	struct pair p;
	char buf[16];

	pair_start(&p, 0);
	ck_assert_int_eq(write(p.a[0], "hello", 5), 5);
	ck_assert_uint_eq(read_n(p.b[0], buf, 5), 5);
	ck_assert(!memcmp(buf, "hello", 5));
	ck_assert_int_eq(write(p.b[0], "world!", 6), 6);
	ck_assert_uint_eq(read_n(p.a[0], buf, 6), 6);
	ck_assert(!memcmp(buf, "world!", 6));
	/* One side's EOF reaches the other; the other way still works. */
	shutdown(p.a[0], SHUT_WR);
	ck_assert_int_eq(read(p.b[0], buf, sizeof(buf)), 0);
	ck_assert_int_eq(write(p.b[0], "late", 4), 4);
	ck_assert_uint_eq(read_n(p.a[0], buf, 4), 4);
	shutdown(p.b[0], SHUT_WR);
	pair_end(&p);
	ck_assert_int_eq(p.ret, 0);
}
END_TEST

START_TEST(test_stop)
{
	struct pair p;
	uint64_t t0;

	pair_start(&p, 0);
	usleep(100 * 1000);
	t0 = sbx_clock_ms();
	__atomic_store_n(&p.stop, 1, __ATOMIC_SEQ_CST);
	pair_end(&p);
	ck_assert_int_eq(p.ret, 0);
	ck_assert_msg(p.ended - t0 < 1000, "stop took %jums",
	    (uintmax_t)(p.ended - t0));
}
END_TEST

/* Silent both ways: it ends by itself after idle_ms, and says so. */
START_TEST(test_idle)
{
	struct pair p;
	uint64_t t0 = sbx_clock_ms();
	char c;

	pair_start(&p, 300);
	pair_end(&p);
	ck_assert_int_eq(p.ret, 1);
	ck_assert_msg(p.ended - t0 >= 300 && p.ended - t0 < 1500,
	    "idle close after %jums (want 300..1500)",
	    (uintmax_t)(p.ended - t0));
	/* The test's ends see nothing: the caller closes the sockets. */
	ck_assert_int_eq(recv(p.a[0], &c, 1, MSG_DONTWAIT), -1);
}
END_TEST

/* Traffic in either direction keeps it open; silence after it ends it. */
START_TEST(test_idle_traffic)
{
	struct pair p;
	uint64_t last;
	char c;
	int i;

	pair_start(&p, 400);
	for (i = 0; i < 8; i++) {
		int from = i % 2 ? p.b[0] : p.a[0];
		int to = i % 2 ? p.a[0] : p.b[0];

		usleep(150 * 1000);
		ck_assert_int_eq(write(from, "x", 1), 1);
		ck_assert_uint_eq(read_n(to, &c, 1), 1);
	}
	last = sbx_clock_ms();
	ck_assert_msg(p.ended == 0, "closed while busy");
	pair_end(&p);
	ck_assert_int_eq(p.ret, 1);
	ck_assert_msg(p.ended - last >= 350 && p.ended - last < 1500,
	    "closed %jums after the last byte (want about 400)",
	    (uintmax_t)(p.ended - last));
}
END_TEST

Suite *suite_splice(void)
{
	Suite *s = suite_create("splice");
	TCase *tc = tcase_create("splice");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_both_ways);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_idle_traffic);
	suite_add_tcase(s, tc);
	return s;
}
