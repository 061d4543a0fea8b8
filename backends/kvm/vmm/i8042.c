/*
 * i8042.c - minimal PS/2 controller: reset line and command byte (i8042.h).
 */
#include <string.h>

#include "kvm/vmm/i8042.h"
#include "core/banned.h"

#define ST_OBF 0x01
#define ST_SYS 0x04		/* system flag: self-test passed */
#define ST_CMD 0x08		/* last write was to the command port */

void
i8042_init(struct i8042 *k)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = 0x30;		/* both ports disabled, no interrupts */
	k->outp = 0x01;		/* reset line not asserted (active low) */
}

static void
put_out(struct i8042 *k, uint8_t v)
{
	k->obuf = v;
	k->obf = 1;
}

uint8_t
i8042_read(struct i8042 *k, uint16_t port)
{
	uint8_t v;

	pthread_mutex_lock(&k->lock);
	if (port == I8042_CMD) {
		v = ST_SYS | (k->obf ? ST_OBF : 0) | (k->want ? ST_CMD : 0);
	} else {
		v = k->obuf;
		k->obf = 0;
	}
	pthread_mutex_unlock(&k->lock);
	return v;
}

void
i8042_write(struct i8042 *k, uint16_t port, uint8_t v)
{
	int reset = 0;

	pthread_mutex_lock(&k->lock);
	if (port == I8042_DATA) {
		if (k->want == 0x60) {
			k->ctr = v;
		} else if (k->want == 0xd1) {
			k->outp = v;
			reset = !(v & 1);	/* reset line pulled low */
		}
		k->want = 0;
	} else {
		k->want = 0;
		switch (v) {
		case 0x20:		/* read command byte */
			put_out(k, k->ctr);
			break;
		case 0x60:		/* write command byte */
		case 0xd1:		/* write output port */
			k->want = v;
			break;
		case 0xaa:		/* controller self-test */
			put_out(k, 0x55);
			break;
		case 0xd0:		/* read output port */
			put_out(k, k->outp);
			break;
		case 0xfe:		/* pulse reset line */
			reset = 1;
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->arg);
}
