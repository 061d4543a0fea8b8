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
 * The answer is built by the host's resolver, but its question and the
 * names in it come from the guest, so nothing is trusted: every length
 * and offset is checked, compression pointers are followed at most
 * DNS_MAX_JUMPS times, and a name with a label that is not letters,
 * digits, '-' or '_' (say "a.b" as one label, or a NUL) is ignored
 * rather than matched as text.
 */
#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "kvm/vmm/net_policy.h"
#include "kvm/vmm/net_wire.h"
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

void
net_snoop_rx(struct net_policy *p, const uint8_t *frame, size_t len,
    uint64_t now_ms)
{
	char chain[DNS_MAX_CHAIN][NET_DOMAIN_MAX + 1];
	uint32_t ip[DNS_MAX_ADDRS], ttl[DNS_MAX_ADDRS];
	size_t mlen, nchain = 1, nip = 0, first, off, i, j;
	unsigned an, pass;
	const uint8_t *m;
	struct rr r;
	int grew;

	if (!p->ndom || !(m = dns_answer(frame, len, &mlen)))
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
