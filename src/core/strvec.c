#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <stdlib.h>
#include <string.h>

#include "core/strvec.h"
#include "core/xmalloc.h"
#include "core/banned.h"

char *sbx_strvec_empty[1];

void
sbx_strvec_init(struct sbx_strvec *sv)
{
	sv->v = sbx_strvec_empty;
	sv->nr = sv->alloc = 0;
}

void
sbx_strvec_clear(struct sbx_strvec *sv)
{
	size_t i;

	if (sv->alloc) {
		for (i = 0; i < sv->nr; i++)
			free(sv->v[i]);
		free(sv->v);
	}
	sbx_strvec_init(sv);
}

static const char *
push_owned(struct sbx_strvec *sv, char *s)
{
	if (sv->nr + 2 > sv->alloc) {
		size_t n = sv->alloc ? sv->alloc * 2 : 8;
		char **v = sv->alloc ? sv->v : NULL;

		sv->v = xreallocarray(v, n, sizeof(*sv->v));
		sv->alloc = n;
	}
	sv->v[sv->nr++] = s;
	sv->v[sv->nr] = NULL;
	return s;
}

const char *
sbx_strvec_push(struct sbx_strvec *sv, const char *s)
{
	return push_owned(sv, xstrdup(s));
}

const char *
sbx_strvec_pushf(struct sbx_strvec *sv, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc((size_t)(n < 0 ? 0 : n) + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)(n < 0 ? 0 : n) + 1, fmt, ap);
	va_end(ap);
	return push_owned(sv, s);
}

void
sbx_strvec_pushl(struct sbx_strvec *sv, ...)
{
	const char *s;
	va_list ap;

	va_start(ap, sv);
	while ((s = va_arg(ap, const char *)))
		sbx_strvec_push(sv, s);
	va_end(ap);
}

void
sbx_strvec_pushv(struct sbx_strvec *sv, const char *const *items)
{
	for (; items && *items; items++)
		sbx_strvec_push(sv, *items);
}

void
sbx_strvec_pop(struct sbx_strvec *sv)
{
	if (!sv->nr)
		return;
	free(sv->v[--sv->nr]);
	sv->v[sv->nr] = NULL;
}

static ssize_t
env_index(const struct sbx_strvec *sv, const char *key)
{
	size_t klen = strlen(key), i;

	for (i = 0; i < sv->nr; i++)
		if (!strncmp(sv->v[i], key, klen) && sv->v[i][klen] == '=')
			return (ssize_t)i;
	return -1;
}

void
sbx_strvec_setenv(struct sbx_strvec *sv, const char *key, const char *value)
{
	ssize_t i = env_index(sv, key);
	char *s = xasprintf("%s=%s", key, value);

	if (i < 0) {
		push_owned(sv, s);
		return;
	}
	free(sv->v[i]);
	sv->v[i] = s;
}

int
sbx_strvec_putenv(struct sbx_strvec *sv, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *key;

	if (!eq || eq == kv)
		return -1;
	key = xstrndup(kv, (size_t)(eq - kv));
	sbx_strvec_setenv(sv, key, eq + 1);
	free(key);
	return 0;
}

const char *
sbx_strvec_getenv(const struct sbx_strvec *sv, const char *key)
{
	ssize_t i = env_index(sv, key);

	return i < 0 ? NULL : sv->v[i] + strlen(key) + 1;
}

char **
sbx_strvec_detach(struct sbx_strvec *sv)
{
	char **v;

	if (!sv->alloc)
		return xcalloc(1, sizeof(char *));
	v = sv->v;
	sbx_strvec_init(sv);
	return v;
}
