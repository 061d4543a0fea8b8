/*
 * dirty.c - dirty page tracking between chunked snapshots (dirty.h).
 *
 * Logging starts with the first chunked snapshot (KVM_MEM_LOG_DIRTY_PAGES
 * makes guest writes fault once per page per round, so a VM that is never
 * snapshotted does not pay for it). KVM_GET_DIRTY_LOG returns and clears
 * a slot's bitmap; slot 0 holds the low RAM, slot 1 the high RAM, whose
 * host pages follow the low ones (mem.h), and the low RAM is a whole
 * number of 64-page words whenever there is high RAM (3 GiB).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/dirty.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

static struct {
	int on;			/* KVM dirty logging enabled */
	uint64_t instance;	/* random, per VMM process / VM */
	uint64_t gen;		/* dirty_start() calls */
	char mark[48];
} track;

void
dirty_reset(void)
{
	memset(&track, 0, sizeof(track));
}

const char *
dirty_mark(void)
{
	return track.on ? track.mark : NULL;
}

static int
get_log(struct vmm *vm, unsigned slot, uint64_t *bits, struct sbx_err *e)
{
	struct kvm_dirty_log log;

	memset(&log, 0, sizeof(log));
	log.slot = slot;
	log.dirty_bitmap = bits;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return sbx_err_sys(e, "KVM_GET_DIRTY_LOG (slot %u)", slot);
	return 0;
}

int
dirty_collect(struct vmm *vm, uint64_t **out, struct sbx_err *e)
{
	size_t words = gmem_dirty_words(&vm->mem), low_words, i;
	uint64_t *bits = xcalloc(words, sizeof(*bits));
	uint64_t *tmp = xcalloc(words, sizeof(*tmp));

	*out = NULL;
	low_words = (vm->mem.low / GMEM_PAGE + 63) / 64;
	if (get_log(vm, 0, bits, e) < 0 ||
	    (vm->mem.high && get_log(vm, 1, bits + low_words, e) < 0)) {
		free(bits);
		free(tmp);
		return -1;
	}
	gmem_dirty_take(&vm->mem, tmp);
	for (i = 0; i < words; i++)
		bits[i] |= tmp[i];
	free(tmp);
	*out = bits;
	return 0;
}

int
dirty_start(struct vmm *vm, struct sbx_err *e)
{
	uint64_t *scratch;

	if (!track.instance &&
	    getrandom(&track.instance, sizeof(track.instance), 0) !=
	    sizeof(track.instance))
		track.instance = (uint64_t)getpid() << 32 | (uint64_t)time(NULL);
	if (!track.on) {
		if (vmm_set_memslots(vm, KVM_MEM_LOG_DIRTY_PAGES, e) < 0) {
			sbx_err_prefix(e, "cannot turn on dirty logging");
			return -1;
		}
		track.on = 1;
		scratch = xcalloc(gmem_dirty_words(&vm->mem), sizeof(*scratch));
		gmem_dirty_take(&vm->mem, scratch);	/* device writes so far */
		free(scratch);
	} else if (dirty_collect(vm, &scratch, e) == 0) {
		free(scratch);			/* cleared: a new round */
	} else {
		return -1;
	}
	track.gen++;
	snprintf(track.mark, sizeof(track.mark), "%016llx-%llu",
	    (unsigned long long)track.instance,
	    (unsigned long long)track.gen);
	return 0;
}

void
dirty_forget(void)
{
	if (!track.on)
		return;
	track.gen++;
	snprintf(track.mark, sizeof(track.mark), "%016llx-%llu",
	    (unsigned long long)track.instance,
	    (unsigned long long)track.gen);
}
