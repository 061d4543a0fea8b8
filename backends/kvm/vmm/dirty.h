/*
 * dirty.h - which guest pages changed since the last chunked snapshot
 * (dirty.c): KVM's dirty log (guest writes, and KVM's own) ORed with the
 * VMM's bitmap (device writes, mem.h), so a snapshot can write only the
 * chunks that changed and take the rest from its parent.
 */
#ifndef SBX_VMM_DIRTY_H
#define SBX_VMM_DIRTY_H

#include <stdint.h>

struct sbx_err;
struct vmm;

/* Tracking off, a new identity (a new process or VM: restore, fork). */
void dirty_reset(void);
/*
 * "INSTANCE-GEN" naming the memory as of the last dirty_start() of this
 * VMM, or NULL if tracking is off. A snapshot stores it; the next one
 * passes it back to ask for a diff against that snapshot.
 */
const char *dirty_mark(void);
/*
 * The pages changed since the last dirty_start(): a malloc'd bitmap of
 * gmem_dirty_words() words, bit i = host page i. Clears both logs. The
 * vCPUs must be paused.
 */
int dirty_collect(struct vmm *vm, uint64_t **bits, struct sbx_err *e);
/*
 * Starts (or restarts) tracking from now: turns KVM dirty logging on for
 * every memory slot if it is off, clears both logs, and moves the mark
 * on. The vCPUs must be paused.
 */
int dirty_start(struct vmm *vm, struct sbx_err *e);
/*
 * Moves the mark on without a new round: after a diff snapshot failed
 * (its logs were read and cleared), no later snapshot may be a diff
 * against the old mark. Tracking stays on; the next one is full.
 */
void dirty_forget(void);

#endif
