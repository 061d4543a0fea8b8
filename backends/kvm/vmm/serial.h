/*
 * serial.h - 16550A UART model for COM1 (0x3f8, IRQ 4).
 *
 * Guest output goes to a log file (line-buffered) and, optionally, a
 * console fd (byte by byte); complete lines are also handed to a line
 * callback (the VMM watches for "Kernel panic"). Host input (console
 * stdin) enters the 16-byte receive FIFO with serial_rx().
 *
 * The interrupt is a level: set_irq(arg, 1) while an enabled condition is
 * pending (received data, transmitter empty), set_irq(arg, 0) otherwise;
 * it is only called when the level changes.
 *
 * Threads: every entry point takes the UART's lock; the callbacks run with
 * it held and must not call back into the UART.
 */
#ifndef SBX_KVM_VMM_SERIAL_H
#define SBX_KVM_VMM_SERIAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_COM1 0x3f8
#define SERIAL_IRQ 4
#define SERIAL_FIFO 16
#define SERIAL_LINE_MAX 512

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	uint8_t thri_pending;	/* THR empty interrupt not yet read via IIR */
	uint8_t rx[SERIAL_FIFO];
	unsigned rx_head, rx_len;
	int irq_level;

	int log_fd;		/* -1: none */
	int console_fd;		/* -1: none */
	char line[SERIAL_LINE_MAX];
	size_t line_len;

	void (*set_irq)(void *arg, int level);
	void (*on_line)(void *arg, const char *line, size_t len);
	void *arg;
	uint64_t tx_bytes;
};

/* Resets registers; fds and callbacks are set by the caller afterwards. */
void serial_init(struct serial *s);
/* Port access at offset 0..7 from the base (vCPU thread). */
uint8_t serial_read(struct serial *s, unsigned off);
void serial_write(struct serial *s, unsigned off, uint8_t v);
/* Queues host input; returns how many bytes fit in the FIFO. */
size_t serial_rx(struct serial *s, const uint8_t *p, size_t n);
/* Writes out a partial last line to the log (at exit). */
void serial_flush(struct serial *s);

#endif
