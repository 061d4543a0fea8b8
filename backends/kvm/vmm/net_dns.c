/*
 * net_dns.c - learning a domain rule's addresses from the DNS answers the
 * sandbox's resolver gives the guest (net_snoop_rx, net_policy.h).
 *
 * The host resolves a domain rule's name on its own (net_policy.c), but a
 * name behind a CDN or round-robin DNS answers differently from one query
 * to the next, so the guest is often given an address the host's lookup
 * never saw, and an allow rule for the name would refuse it. Every DNS
 * answer slirp hands the guest from 10.0.2.3:53 is therefore read here:
 * if its question, or a name its CNAME chain leads to, falls under a
 * domain rule, the chain's A records count as that rule's addresses.
 *
 * Over TCP (a resolver retries there when a UDP answer was truncated), the
 * answers of each connection to 10.0.2.3:53 are put back together from
 * the segments slirp sends the guest, in order from its SYN-ACK, and read
 * the same way; a gap (which slirp does not make) drops that connection's
 * stream rather than guess.
 *
 * The answer is built by the host's resolver, but its question and the
 * names in it come from the guest, so nothing is trusted: every length
 * and offset is checked, compression pointers are followed at most
 * DNS_MAX_JUMPS times, and a name with a label that is not letters,
 * digits, '-' or '_' (say "a.b" as one label, or a NUL) is ignored
 * rather than matched as text.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvm/vmm/net_policy.h"
#include "kvm/vmm/net_wire.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define DNS_TYPE_A 1
#define DNS_TYPE_CNAME 5
#define DNS_CLASS_IN 1
#define DNS_MAX_JUMPS 16	/* compression pointers followed per name */
#define DNS_MAX_ANSWERS 64	/* answer records read */
#define DNS_MAX_CHAIN 8		/* names: the question and its CNAMEs */
#define DNS_MAX_ADDRS 32	/* A records taken from one answer */

static int
label_char(uint8_t c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/*
 * Reads the name at `off` of DNS message `m` into `out` (lower case,
 * dotted, no trailing dot), following compression pointers. Returns the
 * offset just past the name where it starts, or 0 if it is malformed,
 * too long, or has a label with other characters than label_char's.
 */
static size_t
read_name(const uint8_t *m, size_t len, size_t off,
    char out[NET_DOMAIN_MAX + 1])
{
	size_t n = 0, end = 0, i;
	unsigned jumps = 0;

	for (;;) {
		uint8_t l;

		if (off >= len)
			return 0;
		l = m[off];
		if ((l & 0xc0) == 0xc0) {
			if (off + 1 >= len || ++jumps > DNS_MAX_JUMPS)
				return 0;
			if (!end)
				end = off + 2;
			off = (size_t)(l & 0x3f) << 8 | m[off + 1];
			continue;
		}
		if (l & 0xc0)
			return 0;	/* reserved label types */
		off++;
		if (l == 0)
			break;
		if (off + l > len || n + l + (n ? 1 : 0) > NET_DOMAIN_MAX)
			return 0;
		if (n)
			out[n++] = '.';
		for (i = 0; i < l; i++) {
			if (!label_char(m[off + i]))
				return 0;
			out[n++] = (char)tolower(m[off + i]);
		}
		off += l;
	}
	out[n] = 0;
	return end ? end : off;
}

struct rr {
	size_t rdata;		/* offset of the record's data */
	unsigned type, rdlen;
	uint32_t ttl;
	char owner[NET_DOMAIN_MAX + 1];
};

/* Reads the resource record at *off; 0 (and *off past it) or -1. */
static int
read_rr(const uint8_t *m, size_t len, size_t *off, struct rr *r)
{
	size_t o = read_name(m, len, *off, r->owner);

	if (!o || o + 10 > len)
		return -1;
	r->type = net_get16(m + o);
	if (net_get16(m + o + 2) != DNS_CLASS_IN)
		r->type = 0;	/* not Internet: ignored */
	r->ttl = net_get32(m + o + 4);
	r->rdlen = net_get16(m + o + 8);
	r->rdata = o + 10;
	if (r->rdata + r->rdlen > len)
		return -1;
	*off = r->rdata + r->rdlen;
	return 0;
}

static int
in_chain(char chain[][NET_DOMAIN_MAX + 1], size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(chain[i], name))
			return 1;
	return 0;
}

/* The DNS message of a UDP datagram from 10.0.2.3:53 in `frame`, or NULL. */
static const uint8_t *
dns_answer(const uint8_t *frame, size_t len, size_t *mlen)
{
	const uint8_t *ip, *udp;
	size_t ihl, iplen, ulen;

	if (len < ETH_HLEN + 20 || net_get16(frame + 12) != ETH_P_IP)
		return NULL;
	ip = frame + ETH_HLEN;
	ihl = (size_t)(ip[0] & 15) * 4;
	iplen = net_get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || iplen < ihl + 8 ||
	    iplen > len - ETH_HLEN || ip[9] != IPPROTO_UDP_ ||
	    net_get32(ip + 12) != NET_DNS_IP || (net_get16(ip + 6) & 0x3fff))
		return NULL;	/* fragments too: not read */
	udp = ip + ihl;
	ulen = net_get16(udp + 4);
	if (net_get16(udp) != 53 || ulen < 8 + 12 || ulen > iplen - ihl)
		return NULL;
	*mlen = ulen - 8;
	return udp + 8;
}

/* Teaches the domain rules the addresses of DNS answer `m`. */
static void
learn_answer(struct net_policy *p, const uint8_t *m, size_t mlen,
    uint64_t now_ms)
{
	char chain[DNS_MAX_CHAIN][NET_DOMAIN_MAX + 1];
	uint32_t ip[DNS_MAX_ADDRS], ttl[DNS_MAX_ADDRS];
	size_t nchain = 1, nip = 0, first, off, i, j;
	unsigned an, pass;
	struct rr r;
	int grew;

	if (mlen < 12)
		return;
	/* A response (QR), standard query, no error, one question. */
	if (!(m[2] & 0x80) || (m[2] & 0x78) || (m[3] & 15) ||
	    net_get16(m + 4) != 1)
		return;
	an = net_get16(m + 6);
	if (an > DNS_MAX_ANSWERS)
		an = DNS_MAX_ANSWERS;
	off = read_name(m, mlen, 12, chain[0]);
	if (!off || off + 4 > mlen)
		return;
	first = off + 4;
	/* The chain: the question, then each CNAME target it leads to. */
	for (pass = 0, grew = 1; grew && pass < DNS_MAX_CHAIN; pass++) {
		grew = 0;
		for (i = 0, off = first; i < an; i++) {
			char target[NET_DOMAIN_MAX + 1];
			size_t end;

			if (read_rr(m, mlen, &off, &r) < 0)
				return;
			if (r.type != DNS_TYPE_CNAME || nchain == DNS_MAX_CHAIN ||
			    !in_chain(chain, nchain, r.owner))
				continue;
			end = read_name(m, mlen, r.rdata, target);
			if (!end || end > r.rdata + r.rdlen ||
			    in_chain(chain, nchain, target))
				continue;
			memcpy(chain[nchain++], target, sizeof(target));
			grew = 1;
		}
	}
	for (i = 0, off = first; i < an && nip < DNS_MAX_ADDRS; i++) {
		if (read_rr(m, mlen, &off, &r) < 0)
			return;
		if (r.type == DNS_TYPE_A && r.rdlen == 4 &&
		    in_chain(chain, nchain, r.owner)) {
			ip[nip] = net_get32(m + r.rdata);
			ttl[nip++] = r.ttl;
		}
	}
	/* Every domain rule a name of the chain falls under learns them. */
	for (i = 0; i < p->ndom; i++) {
		size_t k;

		for (k = 0; k < nchain && !net_name_under(chain[k],
		    p->dom[i].name); k++)
			;
		if (k == nchain)
			continue;
		for (j = 0; j < nip; j++) {
			uint64_t keep = (uint64_t)ttl[j] * 1000;

			if (keep < NET_LEARN_MIN_MS)
				keep = NET_LEARN_MIN_MS;
			if (keep > NET_LEARN_MAX_MS)
				keep = NET_LEARN_MAX_MS;
			net_policy_learn(p, i, ip[j], now_ms + keep);
		}
	}
}

/* A TCP segment from 10.0.2.3:53 to the guest. */
struct seg {
	uint16_t port;		/* the guest's */
	uint32_t seq;
	uint8_t flags;
	const uint8_t *data;
	size_t len;
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* Fills *s from `frame` if it is such a segment; 0 or -1. */
static int
dns_segment(const uint8_t *frame, size_t len, struct seg *s)
{
	const uint8_t *ip, *tcp;
	size_t ihl, iplen, thl;

	if (len < ETH_HLEN + 20 || net_get16(frame + 12) != ETH_P_IP)
		return -1;
	ip = frame + ETH_HLEN;
	ihl = (size_t)(ip[0] & 15) * 4;
	iplen = net_get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || iplen < ihl + 20 ||
	    iplen > len - ETH_HLEN || ip[9] != IPPROTO_TCP_ ||
	    net_get32(ip + 12) != NET_DNS_IP || (net_get16(ip + 6) & 0x3fff))
		return -1;
	tcp = ip + ihl;
	thl = (size_t)(tcp[12] >> 4) * 4;
	if (net_get16(tcp) != 53 || thl < 20 || thl > iplen - ihl)
		return -1;
	s->port = net_get16(tcp + 2);
	s->seq = net_get32(tcp + 4);
	s->flags = tcp[13];
	s->data = tcp + thl;
	s->len = iplen - ihl - thl;
	return s->port ? 0 : -1;
}

static void
stream_free(struct net_dns_tcp *t)
{
	free(t->buf);
	memset(t, 0, sizeof(*t));
}

/* The stream of guest port `port`; with `take`, a new one (the oldest
 * reused when all are in use). */
static struct net_dns_tcp *
stream_find(struct net_policy *p, uint16_t port, int take)
{
	struct net_dns_tcp *old = &p->dns_tcp[0];
	size_t i;

	for (i = 0; i < NET_DNS_TCP_STREAMS; i++)
		if (p->dns_tcp[i].port == port)
			return &p->dns_tcp[i];
	if (!take)
		return NULL;
	for (i = 0; i < NET_DNS_TCP_STREAMS; i++) {
		if (!p->dns_tcp[i].port)
			return &p->dns_tcp[i];
		if (p->dns_tcp[i].used_ms < old->used_ms)
			old = &p->dns_tcp[i];
	}
	stream_free(old);
	return old;
}

/* One answer segment over TCP: in order, its bytes join the stream and
 * every whole message in it is read. */
static void
snoop_tcp(struct net_policy *p, const struct seg *s, uint64_t now_ms)
{
	struct net_dns_tcp *t;
	uint32_t skip;
	size_t n, mlen;

	if ((s->flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
		t = stream_find(p, s->port, 1);
		stream_free(t);
		t->port = s->port;
		t->next_seq = s->seq + 1;
		t->used_ms = now_ms;
		return;
	}
	if (!(t = stream_find(p, s->port, 0)))
		return;
	if (s->flags & (TCP_RST | TCP_SYN)) {
		stream_free(t);
		return;
	}
	t->used_ms = now_ms;
	/* Bytes already had (a retransmission) are skipped; a gap ends it. */
	skip = t->next_seq - s->seq;
	if (s->len && (int32_t)skip < 0) {
		stream_free(t);
		return;
	}
	if (s->len > skip) {
		n = s->len - skip;
		if (t->len + n > NET_DNS_TCP_MAX) {
			stream_free(t);	/* not DNS as we know it */
			return;
		}
		t->buf = xrealloc(t->buf, t->len + n);
		memcpy(t->buf + t->len, s->data + skip, n);
		t->len += n;
		t->next_seq += (uint32_t)n;
		while (t->len >= 2 && t->len >= 2 + (mlen =
		    net_get16(t->buf))) {
			learn_answer(p, t->buf + 2, mlen, now_ms);
			t->len -= 2 + mlen;
			memmove(t->buf, t->buf + 2 + mlen, t->len);
		}
	}
	if (s->flags & TCP_FIN)
		stream_free(t);
}

void
net_snoop_rx(struct net_policy *p, const uint8_t *frame, size_t len,
    uint64_t now_ms)
{
	const uint8_t *m;
	struct seg s;
	size_t mlen;

	if (!p->ndom)
		return;
	if ((m = dns_answer(frame, len, &mlen)))
		learn_answer(p, m, mlen, now_ms);
	else if (dns_segment(frame, len, &s) == 0)
		snoop_tcp(p, &s, now_ms);
}
