/*
 * log.c - one-line diagnostics on stderr (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "kvm/vmm/log.h"
#include "core/banned.h"

static const char *log_id;

void
vmm_log_set_id(const char *id)
{
	log_id = id;
}

void
vmm_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;
	ssize_t r;

	if (log_id)
		n = snprintf(line, sizeof(line), "sbx-vmm[%s]: ", log_id);
	else
		n = snprintf(line, sizeof(line), "sbx-vmm: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	r = write(2, line, n);
	(void)r;
}
