#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/banned.h"

void
sbx_err_clear(struct sbx_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->sys_errno = 0;
	e->msg[0] = '\0';
	e->hint[0] = '\0';
}

int
sbx_err_vset(struct sbx_err *e, int code, const char *fmt, va_list ap)
{
	if (!e)
		return code;
	e->code = code;
	e->sys_errno = 0;
	e->hint[0] = '\0';
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return code;
}

int
sbx_err_set(struct sbx_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbx_err_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int
sbx_err_sys(struct sbx_err *e, const char *fmt, ...)
{
	int saved = errno;
	size_t n;
	va_list ap;

	if (!e)
		return SBX_EIO;
	va_start(ap, fmt);
	sbx_err_vset(e, SBX_EIO, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	e->sys_errno = saved;
	errno = saved;
	return SBX_EIO;
}

void
sbx_err_hint(struct sbx_err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(e->hint, sizeof(e->hint), fmt, ap);
	va_end(ap);
}

void
sbx_err_prefix(struct sbx_err *e, const char *fmt, ...)
{
	char out[2 * SBX_ERR_MSG_MAX + 2];
	size_t n;
	va_list ap;

	if (!e)
		return;
	va_start(ap, fmt);
	vsnprintf(out, SBX_ERR_MSG_MAX, fmt, ap);
	va_end(ap);
	n = strlen(out);
	out[n++] = ':';
	out[n++] = ' ';
	memcpy(out + n, e->msg, strlen(e->msg) + 1);
	out[SBX_ERR_MSG_MAX - 1] = '\0';
	memcpy(e->msg, out, SBX_ERR_MSG_MAX);
}

const char *
sbx_errcode_name(int code)
{
	switch (code) {
	case SBX_OK: return "ok";
	case SBX_EUSAGE: return "usage";
	case SBX_ENOENT: return "not_found";
	case SBX_EEXIST: return "exists";
	case SBX_EINVAL: return "invalid";
	case SBX_EIO: return "io";
	case SBX_EBUSY: return "busy";
	case SBX_ETIMEDOUT: return "timeout";
	case SBX_ENOTSUP: return "not_supported";
	case SBX_ECORRUPT: return "corrupt";
	case SBX_EPERM: return "permission";
	case SBX_ENET: return "network";
	default: return "failed";
	}
}
