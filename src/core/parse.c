/*
 * parse.c - checked parsers for integers, sizes and durations given by
 * users, and the matching formatters. See parse.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/banned.h"

#define KIB ((uint64_t)1024)

struct unit {
	const char *name;
	uint64_t mult;
};

/* Size units, matched case-insensitively; all are powers of 1024. */
static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", KIB }, { "kb", KIB }, { "kib", KIB },
	{ "m", KIB * KIB }, { "mb", KIB * KIB }, { "mib", KIB * KIB },
	{ "g", KIB * KIB * KIB }, { "gb", KIB * KIB * KIB },
	{ "gib", KIB * KIB * KIB },
	{ "t", KIB * KIB * KIB * KIB }, { "tb", KIB * KIB * KIB * KIB },
	{ "tib", KIB * KIB * KIB * KIB },
	{ NULL, 0 }
};

/* Duration units in milliseconds, matched exactly (lowercase). */
static const struct unit duration_units[] = {
	{ "ms", 1 }, { "s", 1000 }, { "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 }, { "d", 24 * 60 * 60 * 1000 },
	{ NULL, 0 }
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int
sbx_parse_int(const char *s, long long min, long long max, long long *out,
    struct sbx_err *e)
{
	const char *p = s;
	char *end;
	long long v;

	if (*p == '+' || *p == '-')
		p++;
	if (!is_digit(*p))
		return sbx_err_set(e, SBX_EINVAL,
		    "invalid number '%s': expected a decimal integer", s);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0')
		return sbx_err_set(e, SBX_EINVAL,
		    "invalid number '%s': expected a decimal integer", s);
	if (errno == ERANGE || v < min || v > max)
		return sbx_err_set(e, SBX_EINVAL,
		    "number '%s' out of range (must be between %lld and %lld)",
		    s, min, max);
	*out = v;
	return 0;
}

/*
 * Parses "<digits>[.<digits>]" at *pp into an integer part and a fraction
 * (numerator, power of ten). Fails on no digits or more than 19 digits
 * before the point (that cannot fit any quantity we accept anyway).
 */
static int
scan_number(const char **pp, uint64_t *ip, uint64_t *fnum, uint64_t *fden,
    int *overflow)
{
	const char *p = *pp;
	uint64_t v = 0, num = 0, den = 1;
	int digits = 0;

	while (is_digit(*p)) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			*overflow = 1;
		else
			v = v * 10 + d;
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return -1;
		while (is_digit(*p)) {
			/* Digits past the 18th cannot change the result. */
			if (den < UINT64_C(1000000000000000000)) {
				num = num * 10 + (uint64_t)(*p - '0');
				den *= 10;
			}
			p++;
		}
	} else if (!digits) {
		return -1;
	}
	*pp = p;
	*ip = v;
	*fnum = num;
	*fden = den;
	return 0;
}

/* Looks up the unit spelled by [p, p+len) in `units`. */
static const struct unit *
find_unit(const struct unit *units, const char *p, size_t len, int nocase)
{
	const struct unit *u;

	for (u = units; u->name; u++) {
		if (strlen(u->name) != len)
			continue;
		if (nocase ? !strncasecmp(u->name, p, len) :
		    !strncmp(u->name, p, len))
			return u;
	}
	return NULL;
}

/* value = ip * mult + fnum * mult / fden, or -1 on overflow. */
static int
scale(uint64_t ip, uint64_t fnum, uint64_t fden, uint64_t mult,
    uint64_t *out)
{
	unsigned __int128 v = (unsigned __int128)ip * mult;

	v += (unsigned __int128)fnum * mult / fden;
	if (v > UINT64_MAX)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int
sbx_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    struct sbx_err *e)
{
	const char *p = s;
	const struct unit *u;
	uint64_t ip, fnum, fden, v;
	int overflow = 0;
	char lim[32];

	if (scan_number(&p, &ip, &fnum, &fden, &overflow) < 0 ||
	    !(u = find_unit(size_units, p, strlen(p), 1)) ||
	    (fnum && u->mult == 1))
		return sbx_err_set(e, SBX_EINVAL, "invalid size '%s': expected "
		    "a number with an optional unit (K, M, G, T)", s);
	if (overflow || scale(ip, fnum, fden, u->mult, &v) < 0 || v > max) {
		sbx_format_size(max, lim, sizeof(lim));
		return sbx_err_set(e, SBX_EINVAL,
		    "size '%s' out of range (max %s)", s, lim);
	}
	if (v < min) {
		sbx_format_size(min, lim, sizeof(lim));
		return sbx_err_set(e, SBX_EINVAL,
		    "size '%s' out of range (min %s)", s, lim);
	}
	*out = v;
	return 0;
}

int
sbx_parse_duration(const char *s, uint64_t min_ms, uint64_t max_ms,
    uint64_t *out_ms, struct sbx_err *e)
{
	const char *p = s;
	uint64_t total = 0;
	int overflow = 0;
	char lim[32];

	do {
		const struct unit *u;
		uint64_t ip, fnum, fden, v;
		size_t len = 0;

		if (scan_number(&p, &ip, &fnum, &fden, &overflow) < 0)
			goto invalid;
		while (p[len] >= 'a' && p[len] <= 'z')
			len++;
		if (!len && p == s + strlen(s) && total == 0 &&
		    !strpbrk(s, "abcdefghijklmnopqrstuvwxyz")) {
			/* A bare number alone means seconds. */
			u = &duration_units[1];
		} else if (!(u = find_unit(duration_units, p, len, 0))) {
			goto invalid;
		}
		p += len;
		if (overflow || scale(ip, fnum, fden, u->mult, &v) < 0 ||
		    v > UINT64_MAX - total)
			overflow = 1;
		else
			total += v;
	} while (*p);

	if (overflow || total > max_ms) {
		sbx_format_duration(max_ms, lim, sizeof(lim));
		return sbx_err_set(e, SBX_EINVAL,
		    "duration '%s' out of range (max %s)", s, lim);
	}
	if (total < min_ms) {
		sbx_format_duration(min_ms, lim, sizeof(lim));
		return sbx_err_set(e, SBX_EINVAL,
		    "duration '%s' out of range (min %s)", s, lim);
	}
	*out_ms = total;
	return 0;

invalid:
	return sbx_err_set(e, SBX_EINVAL, "invalid duration '%s': expected a "
	    "number with a unit (ms, s, m, h, d), like 30s or 1h30m", s);
}

void
sbx_format_size(uint64_t bytes, char *buf, int len)
{
	static const char units[] = "KMGT";
	uint64_t mult = 1;
	unsigned __int128 tenths;
	int i = -1;

	if (len <= 0)
		return;
	if (bytes < KIB) {
		snprintf(buf, (size_t)len, "%" PRIu64 "B", bytes);
		return;
	}
	while (i < 3 && bytes / mult >= KIB) {
		mult *= KIB;
		i++;
	}
	/* One decimal, rounded to nearest; 1023.96K shows as 1M. */
	tenths = ((unsigned __int128)bytes * 10 + mult / 2) / mult;
	if (tenths >= KIB * 10 && i < 3) {
		mult *= KIB;
		i++;
		tenths = ((unsigned __int128)bytes * 10 + mult / 2) / mult;
	}
	if (tenths % 10 == 0)
		snprintf(buf, (size_t)len, "%" PRIu64 "%c",
		    (uint64_t)(tenths / 10), units[i]);
	else
		snprintf(buf, (size_t)len, "%" PRIu64 ".%u%c",
		    (uint64_t)(tenths / 10), (unsigned)(tenths % 10), units[i]);
}

void
sbx_format_duration(uint64_t ms, char *buf, int len)
{
	const uint64_t S = 1000, M = 60 * S, H = 60 * M, D = 24 * H;

	if (len <= 0)
		return;
	if (ms < S)
		snprintf(buf, (size_t)len, "%" PRIu64 "ms", ms);
	else if (ms < M && ms % S >= 100 && ms < 10 * S)
		snprintf(buf, (size_t)len, "%" PRIu64 ".%" PRIu64 "s",
		    ms / S, ms % S / 100);
	else if (ms < M)
		snprintf(buf, (size_t)len, "%" PRIu64 "s", ms / S);
	else if (ms < H && ms % M / S)
		snprintf(buf, (size_t)len, "%" PRIu64 "m%" PRIu64 "s",
		    ms / M, ms % M / S);
	else if (ms < H)
		snprintf(buf, (size_t)len, "%" PRIu64 "m", ms / M);
	else if (ms < D && ms % H / M)
		snprintf(buf, (size_t)len, "%" PRIu64 "h%" PRIu64 "m",
		    ms / H, ms % H / M);
	else if (ms < D)
		snprintf(buf, (size_t)len, "%" PRIu64 "h", ms / H);
	else if (ms % D / H)
		snprintf(buf, (size_t)len, "%" PRIu64 "d%" PRIu64 "h",
		    ms / D, ms % D / H);
	else
		snprintf(buf, (size_t)len, "%" PRIu64 "d", ms / D);
}
