/* check_agent_proto.c - the agent wire format: round trips, malformed
 * frames and records, frame I/O, and the guest's /etc/passwd parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "kvm/guest/agentd.h"
#include "kvm/proto/agent.h"
#include "core/banned.h"

/* Appends one raw TLV record (any length field) to buf at *n. */
static void
raw_tlv(uint8_t *buf, size_t *n, uint16_t tag, uint32_t len, const void *v,
    size_t vlen)
{
	buf[*n] = tag & 0xff;
	buf[*n + 1] = tag >> 8;
	for (int i = 0; i < 4; i++)
		buf[*n + 2 + i] = (len >> (8 * i)) & 0xff;
	memcpy(buf + *n + 6, v, vlen);
	*n += 6 + vlen;
}

static const uint8_t ID[16] = "0123456789abcdef";

START_TEST(exec_round_trip)
{
	struct sbx_agent_msg m, d;
	struct sbx_agent_enc e;
	uint8_t buf[4096];
	const char *why = NULL;

	sbx_agent_msg_init(&m, SBX_AGENT_EXEC, SBX_AGENT_F_PTY);
	memcpy(m.id, ID, 16);
	m.have |= 1u << SBX_AGENT_T_ID;
	sbx_agent_msg_push(&m, SBX_AGENT_T_ARG, "sh");
	sbx_agent_msg_push(&m, SBX_AGENT_T_ARG, "-c");
	sbx_agent_msg_push(&m, SBX_AGENT_T_ARG, "");
	sbx_agent_msg_push(&m, SBX_AGENT_T_ENV, "A=1");
	sbx_agent_msg_set(&m, SBX_AGENT_T_CWD, "/tmp");
	sbx_agent_msg_set(&m, SBX_AGENT_T_USER, "nobody");
	m.rows = 24;
	m.cols = 80;
	m.have |= 1u << SBX_AGENT_T_ROWS | 1u << SBX_AGENT_T_COLS;
	sbx_agent_enc_init(&e, buf, sizeof(buf));
	ck_assert_int_eq(sbx_agent_msg_encode(&m, &e), 0);
	ck_assert_int_eq(sbx_agent_msg_decode(SBX_AGENT_EXEC, SBX_AGENT_F_PTY,
	    buf, e.len, &d, &why), 0);
	ck_assert_uint_eq(d.argc, 3);
	ck_assert_str_eq(d.argv[0], "sh");
	ck_assert_str_eq(d.argv[2], "");
	ck_assert_ptr_null(d.argv[3]);
	ck_assert_uint_eq(d.envc, 1);
	ck_assert_str_eq(d.env[0], "A=1");
	ck_assert_str_eq(d.cwd, "/tmp");
	ck_assert_str_eq(d.user, "nobody");
	ck_assert_uint_eq(d.rows, 24);
	ck_assert_uint_eq(d.cols, 80);
	ck_assert_mem_eq(d.id, ID, 16);
	ck_assert_uint_eq(d.flags, SBX_AGENT_F_PTY);
	sbx_agent_msg_free(&d);
	sbx_agent_msg_free(&m);
}
END_TEST

START_TEST(integers_round_trip)
{
	struct sbx_agent_msg m, d;
	struct sbx_agent_enc e;
	uint8_t buf[256];
	const char *why;

	sbx_agent_msg_init(&m, SBX_AGENT_SET_CLOCK, 0);
	m.sec = -5;
	m.nsec = 999999999;
	m.have |= 1u << SBX_AGENT_T_SEC | 1u << SBX_AGENT_T_NSEC;
	sbx_agent_enc_init(&e, buf, sizeof(buf));
	ck_assert_int_eq(sbx_agent_msg_encode(&m, &e), 0);
	ck_assert_int_eq(sbx_agent_msg_decode(m.type, 0, buf, e.len, &d,
	    &why), 0);
	ck_assert_int_eq(d.sec, -5);
	ck_assert_uint_eq(d.nsec, 999999999);
	sbx_agent_msg_free(&d);
}
END_TEST

START_TEST(encoder_overflow)
{
	struct sbx_agent_msg m;
	struct sbx_agent_enc e;
	uint8_t buf[16];

	sbx_agent_msg_init(&m, SBX_AGENT_STAT, 0);
	sbx_agent_msg_set(&m, SBX_AGENT_T_PATH, "/a/rather/long/path/name");
	sbx_agent_enc_init(&e, buf, sizeof(buf));
	ck_assert_int_eq(sbx_agent_msg_encode(&m, &e), -EMSGSIZE);
	ck_assert_int_eq(e.overflow, 1);
	ck_assert_uint_le(e.len, sizeof(buf));
	sbx_agent_msg_free(&m);
}
END_TEST

/* Decodes `buf` as a STAT request and expects failure naming `want`. */
static void
expect_bad(uint8_t type, const uint8_t *buf, size_t n, const char *want)
{
	struct sbx_agent_msg d;
	const char *why = NULL;

	ck_assert_int_eq(sbx_agent_msg_decode(type, 0, buf, n, &d, &why),
	    -EPROTO);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, want), "reason '%s' lacks '%s'", why, want);
	ck_assert_ptr_null(d.path);
	ck_assert_ptr_null(d.argv);
}

START_TEST(malformed_records)
{
	uint8_t buf[256];
	size_t n;

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 2, "/x", 2);
	expect_bad(SBX_AGENT_STAT, buf, n - 1, "longer than its frame");
	expect_bad(SBX_AGENT_STAT, buf, 3, "truncated field header");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 0xffffffffu, "/x", 2);
	expect_bad(SBX_AGENT_STAT, buf, n, "longer than its frame");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 3, "/\0x", 3);
	expect_bad(SBX_AGENT_STAT, buf, n, "NUL byte");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 2, "/x", 2);
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 2, "/y", 2);
	expect_bad(SBX_AGENT_STAT, buf, n, "duplicate");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 2, "/x", 2);
	raw_tlv(buf, &n, SBX_AGENT_T_MODE, 2, "\1\2", 2);
	expect_bad(SBX_AGENT_STAT, buf, n, "wrong size");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 3, "rel", 3);
	expect_bad(SBX_AGENT_STAT, buf, n, "not absolute");
	expect_bad(SBX_AGENT_STAT, buf, 0, "path missing");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_ID, 4, "abcd", 4);
	expect_bad(SBX_AGENT_EXEC, buf, n, "16 bytes");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_ID, 16, ID, 16);
	expect_bad(SBX_AGENT_EXEC, buf, n, "without a command");
	raw_tlv(buf, &n, SBX_AGENT_T_ARG, 2, "ls", 2);
	raw_tlv(buf, &n, SBX_AGENT_T_ENV, 3, "FOO", 3);
	expect_bad(SBX_AGENT_EXEC, buf, n, "without '='");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_ID, 16, ID, 16);
	raw_tlv(buf, &n, SBX_AGENT_T_SIGNAL, 4, "\x41\0\0\0", 4);
	expect_bad(SBX_AGENT_KILL, buf, n, "out of range");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_SEC, 8, "\0\0\0\0\0\0\0\0", 8);
	raw_tlv(buf, &n, SBX_AGENT_T_NSEC, 4, "\0\xca\x9a\x3b", 4);
	expect_bad(SBX_AGENT_SET_CLOCK, buf, n, "nanoseconds");

	n = 0;
	raw_tlv(buf, &n, SBX_AGENT_T_NAME, 3, "a/b", 3);
	expect_bad(SBX_AGENT_ENTRY, buf, n, "valid name");

	expect_bad(0xee, buf, 0, "unknown frame type");
	expect_bad(SBX_AGENT_STDOUT, buf, 0, "data frame");
}
END_TEST

START_TEST(unknown_tags_skipped)
{
	struct sbx_agent_msg d;
	const char *why;
	uint8_t buf[64];
	size_t n = 0;

	raw_tlv(buf, &n, 999, 3, "xyz", 3);
	raw_tlv(buf, &n, 31, 1, "q", 1);
	raw_tlv(buf, &n, SBX_AGENT_T_PATH, 2, "/x", 2);
	ck_assert_int_eq(sbx_agent_msg_decode(SBX_AGENT_STAT, 0, buf, n, &d,
	    &why), 0);
	ck_assert_str_eq(d.path, "/x");
	sbx_agent_msg_free(&d);
}
END_TEST

START_TEST(too_many_args)
{
	struct sbx_agent_msg d;
	const char *why;
	size_t n = 0, cap = 6 * (SBX_AGENT_MAX_ARGS + 2) + 64;
	uint8_t *buf = malloc(cap);

	raw_tlv(buf, &n, SBX_AGENT_T_ID, 16, ID, 16);
	for (int i = 0; i <= SBX_AGENT_MAX_ARGS; i++)
		raw_tlv(buf, &n, SBX_AGENT_T_ARG, 0, "", 0);
	ck_assert_int_eq(sbx_agent_msg_decode(SBX_AGENT_EXEC, 0, buf, n, &d,
	    &why), -EPROTO);
	ck_assert_ptr_nonnull(strstr(why, "too many"));
	free(buf);
}
END_TEST

START_TEST(header_checks)
{
	struct sbx_agent_hdr h;
	uint8_t hb[SBX_AGENT_HDR_SIZE];
	const char *why;

	sbx_agent_hdr_encode(hb, SBX_AGENT_PING, 0x1234, 77);
	ck_assert_int_eq(sbx_agent_hdr_decode(hb, &h, &why), 0);
	ck_assert_uint_eq(h.type, SBX_AGENT_PING);
	ck_assert_uint_eq(h.flags, 0x1234);
	ck_assert_uint_eq(h.len, 77);
	hb[0] = 2;
	ck_assert_int_eq(sbx_agent_hdr_decode(hb, &h, &why), -EPROTO);
	ck_assert_ptr_nonnull(strstr(why, "version"));
	sbx_agent_hdr_encode(hb, SBX_AGENT_DATA, 0, SBX_AGENT_MAX_PAYLOAD + 1);
	ck_assert_int_eq(sbx_agent_hdr_decode(hb, &h, &why), -EPROTO);
	ck_assert_ptr_nonnull(strstr(why, "maximum"));
}
END_TEST

START_TEST(frame_io)
{
	struct sbx_agent_hdr h;
	uint8_t *buf = malloc(SBX_AGENT_MAX_PAYLOAD);
	const char *why = "";
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(sbx_agent_write_frame(sv[0], SBX_AGENT_STDOUT, 0,
	    "hello", 5), 0);
	ck_assert_int_eq(sbx_agent_read_frame(sv[1], &h, buf, &why), 0);
	ck_assert_uint_eq(h.type, SBX_AGENT_STDOUT);
	ck_assert_uint_eq(h.len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	/* a frame cut short by the peer */
	ck_assert_int_eq(write(sv[0], "\1\x50\0\0\x10\0\0\0abc", 11), 11);
	close(sv[0]);
	ck_assert_int_eq(sbx_agent_read_frame(sv[1], &h, buf, &why), -EPROTO);
	ck_assert_ptr_nonnull(strstr(why, "inside a frame"));
	ck_assert_int_eq(sbx_agent_read_frame(sv[1], &h, buf, &why), 1);
	close(sv[1]);
	free(buf);
}
END_TEST

START_TEST(passwd_parsing)
{
	const char *dir = unit_tmpdir();
	char pw[512], gr[512];
	struct user_info u;
	FILE *f;

	snprintf(pw, sizeof(pw), "%s/passwd", dir);
	snprintf(gr, sizeof(gr), "%s/group", dir);
	f = fopen(pw, "w");
	fputs("root:x:0:0:root:/root:/bin/bash\n"
	    "broken line without colons\n"
	    "bad:x:notanumber:1::/:/bin/sh\n"
	    "alice:x:1000:1000:Alice:/home/alice:/bin/zsh\n"
	    "short:x:5\n", f);
	fclose(f);
	f = fopen(gr, "w");
	fputs("alice:x:1000:\nwheel:x:10:bob,alice\nother:x:11:bob\n", f);
	fclose(f);
	ck_assert_int_eq(user_lookup("alice", &u, pw, gr), 0);
	ck_assert_uint_eq(u.uid, 1000);
	ck_assert_uint_eq(u.gid, 1000);
	ck_assert_str_eq(u.home, "/home/alice");
	ck_assert_str_eq(u.shell, "/bin/zsh");
	ck_assert_int_eq(u.ngroups, 2);
	ck_assert_uint_eq(u.groups[1], 10);
	ck_assert_int_eq(user_lookup("0", &u, pw, gr), 0);
	ck_assert_str_eq(u.name, "root");
	ck_assert_int_eq(user_lookup("4242", &u, pw, gr), 0);
	ck_assert_uint_eq(u.uid, 4242);
	ck_assert_uint_eq(u.gid, 4242);
	ck_assert_int_eq(user_lookup("bad", &u, pw, gr), -ENOENT);
	ck_assert_int_eq(user_lookup("short", &u, pw, gr), -ENOENT);
	ck_assert_int_eq(user_lookup("nobody-here", &u, pw, gr), -ENOENT);
}
END_TEST

Suite *suite_agent_proto(void)
{
	Suite *s = suite_create("agent_proto");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, exec_round_trip);
	tcase_add_test(tc, integers_round_trip);
	tcase_add_test(tc, encoder_overflow);
	tcase_add_test(tc, malformed_records);
	tcase_add_test(tc, unknown_tags_skipped);
	tcase_add_test(tc, too_many_args);
	tcase_add_test(tc, header_checks);
	tcase_add_test(tc, frame_io);
	tcase_add_test(tc, passwd_parsing);
	suite_add_tcase(s, tc);
	return s;
}
