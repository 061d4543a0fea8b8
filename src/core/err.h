/*
 * err.h - the error record every layer below src/cli fills.
 *
 * Functions that can fail take a `struct sbx_err *` (which may be NULL when
 * the caller does not care) and return 0 on success or a negative SBX_E*
 * code on failure. Only src/cli prints errors or exits.
 *
 * Message style (STYLE.md 2): lowercase, no final period, problem first,
 * names in single quotes: "cannot open template 'py': no such file".
 */
#ifndef SBX_CORE_ERR_H
#define SBX_CORE_ERR_H

#include <stdarg.h>

enum sbx_errcode {
	SBX_OK = 0,
	SBX_EFAIL = -1,		/* generic failure */
	SBX_EUSAGE = -2,	/* bad arguments from the user */
	SBX_ENOENT = -3,	/* no such object, sandbox, template, ... */
	SBX_EEXIST = -4,	/* already exists */
	SBX_EINVAL = -5,	/* malformed input (YAML, JSON, archive, ...) */
	SBX_EIO = -6,		/* system call failed; see .sys_errno */
	SBX_EBUSY = -7,		/* locked or in use */
	SBX_ETIMEDOUT = -8,	/* operation timed out */
	SBX_ENOTSUP = -9,	/* not supported (backend op NULL, host) */
	SBX_ECORRUPT = -10,	/* stored data failed verification */
	SBX_EPERM = -11,	/* permission denied / auth */
	SBX_ENET = -12,		/* network or remote failure */
};

#define SBX_ERR_MSG_MAX 512
#define SBX_ERR_HINT_MAX 256

struct sbx_err {
	int code;			/* enum sbx_errcode, 0 when clear */
	int sys_errno;			/* errno at failure, 0 if none */
	char msg[SBX_ERR_MSG_MAX];	/* "" when clear */
	char hint[SBX_ERR_HINT_MAX];	/* optional second line, "" if none */
};

/* Clears `e` (no-op on NULL). */
void sbx_err_clear(struct sbx_err *e);

/*
 * Records an error and returns `code` so callers can write
 * `return sbx_err_set(e, SBX_EINVAL, "bad size '%s'", s);`.
 * A later call overwrites an earlier one. `e` may be NULL.
 */
int sbx_err_set(struct sbx_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int sbx_err_vset(struct sbx_err *e, int code, const char *fmt, va_list ap);

/* Like sbx_err_set with code SBX_EIO, appending ": strerror(errno)". */
int sbx_err_sys(struct sbx_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Sets the hint line of an error already recorded. */
void sbx_err_hint(struct sbx_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefixes the message with "ctx: " (for adding a file name, say). */
void sbx_err_prefix(struct sbx_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Short name of a code ("invalid", "not found", ...), for JSON output. */
const char *sbx_errcode_name(int code);

#endif
