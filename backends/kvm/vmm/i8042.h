/*
 * i8042.h - the little of the PS/2 controller a Linux guest touches when
 * it reboots with `reboot=k`: status/data ports, the command byte, output
 * port, self-test, and command 0xFE (pulse reset line), which calls
 * `reset(arg)`: the VMM treats it as the guest rebooting (or panicking
 * with `panic=-1`). No keyboard or mouse is attached.
 *
 * Threads: vCPU threads; one lock.
 */
#ifndef SBX_KVM_VMM_I8042_H
#define SBX_KVM_VMM_I8042_H

#include <pthread.h>
#include <stdint.h>

#define I8042_DATA 0x60
#define I8042_CMD 0x64

struct i8042 {
	pthread_mutex_t lock;
	uint8_t ctr;		/* controller command byte */
	uint8_t outp;		/* output port */
	uint8_t obuf;		/* output buffer */
	int obf;		/* output buffer full */
	uint8_t want;		/* command awaiting a data byte, or 0 */
	void (*reset)(void *arg);
	void *arg;
};

void i8042_init(struct i8042 *k);
uint8_t i8042_read(struct i8042 *k, uint16_t port);
void i8042_write(struct i8042 *k, uint16_t port, uint8_t v);

#endif
