/*
 * canon.c - the canonical form of a template and its hash (the build
 * cache key).
 *
 * The form is text: a version line, then one line per field in a fixed
 * order, "tag value...". Strings are written "LEN:BYTES" so no content can
 * fake a field boundary; a missing optional value is "-". Unordered
 * collections (packages, env, ports, network rules) are sorted and
 * deduplicated; ordered ones (files, run steps) keep the file's order.
 * Every default is already filled in by the parser, so writing a default
 * explicitly does not change the form. Bump "sbx-template N" whenever the
 * form changes meaning.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "template/template.h"
#include "core/banned.h"

static void
put_str(struct sbx_buf *b, const char *s)
{
	if (!s)
		sbx_buf_addstr(b, " -");
	else
		sbx_buf_addf(b, " %zu:%s", strlen(s), s);
}

/* "tag STRING\n" */
static void
field(struct sbx_buf *b, const char *tag, const char *s)
{
	sbx_buf_addstr(b, tag);
	put_str(b, s);
	sbx_buf_addch(b, '\n');
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Env entries compare by KEY only ("A=1" vs "A_B=2": '=' ends the key). */
static int
cmp_env(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t lx = strcspn(x, "="), ly = strcspn(y, "=");
	int c = memcmp(x, y, lx < ly ? lx : ly);

	if (c)
		return c;
	return lx < ly ? -1 : lx > ly;
}

/* One "tag STRING" line per entry of `v`, sorted, duplicates dropped. */
static void
sorted_set(struct sbx_buf *b, const char *tag, const struct sbx_strvec *v,
    int (*cmp)(const void *, const void *))
{
	char **s;
	size_t i;

	if (!v->nr)
		return;
	s = xreallocarray(NULL, v->nr, sizeof(*s));
	memcpy(s, v->v, v->nr * sizeof(*s));
	qsort(s, v->nr, sizeof(*s), cmp);
	for (i = 0; i < v->nr; i++)
		if (i == 0 || cmp(&s[i - 1], &s[i]))
			field(b, tag, s[i]);
	free(s);
}

static int
cmp_uint(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

static const char *
from_word(enum sbx_template_from k)
{
	switch (k) {
	case SBX_FROM_DEBIAN:
		return "debian";
	case SBX_FROM_TAR:
		return "tar";
	case SBX_FROM_OCI:
		return "oci";
	case SBX_FROM_TEMPLATE:
		return "template";
	}
	return "?";
}

static void
canon_from(struct sbx_buf *b, const struct sbx_template *t)
{
	switch (t->from.kind) {
	case SBX_FROM_DEBIAN:
		field(b, "from debian", t->from.suite);
		sorted_set(b, "package", &t->from.packages, cmp_str);
		break;
	case SBX_FROM_TAR:
	case SBX_FROM_OCI:
		sbx_buf_addf(b, "from %s", from_word(t->from.kind));
		put_str(b, t->from.path);
		sbx_buf_addch(b, '\n');
		break;
	case SBX_FROM_TEMPLATE:
		field(b, "from template", t->from.template);
		break;
	}
}

static void
canon_ready(struct sbx_buf *b, const struct sbx_template *t)
{
	switch (t->ready.kind) {
	case SBX_READY_NONE:
		sbx_buf_addstr(b, "ready none\n");
		break;
	case SBX_READY_PORT:
		sbx_buf_addf(b, "ready port %u\n", t->ready.port);
		break;
	case SBX_READY_FILE:
		field(b, "ready file", t->ready.file);
		break;
	case SBX_READY_COMMAND:
		field(b, "ready command", t->ready.command);
		break;
	case SBX_READY_DELAY:
		sbx_buf_addf(b, "ready delay %" PRIu64 "\n", t->ready.delay_ms);
		break;
	}
	sbx_buf_addf(b, "ready-timeout %" PRIu64 "\n", t->ready.timeout_ms);
}

int
sbx_template_canonical(const struct sbx_template *t, struct sbx_buf *b)
{
	unsigned *ports;
	size_t i;

	sbx_buf_addstr(b, "sbx-template 1\n");
	canon_from(b, t);
	for (i = 0; i < t->nfiles; i++) {
		const struct sbx_template_file *f = &t->files[i];

		sbx_buf_addstr(b, "file");
		put_str(b, f->src);
		put_str(b, f->dst);
		if (f->has_mode)
			sbx_buf_addf(b, " %04o", f->mode);
		else
			sbx_buf_addstr(b, " -");
		put_str(b, f->owner);
		sbx_buf_addch(b, '\n');
	}
	sorted_set(b, "env", &t->env, cmp_env);
	field(b, "workdir", t->workdir);
	field(b, "user", t->user);
	for (i = 0; i < t->nrun; i++) {
		const struct sbx_template_step *s = &t->run[i];

		sbx_buf_addstr(b, "run");
		put_str(b, s->command);
		put_str(b, s->workdir);
		put_str(b, s->user);
		sbx_buf_addf(b, " %zu\n", s->env.nr);
		sorted_set(b, "run-env", &s->env, cmp_env);
	}
	field(b, "start", t->start);
	canon_ready(b, t);
	sbx_buf_addf(b, "vcpus %u\nmemory %" PRIu64 "\ndisk %" PRIu64 "\n",
	    t->resources.vcpus, t->resources.memory, t->resources.disk);
	sbx_buf_addf(b, "idle-timeout %" PRIu64 "\n", t->idle_timeout_ms);
	if (t->nports) {
		ports = xreallocarray(NULL, t->nports, sizeof(*ports));
		memcpy(ports, t->ports, t->nports * sizeof(*ports));
		qsort(ports, t->nports, sizeof(*ports), cmp_uint);
		for (i = 0; i < t->nports; i++)
			sbx_buf_addf(b, "port %u\n", ports[i]);
		free(ports);
	}
	field(b, "kernel", t->kernel);
	sorted_set(b, "allow", &t->net_allow, cmp_str);
	sorted_set(b, "deny", &t->net_deny, cmp_str);
	return 0;
}

void
sbx_template_hash(const struct sbx_template *t,
    unsigned char hash[SBX_TEMPLATE_HASH_LEN],
    char hex[SBX_TEMPLATE_HASH_HEX])
{
	struct sbx_buf b = SBX_BUF_INIT;

	if (sodium_init() < 0)
		abort();
	sbx_template_canonical(t, &b);
	crypto_generichash(hash, SBX_TEMPLATE_HASH_LEN,
	    (const unsigned char *)b.buf, b.len, NULL, 0);
	sbx_buf_release(&b);
	if (hex)
		sodium_bin2hex(hex, SBX_TEMPLATE_HASH_HEX, hash,
		    SBX_TEMPLATE_HASH_LEN);
}

void
sbx_template_image_hash(const struct sbx_template *t,
    char hex[SBX_TEMPLATE_HASH_HEX])
{
	unsigned char raw[SBX_TEMPLATE_HASH_LEN];
	struct sbx_template img = *t;	/* shallow: only read, never freed */

	img.run = NULL;
	img.nrun = 0;
	img.start = NULL;
	memset(&img.ready, 0, sizeof(img.ready));
	sbx_template_hash(&img, raw, hex);
}
