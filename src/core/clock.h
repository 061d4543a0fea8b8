/*
 * clock.h - time helpers: monotonic milliseconds for timeouts and rates,
 * wall-clock milliseconds, and ISO-8601 UTC timestamps for JSON and logs.
 * All functions are thread-safe.
 */
#ifndef SBX_CORE_CLOCK_H
#define SBX_CORE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

struct sbx_err;

/* Milliseconds on CLOCK_MONOTONIC (for durations, never for dates). */
uint64_t sbx_clock_ms(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t sbx_clock_wall_ms(void);

/* Room for "2026-11-26T13:47:19.123Z" and NUL, with space to spare. */
#define SBX_TIME_ISO_MAX 32

/*
 * Formats `epoch_ms` as "2026-11-26T13:47:19Z", or with millis
 * ("...19.123Z") when `with_ms`. `buf` is always NUL-terminated.
 */
void sbx_time_format_iso(int64_t epoch_ms, int with_ms, char *buf,
    size_t len);

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.fff...]" followed by "Z" or "+HH:MM" /
 * "-HH:MM" into milliseconds since the epoch. Fills `e` naming the input
 * on malformed text or impossible dates.
 */
int sbx_time_parse_iso(const char *s, int64_t *epoch_ms, struct sbx_err *e);

#endif
