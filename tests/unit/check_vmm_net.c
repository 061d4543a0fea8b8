/*
 * check_vmm_net.c - sbx-vmm's egress policy and the parsing of guest
 * frames it is enforced on (no slirp, no KVM).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "core/clock.h"
#include "core/err.h"
#include "kvm/vmm/net_policy.h"
#include "kvm/vmm/net_slirp.h"
#include "core/banned.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
static const uint8_t gw_mac[6] = { 0x52, 0x55, 10, 0, 2, 2 };

static void
put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static unsigned
get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Ethernet + IPv4 header from the guest to `dst`; returns the L4 start. */
static uint8_t *
ip_frame(uint8_t *f, uint32_t dst, uint8_t proto, size_t l4len)
{
	uint8_t *ip = f + 14;

	memset(f, 0, 14 + 20 + l4len);
	memcpy(f, gw_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, (unsigned)(20 + l4len));
	ip[8] = 64;
	ip[9] = proto;
	put16(ip + 12, 0x0a00);
	put16(ip + 14, 0x020f);
	put16(ip + 16, dst >> 16);
	put16(ip + 18, dst & 0xffff);
	put16(ip + 10, net_csum_fold(net_csum_add(0, ip, 20)));
	return ip + 20;
}

/* A TCP SYN from 10.0.2.15:40000 to dst:port with sequence 1000. */
static size_t
syn_frame(uint8_t *f, uint32_t dst, unsigned port)
{
	uint8_t *t = ip_frame(f, dst, 6, 20);

	put16(t, 40000);
	put16(t + 2, port);
	put16(t + 4, 0);
	put16(t + 6, 1000);
	t[12] = 5 << 4;
	t[13] = 0x02;
	return 14 + 40;
}

static struct net_policy p;

static void
setup(void)
{
	net_policy_init(&p);
}

static void
teardown(void)
{
	net_policy_release(&p);
}

START_TEST(test_default_allows)
{
	ck_assert(net_policy_allows(&p, IP(93, 184, 216, 34)));
	ck_assert(net_policy_allows(&p, NET_GATEWAY_IP));
}
END_TEST

START_TEST(test_cidr_rules)
{
	struct sbx_err e = { 0 };

	ck_assert_int_eq(net_policy_parse(&p, "-10.0.0.0/8, +10.1.0.0/16 "
	    "-192.0.2.7", &e), 0);
	ck_assert_msg(!net_policy_allows(&p, IP(10, 9, 9, 9)),
	    "10.9.9.9 is under -10.0.0.0/8");
	ck_assert_msg(net_policy_allows(&p, IP(10, 1, 2, 3)),
	    "10.1.2.3: the more specific +10.1.0.0/16 wins");
	ck_assert_msg(!net_policy_allows(&p, IP(192, 0, 2, 7)),
	    "192.0.2.7 is denied by a /32");
	/* An allow rule exists: what no rule names is denied. */
	ck_assert(!net_policy_allows(&p, IP(8, 8, 8, 8)));
}
END_TEST

START_TEST(test_deny_only_default_allow)
{
	struct sbx_err e = { 0 };

	ck_assert_int_eq(net_policy_add(&p, "192.0.2.0/24", false, &e), 0);
	ck_assert(!net_policy_allows(&p, IP(192, 0, 2, 200)));
	ck_assert(net_policy_allows(&p, IP(192, 0, 3, 1)));
	ck_assert(net_policy_allows(&p, NET_GATEWAY_IP));
	/* Host bits of a CIDR are ignored; a tie goes to deny. */
	ck_assert_int_eq(net_policy_add(&p, "198.51.100.9/24", true, &e), 0);
	ck_assert_int_eq(net_policy_add(&p, "198.51.100.0/24", false, &e), 0);
	ck_assert(!net_policy_allows(&p, IP(198, 51, 100, 1)));
}
END_TEST

START_TEST(test_bad_rules)
{
	static const char *const bad[] = { "10.0.0.0/33", "10.0.0/8x", "",
	    "300.1.1.1", "exa mple.com", "-bad", "1.2.3.4/", "a..b", "123",
	    "10.0.0.0/8/8", NULL };
	struct sbx_err e = { 0 };
	size_t i;

	for (i = 0; bad[i]; i++) {
		sbx_err_clear(&e);
		ck_assert_msg(net_policy_add(&p, bad[i], true, &e) ==
		    SBX_EUSAGE, "rule '%s' must be refused", bad[i]);
		ck_assert_msg(strstr(e.msg, bad[i]) != NULL,
		    "the error names '%s': %s", bad[i], e.msg);
	}
	sbx_err_clear(&e);
	ck_assert_int_lt(net_policy_parse(&p, "10.0.0.0/8", &e), 0);
	ck_assert_int_eq(p.nrule + p.ndom, 0);
}
END_TEST

START_TEST(test_text_add)
{
	struct sbx_err e = { 0 };
	char *t = NULL;

	ck_assert_int_eq(net_policy_text_add(&t, "10.0.0.0/8", false, &e), 0);
	ck_assert_int_eq(net_policy_text_add(&t, "Example.COM", true, &e), 0);
	ck_assert_str_eq(t, "-10.0.0.0/8 +Example.COM");
	ck_assert_int_lt(net_policy_text_add(&t, "no/such", true, &e), 0);
	ck_assert_str_eq(t, "-10.0.0.0/8 +Example.COM");
	ck_assert_int_eq(net_policy_parse(&p, t, &e), 0);
	ck_assert_str_eq(p.dom[0].name, "example.com");
	free(t);
}
END_TEST

START_TEST(test_domains)
{
	struct sbx_err e = { 0 };
	uint32_t ips[2] = { IP(192, 0, 2, 10), IP(192, 0, 2, 11) };

	ck_assert_int_eq(net_policy_parse(&p, "-blocked.test", &e), 0);
	ck_assert(net_policy_allows(&p, IP(192, 0, 2, 10)));
	net_policy_set_ips(&p, 0, ips, 2);
	ck_assert(!net_policy_allows(&p, IP(192, 0, 2, 11)));
	ck_assert(net_policy_allows(&p, IP(192, 0, 2, 12)));
	ck_assert(net_policy_denies_name(&p, "blocked.test"));
	ck_assert(net_policy_denies_name(&p, "www.blocked.test"));
	ck_assert(!net_policy_denies_name(&p, "notblocked.test"));
	ck_assert(!net_policy_denies_name(&p, "test"));
	ck_assert_int_eq(net_policy_add(&p, "ok.blocked.test", true, &e), 0);
	ck_assert(!net_policy_denies_name(&p, "ok.blocked.test"));
	ck_assert(!net_policy_denies_name(&p, "a.ok.blocked.test"));
}
END_TEST

START_TEST(test_filter_pass_and_drop)
{
	struct sbx_err e = { 0 };
	uint8_t f[128], r[NET_REPLY_MAX];
	size_t len, rlen;

	ck_assert_int_eq(net_policy_parse(&p, "-192.0.2.0/24", &e), 0);
	len = syn_frame(f, NET_GATEWAY_IP, 8000);
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_PASS);
	/* ARP passes, IPv6 and short or inconsistent frames are dropped. */
	memset(f, 0, 60);
	put16(f + 12, 0x0806);
	ck_assert_int_eq(net_filter_tx(&p, f, 42, r, &rlen), NET_PASS);
	put16(f + 12, 0x86dd);
	ck_assert_int_eq(net_filter_tx(&p, f, 60, r, &rlen), NET_DROP);
	ck_assert_int_eq(net_filter_tx(&p, f, 13, r, &rlen), NET_DROP);
	len = syn_frame(f, IP(192, 0, 2, 1), 80);
	ck_assert_int_eq(net_filter_tx(&p, f, 14 + 19, r, &rlen), NET_DROP);
	f[14] = 0x44;		/* IHL 16 bytes */
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_DROP);
	f[14] = 0x4f;		/* IHL 60 > packet */
	ck_assert_int_eq(net_filter_tx(&p, f, 14 + 40, r, &rlen), NET_DROP);
	len = syn_frame(f, IP(192, 0, 2, 1), 80);
	put16(f + 16, 400);	/* total length past the frame */
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_DROP);
}
END_TEST

START_TEST(test_denied_syn_gets_rst)
{
	struct sbx_err e = { 0 };
	uint8_t f[128], r[NET_REPLY_MAX];
	const uint8_t *ip, *t;
	size_t len, rlen;

	ck_assert_int_eq(net_policy_parse(&p, "-192.0.2.0/24", &e), 0);
	len = syn_frame(f, IP(192, 0, 2, 1), 80);
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_REPLY);
	ck_assert_uint_eq(rlen, 14 + 40);
	ck_assert(!memcmp(r, guest_mac, 6) && !memcmp(r + 6, gw_mac, 6));
	ip = r + 14;
	t = ip + 20;
	ck_assert_uint_eq(ip[9], 6);
	ck_assert_uint_eq(get32(ip + 12), IP(192, 0, 2, 1));
	ck_assert_uint_eq(get32(ip + 16), NET_GUEST_IP);
	ck_assert_uint_eq(net_csum_fold(net_csum_add(0, ip, 20)), 0);
	ck_assert_uint_eq(get16(t), 80);
	ck_assert_uint_eq(get16(t + 2), 40000);
	ck_assert_uint_eq(get32(t + 8), 1001);	/* acks the SYN */
	ck_assert_uint_eq(t[13], 0x14);		/* RST|ACK */
	{
		uint32_t sum = net_csum_add(0, ip + 12, 8);

		sum += 6 + 20;
		ck_assert_uint_eq(net_csum_fold(net_csum_add(sum, t, 20)), 0);
	}
	/* A RST to a denied address is not answered. */
	f[14 + 20 + 13] = 0x04;
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_DROP);
}
END_TEST

START_TEST(test_denied_udp_gets_icmp)
{
	struct sbx_err e = { 0 };
	uint8_t f[128], r[NET_REPLY_MAX];
	uint8_t *u;
	size_t rlen;

	ck_assert_int_eq(net_policy_parse(&p, "-0.0.0.0/0", &e), 0);
	u = ip_frame(f, IP(203, 0, 113, 5), 17, 12);
	put16(u, 5000);
	put16(u + 2, 9999);
	put16(u + 4, 12);
	ck_assert_int_eq(net_filter_tx(&p, f, 14 + 32, r, &rlen), NET_REPLY);
	ck_assert_uint_eq(r[14 + 9], 1);
	ck_assert_uint_eq(r[14 + 20], 3);	/* unreachable */
	ck_assert_uint_eq(r[14 + 21], 13);	/* administratively */
	ck_assert(!memcmp(r + 14 + 28, f + 14, 28));	/* quotes it */
	ck_assert_uint_eq(net_csum_fold(net_csum_add(0, r + 34, rlen - 34)),
	    0);
}
END_TEST

/* A DNS query for `name` (dotted) to 10.0.2.3:53. */
static size_t
dns_frame(uint8_t *f, const char *name)
{
	uint8_t q[300], *u;
	size_t n = 12, len;
	const char *s = name;

	memset(q, 0, 12);
	put16(q, 0xbeef);
	q[2] = 0x01;		/* RD */
	put16(q + 4, 1);
	while (*s) {
		size_t l = strcspn(s, ".");

		q[n++] = (uint8_t)l;
		memcpy(q + n, s, l);
		n += l;
		s += l;
		if (*s == '.')
			s++;
	}
	q[n++] = 0;
	put16(q + n, 1);
	put16(q + n + 2, 1);
	n += 4;
	len = 8 + n;
	u = ip_frame(f, NET_DNS_IP, 17, len);
	put16(u, 33333);
	put16(u + 2, 53);
	put16(u + 4, (unsigned)len);
	memcpy(u + 8, q, n);
	return 14 + 20 + len;
}

START_TEST(test_dns)
{
	struct sbx_err e = { 0 };
	uint8_t f[512], r[NET_REPLY_MAX];
	const uint8_t *m;
	size_t len, rlen;

	/* DNS is reachable even when everything else is denied. */
	ck_assert_int_eq(net_policy_parse(&p, "-0.0.0.0/0 -Blocked.Test",
	    &e), 0);
	len = dns_frame(f, "allowed.test");
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_PASS);
	len = dns_frame(f, "WWW.blocked.test");
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_REPLY);
	ck_assert_uint_eq(get32(r + 14 + 12), NET_DNS_IP);
	ck_assert_uint_eq(get16(r + 34), 53);
	ck_assert_uint_eq(get16(r + 36), 33333);
	m = r + 14 + 28;
	ck_assert_uint_eq(get16(m), 0xbeef);
	ck_assert_uint_eq(m[2] & 0x80, 0x80);	/* a response */
	ck_assert_uint_eq(m[3] & 15, 3);	/* NXDOMAIN */
	ck_assert_uint_eq(get16(m + 6), 0);	/* no answers */
	ck_assert(!memcmp(m + 12, f + 14 + 28 + 12, len - 14 - 28 - 12));
	/* A compressed or truncated question is passed on, not parsed. */
	len = dns_frame(f, "blocked.test");
	f[14 + 28 + 12] = 0xc0;
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_PASS);
	len = dns_frame(f, "blocked.test");
	put16(f + 14 + 20 + 4, 14);
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_PASS);
	/* DNS over TCP reaches the resolver too; its other ports do not. */
	len = syn_frame(f, NET_DNS_IP, 53);
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_PASS);
	len = syn_frame(f, NET_DNS_IP, 80);
	ck_assert_int_eq(net_filter_tx(&p, f, len, r, &rlen), NET_REPLY);
}
END_TEST

START_TEST(test_random_frames)
{
	struct sbx_err e = { 0 };
	uint8_t f[256], r[NET_REPLY_MAX];
	size_t rlen;
	unsigned i, j;

	ck_assert_int_eq(net_policy_parse(&p, "-0.0.0.0/1 +x.test -y.test",
	    &e), 0);
	srandom(7);
	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)random() % sizeof(f);

		for (j = 0; j < len; j++)
			f[j] = (uint8_t)random();
		if (i & 1) {
			put16(f + 12, 0x0800);
			f[14] = (uint8_t)(0x40 | (random() & 15));
		}
		rlen = 0;
		net_filter_tx(&p, f, len, r, &rlen);
		ck_assert_uint_le(rlen, NET_REPLY_MAX);
	}
}
END_TEST

/* ---- DNS answers teach domain rules (net_dns.c) ------------------- */

/* Appends `name` as DNS labels at m + n; returns the new length. */
static size_t
put_name(uint8_t *m, size_t n, const char *name)
{
	while (*name) {
		size_t l = strcspn(name, ".");

		m[n++] = (uint8_t)l;
		memcpy(m + n, name, l);
		n += l;
		name += l;
		if (*name == '.')
			name++;
	}
	m[n++] = 0;
	return n;
}

/* One answer record: owner NULL = a pointer to the question. */
struct ans {
	const char *owner;
	unsigned type;
	uint32_t ttl;
	const char *cname;	/* CNAME target, or NULL for an A record */
	uint32_t ip;
};

/* A DNS answer from 10.0.2.3:53 to the guest; returns the frame length. */
static size_t
answer_frame(uint8_t *f, const char *qname, const struct ans *a, size_t na)
{
	uint8_t m[1200], *u;
	size_t n, i, len;

	memset(m, 0, 12);
	put16(m, 0xbeef);
	m[2] = 0x81;		/* QR, RD */
	m[3] = 0x80;		/* RA, no error */
	put16(m + 4, 1);
	put16(m + 6, (unsigned)na);
	n = put_name(m, 12, qname);
	put16(m + n, 1);
	put16(m + n + 2, 1);
	n += 4;
	for (i = 0; i < na; i++) {
		if (a[i].owner) {
			n = put_name(m, n, a[i].owner);
		} else {
			m[n++] = 0xc0;
			m[n++] = 12;
		}
		put16(m + n, a[i].type);
		put16(m + n + 2, 1);
		put16(m + n + 4, a[i].ttl >> 16);
		put16(m + n + 6, a[i].ttl & 0xffff);
		if (a[i].cname) {
			size_t end = put_name(m, n + 10, a[i].cname);

			put16(m + n + 8, (unsigned)(end - n - 10));
			n = end;
		} else {
			put16(m + n + 8, 4);
			put16(m + n + 10, a[i].ip >> 16);
			put16(m + n + 12, a[i].ip & 0xffff);
			n += 14;
		}
	}
	len = 8 + n;
	u = ip_frame(f, NET_GUEST_IP, 17, len);
	put16(f + 14 + 12, NET_DNS_IP >> 16);	/* from 10.0.2.3 */
	put16(f + 14 + 14, NET_DNS_IP & 0xffff);
	put16(u, 53);
	put16(u + 2, 33333);
	put16(u + 4, (unsigned)len);
	memcpy(u + 8, m, n);
	return 14 + 20 + len;
}

/*
 * An allow list with a domain: the host's lookup found one address, the
 * guest's answer (a CNAME chain to a CDN) another; both are allowed, for
 * the answer's TTL at least NET_LEARN_MIN_MS, and nothing else is.
 */
START_TEST(test_snoop_allows_answers)
{
	struct sbx_err e = { 0 };
	uint32_t host = IP(203, 0, 113, 1);
	const struct ans chain[] = {
		{ NULL, 5, 300, "Edge.CDN.example", 0 },
		{ "edge.cdn.example", 5, 300, "e1.cdn.example", 0 },
		{ "e1.cdn.example", 1, 30, NULL, IP(198, 51, 100, 21) },
		{ "e1.cdn.example", 1, 86400 * 9, NULL, IP(198, 51, 100, 22) },
		{ "unrelated.example", 1, 300, NULL, IP(198, 51, 100, 23) },
	};
	uint64_t now = sbx_clock_ms();
	uint8_t f[1400];
	size_t len;
	unsigned i;

	ck_assert_int_eq(net_policy_parse(&p, "+pkgs.test", &e), 0);
	net_policy_set_ips(&p, 0, &host, 1);
	ck_assert(net_policy_allows(&p, host));
	ck_assert(!net_policy_allows(&p, IP(198, 51, 100, 21)));
	len = answer_frame(f, "files.PKGS.test", chain, 5);
	net_snoop_rx(&p, f, len, now);
	ck_assert(net_policy_allows(&p, IP(198, 51, 100, 21)));
	ck_assert(net_policy_allows(&p, IP(198, 51, 100, 22)));
	ck_assert_msg(!net_policy_allows(&p, IP(198, 51, 100, 23)),
	    "an A record outside the chain counts");
	ck_assert(!net_policy_allows(&p, IP(8, 8, 8, 8)));
	ck_assert(net_policy_allows(&p, host));
	ck_assert_uint_eq(p.dom[0].nlearned, 2);
	for (i = 0; i < 2; i++) {
		uint64_t keep = p.dom[0].learned[i].until_ms - now;

		ck_assert_msg(keep == (p.dom[0].learned[i].ip == IP(198, 51,
		    100, 21) ? NET_LEARN_MIN_MS : NET_LEARN_MAX_MS),
		    "kept %jums", (uintmax_t)keep);
	}
	/* The same answer again only extends; an expired one is refused. */
	net_snoop_rx(&p, f, len, now);
	ck_assert_uint_eq(p.dom[0].nlearned, 2);
	net_policy_learn(&p, 0, IP(198, 51, 100, 30), now - 1);
	ck_assert(!net_policy_allows(&p, IP(198, 51, 100, 30)));
}
END_TEST

/* A chain through a denied domain is denied (deny wins the /32 tie). */
START_TEST(test_snoop_deny_wins)
{
	struct sbx_err e = { 0 };
	const struct ans a[] = {
		{ NULL, 5, 60, "t.tracker.test", 0 },
		{ "t.tracker.test", 1, 60, NULL, IP(192, 0, 2, 44) },
	};
	uint8_t f[1400];
	size_t len;

	ck_assert_int_eq(net_policy_parse(&p, "+ok.test -tracker.test", &e),
	    0);
	len = answer_frame(f, "www.ok.test", a, 2);
	net_snoop_rx(&p, f, len, sbx_clock_ms());
	ck_assert_uint_eq(p.dom[0].nlearned, 1);
	ck_assert_uint_eq(p.dom[1].nlearned, 1);
	ck_assert(!net_policy_allows(&p, IP(192, 0, 2, 44)));
}
END_TEST

/* What must not teach anything. */
START_TEST(test_snoop_ignores)
{
	struct sbx_err e = { 0 };
	const struct ans a[] = { { NULL, 1, 60, NULL, IP(198, 51, 100, 5) } };
	uint8_t f[1400], g[1400];
	size_t len, k;

	ck_assert_int_eq(net_policy_parse(&p, "+pkgs.test", &e), 0);
	len = answer_frame(f, "pkgs.test", a, 1);
#define TRY(what)                                                       \
	do {                                                            \
		memcpy(g, f, len);                                      \
		what;                                                   \
		net_snoop_rx(&p, g, len, sbx_clock_ms());               \
		ck_assert_msg(p.dom[0].nlearned == 0, "learned: %s", #what); \
	} while (0)
	TRY(put16(g + 34, 5353));			/* not port 53 */
	TRY(g[14 + 15] = 4);				/* not from 10.0.2.3 */
	TRY(g[14 + 6] = 0x20);				/* a fragment */
	TRY(g[42 + 2] = 0x01);				/* a query, not QR */
	TRY(g[42 + 3] = 0x83);				/* NXDOMAIN */
	TRY(put16(g + 42 + 4, 2));			/* two questions */
	TRY(g[42 + 13] = 0);				/* "pkgs" has a NUL */
	TRY(put16(g + 14 + 20 + 4, 20));		/* UDP length short */
	TRY(put16(g + 14 + 2, 30));			/* IP length short */
	TRY(g[42 + 12] = 0xc0; g[42 + 13] = 12);	/* question loops */
	/*
	 * One label "x.pkgs" in the TLD "test" reads "x.pkgs.test" as text,
	 * but is not under pkgs.test: its answer must not count.
	 */
	len = answer_frame(f, "xxpkgs.test", a, 1);
	TRY(g[42 + 14] = '.');
	len = answer_frame(f, "pkgs.test", a, 1);
	/* Every truncation of the frame. */
	for (k = 0; k < len; k++) {
		net_snoop_rx(&p, f, k, sbx_clock_ms());
		ck_assert_uint_eq(p.dom[0].nlearned, 0);
	}
	/* A CNAME loop ends; its A record still counts. */
	{
		const struct ans loop[] = {
			{ NULL, 5, 60, "b.pkgs.test", 0 },
			{ "b.pkgs.test", 5, 60, "pkgs.test", 0 },
			{ "b.pkgs.test", 1, 60, NULL, IP(198, 51, 100, 6) },
		};

		len = answer_frame(f, "pkgs.test", loop, 3);
		net_snoop_rx(&p, f, len, sbx_clock_ms());
		ck_assert(net_policy_allows(&p, IP(198, 51, 100, 6)));
	}
#undef TRY
}
END_TEST

START_TEST(test_snoop_random)
{
	struct sbx_err e = { 0 };
	const struct ans a[] = {
		{ NULL, 5, 60, "x.cdn.test", 0 },
		{ "x.cdn.test", 1, 60, NULL, IP(198, 51, 100, 7) },
	};
	uint8_t f[1400], g[1400];
	size_t len;
	unsigned i, j;

	ck_assert_int_eq(net_policy_parse(&p, "+pkgs.test", &e), 0);
	len = answer_frame(f, "a.pkgs.test", a, 2);
	srandom(11);
	for (i = 0; i < 50000; i++) {
		memcpy(g, f, len);
		for (j = 0; j < 1 + (unsigned)random() % 4; j++)
			g[42 + (size_t)random() % (len - 42)] =
			    (uint8_t)random();
		net_snoop_rx(&p, g, len, sbx_clock_ms());
		ck_assert_uint_le(p.dom[0].nlearned, NET_LEARN_MAX);
	}
	/* A full set drops what expires first. */
	for (i = 0; i < NET_LEARN_MAX + 5; i++)
		net_policy_learn(&p, 0, IP(10, 9, 0, i), sbx_clock_ms() +
		    60000 + i);
	ck_assert_uint_eq(p.dom[0].nlearned, NET_LEARN_MAX);
	ck_assert(!net_policy_allows(&p, IP(10, 9, 0, 0)));
	ck_assert(net_policy_allows(&p, IP(10, 9, 0, NET_LEARN_MAX + 4)));
}
END_TEST

/* A TCP segment from 10.0.2.3:53 to the guest's `port`. */
static size_t
dns_tcp_frame(uint8_t *f, unsigned port, uint32_t seq, uint8_t flags,
    const uint8_t *data, size_t n)
{
	uint8_t *t = ip_frame(f, NET_GUEST_IP, 6, 20 + n);

	put16(f + 14 + 12, NET_DNS_IP >> 16);
	put16(f + 14 + 14, NET_DNS_IP & 0xffff);
	put16(t, 53);
	put16(t + 2, port);
	put16(t + 4, seq >> 16);
	put16(t + 6, seq & 0xffff);
	t[12] = 5 << 4;
	t[13] = flags;
	memcpy(t + 20, data, n);
	return 14 + 40 + n;
}

/*
 * DNS over TCP: an answer split over segments, one of them sent twice,
 * teaches its address once the message is whole; a stream with a gap, or
 * one whose SYN-ACK was not seen, teaches nothing.
 */
START_TEST(test_snoop_tcp)
{
	struct sbx_err e = { 0 };
	const struct ans a[] = {
		{ NULL, 5, 60, "x.cdn.test", 0 },
		{ "x.cdn.test", 1, 60, NULL, IP(198, 51, 100, 8) },
	};
	const struct ans b[] = { { NULL, 1, 60, NULL, IP(198, 51, 100, 9) } };
	uint8_t f[1400], g[1400], st[1400];
	uint32_t s0 = 0xfffffff0;	/* the sequence numbers wrap */
	size_t len, n;

	ck_assert_int_eq(net_policy_parse(&p, "+pkgs.test", &e), 0);
	len = answer_frame(f, "a.pkgs.test", a, 2);
	n = len - 42;			/* the DNS message */
	put16(st, (unsigned)n);
	memcpy(st + 2, f + 42, n);
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40001, s0, 0x12, NULL, 0),
	    sbx_clock_ms());
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40001, s0 + 1, 0x18, st, 20),
	    sbx_clock_ms());
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40001, s0 + 1, 0x18, st, 10),
	    sbx_clock_ms());	/* a retransmission */
	ck_assert(!net_policy_allows(&p, IP(198, 51, 100, 8)));
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40001, s0 + 11, 0x19, st + 10,
	    n + 2 - 10), sbx_clock_ms());	/* overlaps; and FIN */
	ck_assert_msg(net_policy_allows(&p, IP(198, 51, 100, 8)),
	    "the answer over TCP did not count");
	ck_assert_uint_eq(p.dns_tcp[0].port, 0);	/* FIN freed it */
	/* A gap: the stream is dropped, the rest of it teaches nothing. */
	len = answer_frame(f, "b.pkgs.test", b, 1);
	n = len - 42;
	put16(st, (unsigned)n);
	memcpy(st + 2, f + 42, n);
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40002, 7, 0x12, NULL, 0),
	    sbx_clock_ms());
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40002, 8 + 5, 0x18, st + 5,
	    n + 2 - 5), sbx_clock_ms());
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40002, 8, 0x18, st, n + 2),
	    sbx_clock_ms());
	ck_assert(!net_policy_allows(&p, IP(198, 51, 100, 9)));
	/* No SYN-ACK seen (the connection began before this VMM). */
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40003, 8, 0x18, st, n + 2),
	    sbx_clock_ms());
	ck_assert(!net_policy_allows(&p, IP(198, 51, 100, 9)));
	/* Every truncation, and random bytes, of a segment. */
	net_snoop_rx(&p, g, dns_tcp_frame(g, 40004, 7, 0x12, NULL, 0),
	    sbx_clock_ms());
	len = dns_tcp_frame(f, 40004, 8, 0x18, st, n + 2);
	for (n = 0; n < len; n++)
		net_snoop_rx(&p, f, n, sbx_clock_ms());
	srandom(12);
	for (n = 0; n < 20000; n++) {
		memcpy(g, f, len);
		g[14 + (size_t)random() % (len - 14)] = (uint8_t)random();
		net_snoop_rx(&p, g, len, sbx_clock_ms());
	}
}
END_TEST

/* What slirp sent to the "guest" in the tests below. */
static uint8_t got[2048];
static size_t got_len;

static void
capture(void *arg, const uint8_t *frame, size_t len)
{
	(void)arg;
	got_len = len < sizeof(got) ? len : sizeof(got);
	memcpy(got, frame, got_len);
}

START_TEST(test_slirp_arp)
{
	struct sbx_err e = { 0 };
	struct net_slirp *s = net_slirp_new(NULL, capture, NULL, &e);
	uint8_t f[60] = { 0 }, *a = f + 14;

	ck_assert_msg(s != NULL, "slirp starts: %s", e.msg);
	/* Who has 10.0.2.2? tell 10.0.2.15 */
	memset(f, 0xff, 6);
	memcpy(f + 6, guest_mac, 6);
	put16(f + 12, 0x0806);
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);
	memcpy(a + 8, guest_mac, 6);
	put16(a + 14, 0x0a00);
	put16(a + 16, 0x020f);
	put16(a + 24, 0x0a00);
	put16(a + 26, 0x0202);
	got_len = 0;
	net_slirp_input(s, f, sizeof(f));
	ck_assert_msg(got_len >= 42, "slirp answered the ARP request");
	ck_assert(!memcmp(got, guest_mac, 6));
	ck_assert_uint_eq(get16(got + 12), 0x0806);
	ck_assert_uint_eq(get16(got + 14 + 6), 2);		/* reply */
	ck_assert_uint_eq(get32(got + 14 + 14), NET_GATEWAY_IP);
	/* Garbage and empty frames are ignored. */
	net_slirp_input(s, f, 0);
	net_slirp_input(s, f, 5);
	net_slirp_free(s);
}
END_TEST

START_TEST(test_slirp_forward)
{
	struct sbx_err e = { 0 };
	struct net_slirp *s = net_slirp_new(NULL, capture, NULL, &e);
	unsigned bound = 0, again = 0;

	ck_assert_msg(s != NULL, "slirp starts: %s", e.msg);
	ck_assert_int_eq(net_slirp_forward(s, "127.0.0.1", 0, 8000, &bound,
	    &e), 0);
	ck_assert_uint_gt(bound, 0);
	sbx_err_clear(&e);
	ck_assert_int_eq(net_slirp_forward(s, "127.0.0.1", bound, 8001,
	    &again, &e), SBX_EBUSY);
	ck_assert_msg(strstr(e.msg, "in use") != NULL, "%s", e.msg);
	sbx_err_clear(&e);
	ck_assert_int_eq(net_slirp_forward(s, "localhost", 0, 80, &again,
	    &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "'localhost'") != NULL, "%s", e.msg);
	ck_assert_int_eq(net_slirp_forward(s, "127.0.0.1", 0, 0, &again,
	    &e), SBX_EUSAGE);
	net_slirp_free(s);
}
END_TEST

/* The proxy's forwards: a unix socket in a private directory. */
START_TEST(test_slirp_forward_unix)
{
	struct sbx_err e = { 0 };
	struct net_slirp *s = net_slirp_new(NULL, capture, NULL, &e);
	char dir[] = "/tmp/check-vmm-net.XXXXXX", path[128], file[128];
	struct stat st;
	FILE *f;

	ck_assert_msg(s != NULL, "slirp starts: %s", e.msg);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/port-8000.sock", dir);
	ck_assert_int_eq(net_slirp_forward_unix(s, path, 8000, &e), 0);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	/* A socket already there (an earlier VMM's) is replaced. */
	ck_assert_int_eq(net_slirp_forward_unix(s, path, 8000, &e), 0);
	/* Anything else is not touched. */
	snprintf(file, sizeof(file), "%s/file", dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(net_slirp_forward_unix(s, file, 80, &e), SBX_EEXIST);
	ck_assert_msg(strstr(e.msg, "not a socket") != NULL, "%s", e.msg);
	ck_assert_int_eq(lstat(file, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	sbx_err_clear(&e);
	ck_assert_int_eq(net_slirp_forward_unix(s, "port.sock", 80, &e),
	    SBX_EUSAGE);
	ck_assert_int_eq(net_slirp_forward_unix(s, NULL, 80, &e), SBX_EUSAGE);
	ck_assert_int_eq(net_slirp_forward_unix(s, path, 0, &e), SBX_EUSAGE);
	memset(file, 'a', sizeof(file) - 1);
	file[0] = '/';
	file[sizeof(file) - 1] = 0;
	ck_assert_int_eq(net_slirp_forward_unix(s, file, 80, &e), SBX_EUSAGE);
	net_slirp_free(s);
	unlink(path);
	snprintf(file, sizeof(file), "%s/file", dir);
	unlink(file);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

Suite *suite_vmm_net(void)
{
	Suite *s = suite_create("vmm_net");
	TCase *t = tcase_create("policy");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_default_allows);
	tcase_add_test(t, test_cidr_rules);
	tcase_add_test(t, test_deny_only_default_allow);
	tcase_add_test(t, test_bad_rules);
	tcase_add_test(t, test_text_add);
	tcase_add_test(t, test_domains);
	tcase_add_test(t, test_filter_pass_and_drop);
	tcase_add_test(t, test_denied_syn_gets_rst);
	tcase_add_test(t, test_denied_udp_gets_icmp);
	tcase_add_test(t, test_dns);
	tcase_add_test(t, test_random_frames);
	tcase_add_test(t, test_snoop_allows_answers);
	tcase_add_test(t, test_snoop_deny_wins);
	tcase_add_test(t, test_snoop_ignores);
	tcase_add_test(t, test_snoop_random);
	tcase_add_test(t, test_snoop_tcp);
	suite_add_tcase(s, t);
	t = tcase_create("slirp");
	tcase_add_test(t, test_slirp_arp);
	tcase_add_test(t, test_slirp_forward);
	tcase_add_test(t, test_slirp_forward_unix);
	suite_add_tcase(s, t);
	return s;
}
