/*
 * serial.c - 16550A UART (serial.h).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kvm/vmm/serial.h"
#include "core/banned.h"

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_DCD 0x80

void
serial_init(struct serial *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->lsr = LSR_THRE | LSR_TEMT;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	s->mcr = MCR_OUT2;
	s->log_fd = s->console_fd = -1;
}

static uint8_t
serial_iir(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->rx_len)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI;
	return IIR_NONE;
}

/* Recomputes the interrupt level and tells the VMM when it changed. */
static void
serial_update_irq(struct serial *s)
{
	int level = serial_iir(s) != IIR_NONE;

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->arg, level);
	}
}

static void
write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;		/* a dead log never stops the guest */
		p = (const char *)p + w;
		n -= w;
	}
}

static void
line_out(struct serial *s)
{
	if (s->log_fd >= 0)
		write_all(s->log_fd, s->line, s->line_len);
	if (s->on_line) {
		s->line[s->line_len < SERIAL_LINE_MAX ? s->line_len :
		    SERIAL_LINE_MAX - 1] = 0;
		s->on_line(s->arg, s->line, s->line_len);
	}
	s->line_len = 0;
}

static void
serial_tx(struct serial *s, uint8_t c)
{
	s->tx_bytes++;
	if (s->console_fd >= 0)
		write_all(s->console_fd, &c, 1);
	if (s->line_len < SERIAL_LINE_MAX - 1)
		s->line[s->line_len++] = c;
	if (c == '\n' || s->line_len == SERIAL_LINE_MAX - 1)
		line_out(s);
}

static void
rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_len == SERIAL_FIFO)
		return;
	s->rx[(s->rx_head + s->rx_len) % SERIAL_FIFO] = c;
	s->rx_len++;
}

uint8_t
serial_read(struct serial *s, unsigned off)
{
	uint8_t v = 0;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_len) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_FIFO;
			s->rx_len--;
		}
		break;
	case 1:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case 2:
		v = serial_iir(s) | ((s->fcr & 1) ? IIR_FIFO : 0);
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = 0;	/* reading IIR clears THRI */
		break;
	case 3:
		v = s->lcr;
		break;
	case 4:
		v = s->mcr;
		break;
	case 5:
		v = s->lsr | (s->rx_len ? LSR_DR : 0);
		break;
	case 6:
		if (s->mcr & MCR_LOOP)	/* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
			v = (s->mcr & 1) << 5 | (s->mcr & 2) << 3 |
			    (s->mcr & 4) << 4 | (s->mcr & 8) << 4;
		else
			v = s->msr;
		break;
	case 7:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return v;
}

void
serial_write(struct serial *s, unsigned off, uint8_t v)
{
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			rx_push(s, v);
		else
			serial_tx(s, v);
		s->thri_pending = 1;	/* transmitted at once */
		break;
	case 1:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI with an empty THR raises it at once. */
		if ((v & IER_THRI) && !(s->ier & IER_THRI))
			s->thri_pending = 1;
		s->ier = v & 0x0f;
		break;
	case 2:
		s->fcr = v;
		if (v & 2) {		/* clear RX FIFO */
			s->rx_len = 0;
			s->rx_head = 0;
		}
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		break;
	case 7:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

size_t
serial_rx(struct serial *s, const uint8_t *p, size_t n)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n && s->rx_len < SERIAL_FIFO; i++)
		rx_push(s, p[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}

void
serial_flush(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->line_len && s->log_fd >= 0)
		write_all(s->log_fd, s->line, s->line_len);
	s->line_len = 0;
	pthread_mutex_unlock(&s->lock);
}
