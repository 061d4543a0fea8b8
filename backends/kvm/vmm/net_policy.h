/*
 * net_policy.h - the egress policy of a sandbox's network and the parsing
 * of the guest's frames it is enforced on (no slirp, no KVM: unit-tested).
 *
 * Rules are IPv4 CIDRs ("10.0.0.0/8", "192.0.2.7") or domain names
 * ("example.com", which also covers its subdomains), each allowed or
 * denied. A destination is decided by the most specific matching rule
 * (longest prefix; a domain's addresses count as /32; on a tie, deny
 * wins). When no rule matches the destination is allowed, unless the
 * policy has any allow rule: then what is not allowed is denied. The
 * sandbox's DNS
 * server (10.0.2.3, port 53, UDP and TCP) is always reachable; a query
 * over UDP for a denied domain is answered NXDOMAIN by the VMM.
 *
 * Domains are resolved on the host (getaddrinfo) by a resolver thread
 * started with net_policy_start(), at once and then every
 * NET_POLICY_REFRESH_S seconds; their addresses are swapped in under the
 * policy's lock, so net_policy_allows() may run on another thread. The
 * addresses the sandbox's own DNS answers give the guest for a domain's
 * names count too (net_snoop_rx, net_dns.c), for as long as the answer's
 * TTL, at least NET_LEARN_MIN_MS: a name whose answers rotate (CDNs,
 * round-robin DNS) is reached at the address the guest was given. Answers
 * over UDP and over TCP (what a resolver falls back to for a truncated
 * answer) both count.
 *
 * Text form (sbx-vmm --net=POLICY, snapshots): rules separated by spaces
 * or commas, each "+RULE" (allow) or "-RULE" (deny); "" allows all.
 */
#ifndef SBX_KVM_VMM_NET_POLICY_H
#define SBX_KVM_VMM_NET_POLICY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sbx_err;

#define NET_POLICY_REFRESH_S 60
#define NET_POLICY_MAX_RULES 256
#define NET_DOMAIN_MAX 253
#define NET_LEARN_MAX 64			/* answers kept per domain */
#define NET_LEARN_MIN_MS (10u * 60 * 1000)	/* ... at least this long */
#define NET_LEARN_MAX_MS (24u * 3600 * 1000)	/* ... at most */

/* The guest network (slirp's defaults), host byte order. */
#define NET_GUEST_IP 0x0a00020fu	/* 10.0.2.15 */
#define NET_GATEWAY_IP 0x0a000202u	/* 10.0.2.2: the host's loopback */
#define NET_DNS_IP 0x0a000203u		/* 10.0.2.3 */

/*
 * A DNS-over-TCP connection from the guest to 10.0.2.3:53 whose answers
 * are being read (net_dns.c): slirp hands them over in order, each
 * message after its 2-byte length.
 */
#define NET_DNS_TCP_STREAMS 8
#define NET_DNS_TCP_MAX (2 + 65535)	/* bytes held: one whole message */
struct net_dns_tcp {
	uint16_t port;		/* the guest's port; 0: a free slot */
	uint32_t next_seq;	/* the sequence number of the next byte */
	uint8_t *buf;		/* bytes not yet a whole message */
	size_t len;
	uint64_t used_ms;	/* the oldest is reused when all are taken */
};

struct net_rule {
	uint32_t addr, mask;	/* host order, addr & mask == addr */
	unsigned prefix;	/* 0..32 */
	bool allow;
};

/* An address a DNS answer gave the guest, valid until `until_ms`. */
struct net_learned {
	uint32_t ip;			/* host order */
	uint64_t until_ms;		/* sbx_clock_ms() time */
};

struct net_domain {
	char name[NET_DOMAIN_MAX + 1];	/* lower case, no trailing dot */
	bool allow;
	uint32_t *ips;			/* resolved, host order */
	size_t nips;
	struct net_learned learned[NET_LEARN_MAX];	/* from DNS answers */
	size_t nlearned;
};

struct net_policy {
	struct net_rule *rule;
	size_t nrule;
	struct net_domain *dom;
	size_t ndom;
	bool have_allow;
	pthread_mutex_t lock;		/* guards dom[].ips, .learned */
	/* Answer streams of DNS over TCP (the RX path's only). */
	struct net_dns_tcp dns_tcp[NET_DNS_TCP_STREAMS];
	/* The resolver thread (net_policy_start). */
	pthread_t thread;
	bool running, stop;
	pthread_cond_t cond;
};

void net_policy_init(struct net_policy *p);
/* Stops the resolver thread and frees everything. */
void net_policy_release(struct net_policy *p);

/*
 * Adds one rule: a CIDR, an IPv4 address or a domain name. SBX_EUSAGE
 * with a message naming `rule` when it is none of them.
 */
int net_policy_add(struct net_policy *p, const char *rule, bool allow,
    struct sbx_err *e);
/* Adds every rule of the text form. */
int net_policy_parse(struct net_policy *p, const char *text,
    struct sbx_err *e);
/*
 * Appends "+RULE" or "-RULE" to the text form in *text (malloc'd, *text
 * may be NULL) after checking the rule. For sbx-vmm's --allow/--deny.
 */
int net_policy_text_add(char **text, const char *rule, bool allow,
    struct sbx_err *e);

/*
 * sbx-vmm's options: opt 'N' (--net[=POLICY], `arg` may be NULL), 'A'
 * (--allow RULE) or 'D' (--deny RULE) update the policy text that *net
 * then points to (static storage). 0 or SBX_EUSAGE with `e`.
 */
int net_policy_option(int opt, const char *arg, const char **net,
    struct sbx_err *e);

/* True when the guest may send to `dst` (host order). */
bool net_policy_allows(struct net_policy *p, uint32_t dst);
/* True when a DNS query for `name` (lower case, no trailing dot) is denied. */
bool net_policy_denies_name(struct net_policy *p, const char *name);
/* Replaces the addresses of domain `i` (resolver thread, tests). */
void net_policy_set_ips(struct net_policy *p, size_t i, const uint32_t *ips,
    size_t n);
/* Starts the resolver thread if there are domain rules. 0 or SBX_E. */
int net_policy_start(struct net_policy *p, struct sbx_err *e);
/*
 * Records that the guest was told domain `i`'s name is at `ip` until
 * `until_ms`; a full set drops the entry that expires first.
 */
void net_policy_learn(struct net_policy *p, size_t i, uint32_t ip,
    uint64_t until_ms);
/* True if `name` is `dom` or one of its subdomains (both lower case). */
bool net_name_under(const char *name, const char *dom);

/*
 * Looks at one Ethernet frame slirp gives the guest. A DNS answer over UDP
 * from the sandbox's resolver (10.0.2.3:53) whose question or CNAME chain
 * names a domain of the policy adds the chain's A records to that
 * domain's addresses (net_policy_learn) for their TTL, clamped to
 * NET_LEARN_MIN_MS..NET_LEARN_MAX_MS from `now_ms`. Everything else, and
 * anything malformed, is ignored; never trusts a length (net_dns.c).
 */
void net_snoop_rx(struct net_policy *p, const uint8_t *frame, size_t len,
    uint64_t now_ms);

/* What to do with one frame the guest sent. */
enum net_verdict {
	NET_PASS = 0,	/* hand it to slirp */
	NET_DROP,	/* malformed, IPv6, or denied without a reply */
	NET_REPLY,	/* denied or answered: `reply` goes back to the guest */
};

#define NET_REPLY_MAX 1600

/*
 * Checks one Ethernet frame from the guest against the policy; never
 * trusts a length. For NET_REPLY, `reply` (NET_REPLY_MAX bytes) receives
 * the frame to give the guest (a TCP RST, an ICMP "administratively
 * prohibited", or a DNS NXDOMAIN answer) and *rlen its length.
 */
enum net_verdict net_filter_tx(struct net_policy *p, const uint8_t *frame,
    size_t len, uint8_t *reply, size_t *rlen);

/* Internet checksum of `len` bytes, continuing `sum` (start 0). */
uint32_t net_csum_add(uint32_t sum, const void *p, size_t len);
uint16_t net_csum_fold(uint32_t sum);

#endif
