/*
 * net_policy.c - egress rules, the resolver thread, and the checks and
 * replies on the guest's frames (net_policy.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/net_policy.h"
#include "kvm/vmm/net_wire.h"
#include "core/banned.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

uint32_t
net_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += net_get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t
net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void
net_policy_init(struct net_policy *p)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
}

void
net_policy_release(struct net_policy *p)
{
	size_t i;

	if (p->running) {
		pthread_mutex_lock(&p->lock);
		p->stop = true;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		p->running = false;
	}
	for (i = 0; i < p->ndom; i++)
		free(p->dom[i].ips);
	for (i = 0; i < NET_DNS_TCP_STREAMS; i++)
		free(p->dns_tcp[i].buf);
	free(p->dom);
	free(p->rule);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	memset(p, 0, sizeof(*p));
}

/* Parses "a.b.c.d[/n]"; 0 or -1. */
static int
parse_cidr(const char *s, uint32_t *addr, unsigned *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	struct in_addr a;
	unsigned n = 32;

	if (len == 0 || len >= sizeof(ip))
		return -1;
	memcpy(ip, s, len);
	ip[len] = 0;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return -1;
	if (slash) {
		const char *d = slash + 1;

		if (!*d || strlen(d) > 2)
			return -1;
		for (n = 0; *d; d++) {
			if (!isdigit((unsigned char)*d))
				return -1;
			n = n * 10 + (unsigned)(*d - '0');
		}
		if (n > 32)
			return -1;
	}
	*addr = ntohl(a.s_addr);
	*prefix = n;
	return 0;
}

/* Checks a domain name and writes it lower case; 0 or -1. */
static int
parse_domain(const char *s, char out[NET_DOMAIN_MAX + 1])
{
	size_t len, i, label = 0;
	bool alpha = false;

	if (!strncmp(s, "*.", 2))
		s += 2;
	len = strlen(s);
	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > NET_DOMAIN_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			out[i] = '.';
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-' && c != '_')
			return -1;
		if (c == '-' && label == 0)
			return -1;
		if (isalpha((unsigned char)c))
			alpha = true;
		if (++label > 63)
			return -1;
		out[i] = (char)tolower((unsigned char)c);
	}
	if (label == 0 || !alpha)
		return -1;
	out[len] = 0;
	return 0;
}

int
net_policy_add(struct net_policy *p, const char *rule, bool allow,
    struct sbx_err *e)
{
	char name[NET_DOMAIN_MAX + 1];
	uint32_t addr;
	unsigned prefix;

	if (p->nrule + p->ndom >= NET_POLICY_MAX_RULES)
		return sbx_err_set(e, SBX_EUSAGE, "too many network rules "
		    "(at most %d)", NET_POLICY_MAX_RULES);
	if (parse_cidr(rule, &addr, &prefix) == 0) {
		struct net_rule *r;

		p->rule = xreallocarray(p->rule, p->nrule + 1,
		    sizeof(*p->rule));
		r = &p->rule[p->nrule++];
		r->mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
		r->addr = addr & r->mask;
		r->prefix = prefix;
		r->allow = allow;
	} else if (!strchr(rule, '/') && parse_domain(rule, name) == 0) {
		struct net_domain *d;

		p->dom = xreallocarray(p->dom, p->ndom + 1, sizeof(*p->dom));
		d = &p->dom[p->ndom++];
		memset(d, 0, sizeof(*d));
		memcpy(d->name, name, strlen(name) + 1);
		d->allow = allow;
	} else {
		return sbx_err_set(e, SBX_EUSAGE, "network rule '%s' is "
		    "neither an IPv4 CIDR (10.0.0.0/8) nor a domain name "
		    "(example.com)", rule);
	}
	if (allow)
		p->have_allow = true;
	return 0;
}

int
net_policy_parse(struct net_policy *p, const char *text, struct sbx_err *e)
{
	const char *s = text;

	while (*s) {
		char tok[NET_DOMAIN_MAX + 8];
		size_t len = strcspn(s, " ,");

		if (len == 0) {
			s++;
			continue;
		}
		if (len >= sizeof(tok) || (s[0] != '+' && s[0] != '-') ||
		    len < 2)
			return sbx_err_set(e, SBX_EUSAGE, "bad network policy "
			    "'%.*s': each rule is +RULE or -RULE",
			    (int)(len > 64 ? 64 : len), s);
		memcpy(tok, s + 1, len - 1);
		tok[len - 1] = 0;
		if (net_policy_add(p, tok, s[0] == '+', e) < 0)
			return SBX_EUSAGE;
		s += len;
	}
	return 0;
}

int
net_policy_text_add(char **text, const char *rule, bool allow,
    struct sbx_err *e)
{
	struct net_policy p;
	char *t;
	int r;

	net_policy_init(&p);
	r = net_policy_add(&p, rule, allow, e);
	net_policy_release(&p);
	if (r < 0)
		return r;
	if (strchr(rule, ' ') || strchr(rule, ','))
		return sbx_err_set(e, SBX_EUSAGE, "network rule '%s' has a "
		    "space or comma", rule);
	t = xasprintf("%s%s%c%s", *text ? *text : "", *text && **text ?
	    " " : "", allow ? '+' : '-', rule);
	free(*text);
	*text = t;
	return 0;
}

/* Folds one match of `prefix` into the best so far. */
static void
consider(unsigned prefix, bool allow, int *best, bool *verdict)
{
	if ((int)prefix > *best || ((int)prefix == *best && !allow)) {
		*best = (int)prefix;
		*verdict = allow;
	}
}

bool
net_policy_allows(struct net_policy *p, uint32_t dst)
{
	bool verdict = !p->have_allow;
	int best = -1;
	size_t i, j;

	for (i = 0; i < p->nrule; i++)
		if ((dst & p->rule[i].mask) == p->rule[i].addr)
			consider(p->rule[i].prefix, p->rule[i].allow, &best,
			    &verdict);
	if (p->ndom) {
		uint64_t now = sbx_clock_ms();

		pthread_mutex_lock(&p->lock);
		for (i = 0; i < p->ndom; i++) {
			const struct net_domain *d = &p->dom[i];

			for (j = 0; j < d->nips; j++)
				if (d->ips[j] == dst)
					consider(32, d->allow, &best, &verdict);
			for (j = 0; j < d->nlearned; j++)
				if (d->learned[j].ip == dst &&
				    d->learned[j].until_ms > now)
					consider(32, d->allow, &best, &verdict);
		}
		pthread_mutex_unlock(&p->lock);
	}
	return verdict;
}

void
net_policy_learn(struct net_policy *p, size_t i, uint32_t ip,
    uint64_t until_ms)
{
	struct net_domain *d = &p->dom[i];
	size_t j, k = 0;

	pthread_mutex_lock(&p->lock);
	for (j = 0; j < d->nlearned && d->learned[j].ip != ip; j++)
		if (d->learned[j].until_ms < d->learned[k].until_ms)
			k = j;
	if (j < d->nlearned) {		/* known: keep the later expiry */
		if (d->learned[j].until_ms < until_ms)
			d->learned[j].until_ms = until_ms;
	} else {
		if (d->nlearned < NET_LEARN_MAX)
			k = d->nlearned++;
		d->learned[k].ip = ip;
		d->learned[k].until_ms = until_ms;
	}
	pthread_mutex_unlock(&p->lock);
}

bool
net_name_under(const char *name, const char *dom)
{
	size_t n = strlen(name), d = strlen(dom);

	if (n == d)
		return !strcmp(name, dom);
	return n > d && name[n - d - 1] == '.' && !strcmp(name + n - d, dom);
}

bool
net_policy_denies_name(struct net_policy *p, const char *name)
{
	size_t i, best = 0;
	bool deny = false;

	/* The longest matching domain decides; deny wins a tie. */
	for (i = 0; i < p->ndom; i++) {
		size_t len = strlen(p->dom[i].name);

		if (!net_name_under(name, p->dom[i].name))
			continue;
		if (len > best || (len == best && !p->dom[i].allow)) {
			best = len;
			deny = !p->dom[i].allow;
		}
	}
	return deny;
}

void
net_policy_set_ips(struct net_policy *p, size_t i, const uint32_t *ips,
    size_t n)
{
	uint32_t *copy = n ? xreallocarray(NULL, n, sizeof(*ips)) : NULL;
	uint32_t *old;

	if (n)
		memcpy(copy, ips, n * sizeof(*ips));
	pthread_mutex_lock(&p->lock);
	old = p->dom[i].ips;
	p->dom[i].ips = copy;
	p->dom[i].nips = n;
	pthread_mutex_unlock(&p->lock);
	free(old);
}

/* Resolves domain i on the host (IPv4 only); keeps the old set on error. */
static void
resolve_one(struct net_policy *p, size_t i)
{
	struct addrinfo hints = { .ai_family = AF_INET,
	    .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *a;
	uint32_t ips[64];
	size_t n = 0, k;

	if (getaddrinfo(p->dom[i].name, NULL, &hints, &res) != 0)
		return;
	for (a = res; a && n < 64; a = a->ai_next) {
		uint32_t ip = ntohl(((struct sockaddr_in *)a->ai_addr)->
		    sin_addr.s_addr);

		for (k = 0; k < n && ips[k] != ip; k++)
			;
		if (k == n)
			ips[n++] = ip;
	}
	freeaddrinfo(res);
	net_policy_set_ips(p, i, ips, n);
}

static void *
resolver(void *arg)
{
	struct net_policy *p = arg;
	struct timespec dl;
	size_t i;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		pthread_mutex_unlock(&p->lock);
		for (i = 0; i < p->ndom; i++)
			resolve_one(p, i);
		pthread_mutex_lock(&p->lock);
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += NET_POLICY_REFRESH_S;
		while (!p->stop && pthread_cond_timedwait(&p->cond, &p->lock,
		    &dl) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
net_policy_start(struct net_policy *p, struct sbx_err *e)
{
	int r;

	if (!p->ndom || p->running)
		return 0;
	r = pthread_create(&p->thread, NULL, resolver, p);
	if (r) {
		errno = r;
		return sbx_err_sys(e, "cannot start the DNS resolver thread");
	}
	p->running = true;
	return 0;
}

/* Starts a reply frame: Ethernet and IPv4 headers swapped from `ip`. */
static uint8_t *
reply_ip(const uint8_t *frame, const uint8_t *ip, uint8_t proto,
    size_t payload, uint8_t *reply, size_t *rlen)
{
	uint8_t *rip = reply + ETH_HLEN;

	memcpy(reply, frame + 6, 6);
	memcpy(reply + 6, frame, 6);
	net_put16(reply + 12, ETH_P_IP);
	memset(rip, 0, 20);
	rip[0] = 0x45;
	net_put16(rip + 2, (uint16_t)(20 + payload));
	net_put16(rip + 6, 0x4000);		/* DF */
	rip[8] = 64;
	rip[9] = proto;
	memcpy(rip + 12, ip + 16, 4);
	memcpy(rip + 16, ip + 12, 4);
	net_put16(rip + 10, net_csum_fold(net_csum_add(0, rip, 20)));
	*rlen = ETH_HLEN + 20 + payload;
	return rip + 20;
}

/* TCP checksum over the pseudo header of `ip` and the segment. */
static uint16_t
l4_csum(const uint8_t *rip, uint8_t proto, const uint8_t *seg, size_t len)
{
	uint32_t sum = net_csum_add(0, rip + 12, 8);

	sum += proto;
	sum += (uint32_t)len;
	return net_csum_fold(net_csum_add(sum, seg, len));
}

/* A RST answering TCP segment `tcp` (seglen payload bytes). */
static void
build_rst(const uint8_t *frame, const uint8_t *ip, const uint8_t *tcp,
    size_t seglen, uint8_t *reply, size_t *rlen)
{
	uint8_t *t = reply_ip(frame, ip, IPPROTO_TCP_, 20, reply, rlen);
	uint8_t fl = tcp[13];

	memset(t, 0, 20);
	memcpy(t, tcp + 2, 2);
	memcpy(t + 2, tcp, 2);
	if (fl & TCP_ACK) {
		memcpy(t + 4, tcp + 8, 4);
		t[13] = TCP_RST;
	} else {
		uint32_t ack = net_get32(tcp + 4) + (uint32_t)seglen +
		    !!(fl & TCP_SYN) + !!(fl & TCP_FIN);

		net_put32(t + 8, ack);
		t[13] = TCP_RST | TCP_ACK;
	}
	t[12] = 5 << 4;
	net_put16(t + 16, l4_csum(reply + ETH_HLEN, IPPROTO_TCP_, t, 20));
}

/* ICMP destination unreachable, "administratively prohibited" (13). */
static void
build_unreach(const uint8_t *frame, const uint8_t *ip, size_t iplen,
    uint8_t *reply, size_t *rlen)
{
	size_t quote = iplen < 28 ? iplen : 28;
	uint8_t *ic;

	/* Quote the IP header and the first 8 bytes after it. */
	if ((size_t)(ip[0] & 15) * 4 + 8 < quote)
		quote = (size_t)(ip[0] & 15) * 4 + 8;
	if (quote > iplen)
		quote = iplen;
	ic = reply_ip(frame, ip, IPPROTO_ICMP_, 8 + quote, reply, rlen);
	memset(ic, 0, 8);
	ic[0] = 3;
	ic[1] = 13;
	memcpy(ic + 8, ip, quote);
	net_put16(ic + 2, net_csum_fold(net_csum_add(0, ic, 8 + quote)));
}

/*
 * Reads the first question's name of DNS message `m` into `name` (lower
 * case, dotted); returns the offset after QTYPE/QCLASS, or 0.
 */
static size_t
dns_qname(const uint8_t *m, size_t len, char name[NET_DOMAIN_MAX + 1])
{
	size_t off = 12, out = 0;

	if (len < 12 || net_get16(m + 4) < 1)
		return 0;
	for (;;) {
		uint8_t l;
		size_t i;

		if (off >= len)
			return 0;
		l = m[off++];
		if (l == 0)
			break;
		if (l > 63 || off + l > len || out + l + 1 > NET_DOMAIN_MAX)
			return 0;	/* also refuses compression */
		if (out)
			name[out++] = '.';
		for (i = 0; i < l; i++)
			name[out++] = (char)tolower(m[off + i]);
		off += l;
	}
	name[out] = 0;
	if (off + 4 > len || out == 0)
		return 0;
	return off + 4;
}

/* An NXDOMAIN answer to the DNS query in UDP datagram `udp`. */
static void
build_nxdomain(const uint8_t *frame, const uint8_t *ip, const uint8_t *udp,
    const uint8_t *q, size_t qend, uint8_t *reply, size_t *rlen)
{
	uint8_t *u = reply_ip(frame, ip, IPPROTO_UDP_, 8 + qend, reply, rlen);
	uint8_t *m = u + 8;

	memcpy(u, udp + 2, 2);
	memcpy(u + 2, udp, 2);
	net_put16(u + 4, (uint16_t)(8 + qend));
	net_put16(u + 6, 0);		/* no checksum (IPv4 allows it) */
	memcpy(m, q, qend);
	m[2] = 0x80 | (q[2] & 0x79);	/* QR, opcode, RD */
	m[3] = 0x80 | 3;		/* RA, NXDOMAIN */
	net_put16(m + 4, 1);
	memset(m + 6, 0, 6);
}

enum net_verdict
net_filter_tx(struct net_policy *p, const uint8_t *frame, size_t len,
    uint8_t *reply, size_t *rlen)
{
	const uint8_t *ip, *l4;
	size_t ihl, iplen, l4len;
	uint32_t dst;
	uint16_t type, frag;
	uint8_t proto;

	*rlen = 0;
	if (len < ETH_HLEN)
		return NET_DROP;
	type = net_get16(frame + 12);
	if (type == ETH_P_ARP)
		return NET_PASS;
	if (type != ETH_P_IP)
		return NET_DROP;	/* IPv6 and the rest: not routed */
	ip = frame + ETH_HLEN;
	iplen = len - ETH_HLEN;
	if (iplen < 20 || (ip[0] >> 4) != 4)
		return NET_DROP;
	ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || ihl > iplen || net_get16(ip + 2) < ihl ||
	    net_get16(ip + 2) > iplen)
		return NET_DROP;
	iplen = net_get16(ip + 2);
	dst = net_get32(ip + 16);
	proto = ip[9];
	frag = net_get16(ip + 6) & 0x1fff;
	l4 = ip + ihl;
	l4len = iplen - ihl;

	/* DNS to the sandbox's resolver: always, but denied names fail. */
	if (dst == NET_DNS_IP && proto == IPPROTO_UDP_ && frag == 0 &&
	    l4len >= 8 && net_get16(l4 + 2) == 53) {
		char name[NET_DOMAIN_MAX + 1];
		size_t ulen = net_get16(l4 + 4), qend;

		if (ulen < 8 || ulen > l4len)
			return NET_DROP;
		qend = dns_qname(l4 + 8, ulen - 8, name);
		if (qend && p->ndom && net_policy_denies_name(p, name) &&
		    ETH_HLEN + 20 + 8 + qend <= NET_REPLY_MAX) {
			build_nxdomain(frame, ip, l4, l4 + 8, qend, reply,
			    rlen);
			return NET_REPLY;
		}
		return NET_PASS;
	}
	/*
	 * DNS over TCP to the resolver (a resolver's retry after a truncated
	 * answer): always too. Its answers teach domain rules like UDP ones
	 * (net_dns.c), so a denied name's addresses stay refused.
	 */
	if (dst == NET_DNS_IP && proto == IPPROTO_TCP_ && frag == 0 &&
	    l4len >= 20 && net_get16(l4 + 2) == 53)
		return NET_PASS;
	if (net_policy_allows(p, dst))
		return NET_PASS;
	if (proto == IPPROTO_TCP_ && frag == 0 && l4len >= 20) {
		size_t doff = (size_t)(l4[12] >> 4) * 4;

		if (l4[13] & TCP_RST)
			return NET_DROP;
		if (doff < 20 || doff > l4len)
			return NET_DROP;
		build_rst(frame, ip, l4, l4len - doff, reply, rlen);
		return NET_REPLY;
	}
	if (proto == IPPROTO_ICMP_ && l4len >= 1 && l4[0] != 8)
		return NET_DROP;	/* never answer an ICMP error */
	build_unreach(frame, ip, iplen, reply, rlen);
	return NET_REPLY;
}

int
net_policy_option(int opt, const char *arg, const char **net,
    struct sbx_err *e)
{
	static char *text;

	if (opt == 'N') {
		struct net_policy p;
		int r;

		net_policy_init(&p);
		r = net_policy_parse(&p, arg ? arg : "", e);
		net_policy_release(&p);
		if (r < 0)
			return r;
		free(text);
		text = xstrdup(arg ? arg : "");
	} else if (net_policy_text_add(&text, arg, opt == 'A', e) < 0) {
		return SBX_EUSAGE;
	}
	*net = text;
	return 0;
}
