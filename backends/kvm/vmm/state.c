/*
 * state.c - vCPU and VM KVM state get/put (state.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/state.h"
#include "core/banned.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_CHUNK 256

/* MSRs KVM does not always list but a Linux guest programs at boot. */
static const uint32_t extra_msrs[] = {
	0x277,			/* PAT */
	0x2ff,			/* MTRRdefType */
	0x250, 0x258, 0x259,	/* fixed MTRRs */
	0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
	0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
	0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
};

struct msrs {
	struct kvm_msrs hdr;
	struct kvm_msr_entry ent[MSR_CHUNK];
};

/* The host's MSR index list plus extras, IA32_TSC_DEADLINE last. */
static uint32_t *
msr_list(int kvm_fd, unsigned *n_out, struct sbx_err *e)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	uint32_t *out;
	unsigned i, j, n = 0;
	bool deadline = false;

	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 &&
	    errno != E2BIG) {
		sbx_err_sys(e, "KVM_GET_MSR_INDEX_LIST");
		return NULL;
	}
	l = xcalloc(1, sizeof(*l) + (probe.nmsrs + 1) * sizeof(uint32_t));
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l) < 0) {
		free(l);
		sbx_err_sys(e, "KVM_GET_MSR_INDEX_LIST");
		return NULL;
	}
	out = xcalloc(l->nmsrs + sizeof(extra_msrs) / sizeof(extra_msrs[0]) +
	    1, sizeof(uint32_t));
	for (i = 0; i < l->nmsrs; i++) {
		if (l->indices[i] == MSR_IA32_TSC_DEADLINE) {
			deadline = true;
			continue;
		}
		out[n++] = l->indices[i];
	}
	for (i = 0; i < sizeof(extra_msrs) / sizeof(extra_msrs[0]); i++) {
		for (j = 0; j < n && out[j] != extra_msrs[i]; j++)
			;
		if (j == n)
			out[n++] = extra_msrs[i];
	}
	if (deadline)
		out[n++] = MSR_IA32_TSC_DEADLINE;
	free(l);
	*n_out = n;
	return out;
}

/*
 * Reads MSRs `idx[0..n)`; drops the ones KVM refuses (KVM_GET_MSRS stops
 * at the first failure and returns how many it read). Appends the values
 * read to `out` and returns their count.
 */
static int
msr_read(int fd, const uint32_t *idx, unsigned n, struct kvm_msr_entry *out,
    struct sbx_err *e)
{
	struct msrs m;
	unsigned i, done = 0, got = 0;

	while (done < n) {
		unsigned k = n - done < MSR_CHUNK ? n - done : MSR_CHUNK;
		int r;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = k;
		for (i = 0; i < k; i++)
			m.ent[i].index = idx[done + i];
		r = ioctl(fd, KVM_GET_MSRS, &m);
		if (r < 0)
			return sbx_err_sys(e, "KVM_GET_MSRS");
		memcpy(out + got, m.ent, r * sizeof(m.ent[0]));
		got += r;
		done += r;
		if ((unsigned)r < k)
			done++;		/* skip the refused one */
	}
	return got;
}

static int
get(int fd, unsigned long req, void *p, const char *what, struct sbx_err *e)
{
	if (ioctl(fd, req, p) < 0)
		return sbx_err_sys(e, "%s", what);
	return 0;
}

#define SAVE(fd, req, tag, var) do { \
	if (get(fd, req, &var, #req, e) < 0) \
		goto fail; \
	snap_rec_add(b, tag, idx, &var, sizeof(var)); \
} while (0)

int
state_save_vcpu(int kvm_fd, int vm_fd, int fd, unsigned idx,
    struct sbx_buf *b, struct sbx_err *e)
{
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events ev;
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_msr_entry *ent = NULL;
	uint32_t *list = NULL;
	void *xsave = NULL;
	unsigned nlist, nent = 256, i;
	int xsize, r = SBX_EIO, khz, n;
	uint64_t tsc = 0;

	SAVE(fd, KVM_GET_MP_STATE, SNAP_T_MP_STATE, mp);
	SAVE(fd, KVM_GET_REGS, SNAP_T_REGS, regs);
	SAVE(fd, KVM_GET_SREGS, SNAP_T_SREGS, sregs);
	xsize = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	if (xsize < (int)sizeof(struct kvm_xsave))
		xsize = sizeof(struct kvm_xsave);
	xsave = xcalloc(1, xsize);
	if (get(fd, xsize > (int)sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 :
	    KVM_GET_XSAVE, xsave, "KVM_GET_XSAVE", e) < 0)
		goto fail;
	snap_rec_add(b, SNAP_T_XSAVE, idx, xsave, xsize);
	SAVE(fd, KVM_GET_XCRS, SNAP_T_XCRS, xcrs);
	SAVE(fd, KVM_GET_DEBUGREGS, SNAP_T_DEBUGREGS, dbg);
	SAVE(fd, KVM_GET_LAPIC, SNAP_T_LAPIC, lapic);
	khz = ioctl(fd, KVM_GET_TSC_KHZ, 0);
	if (khz < 0)
		khz = 0;
	{
		uint32_t k = khz;

		snap_rec_add(b, SNAP_T_TSC_KHZ, idx, &k, sizeof(k));
	}
	for (;;) {
		cpuid = xrealloc(cpuid, sizeof(*cpuid) +
		    nent * sizeof(cpuid->entries[0]));
		cpuid->nent = nent;
		if (ioctl(fd, KVM_GET_CPUID2, cpuid) == 0)
			break;
		if (errno != E2BIG || nent > 4096) {
			sbx_err_sys(e, "KVM_GET_CPUID2");
			goto fail;
		}
		nent *= 2;
	}
	snap_rec_add(b, SNAP_T_CPUID, idx, cpuid, sizeof(*cpuid) +
	    cpuid->nent * sizeof(cpuid->entries[0]));
	if (!(list = msr_list(kvm_fd, &nlist, e)))
		goto fail;
	ent = xcalloc(nlist, sizeof(*ent));
	if ((n = msr_read(fd, list, nlist, ent, e)) < 0)
		goto fail;
	for (i = 0; i < (unsigned)n; i++)
		if (ent[i].index == MSR_IA32_TSC)
			tsc = ent[i].data;
	/* A zero deadline would leave a lost timer interrupt unarmed. */
	for (i = 0; i < (unsigned)n; i++)
		if (ent[i].index == MSR_IA32_TSC_DEADLINE && ent[i].data == 0)
			ent[i].data = tsc;
	snap_rec_add(b, SNAP_T_MSRS, idx, ent, n * sizeof(*ent));
	SAVE(fd, KVM_GET_VCPU_EVENTS, SNAP_T_EVENTS, ev);
	r = 0;
fail:
	free(cpuid);
	free(list);
	free(ent);
	free(xsave);
	return r;
}

/* Finds a record that must exist with exactly `len` bytes. */
static const void *
need(const struct snap_image *img, uint32_t tag, uint32_t idx, size_t len,
    const char *what, struct sbx_err *e)
{
	const void *p = snap_find(img, tag, idx, len, NULL);

	if (!p)
		sbx_err_set(e, SBX_ECORRUPT, "snapshot state has no valid %s "
		    "record for vCPU/chip %u", what, idx);
	return p;
}

static int
put(int fd, unsigned long req, const void *p, const char *what,
    unsigned idx, struct sbx_err *e)
{
	if (ioctl(fd, req, p) < 0)
		return sbx_err_sys(e, "%s on vCPU %u", what, idx);
	return 0;
}

#define LOAD(tag, type, req) do { \
	const void *p_ = need(img, tag, idx, sizeof(type), #type, e); \
	if (!p_ || put(fd, req, p_, #req, idx, e) < 0) \
		return SBX_EIO; \
} while (0)

/* SET_MSRS for entries [0, n) in chunks, skipping (and logging) refusals. */
static int
msr_write(int fd, unsigned idx, const struct kvm_msr_entry *ent, unsigned n,
    struct sbx_err *e)
{
	struct msrs m;
	unsigned done = 0;

	while (done < n) {
		unsigned k = n - done < MSR_CHUNK ? n - done : MSR_CHUNK;
		int r;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = k;
		memcpy(m.ent, ent + done, k * sizeof(ent[0]));
		r = ioctl(fd, KVM_SET_MSRS, &m);
		if (r < 0)
			return sbx_err_sys(e, "KVM_SET_MSRS on vCPU %u", idx);
		done += r;
		if ((unsigned)r < k) {
			vmm_log("vCPU %u: KVM refused MSR 0x%x on restore",
			    idx, ent[done].index);
			done++;
		}
	}
	return 0;
}

int
state_load_vcpu(int fd, unsigned idx, const struct snap_image *img,
    struct sbx_err *e)
{
	const struct kvm_cpuid2 *cpuid;
	const struct kvm_msr_entry *ent;
	const void *xsave;
	size_t len, n, i, last;
	struct kvm_msr_entry dl;
	bool have_dl = false;

	cpuid = snap_find(img, SNAP_T_CPUID, idx, 0, &len);
	if (!cpuid || len < sizeof(*cpuid) || len != sizeof(*cpuid) +
	    cpuid->nent * sizeof(cpuid->entries[0]))
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot state has no "
		    "valid CPUID record for vCPU %u", idx);
	if (put(fd, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2", idx, e) < 0)
		return SBX_EIO;
	LOAD(SNAP_T_MP_STATE, struct kvm_mp_state, KVM_SET_MP_STATE);
	LOAD(SNAP_T_REGS, struct kvm_regs, KVM_SET_REGS);
	LOAD(SNAP_T_SREGS, struct kvm_sregs, KVM_SET_SREGS);
	xsave = snap_find(img, SNAP_T_XSAVE, idx, 0, &len);
	if (!xsave || len < sizeof(struct kvm_xsave))
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot state has no "
		    "valid XSAVE record for vCPU %u", idx);
	if (put(fd, KVM_SET_XSAVE, xsave, "KVM_SET_XSAVE", idx, e) < 0)
		return SBX_EIO;
	LOAD(SNAP_T_XCRS, struct kvm_xcrs, KVM_SET_XCRS);
	LOAD(SNAP_T_DEBUGREGS, struct kvm_debugregs, KVM_SET_DEBUGREGS);
	LOAD(SNAP_T_LAPIC, struct kvm_lapic_state, KVM_SET_LAPIC);
	ent = snap_find(img, SNAP_T_MSRS, idx, 0, &len);
	if (!ent || len % sizeof(*ent))
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot state has no "
		    "valid MSR record for vCPU %u", idx);
	n = len / sizeof(*ent);
	/* IA32_TSC_DEADLINE after IA32_TSC, in a chunk of its own. */
	last = n;
	for (i = 0; i < n; i++)
		if (ent[i].index == MSR_IA32_TSC_DEADLINE) {
			dl = ent[i];
			have_dl = true;
			last = i;
		}
	if (msr_write(fd, idx, ent, last, e) < 0 ||
	    (last + 1 < n && msr_write(fd, idx, ent + last + 1,
	    n - last - 1, e) < 0) ||
	    (have_dl && msr_write(fd, idx, &dl, 1, e) < 0))
		return SBX_EIO;
	LOAD(SNAP_T_EVENTS, struct kvm_vcpu_events, KVM_SET_VCPU_EVENTS);
	if (ioctl(fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
		vmm_log("vCPU %u: KVM_KVMCLOCK_CTRL: %s", idx, strerror(errno));
	return 0;
}

int
state_save_vm(int vm_fd, struct sbx_buf *b, struct sbx_err *e)
{
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clk;
	struct kvm_irqchip chip;
	unsigned idx = 0;

	SAVE(vm_fd, KVM_GET_PIT2, SNAP_T_PIT2, pit);
	memset(&clk, 0, sizeof(clk));
	SAVE(vm_fd, KVM_GET_CLOCK, SNAP_T_CLOCK, clk);
	for (idx = 0; idx < 3; idx++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = idx;
		SAVE(vm_fd, KVM_GET_IRQCHIP, SNAP_T_IRQCHIP, chip);
	}
	return 0;
fail:
	return SBX_EIO;
}

int
state_load_vm(int vm_fd, const struct snap_image *img, struct sbx_err *e)
{
	const struct kvm_clock_data *saved;
	struct kvm_clock_data clk;
	const struct kvm_irqchip *chip;
	unsigned idx = 0;
	int fd = vm_fd;

	LOAD(SNAP_T_PIT2, struct kvm_pit_state2, KVM_SET_PIT2);
	saved = need(img, SNAP_T_CLOCK, 0, sizeof(clk), "clock", e);
	if (!saved)
		return SBX_ECORRUPT;
	/* flags 0: the guest clock continues where it stopped. */
	memset(&clk, 0, sizeof(clk));
	clk.clock = saved->clock;
	if (put(vm_fd, KVM_SET_CLOCK, &clk, "KVM_SET_CLOCK", 0, e) < 0)
		return SBX_EIO;
	for (idx = 0; idx < 3; idx++) {
		chip = need(img, SNAP_T_IRQCHIP, idx, sizeof(*chip), "irqchip",
		    e);
		if (!chip)
			return SBX_ECORRUPT;
		if (chip->chip_id != idx)
			return sbx_err_set(e, SBX_ECORRUPT, "snapshot irqchip "
			    "record %u names chip %u", idx, chip->chip_id);
		if (put(vm_fd, KVM_SET_IRQCHIP, chip, "KVM_SET_IRQCHIP", idx,
		    e) < 0)
			return SBX_EIO;
	}
	return 0;
}
