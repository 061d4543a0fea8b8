/*
 * fuzz-agent-proto.c - libFuzzer target for the agent protocol decoder
 * (backends/kvm/proto/agent.c): byte 0 is the frame type, bytes 1-2 the
 * flags, the rest the TLV payload. A message that decodes must encode
 * and decode again to the same fields.
 *
 * Build: make fuzz-agent-proto (clang, -fsanitize=fuzzer,address,undefined).
 */
#include <stdlib.h>
#include <string.h>

#include "kvm/proto/agent.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SBX_AGENT_MAX_PAYLOAD];
	struct sbx_agent_msg a, b;
	struct sbx_agent_enc e;
	const char *why;

	if (size < 3)
		return 0;
	if (sbx_agent_msg_decode(data[0], (uint16_t)(data[1] | data[2] << 8),
	    data + 3, size - 3, &a, &why) < 0)
		return 0;
	sbx_agent_enc_init(&e, buf, sizeof(buf));
	if (sbx_agent_msg_encode(&a, &e) < 0)
		abort();
	if (sbx_agent_msg_decode(a.type, a.flags, e.buf, e.len, &b, &why) < 0)
		abort();
	if (a.have != b.have || a.argc != b.argc || a.envc != b.envc ||
	    a.size != b.size || (a.path && strcmp(a.path, b.path)))
		abort();
	for (size_t i = 0; i < a.argc; i++)
		if (strcmp(a.argv[i], b.argv[i]))
			abort();
	sbx_agent_msg_free(&a);
	sbx_agent_msg_free(&b);
	return 0;
}
