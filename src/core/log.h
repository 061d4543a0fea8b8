/*
 * log.h - timestamped log lines for long-running programs (sbx-vmm,
 * sbx serve). The CLI itself reports through struct sbx_err instead.
 *
 *	2026-11-26T13:47:19.123Z sbx-vmm[4242] info: vcpu 0 started
 *
 * One process-wide log. Each line goes out in a single write(2), so
 * lines from several threads (or processes appending to one file) never
 * interleave; control characters in messages become '?' so a line is
 * always one line. Logging preserves errno. sbx_log and the level
 * checks may be called from any thread; sbx_log_init/sbx_log_open
 * should be called once at start-up, before threads exist.
 */
#ifndef SBX_CORE_LOG_H
#define SBX_CORE_LOG_H

#include <stdarg.h>

struct sbx_err;

enum sbx_log_level {
	SBX_LOG_ERROR = 0,
	SBX_LOG_WARN,
	SBX_LOG_INFO,
	SBX_LOG_DEBUG,
};

/*
 * Logs to `fd` (not closed by the log) lines of `level` and more severe,
 * tagged with `ident` (copied; NULL keeps the current one). The default
 * before any call is fd 2, SBX_LOG_INFO, "sbx".
 */
void sbx_log_init(int fd, enum sbx_log_level level, const char *ident);
/* Opens `path` for appending (created 0600) and logs there. */
int sbx_log_open(const char *path, enum sbx_log_level level,
    const char *ident, struct sbx_err *e);
void sbx_log_set_level(enum sbx_log_level level);
int sbx_log_enabled(enum sbx_log_level level);
/* "error", "warn", "info", "debug" (also "warning") to a level. */
int sbx_log_level_parse(const char *s, enum sbx_log_level *out,
    struct sbx_err *e);
const char *sbx_log_level_name(enum sbx_log_level level);

void sbx_log(enum sbx_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbx_vlog(enum sbx_log_level level, const char *fmt, va_list ap);

#define sbx_log_error(...) sbx_log(SBX_LOG_ERROR, __VA_ARGS__)
#define sbx_log_warn(...) sbx_log(SBX_LOG_WARN, __VA_ARGS__)
#define sbx_log_info(...) sbx_log(SBX_LOG_INFO, __VA_ARGS__)
#define sbx_log_debug(...) sbx_log(SBX_LOG_DEBUG, __VA_ARGS__)

#endif
