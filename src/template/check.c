/*
 * check.c - syntax checks for template values and typo suggestions.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/xmalloc.h"
#include "template/check.h"
#include "template/template.h"
#include "core/banned.h"

#define DIST_MAX 100

size_t
tpl_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[DIST_MAX + 1];

	if (la > DIST_MAX || lb > DIST_MAX)
		return DIST_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t up = row[j], best;

			best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

const char *
tpl_suggest(const char *s, const char *const *known)
{
	const char *best = NULL;
	size_t bestd = DIST_MAX, i;

	for (i = 0; known[i]; i++) {
		size_t d = tpl_edit_distance(s, known[i]);

		if (d < bestd) {
			bestd = d;
			best = known[i];
		}
	}
	/* Close enough to be a slip, not a different word. */
	if (best && bestd <= 2 && bestd < strlen(best) && bestd < strlen(s))
		return best;
	return NULL;
}

int
sbx_template_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	if ((n > 5 && !strcmp(s + n - 5, ".yaml")) ||
	    (n > 4 && !strcmp(s + n - 4, ".yml")))
		return 0;
	return 1;
}

int
tpl_env_name_ok(const char *s)
{
	size_t i;

	if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* A user/group name (useradd's default rule) or a number. */
static int
ident_ok(const char *s, size_t n)
{
	size_t i;
	int digits = 1;

	if (n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			digits = 0;
	if (digits)
		return 1;
	if (!(islower((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(islower(c) || isdigit(c) || c == '_' || c == '-' ||
		    (c == '$' && i == n - 1)))
			return 0;
	}
	return 1;
}

int
tpl_user_ok(const char *s)
{
	return ident_ok(s, strlen(s));
}

int
tpl_owner_ok(const char *s)
{
	const char *colon = strchr(s, ':');

	if (!colon)
		return ident_ok(s, strlen(s));
	return ident_ok(s, (size_t)(colon - s)) &&
	    ident_ok(colon + 1, strlen(colon + 1));
}

int
tpl_suite_ok(const char *s)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]) || strlen(s) > 64)
		return 0;
	for (i = 0; s[i]; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && !strchr(".-", s[i]))
			return 0;
	return 1;
}

int
tpl_package_ok(const char *s)
{
	size_t i;
	const char *eq = strchr(s, '=');
	size_t n = eq ? (size_t)(eq - s) : strlen(s);

	/* Debian policy 5.6.1: lowercase, digits, + - . ; two or more. */
	if (n < 2 || n > 128 || !(islower((unsigned char)s[0]) ||
	    isdigit((unsigned char)s[0])))
		return 0;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && !strchr("+-.", s[i]))
			return 0;
	if (!eq)
		return 1;
	/* Policy 5.6.12 version characters. */
	if (!isdigit((unsigned char)eq[1]))
		return 0;
	for (i = 1; eq[i]; i++)
		if (!isalnum((unsigned char)eq[i]) && !strchr(".+-~:", eq[i]))
			return 0;
	return i <= 129;
}

/* Address with an optional "/prefix". */
static int
cidr_ok(const char *s)
{
	char addr[64], *slash;
	unsigned char tmp[16];
	int maxlen;
	size_t n = strlen(s);

	if (n >= sizeof(addr))
		return 0;
	memcpy(addr, s, n + 1);
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, addr, tmp) == 1)
		maxlen = 32;
	else if (inet_pton(AF_INET6, addr, tmp) == 1)
		maxlen = 128;
	else
		return 0;
	if (slash) {
		const char *p = slash + 1;
		long v = 0;

		if (!*p || strlen(p) > 3)
			return 0;
		for (; *p; p++) {
			if (!isdigit((unsigned char)*p))
				return 0;
			v = v * 10 + (*p - '0');
		}
		if (v > maxlen)
			return 0;
	}
	return 1;
}

/* Domain name with an optional leading "*." wildcard. */
static int
domain_ok(const char *s)
{
	size_t label = 0, i;
	int alpha = 0;

	if (!strncmp(s, "*.", 2))
		s += 2;
	if (!*s || strlen(s) > 253)
		return 0;
	for (i = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum(c) && c != '-')
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (isalpha(c))
			alpha = 1;
		if (++label > 63)
			return 0;
	}
	/* No empty last label, and not all digits (that is an address). */
	return label > 0 && s[i - 1] != '-' && alpha;
}

int
tpl_net_rule_ok(const char *s)
{
	return cidr_ok(s) || domain_ok(s);
}

int
tpl_mode_parse(const char *s, unsigned *mode)
{
	unsigned v = 0;
	size_t i = 0;

	if (!strncmp(s, "0o", 2))
		i = 2;
	if (!s[i] || strlen(s + i) > 5)
		return 0;
	for (; s[i]; i++) {
		if (s[i] < '0' || s[i] > '7')
			return 0;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v > 07777)
		return 0;
	*mode = v;
	return 1;
}

char *
tpl_path_clean(const char *path)
{
	size_t n = strlen(path), len = 0, i = 0;
	int abs = path[0] == '/', trail = n > 1 && path[n - 1] == '/';
	size_t up = 0;	/* leading ".." segments kept in a relative path */
	char *out = xmalloc(n + 3);

	if (abs)
		out[len++] = '/';
	while (i < n) {
		size_t start, seglen;

		while (i < n && path[i] == '/')
			i++;
		start = i;
		while (i < n && path[i] != '/')
			i++;
		seglen = i - start;
		if (seglen == 0 || (seglen == 1 && path[start] == '.'))
			continue;
		if (seglen == 2 && path[start] == '.' && path[start + 1] == '.') {
			size_t floor = (abs ? 1 : 0) + (up ? 3 * up - 1 : 0);

			if (len > floor) {
				/* Drop the last segment and its separator. */
				while (len > floor && out[len - 1] != '/')
					len--;
				if (len > (abs ? 1 : 0))
					len--;
				continue;
			}
			if (abs)
				continue;
			if (len)
				out[len++] = '/';
			out[len++] = '.';
			out[len++] = '.';
			up++;
			continue;
		}
		if (len && out[len - 1] != '/')
			out[len++] = '/';
		memcpy(out + len, path + start, seglen);
		len += seglen;
	}
	if (len == 0)
		out[len++] = '.';
	if (trail && out[len - 1] != '/')
		out[len++] = '/';
	out[len] = '\0';
	return out;
}
