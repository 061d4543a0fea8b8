/*
 * log.c - one-line diagnostics on stderr (log.h).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

/* Appends decimal `v` to buf at *n (async-signal-safe). */
static void
put_num(char *buf, size_t *n, size_t cap, unsigned long long v, int base)
{
	char tmp[24];
	size_t k = 0;

	do {
		tmp[k++] = "0123456789abcdef"[v % (unsigned)base];
		v /= (unsigned)base;
	} while (v && k < sizeof(tmp));
	while (k && *n < cap)
		buf[(*n)++] = tmp[--k];
}

static void
put_str(char *buf, size_t *n, size_t cap, const char *s)
{
	while (*s && *n < cap)
		buf[(*n)++] = *s++;
}

/*
 * Says which signal ends the process, with its code, address or sender,
 * then lets it do so: a VMM that dies must leave a line in its log.
 */
static void
on_fatal(int sig, siginfo_t *si, void *uc)
{
	char line[256];
	size_t n = 0, cap = sizeof(line) - 1;
	ssize_t r;

	(void)uc;
	put_str(line, &n, cap, "sbx-vmm");
	if (log_id) {
		put_str(line, &n, cap, "[");
		put_str(line, &n, cap, log_id);
		put_str(line, &n, cap, "]");
	}
	put_str(line, &n, cap, ": killed by signal ");
	put_num(line, &n, cap, (unsigned)sig, 10);
	put_str(line, &n, cap, " (code ");
	if (si->si_code < 0) {
		put_str(line, &n, cap, "-");
		put_num(line, &n, cap, (unsigned)-si->si_code, 10);
	} else {
		put_num(line, &n, cap, (unsigned)si->si_code, 10);
	}
	if (si->si_code <= 0) {	/* sent by a process */
		put_str(line, &n, cap, ") from pid ");
		put_num(line, &n, cap, (unsigned)si->si_pid, 10);
	} else {
		put_str(line, &n, cap, ") at 0x");
		put_num(line, &n, cap, (uintptr_t)si->si_addr, 16);
	}
	line[n++] = '\n';
	r = write(2, line, n);
	(void)r;
	signal(sig, SIG_DFL);
	raise(sig);
}

void
vmm_log_fatal_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
	    SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}
