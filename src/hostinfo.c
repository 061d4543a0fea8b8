/*
 * hostinfo.c - host virtualization probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "hostinfo.h"
#include "core/banned.h"

static int
exists(const char *root, const char *path)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", root, path);
	return stat(p, &st) == 0;
}

/* Reads the first line of a small file; returns 0 or -1. */
static int
read_line(const char *root, const char *path, char *buf, size_t len)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s%s", root, path);
	f = fopen(p, "re");
	if (!f)
		return -1;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static void
probe_cpu(struct sbx_hostinfo *hi, const char *root)
{
	char p[512], line[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/proc/cpuinfo", root);
	f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v = strchr(line, ':');

		if (!v)
			continue;
		v++;
		v += strspn(v, " \t");
		v[strcspn(v, "\n")] = '\0';
		if (!strncmp(line, "vendor_id", 9) && !hi->cpu_vendor[0])
			snprintf(hi->cpu_vendor, sizeof(hi->cpu_vendor), "%s",
			    v);
		else if (!strncmp(line, "model name", 10) && !hi->cpu_model[0])
			snprintf(hi->cpu_model, sizeof(hi->cpu_model), "%s", v);
		else if (!strncmp(line, "flags", 5)) {
			char *w, *save = NULL;

			for (w = strtok_r(v, " ", &save); w;
			    w = strtok_r(NULL, " ", &save))
				if (!strcmp(w, "vmx") || !strcmp(w, "svm"))
					hi->cpu_virt_flag = 1;
			break;
		}
	}
	fclose(f);
}

static void
probe_qemu(struct sbx_hostinfo *hi)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (!path)
		path = "/usr/bin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		if (!end)
			end = p + strlen(p);
		if (end > p) {
			snprintf(hi->qemu, sizeof(hi->qemu),
			    "%.*s/qemu-system-x86_64", (int)(end - p), p);
			if (access(hi->qemu, X_OK) == 0)
				return;
		}
		if (!*end)
			break;
	}
	hi->qemu[0] = '\0';
}

void
sbx_hostinfo_probe(struct sbx_hostinfo *hi, const char *root)
{
	char p[512], v[16];
	struct utsname u;
	int fd;

	memset(hi, 0, sizeof(*hi));
	hi->kvm_api = -1;
	hi->nested = -1;
	if (!root)
		root = "";
	if (exists(root, "/sys/module/kvm_intel")) {
		hi->virt = SBX_VIRT_HW_INTEL;
		hi->kvm_module = "kvm_intel";
	} else if (exists(root, "/sys/module/kvm_amd")) {
		hi->virt = SBX_VIRT_HW_AMD;
		hi->kvm_module = "kvm_amd";
	} else if (exists(root, "/sys/module/kvm_pvm")) {
		hi->virt = SBX_VIRT_PVM;
		hi->kvm_module = "kvm_pvm";
	}
	if (hi->kvm_module && hi->virt != SBX_VIRT_PVM) {
		snprintf(p, sizeof(p), "/sys/module/%s/parameters/nested",
		    hi->kvm_module);
		if (read_line(root, p, v, sizeof(v)) == 0)
			hi->nested = v[0] == 'Y' || v[0] == 'y' || v[0] == '1';
	}
	snprintf(p, sizeof(p), "%s/dev/kvm", root);
	hi->kvm_present = exists(root, "/dev/kvm");
	if (hi->kvm_present) {
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			hi->kvm_errno = errno;
		} else {
			hi->kvm_api = ioctl(fd, KVM_GET_API_VERSION, 0);
			hi->kvm_usable = hi->kvm_api == KVM_API_VERSION;
			close(fd);
		}
	}
	/* /dev/kvm without a known vendor module: call it what it is. */
	probe_cpu(hi, root);
	if (uname(&u) == 0)
		snprintf(hi->kernel, sizeof(hi->kernel), "%s", u.release);
	probe_qemu(hi);
}

const char *
sbx_virt_name(enum sbx_virt v)
{
	switch (v) {
	case SBX_VIRT_HW_INTEL: return "hardware-intel";
	case SBX_VIRT_HW_AMD: return "hardware-amd";
	case SBX_VIRT_PVM: return "pvm";
	default: return "none";
	}
}

int
sbx_hostinfo_can_run(const struct sbx_hostinfo *hi)
{
	return (hi->virt == SBX_VIRT_HW_INTEL || hi->virt == SBX_VIRT_HW_AMD)
	    && hi->kvm_usable;
}

const char *
sbx_hostinfo_verdict(const struct sbx_hostinfo *hi)
{
	switch (hi->virt) {
	case SBX_VIRT_HW_INTEL:
	case SBX_VIRT_HW_AMD:
		if (hi->kvm_usable)
			return "this host has hardware KVM: sbx boots stock "
			    "Debian guest kernels here directly, at full speed";
		if (hi->kvm_present && hi->kvm_errno == EACCES)
			return "this host has hardware KVM but you cannot open "
			    "/dev/kvm: add yourself to the 'kvm' group "
			    "(or run as root)";
		return "the KVM module is loaded but /dev/kvm is not usable, "
		    "so sbx cannot start guests here";
	case SBX_VIRT_PVM:
		return "this host's KVM is PVM (kvm_pvm), which runs only "
		    "PVM-enabled guest kernels: stock Debian guest kernels "
		    "cannot run here: run them in 'sbx machine start' (a "
		    "QEMU VM emulating an AMD-V host, 20-50x slower), or set "
		    "a PVM-enabled kernel with 'kernel:' in the template";
	default:
		if (hi->kvm_present)
			return "/dev/kvm exists but no known KVM module is "
			    "loaded, so sbx cannot tell whether guests can "
			    "run here";
		return "this host has no KVM: sbx cannot run guests here "
		    "itself; use 'sbx machine start' (QEMU emulation, "
		    "slow) or --remote with an sbx server on a KVM host";
	}
}
