/* check_agent_client.c - the host agent client's retries against a
 * scripted fake agent that drops the first connection mid-request. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "unit.h"
#include "core/err.h"
#include "kvm/agent-client.h"
#include "kvm/proto/agent.h"
#include "core/banned.h"

/* What the fake agent saw. */
struct fake {
	int lfd;
	int mode;			/* 0: exec, 1: get, 2: vsock handshake */
	uint8_t ids[2][SBX_AGENT_ID_LEN];
	uint64_t offsets[2];
	int conns;
};

static int
read_req(int fd, struct sbx_agent_msg *m)
{
	static uint8_t buf[SBX_AGENT_MAX_PAYLOAD];
	struct sbx_agent_hdr h;
	const char *why;

	if (sbx_agent_read_frame(fd, &h, buf, &why) != 0)
		return -1;
	return sbx_agent_msg_decode(h.type, h.flags, buf, h.len, m, &why);
}

static void
send_u32(int fd, uint8_t type, uint16_t flags, int tag, uint32_t v)
{
	struct sbx_agent_msg m;

	sbx_agent_msg_init(&m, type, flags);
	if (tag == SBX_AGENT_T_PID)
		m.pid = v;
	else
		m.code = v;
	m.have |= 1u << tag;
	sbx_agent_write_msg(fd, &m);
}

static void
send_u64(int fd, uint8_t type, int tag, uint64_t v)
{
	struct sbx_agent_msg m;

	sbx_agent_msg_init(&m, type, 0);
	m.size = v;
	m.have |= 1u << tag;
	sbx_agent_write_msg(fd, &m);
}

/* Serves two connections: the first is dropped halfway. */
static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	int i;

	for (i = 0; i < 2; i++) {
		struct sbx_agent_msg m;
		int fd = accept(f->lfd, NULL, NULL);

		if (fd < 0)
			return NULL;
		f->conns++;
		if (f->mode == 2) {
			char line[32];
			ssize_t n = read(fd, line, sizeof(line));

			/* first: refuse like a guest without a listener */
			if (i == 0 || n <= 0) {
				close(fd);
				continue;
			}
			if (write(fd, "OK 1073741824\n", 14) != 14) {
				close(fd);
				continue;
			}
		}
		if (read_req(fd, &m) < 0) {
			close(fd);
			continue;
		}
		memcpy(f->ids[i], m.id, SBX_AGENT_ID_LEN);
		f->offsets[i] = m.offset;
		if (m.type == SBX_AGENT_EXEC) {
			send_u32(fd, SBX_AGENT_STARTED, i ? 1 : 0,
			    SBX_AGENT_T_PID, 42);
			sbx_agent_write_frame(fd, SBX_AGENT_STDOUT, 0,
			    i ? "part2" : "part1", 5);
			if (i)
				send_u32(fd, SBX_AGENT_EXIT, 0,
				    SBX_AGENT_T_CODE, 7);
		} else if (m.type == SBX_AGENT_GET) {
			send_u64(fd, SBX_AGENT_OK, SBX_AGENT_T_SIZE, 10);
			sbx_agent_write_frame(fd, SBX_AGENT_DATA, 0,
			    i ? "56789" : "01234", 5);
			if (i)
				send_u64(fd, SBX_AGENT_END, SBX_AGENT_T_SIZE, 5);
		} else if (m.type == SBX_AGENT_PING) {
			struct sbx_agent_msg ok;

			sbx_agent_msg_init(&ok, SBX_AGENT_OK, 0);
			ok.version = SBX_AGENT_VERSION;
			ok.have |= 1u << SBX_AGENT_T_VERSION;
			sbx_agent_write_msg(fd, &ok);
		}
		sbx_agent_msg_free(&m);
		close(fd);
	}
	return NULL;
}

static pthread_t thr;
static struct fake fk;
static char spec[200];

static void
start_fake(int mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(&fk, 0, sizeof(fk));
	fk.mode = mode;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.90s/agent.sock",
	    unit_tmpdir());
	snprintf(spec, sizeof(spec), "%s:%s", mode == 2 ? "vsock" : "unix",
	    sa.sun_path);
	fk.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(fk.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fk.lfd, 4), 0);
	ck_assert_int_eq(pthread_create(&thr, NULL, fake_main, &fk), 0);
}

static void
stop_fake(void)
{
	pthread_join(thr, NULL);
	close(fk.lfd);
}

static char got[64];
static size_t ngot;

static int
collect(void *cookie, int stream, const void *p, size_t len)
{
	if (ngot + len < sizeof(got)) {
		memcpy(got + ngot, p, len);
		ngot += len;
	}
	return 0;
}

START_TEST(exec_reattaches_after_drop)
{
	const char *argv[] = { "true", NULL };
	struct sbx_agent_exec x;
	struct sbx_agent_status st;
	struct sbx_agent a;
	struct sbx_err e;

	start_fake(0);
	ck_assert_int_eq(sbx_agent_init(&a, spec, &e), 0);
	a.backoff_ms = 1;
	sbx_agent_exec_init(&x);
	x.argv = argv;
	x.on_output = collect;
	ngot = 0;
	ck_assert_int_eq(sbx_agent_run(&a, &x, &st, &e), 0);
	stop_fake();
	ck_assert_int_eq(fk.conns, 2);
	ck_assert_mem_eq(fk.ids[0], x.id, SBX_AGENT_ID_LEN);
	ck_assert_mem_eq(fk.ids[1], x.id, SBX_AGENT_ID_LEN);
	got[ngot] = '\0';
	ck_assert_str_eq(got, "part1part2");
	ck_assert_int_eq(st.exited, 1);
	ck_assert_int_eq(sbx_agent_status_code(&st), 7);
	ck_assert_int_eq(st.pid, 42);
	sbx_agent_release(&a);
}
END_TEST

START_TEST(get_resumes_at_offset)
{
	char path[256], buf[32];
	struct sbx_agent a;
	struct sbx_err e;
	int fd;
	ssize_t n;

	start_fake(1);
	ck_assert_int_eq(sbx_agent_init(&a, spec, &e), 0);
	a.backoff_ms = 1;
	snprintf(path, sizeof(path), "%s/out", unit_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(sbx_agent_get_fd(&a, "/f", fd, NULL, NULL, NULL, &e),
	    0);
	stop_fake();
	ck_assert_uint_eq(fk.offsets[0], 0);
	ck_assert_uint_eq(fk.offsets[1], 5);
	n = pread(fd, buf, sizeof(buf), 0);
	ck_assert_int_eq(n, 10);
	ck_assert_mem_eq(buf, "0123456789", 10);
	close(fd);
	sbx_agent_release(&a);
}
END_TEST

START_TEST(vsock_handshake_retried)
{
	struct sbx_agent_info info;
	struct sbx_agent a;
	struct sbx_err e;

	start_fake(2);
	ck_assert_int_eq(sbx_agent_init(&a, spec, &e), 0);
	ck_assert_int_eq(a.vsock, 1);
	ck_assert_uint_eq(a.port, SBX_AGENT_VSOCK_PORT);
	a.backoff_ms = 1;
	ck_assert_int_eq(sbx_agent_ping(&a, &info, &e), 0);
	stop_fake();
	ck_assert_int_eq(fk.conns, 2);
	ck_assert_uint_eq(info.version, SBX_AGENT_VERSION);
	sbx_agent_release(&a);
}
END_TEST

START_TEST(bad_specs)
{
	struct sbx_agent a;
	struct sbx_err e;

	ck_assert_int_eq(sbx_agent_init(&a, "tcp:1.2.3.4", &e), SBX_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'tcp:1.2.3.4'"));
	ck_assert_int_eq(sbx_agent_init(&a, "vsock:/x:0", &e), SBX_EINVAL);
	ck_assert_int_eq(sbx_agent_init(&a, "vsock:/run/v.sock:52", &e), 0);
	ck_assert_str_eq(a.path, "/run/v.sock");
	ck_assert_uint_eq(a.port, 52);
	sbx_agent_release(&a);
	a.attempts = 1;
	ck_assert_int_eq(sbx_agent_init(&a, "unix:/nonexistent/sock", &e), 0);
	a.attempts = 2;
	a.backoff_ms = 1;
	ck_assert_int_eq(sbx_agent_ping(&a, NULL, &e), SBX_ENET);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/sock"));
	sbx_agent_release(&a);
}
END_TEST

Suite *suite_agent_client(void)
{
	Suite *s = suite_create("agent_client");
	TCase *tc = tcase_create("retry");

	tcase_add_test(tc, exec_reattaches_after_drop);
	tcase_add_test(tc, get_resumes_at_offset);
	tcase_add_test(tc, vsock_handshake_retried);
	tcase_add_test(tc, bad_specs);
	suite_add_tcase(s, tc);
	return s;
}
