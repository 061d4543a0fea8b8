/*
 * fuzz-template.c - libFuzzer target for the template parser
 * (src/template): any input either parses or fails with a located error;
 * a template that parses must canonicalize, hash and convert to JSON, and
 * its canonical form must not depend on anything but its meaning (parsing
 * the same bytes twice gives the same hash).
 *
 * Build and run: make fuzz-template (clang); SBX_FUZZ_SECONDS bounds it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "template/template.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char h1[SBX_TEMPLATE_HASH_LEN], h2[SBX_TEMPLATE_HASH_LEN];
	struct sbx_template *t, *u;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	json_t *j;

	sbx_err_clear(&e);
	if (sbx_template_parse((const char *)data, size, "f.yaml", "/d", &t,
	    &e) < 0) {
		/* Every failure says where: "f.yaml:" or "f.yaml: ". */
		if (strncmp(e.msg, "f.yaml:", 7) || t)
			abort();
		return 0;
	}
	sbx_template_canonical(t, &b);
	sbx_template_hash(t, h1, NULL);
	if (sbx_template_parse((const char *)data, size, "g.yaml", "/d", &u,
	    NULL) < 0)
		abort();
	sbx_template_hash(u, h2, NULL);
	/* The file name only sets the default name, which is not hashed. */
	if (memcmp(h1, h2, sizeof(h1)))
		abort();
	j = sbx_template_json(t);
	json_decref(j);
	sbx_buf_release(&b);
	sbx_template_free(t);
	sbx_template_free(u);
	return 0;
}
