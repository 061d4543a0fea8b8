/*
 * log.c - one-write-per-line process log. See log.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "core/banned.h"

#define LINE_MAX_BYTES 8192

static int log_fd = STDERR_FILENO;
static int log_owned_fd = -1;
static int log_level = SBX_LOG_INFO;
static char log_ident[64] = "sbx";

static const char *const names[] = { "error", "warn", "info", "debug" };

void
sbx_log_init(int fd, enum sbx_log_level level, const char *ident)
{
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELEASE);
	sbx_log_set_level(level);
	if (ident)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	if (log_owned_fd >= 0 && log_owned_fd != fd) {
		close(log_owned_fd);
		log_owned_fd = -1;
	}
}

int
sbx_log_open(const char *path, enum sbx_log_level level, const char *ident,
    struct sbx_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		return sbx_err_sys(e, "cannot open log '%s'", path);
	sbx_log_init(fd, level, ident);
	log_owned_fd = fd;
	return 0;
}

void
sbx_log_set_level(enum sbx_log_level level)
{
	if ((int)level < SBX_LOG_ERROR)
		level = SBX_LOG_ERROR;
	if (level > SBX_LOG_DEBUG)
		level = SBX_LOG_DEBUG;
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

int
sbx_log_enabled(enum sbx_log_level level)
{
	return (int)level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

int
sbx_log_level_parse(const char *s, enum sbx_log_level *out,
    struct sbx_err *e)
{
	int i;

	for (i = 0; i <= SBX_LOG_DEBUG; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum sbx_log_level)i;
			return 0;
		}
	}
	if (!strcmp(s, "warning")) {
		*out = SBX_LOG_WARN;
		return 0;
	}
	return sbx_err_set(e, SBX_EINVAL, "invalid log level '%s': expected "
	    "error, warn, info or debug", s);
}

const char *
sbx_log_level_name(enum sbx_log_level level)
{
	if ((int)level < SBX_LOG_ERROR || level > SBX_LOG_DEBUG)
		return "?";
	return names[level];
}

void
sbx_vlog(enum sbx_log_level level, const char *fmt, va_list ap)
{
	struct sbx_buf b = SBX_BUF_INIT, msg = SBX_BUF_INIT;
	char ts[SBX_TIME_ISO_MAX];
	int saved = errno, fd;
	size_t i, off = 0;

	if (!sbx_log_enabled(level))
		return;
	sbx_time_format_iso(sbx_clock_wall_ms(), 1, ts, sizeof(ts));
	sbx_buf_addf(&b, "%s %s[%d] %s: ", ts, log_ident, (int)getpid(),
	    sbx_log_level_name(level));
	sbx_buf_vaddf(&msg, fmt, ap);
	if (msg.len > LINE_MAX_BYTES) {
		/* Keep one line bounded; mark the cut. */
		sbx_buf_setlen(&msg, LINE_MAX_BYTES);
		sbx_buf_addstr(&msg, "...");
	}
	for (i = 0; i < msg.len; i++)
		if ((unsigned char)msg.buf[i] < 0x20 || msg.buf[i] == 0x7f)
			msg.buf[i] = '?';
	sbx_buf_add(&b, msg.buf, msg.len);
	sbx_buf_addch(&b, '\n');
	fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);
	while (off < b.len) {
		ssize_t n = write(fd, b.buf + off, b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	sbx_buf_release(&msg);
	sbx_buf_release(&b);
	errno = saved;
}

void
sbx_log(enum sbx_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbx_vlog(level, fmt, ap);
	va_end(ap);
}
