/*
 * fuzz-net.c - libFuzzer target for what sbx-vmm reads of network frames:
 * net_filter_tx (every frame the guest sends, checked against an egress
 * policy with CIDR and domain rules) and net_snoop_rx (every frame slirp
 * gives the guest; DNS answers from 10.0.2.3:53 teach domain rules). The
 * input is one frame; a byte of it picks whether it is also made to look
 * like a DNS answer (IPv4, UDP, from 10.0.2.3:53) so the DNS parser is
 * reached often.
 *
 * Build: make fuzz (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "kvm/vmm/net_policy.h"

static struct net_policy pol;
static int ready;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t frame[2048], reply[NET_REPLY_MAX];
	size_t rlen = 0, len = size < sizeof(frame) ? size : sizeof(frame);
	struct sbx_err e;

	if (!ready) {
		net_policy_init(&pol);
		if (net_policy_parse(&pol, "-10.0.0.0/8 +10.0.2.2 +pkgs.test "
		    "-tracker.test +a.b.c.d.e.f.test", &e) < 0)
			abort();
		ready = 1;
	}
	memcpy(frame, data, len);
	if (len > 42 && (data[0] & 1)) {
		frame[12] = 0x08;
		frame[13] = 0x00;
		frame[14] = 0x45;
		frame[16] = (uint8_t)((len - 14) >> 8);
		frame[17] = (uint8_t)(len - 14);
		frame[20] = frame[21] = 0;
		frame[23] = 17;
		memcpy(frame + 26, "\x0a\x00\x02\x03", 4);
		frame[34] = 0;
		frame[35] = 53;
		frame[38] = (uint8_t)((len - 34) >> 8);
		frame[39] = (uint8_t)(len - 34);
	}
	net_filter_tx(&pol, frame, len, reply, &rlen);
	if (rlen > NET_REPLY_MAX)
		abort();
	net_snoop_rx(&pol, frame, len, 1000);
	return 0;
}
