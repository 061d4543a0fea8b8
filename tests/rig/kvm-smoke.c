/*
 * kvm-smoke - the rig's self-test: proves /dev/kvm runs a guest, through
 * the raw KVM API and nothing else.
 *
 *   kvm-smoke            runs a tiny 64-bit guest (identity-mapped page
 *                        tables, a GDT, long mode set up through sregs)
 *                        that does port I/O out and in, an MMIO write and
 *                        read at an unmapped address, and halts; checks
 *                        every exit and value. Prints "ok" lines (TAP
 *                        style) and exits 0, or names the mismatch and
 *                        exits 1.
 *   kvm-smoke --loop N   runs N `out` instructions in a loop and prints
 *                        the time per I/O exit: "exit_ns NNN".
 *   kvm-smoke --caps     prints "name value" for the capabilities sbx-vmm
 *                        relies on; exits 1 when a required one is 0.
 *
 * Works on hardware KVM (kvm_intel, kvm_amd) and on PVM hosts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/banned.h"

#define MEM_SIZE	(2u << 20)	/* guest RAM at GPA 0 */
#define PML4		0x1000
#define PDPT		0x2000
#define PD		0x3000
#define GDT		0x4000
#define CODE		0x10000
#define STACK		0x20000
#define MMIO_GPA	0x10000000u	/* mapped by the page tables, no slot */
#define PORT		0x1234
#define IN_VALUE	0x99
#define MMIO_VALUE	0xdeadbeefu

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
};

static void
die(const char *what)
{
	fprintf(stderr, "kvm-smoke: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int failures;

static void
check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "ok - ..." or "not ok - ..." for one expectation. */
static void
check(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!ok)
		failures++;
}

static const char *
exit_name(unsigned r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	default: return "other";
	}
}

/* 64-bit code/data segment for sregs. */
static void
seg64(struct kvm_segment *s, uint16_t sel, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = code ? 11 : 3;	/* execute/read accessed, rw accessed */
	s->present = 1;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

/* Creates the VM with identity-mapped long mode, `code` at CODE. */
static void
vm_setup(struct vm *v, const uint8_t *code, size_t len, uint64_t rcx)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_cpuid2 *cpuid;
	uint64_t *pml4, *pdpt, *pd, *gdt;
	int i, n;

	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		die("cannot open /dev/kvm");
	if (ioctl(v->kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fprintf(stderr, "kvm-smoke: KVM API version is not %d\n",
		    KVM_API_VERSION);
		exit(1);
	}
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		die("KVM_CREATE_VM");
	/* VMX needs a TSS area; SVM and PVM ignore or refuse it harmlessly. */
	(void)ioctl(v->vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	v->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->mem == MAP_FAILED)
		die("mmap guest memory");
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)v->mem;
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");

	/* 1 GiB identity map with 2 MiB pages: covers RAM and MMIO_GPA. */
	pml4 = (uint64_t *)(v->mem + PML4);
	pdpt = (uint64_t *)(v->mem + PDPT);
	pd = (uint64_t *)(v->mem + PD);
	pml4[0] = PDPT | 0x3;			/* present, writable */
	pdpt[0] = PD | 0x3;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, rw, 2M */
	gdt = (uint64_t *)(v->mem + GDT);
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;		/* 0x08: 64-bit code */
	gdt[2] = 0x00cf93000000ffffull;		/* 0x10: data */
	memcpy(v->mem + CODE, code, len);

	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0)
		die("KVM_CREATE_VCPU");
	n = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (n < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE");
	v->run_size = (size_t)n;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
	    v->vcpu, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");

	cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
	if (!cpuid)
		die("calloc");
	cpuid->nent = 256;
	if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0 &&
	    ioctl(v->vcpu, KVM_SET_CPUID2, cpuid) < 0)
		die("KVM_SET_CPUID2");
	free(cpuid);

	if (ioctl(v->vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	seg64(&sregs.cs, 0x08, 1);
	seg64(&sregs.ds, 0x10, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr3 = PML4;
	sregs.cr4 = 1u << 5;				/* PAE */
	sregs.cr0 = 0x80000033u;			/* PG NE ET MP PE */
	sregs.efer = 0x500;				/* LMA LME */
	if (ioctl(v->vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE;
	regs.rsp = STACK;
	regs.rflags = 0x2;
	regs.rcx = rcx;
	if (ioctl(v->vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");
}

static void
vm_run(struct vm *v)
{
	while (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN)
			continue;
		die("KVM_RUN");
	}
}

/* Describes an unexpected exit and counts a failure. */
static void
unexpected(struct vm *v, const char *wanted)
{
	struct kvm_run *r = v->run;

	check(0, "expected a %s exit, got %s (%u)", wanted,
	    exit_name(r->exit_reason), r->exit_reason);
	if (r->exit_reason == KVM_EXIT_FAIL_ENTRY)
		printf("# hardware entry failure reason 0x%llx\n",
		    (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		printf("# internal error suberror %u\n", r->internal.suberror);
}

static uint8_t *
io_data(struct vm *v)
{
	return (uint8_t *)v->run + v->run->io.data_offset;
}

static int
smoke(void)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0x34, 0x12,			/* mov dx, 0x1234 */
		0xb0, 0x42,				/* mov al, 0x42 */
		0xee,					/* out dx, al */
		0xec,					/* in al, dx */
		0x48, 0xc7, 0xc3, 0x00, 0x00, 0x00, 0x10, /* mov rbx, MMIO */
		0x89, 0x03,				/* mov [rbx], eax */
		0x8b, 0x4b, 0x08,			/* mov ecx, [rbx+8] */
		0x89, 0xc8,				/* mov eax, ecx */
		0xff, 0xc2,				/* inc edx */
		0xef,					/* out dx, eax */
		0xf4,					/* hlt */
	};
	struct vm v;
	struct kvm_run *r;
	uint32_t val;

	vm_setup(&v, code, sizeof(code), 0);
	r = v.run;

	vm_run(&v);
	if (r->exit_reason != KVM_EXIT_IO)
		return unexpected(&v, "port OUT"), 1;
	check(r->io.direction == KVM_EXIT_IO_OUT && r->io.port == PORT &&
	    r->io.size == 1 && r->io.count == 1 && io_data(&v)[0] == 0x42,
	    "out: port 0x%x size %u count %u dir %u data 0x%x (want "
	    "out 0x1234 1 byte 0x42)", r->io.port, r->io.size, r->io.count,
	    r->io.direction, io_data(&v)[0]);

	vm_run(&v);
	if (r->exit_reason != KVM_EXIT_IO)
		return unexpected(&v, "port IN"), 1;
	check(r->io.direction == KVM_EXIT_IO_IN && r->io.port == PORT &&
	    r->io.size == 1 && r->io.count == 1,
	    "in: port 0x%x size %u dir %u (want in 0x1234 1 byte)",
	    r->io.port, r->io.size, r->io.direction);
	io_data(&v)[0] = IN_VALUE;

	vm_run(&v);
	if (r->exit_reason != KVM_EXIT_MMIO)
		return unexpected(&v, "MMIO write"), 1;
	memcpy(&val, r->mmio.data, 4);
	check(r->mmio.is_write && r->mmio.phys_addr == MMIO_GPA &&
	    r->mmio.len == 4 && val == IN_VALUE,
	    "mmio write: gpa 0x%llx len %u value 0x%x (want 0x%x 4 bytes "
	    "0x%x, the value read from the port)",
	    (unsigned long long)r->mmio.phys_addr, r->mmio.len, val,
	    MMIO_GPA, IN_VALUE);

	vm_run(&v);
	if (r->exit_reason != KVM_EXIT_MMIO)
		return unexpected(&v, "MMIO read"), 1;
	check(!r->mmio.is_write && r->mmio.phys_addr == MMIO_GPA + 8 &&
	    r->mmio.len == 4, "mmio read: gpa 0x%llx len %u (want 0x%x 4 "
	    "bytes)", (unsigned long long)r->mmio.phys_addr, r->mmio.len,
	    MMIO_GPA + 8);
	val = MMIO_VALUE;
	memcpy(r->mmio.data, &val, 4);

	vm_run(&v);
	if (r->exit_reason != KVM_EXIT_IO)
		return unexpected(&v, "port OUT of the MMIO value"), 1;
	memcpy(&val, io_data(&v), 4);
	check(r->io.direction == KVM_EXIT_IO_OUT && r->io.port == PORT + 1 &&
	    r->io.size == 4 && val == MMIO_VALUE,
	    "out: port 0x%x size %u value 0x%x (want 0x1235 4 bytes 0x%x, "
	    "the value read from MMIO)", r->io.port, r->io.size, val,
	    MMIO_VALUE);

	vm_run(&v);
	if (r->exit_reason != KVM_EXIT_HLT)
		return unexpected(&v, "HLT"), 1;
	check(1, "hlt");
	return failures ? 1 : 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
loop(uint64_t n)
{
	static const uint8_t code[] = {
		0x66, 0xba, 0x34, 0x12,		/* mov dx, 0x1234 */
		0xee,				/* 1: out dx, al */
		0xe2, 0xfd,			/* loop 1b */
		0xf4,				/* hlt */
	};
	struct vm v;
	uint64_t exits = 0, t0, t1;

	vm_setup(&v, code, sizeof(code), n);
	t0 = now_ns();
	for (;;) {
		vm_run(&v);
		if (v.run->exit_reason == KVM_EXIT_HLT)
			break;
		if (v.run->exit_reason != KVM_EXIT_IO) {
			unexpected(&v, "IO");
			return 1;
		}
		exits++;
	}
	t1 = now_ns();
	if (exits != n) {
		fprintf(stderr, "kvm-smoke: %llu I/O exits, expected %llu\n",
		    (unsigned long long)exits, (unsigned long long)n);
		return 1;
	}
	printf("exits %llu\ntotal_ns %llu\nexit_ns %llu\n",
	    (unsigned long long)n, (unsigned long long)(t1 - t0),
	    (unsigned long long)((t1 - t0) / n));
	return 0;
}

static int
caps(void)
{
	static const struct { const char *name; int cap; int required; } c[] = {
		{ "USER_MEMORY", KVM_CAP_USER_MEMORY, 1 },
		{ "IRQCHIP", KVM_CAP_IRQCHIP, 1 },
		{ "PIT2", KVM_CAP_PIT2, 0 },
		{ "IOEVENTFD", KVM_CAP_IOEVENTFD, 1 },
		{ "IRQFD", KVM_CAP_IRQFD, 1 },
		{ "IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT, 1 },
		{ "VCPU_EVENTS", KVM_CAP_VCPU_EVENTS, 1 },
		{ "XSAVE", KVM_CAP_XSAVE, 0 },
		{ "XCRS", KVM_CAP_XCRS, 0 },
		{ "DEBUGREGS", KVM_CAP_DEBUGREGS, 0 },
		{ "KVMCLOCK_CTRL", KVM_CAP_KVMCLOCK_CTRL, 0 },
		{ "ADJUST_CLOCK", KVM_CAP_ADJUST_CLOCK, 0 },
		{ "TSC_CONTROL", KVM_CAP_TSC_CONTROL, 0 },
		{ "MANUAL_DIRTY_LOG_PROTECT2", KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		  0 },
		{ "DIRTY_LOG_RING", KVM_CAP_DIRTY_LOG_RING, 0 },
		{ "NR_VCPUS", KVM_CAP_NR_VCPUS, 1 },
		{ "MAX_VCPUS", KVM_CAP_MAX_VCPUS, 1 },
		{ "NR_MEMSLOTS", KVM_CAP_NR_MEMSLOTS, 1 },
	};
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	size_t i;
	int bad = 0;

	if (kvm < 0)
		die("cannot open /dev/kvm");
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int v = ioctl(kvm, KVM_CHECK_EXTENSION, c[i].cap);

		printf("%s %d%s\n", c[i].name, v,
		    c[i].required && v <= 0 ? " (required, missing)" : "");
		if (c[i].required && v <= 0)
			bad = 1;
	}
	close(kvm);
	return bad;
}

int
main(int argc, char **argv)
{
	struct sbx_err e = { 0 };
	long long n;

	if (argc == 1)
		return smoke();
	if (argc == 2 && !strcmp(argv[1], "--caps"))
		return caps();
	if (argc == 3 && !strcmp(argv[1], "--loop")) {
		if (sbx_parse_int(argv[2], 1, 1000000000, &n, &e) < 0) {
			fprintf(stderr, "kvm-smoke: %s\n", e.msg);
			return 2;
		}
		return loop((uint64_t)n);
	}
	fputs("usage: kvm-smoke [--loop N | --caps]\n", stderr);
	return 2;
}
