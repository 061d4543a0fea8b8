/*
 * hostinfo.h - what kind of virtualization host this is (`sbx doctor`).
 *
 * sbx runs guests on hardware KVM (kvm_intel / kvm_amd) directly. A PVM
 * host (kvm_pvm: pagetable-based virtual machine, as on many cloud VMs)
 * exposes /dev/kvm too but runs only PVM-enabled guest kernels; stock
 * kernels cannot boot there. Without KVM sbx cannot run guests itself.
 */
#ifndef SBX_HOSTINFO_H
#define SBX_HOSTINFO_H

enum sbx_virt {
	SBX_VIRT_NONE = 0,
	SBX_VIRT_HW_INTEL,
	SBX_VIRT_HW_AMD,
	SBX_VIRT_PVM,
};

struct sbx_hostinfo {
	enum sbx_virt virt;
	const char *kvm_module;	/* "kvm_intel", "kvm_amd", "kvm_pvm" or NULL */
	int kvm_present;	/* /dev/kvm exists */
	int kvm_usable;		/* opened read-write and answered API 12 */
	int kvm_errno;		/* why it could not be opened, or 0 */
	int kvm_api;		/* KVM_GET_API_VERSION, or -1 */
	int nested;		/* the vendor module's nested=Y, or -1 */
	int cpu_virt_flag;	/* /proc/cpuinfo lists vmx or svm */
	char cpu_vendor[16];	/* "GenuineIntel", "AuthenticAMD", "" */
	char cpu_model[80];
	char kernel[80];	/* uname -r */
	char qemu[256];		/* path of qemu-system-x86_64 or "" */
};

/*
 * Fills `hi` by reading <root>/sys/module, <root>/dev/kvm and
 * <root>/proc/cpuinfo. `root` is "" for the real host (tests pass a
 * fake tree). Never fails: what cannot be read is reported as absent.
 */
void sbx_hostinfo_probe(struct sbx_hostinfo *hi, const char *root);

/* "hardware-intel", "hardware-amd", "pvm" or "none". */
const char *sbx_virt_name(enum sbx_virt v);

/* One plain sentence saying what the host means for running sbx. */
const char *sbx_hostinfo_verdict(const struct sbx_hostinfo *hi);

/* 1 when sbx can boot stock guest kernels here directly. */
int sbx_hostinfo_can_run(const struct sbx_hostinfo *hi);

#endif
