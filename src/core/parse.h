/*
 * parse.h - the one checked parser for numbers that come from users.
 *
 * Every function parses the whole string (no trailing junk), checks the
 * range and fills `e` with a message naming the input on failure.
 */
#ifndef SBX_CORE_PARSE_H
#define SBX_CORE_PARSE_H

#include <stdint.h>

struct sbx_err;

/* Decimal integer in [min, max]. */
int sbx_parse_int(const char *s, long long min, long long max,
    long long *out, struct sbx_err *e);
/*
 * Size with an optional binary unit: "512", "512K", "512M", "2G", "1T"
 * (also "KiB", "MB"... all powers of 1024; "B" for bytes; any case).
 * A fraction is allowed with a unit ("1.5G"), rounded down to whole
 * bytes. Result in bytes, in [min, max]. Errors:
 *   "invalid size 'abc': expected a number with an optional unit (K, M, G, T)"
 *   "size '9T' out of range (max 1T)"
 */
int sbx_parse_size(const char *s, uint64_t min, uint64_t max,
    uint64_t *out, struct sbx_err *e);
/*
 * Duration: "250ms", "30s", "5m", "2h", "1d", or a bare number of seconds;
 * combinations like "1h30m" too, and fractions ("1.5h"), rounded down to
 * whole milliseconds. Units are lowercase. Result in milliseconds, in
 * [min, max].
 */
int sbx_parse_duration(const char *s, uint64_t min_ms, uint64_t max_ms,
    uint64_t *out_ms, struct sbx_err *e);
/*
 * Formats bytes as "512B", "512M", "1.5G" (at most one decimal, rounded)
 * into buf (always NUL-terminated). Exact values parse back unchanged.
 */
void sbx_format_size(uint64_t bytes, char *buf, int len);
/* Formats milliseconds as "250ms", "30s", "5m12s", "2h3m", "4d2h". */
void sbx_format_duration(uint64_t ms, char *buf, int len);

#endif
