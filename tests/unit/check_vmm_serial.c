/*
 * check_vmm_serial.c - 16550A register model (serial.c) and the i8042
 * reset line (i8042.c), as Linux's 8250 driver and reboot=k use them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "kvm/vmm/i8042.h"
#include "kvm/vmm/serial.h"
#include "core/banned.h"

static struct serial s;
static int level, level_changes;
static char lines[4][SERIAL_LINE_MAX];
static int nlines;

static void
set_irq(void *arg, int l)
{
	level = l;
	level_changes++;
}

static void
on_line(void *arg, const char *line, size_t len)
{
	if (nlines < 4)
		snprintf(lines[nlines++], SERIAL_LINE_MAX, "%s", line);
}

static void
setup(void)
{
	serial_init(&s);
	s.set_irq = set_irq;
	s.on_line = on_line;
	level = level_changes = nlines = 0;
}

START_TEST(test_probe)
{
	/* Scratch register and IER read back (autoconfig). */
	serial_write(&s, 7, 0xa5);
	ck_assert_uint_eq(serial_read(&s, 7), 0xa5);
	serial_write(&s, 1, 0xff);
	ck_assert_uint_eq(serial_read(&s, 1), 0x0f);
	serial_write(&s, 1, 0);
	/* FIFO enabled: IIR bits 7:6 set, the driver says 16550A. */
	serial_write(&s, 2, 0x01);
	ck_assert_uint_eq(serial_read(&s, 2) & 0xc0, 0xc0);
	/* Divisor latch. */
	serial_write(&s, 3, 0x80);
	serial_write(&s, 0, 0x01);
	serial_write(&s, 1, 0x02);
	ck_assert_uint_eq(serial_read(&s, 0), 0x01);
	ck_assert_uint_eq(serial_read(&s, 1), 0x02);
	serial_write(&s, 3, 0x03);
	ck_assert_uint_eq(serial_read(&s, 5) & 0x60, 0x60);
	/* Loopback: MSR mirrors MCR, TX comes back as RX. */
	serial_write(&s, 4, 0x10 | 0x0a);
	ck_assert_uint_eq(serial_read(&s, 6) & 0xf0, 0x90);
	serial_write(&s, 0, 'Z');
	ck_assert_uint_eq(serial_read(&s, 5) & 1, 1);
	ck_assert_uint_eq(serial_read(&s, 0), 'Z');
	ck_assert_uint_eq(s.tx_bytes, 0);
}
END_TEST

START_TEST(test_thri_level)
{
	/* Enabling THRI with an empty THR raises the line at once. */
	serial_write(&s, 1, 0x02);
	ck_assert_int_eq(level, 1);
	ck_assert_uint_eq(serial_read(&s, 2) & 0x0f, 0x02);
	ck_assert_int_eq(level, 0);	/* IIR read acknowledged it */
	serial_write(&s, 0, 'a');
	ck_assert_int_eq(level, 1);
	serial_write(&s, 1, 0);
	ck_assert_int_eq(level, 0);
}
END_TEST

START_TEST(test_rx)
{
	uint8_t in[40];
	unsigned i;

	memset(in, 'x', sizeof(in));
	ck_assert_uint_eq(serial_rx(&s, in, sizeof(in)), SERIAL_FIFO);
	ck_assert_int_eq(level, 0);		/* RDI not enabled */
	serial_write(&s, 1, 0x01);
	ck_assert_int_eq(level, 1);
	ck_assert_uint_eq(serial_read(&s, 2) & 0x0f, 0x04);
	for (i = 0; i < SERIAL_FIFO; i++)
		ck_assert_uint_eq(serial_read(&s, 0), 'x');
	ck_assert_uint_eq(serial_read(&s, 5) & 1, 0);
	ck_assert_int_eq(level, 0);
	ck_assert_uint_eq(serial_read(&s, 0), 0);	/* empty FIFO */
}
END_TEST

START_TEST(test_output)
{
	const char *msg = "hello\nKernel panic - not syncing: x\npartial";
	char path[512];
	struct sbx_buf b = SBX_BUF_INIT;
	size_t i;

	snprintf(path, sizeof(path), "%s/console.log", unit_tmpdir());
	s.log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(s.log_fd, 0);
	for (i = 0; msg[i]; i++)
		serial_write(&s, 0, msg[i]);
	ck_assert_int_eq(nlines, 2);
	ck_assert_str_eq(lines[0], "hello\n");
	ck_assert(strstr(lines[1], "Kernel panic") == lines[1]);
	serial_flush(&s);
	close(s.log_fd);
	ck_assert_int_eq(sbx_buf_read_file(&b, path, NULL), 0);
	ck_assert_str_eq(b.buf, msg);
	ck_assert_uint_eq(s.tx_bytes, strlen(msg));
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_long_line)
{
	unsigned i;

	for (i = 0; i < 2 * SERIAL_LINE_MAX; i++)
		serial_write(&s, 0, 'y');
	ck_assert_int_eq(nlines, 2);
	ck_assert_uint_eq(strlen(lines[0]), SERIAL_LINE_MAX - 1);
}
END_TEST

static int resets;

static void
kbd_reset(void *arg)
{
	resets++;
}

START_TEST(test_i8042)
{
	struct i8042 k;

	i8042_init(&k);
	k.reset = kbd_reset;
	resets = 0;
	/* kb_wait(): input buffer empty. */
	ck_assert_uint_eq(i8042_read(&k, I8042_CMD) & 0x02, 0);
	i8042_write(&k, I8042_CMD, 0xaa);
	ck_assert_uint_eq(i8042_read(&k, I8042_CMD) & 1, 1);
	ck_assert_uint_eq(i8042_read(&k, I8042_DATA), 0x55);
	ck_assert_uint_eq(i8042_read(&k, I8042_CMD) & 1, 0);
	i8042_write(&k, I8042_CMD, 0x60);
	i8042_write(&k, I8042_DATA, 0x47);
	i8042_write(&k, I8042_CMD, 0x20);
	ck_assert_uint_eq(i8042_read(&k, I8042_DATA), 0x47);
	ck_assert_int_eq(resets, 0);
	i8042_write(&k, I8042_CMD, 0xfe);
	ck_assert_int_eq(resets, 1);
	/* Output port write with the reset bit low also resets. */
	i8042_write(&k, I8042_CMD, 0xd1);
	i8042_write(&k, I8042_DATA, 0x00);
	ck_assert_int_eq(resets, 2);
}
END_TEST

Suite *suite_vmm_serial(void)
{
	Suite *s_ = suite_create("vmm_serial");
	TCase *t = tcase_create("serial");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_probe);
	tcase_add_test(t, test_thri_level);
	tcase_add_test(t, test_rx);
	tcase_add_test(t, test_output);
	tcase_add_test(t, test_long_line);
	tcase_add_test(t, test_i8042);
	suite_add_tcase(s_, t);
	return s_;
}
