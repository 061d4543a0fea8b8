/*
 * log.h - sbx-vmm's diagnostics on stderr ("sbx-vmm[<id>]: message").
 *
 * sbx-vmm is a program, not library code: it reports problems about the
 * guest or its own devices here; the launching side keeps stderr in the
 * sandbox's log. Any thread; each message is one write(2).
 */
#ifndef SBX_KVM_VMM_LOG_H
#define SBX_KVM_VMM_LOG_H

/* Sets the sandbox id shown in every message (NULL: none). */
void vmm_log_set_id(const char *id);
void vmm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * A death by signal (a fault, or SIGTERM/SIGINT/SIGHUP before the VMM
 * takes them over with its signalfd) leaves "killed by signal N (code C)
 * at ADDR | from pid P" in the log first.
 */
void vmm_log_fatal_signals(void);

#endif
