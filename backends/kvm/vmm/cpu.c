/*
 * cpu.c - vCPU set-up for the 64-bit boot protocol (cpu.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/cpu.h"
#include "kvm/vmm/layout.h"
#include "kvm/vmm/mem.h"
#include "core/banned.h"

#define GDT_CODE 2		/* selector 0x10 = __BOOT_CS */
#define GDT_DATA 3		/* selector 0x18 = __BOOT_DS */
#define GDT_TSS 4
#define GDT_N 5

/* Number of bits needed to number `n` things. */
static unsigned
width(unsigned n)
{
	unsigned w = 0;

	while ((1u << w) < n)
		w++;
	return w;
}

void
cpu_cpuid_normalize(struct kvm_cpuid_entry2 *ent, unsigned n, unsigned index,
    unsigned count)
{
	unsigned i, w = width(count);

	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *c = &ent[i];

		switch (c->function) {
		case 1:
			c->ebx = (c->ebx & 0xff) | 8 << 8 |
			    (1u << w) << 16 | index << 24;
			c->ecx |= 1u << 24 | 1u << 31;	/* TSC-deadline, HV */
			c->ecx &= ~(1u << 15);		/* PDCM */
			if (count > 1)
				c->edx |= 1u << 28;	/* HTT */
			else
				c->edx &= ~(1u << 28);
			break;
		case 4:
			c->eax &= 0x3fff;
			c->eax |= (count - 1) << 26;
			if (((c->eax >> 5) & 7) >= 3)	/* L3: shared */
				c->eax |= (count - 1) << 14;
			break;
		case 6:
			c->eax &= ~(1u << 1);		/* turbo */
			c->ecx &= ~(1u << 3);		/* EPB */
			break;
		case 0xa:
			c->eax = c->ebx = c->ecx = c->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			c->edx = index;
			if (c->index == 0) {		/* SMT: 1 thread/core */
				c->eax = 0;
				c->ebx = 1;
				c->ecx = 1 << 8;
			} else if (c->index == 1) {	/* cores */
				c->eax = w;
				c->ebx = count;
				c->ecx = 1 | 2 << 8;
			} else {
				c->eax = c->ebx = 0;
				c->ecx = c->index;
			}
			break;
		case 0x80000001:
			c->ecx &= ~(1u << 1);		/* CmpLegacy */
			break;
		case 0x80000008:
			c->ecx = (c->ecx & ~0xf0ffu) | (count - 1) | w << 12;
			break;
		case 0x8000001e:
			c->eax = index;
			c->ebx = index & 0xff;		/* 1 thread per core */
			c->ecx = 0;
			break;
		}
	}
}

/* Packs a GDT descriptor from access/flags word, base and limit. */
static uint64_t
gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) |
	    ((uint64_t)(flags & 0xf0ff) << 40) |
	    ((uint64_t)(limit & 0xf0000) << 32) |
	    ((uint64_t)(base & 0x00ffffff) << 16) | (limit & 0xffff);
}

static const uint16_t gdt_flags[GDT_N] = {
	0, 0, 0xa09b, 0xc093, 0x808b
};

/* Unpacks GDT entry `i` into the kvm_segment KVM_SET_SREGS wants. */
static void
gdt_segment(unsigned i, struct kvm_segment *s)
{
	uint16_t f = gdt_flags[i];

	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = i * 8;
	s->type = f & 0xf;
	s->s = (f >> 4) & 1;
	s->dpl = (f >> 5) & 3;
	s->present = (f >> 7) & 1;
	s->avl = (f >> 12) & 1;
	s->l = (f >> 13) & 1;
	s->db = (f >> 14) & 1;
	s->g = (f >> 15) & 1;
}

void
cpu_write_boot_tables(struct gmem *m)
{
	uint64_t gdt[GDT_N], *pd;
	uint64_t pml4 = LAYOUT_PDPT | 3, pdpt = LAYOUT_PD | 3, idt = 0;
	unsigned i;

	for (i = 0; i < GDT_N; i++)
		gdt[i] = gdt_flags[i] ? gdt_entry(gdt_flags[i], 0, 0xfffff) : 0;
	gmem_write(m, LAYOUT_GDT, gdt, sizeof(gdt));
	gmem_write(m, LAYOUT_IDT, &idt, sizeof(idt));
	gmem_write(m, LAYOUT_PML4, &pml4, 8);
	gmem_write(m, LAYOUT_PDPT, &pdpt, 8);
	pd = gmem_ptr_w(m, LAYOUT_PD, 4096);
	for (i = 0; i < 512; i++)
		pd[i] = (uint64_t)i << 21 | 0x83;	/* P, RW, 2 MiB */
}

struct msr_init {
	uint32_t index;
	uint64_t value;
};

static const struct msr_init boot_msrs[] = {
	{ 0x174, 0 }, { 0x175, 0 }, { 0x176, 0 },	/* SYSENTER_* */
	{ 0xc0000081, 0 }, { 0xc0000082, 0 },		/* STAR, LSTAR */
	{ 0xc0000083, 0 }, { 0xc0000084, 0 },		/* CSTAR, SFMASK */
	{ 0xc0000102, 0 },				/* KERNEL_GS_BASE */
	{ 0x10, 0 },					/* TSC */
	{ 0x1a0, 1 },					/* MISC_ENABLE */
	{ 0x2ff, 1 << 11 | 6 },				/* MTRRdefType WB */
};

#define NBOOT_MSRS (sizeof(boot_msrs) / sizeof(boot_msrs[0]))

static int
set_msrs(int fd, struct sbx_err *e)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry ent[NBOOT_MSRS];
	} m;
	unsigned i;
	int r;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = NBOOT_MSRS;
	for (i = 0; i < NBOOT_MSRS; i++) {
		m.ent[i].index = boot_msrs[i].index;
		m.ent[i].data = boot_msrs[i].value;
	}
	r = ioctl(fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return sbx_err_sys(e, "KVM_SET_MSRS");
	if (r != (int)NBOOT_MSRS)
		return sbx_err_set(e, SBX_EIO,
		    "KVM refused boot MSR 0x%x", boot_msrs[r].index);
	return 0;
}

/* LINT0 = ExtINT (PIC virtual wire), LINT1 = NMI. */
static int
set_lint(int fd, struct sbx_err *e)
{
	struct kvm_lapic_state la;
	uint32_t v;

	if (ioctl(fd, KVM_GET_LAPIC, &la) < 0)
		return sbx_err_sys(e, "KVM_GET_LAPIC");
	memcpy(&v, la.regs + 0x350, 4);
	v = (v & ~0x700u) | 7 << 8;
	memcpy(la.regs + 0x350, &v, 4);
	memcpy(&v, la.regs + 0x360, 4);
	v = (v & ~0x700u) | 4 << 8;
	memcpy(la.regs + 0x360, &v, 4);
	if (ioctl(fd, KVM_SET_LAPIC, &la) < 0)
		return sbx_err_sys(e, "KVM_SET_LAPIC");
	return 0;
}

int
cpu_init_vcpu(int fd, const struct kvm_cpuid2 *sup, unsigned index,
    unsigned count, struct sbx_err *e)
{
	size_t sz = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
	struct kvm_cpuid2 *c = xmalloc(sz);
	struct kvm_fpu fpu;
	int r;

	memcpy(c, sup, sz);
	cpu_cpuid_normalize(c->entries, c->nent, index, count);
	r = ioctl(fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0)
		return sbx_err_sys(e, "vCPU %u: KVM_SET_CPUID2", index);
	if ((r = set_msrs(fd, e)) < 0)
		return r;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0)
		return sbx_err_sys(e, "vCPU %u: KVM_SET_FPU", index);
	return set_lint(fd, e);
}

int
cpu_setup_bsp(int fd, uint64_t entry, struct sbx_err *e)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(fd, KVM_GET_SREGS, &s) < 0)
		return sbx_err_sys(e, "KVM_GET_SREGS");
	gdt_segment(GDT_CODE, &s.cs);
	gdt_segment(GDT_DATA, &s.ds);
	s.es = s.fs = s.gs = s.ss = s.ds;
	gdt_segment(GDT_TSS, &s.tr);
	s.gdt.base = LAYOUT_GDT;
	s.gdt.limit = GDT_N * 8 - 1;
	s.idt.base = LAYOUT_IDT;
	s.idt.limit = 7;
	s.cr3 = LAYOUT_PML4;
	s.cr4 |= 0x20;				/* PAE */
	s.cr0 |= 0x80000001;			/* PG | PE */
	s.efer |= 0x500;			/* LME | LMA */
	if (ioctl(fd, KVM_SET_SREGS, &s) < 0)
		return sbx_err_sys(e, "KVM_SET_SREGS");
	memset(&r, 0, sizeof(r));
	r.rflags = 2;
	r.rip = entry;
	r.rsp = r.rbp = LAYOUT_STACK;
	r.rsi = LAYOUT_ZERO_PAGE;
	if (ioctl(fd, KVM_SET_REGS, &r) < 0)
		return sbx_err_sys(e, "KVM_SET_REGS");
	return 0;
}
