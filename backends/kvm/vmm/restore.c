/*
 * restore.c - building and running a VM from snapshot state: the
 * `sbx-vmm --restore DIR` program and the body of a fork child
 * (snapshot.h).
 *
 * The VM is first built as for a boot from the recorded configuration
 * (same devices in the same slots, same vCPU count and memory layout);
 * then guest RAM is replaced - the memory file mapped MAP_PRIVATE over
 * it, or the parent's inherited copy-on-write mapping moved there - and
 * the recorded state is replayed: vCPUs (VMM-NOTES 9.3 order), VM
 * (PIT, clock, irqchips), devices; then the vCPUs start.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/control.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/snapstate.h"
#include "kvm/vmm/state.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

struct rmain {
	struct vmm *vm;
	struct control *ctl;
	int sigfd;
};

static void
on_signal(void *arg, uint32_t events)
{
	struct rmain *m = arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(m->sigfd, &si, sizeof(si)) == sizeof(si))
		vmm_exit(m->vm, SBX_VMM_EXIT_STOPPED);
}

static void
on_vm_event(struct vmm *vm, const char *event, void *arg)
{
	struct rmain *m = arg;

	(void)vm;
	control_event(m->ctl, event, 0);
}

/* The recorded configuration, with the run's overrides. */
static int
config_load(const struct snap_image *img, json_t **jout,
    struct vmm_config *cfg, const struct snap_run *run, struct sbx_err *e)
{
	const char *p;
	size_t len;
	json_t *j, *v;
	json_error_t jerr;

	p = snap_find(img, SNAP_T_CONFIG, 0, 0, &len);
	if (!p || !(j = json_loadb(p, len, 0, &jerr)) || !json_is_object(j))
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot state has no "
		    "valid configuration record");
	*jout = j;
	memset(cfg, 0, sizeof(*cfg));
	cfg->kernel = json_string_value(json_object_get(j, "kernel"));
	cfg->initrd = json_string_value(json_object_get(j, "initrd"));
	cfg->cmdline = json_string_value(json_object_get(j, "cmdline"));
	cfg->disk = json_string_value(json_object_get(j, "disk"));
	cfg->vsock = json_string_value(json_object_get(j, "vsock"));
	cfg->net = json_string_value(json_object_get(j, "net"));
	cfg->disk_ro = json_is_true(json_object_get(j, "disk_ro"));
	cfg->rng = json_is_true(json_object_get(j, "rng"));
	cfg->memory = json_integer_value(json_object_get(j, "memory"));
	v = json_object_get(j, "vcpus");
	cfg->vcpus = json_integer_value(v);
	cfg->cid = json_integer_value(json_object_get(j, "cid"));
	if (!cfg->kernel || !cfg->cmdline || !cfg->memory || !cfg->vcpus ||
	    cfg->vcpus > VMM_MAX_VCPUS)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot configuration "
		    "lacks kernel, cmdline, memory or vcpus");
	if (cfg->vsock && run->vsock)
		cfg->vsock = run->vsock;
	cfg->serial_log = run->serial_log;
	cfg->id = run->id;
	return 0;
}

/* Puts the snapshot's RAM under the VM's memory slots. */
static int
memory_attach(struct vmm *vm, const struct snap_image *img,
    const struct snap_run *run, struct sbx_err *e)
{
	const struct snap_mem *sm;
	void *p;

	sm = snap_find(img, SNAP_T_MEM, 0, sizeof(*sm), NULL);
	if (!sm || sm->size != vm->mem.size || sm->low != vm->mem.low ||
	    sm->high != vm->mem.high)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot memory layout "
		    "does not match its configuration");
	if (run->inherit) {
		p = mremap(run->inherit, vm->mem.size, vm->mem.size,
		    MREMAP_MAYMOVE | MREMAP_FIXED, vm->mem.host);
		if (p == MAP_FAILED)
			return sbx_err_sys(e, "cannot move the inherited "
			    "guest memory");
		return 0;
	}
	{
		struct stat st;

		if (fstat(run->mem_fd, &st) < 0)
			return sbx_err_sys(e, "cannot stat the memory file");
		if ((uint64_t)st.st_size != sm->file_size)
			return sbx_err_set(e, SBX_ECORRUPT, "snapshot memory "
			    "file has %lld bytes, the state says %llu "
			    "(truncated or from another snapshot)",
			    (long long)st.st_size,
			    (unsigned long long)sm->file_size);
	}
	p = mmap(vm->mem.host, vm->mem.size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, run->mem_fd, 0);
	if (p == MAP_FAILED)
		return sbx_err_sys(e, "cannot map the memory file");
	return 0;
}

static void
report(int fd, const char *fmt, const char *arg)
{
	char line[SBX_ERR_MSG_MAX + 64];
	int n;

	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), fmt, arg);
	if (n > 0 && write(fd, line, (size_t)n < sizeof(line) ? (size_t)n :
	    sizeof(line) - 1) < 0) {
		/* the parent gave up waiting; nothing to tell */
	}
	close(fd);
}

int
snap_run_vm(struct snap_image *img, const struct snap_run *run)
{
	struct rmain m = { .sigfd = -1 };
	struct vmm_config cfg;
	struct sbx_err e = { 0 };
	struct loop *loop = NULL;
	json_t *cj = NULL;
	sigset_t set;
	unsigned i;
	int status;
	char pid[32];
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	vmm_log_set_id(run->id);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);	/* unblocked in vCPU threads only */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);
	if (config_load(img, &cj, &cfg, run, &e) < 0)
		goto fail;
	snap_set_config(&cfg);
	if (!(loop = loop_new(&e)))
		goto fail;
	if (!(m.vm = vmm_create(&cfg, loop, &e)))
		goto fail;
	if (memory_attach(m.vm, img, run, &e) < 0)
		goto fail;
	for (i = 0; i < m.vm->nvcpu; i++)
		if (state_load_vcpu(m.vm->vcpu[i].fd, i, img, &e) < 0)
			goto fail;
	if (state_load_vm(m.vm->vm_fd, img, &e) < 0 ||
	    snapstate_load_devices(m.vm, img, &e) < 0)
		goto fail;
	snapstate_after_restore(m.vm);
	m.vm->on_event = on_vm_event;
	m.vm->event_arg = &m;
	m.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sigfd < 0 || loop_add(loop, m.sigfd, EPOLLIN, on_signal, &m)) {
		sbx_err_sys(&e, "signalfd");
		goto fail;
	}
	if (run->control &&
	    !(m.ctl = control_new(run->control, m.vm, loop, &e)))
		goto fail;
	if (vmm_start(m.vm, &e) < 0)
		goto fail;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	report(run->report_fd, "ok %s\n", pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	vmm_log("restored %u vCPUs, %llu MiB in %lld us", m.vm->nvcpu,
	    (unsigned long long)(m.vm->mem.size >> 20),
	    (long long)((t1.tv_sec - t0.tv_sec) * 1000000LL +
	    (t1.tv_nsec - t0.tv_nsec) / 1000));
	if (loop_run(loop) < 0) {
		vmm_log("I/O loop failed: %s", strerror(errno));
		vmm_exit(m.vm, SBX_VMM_EXIT_ERROR);
	}
	status = m.vm->exit_status;
	control_event(m.ctl, "exit", status);
	control_free(m.ctl);
	vmm_destroy(m.vm);
	loop_free(loop);
	json_decref(cj);
	return status;
fail:
	vmm_log("cannot restore: %s", e.msg);
	report(run->report_fd, "error %s\n", e.msg);
	control_free(m.ctl);
	vmm_destroy(m.vm);
	loop_free(loop);
	json_decref(cj);
	return e.code == SBX_EUSAGE ? SBX_VMM_EXIT_USAGE : SBX_VMM_EXIT_ERROR;
}

static const char restore_usage[] =
    "usage: sbx-vmm --restore DIR [--control SOCK] [--vsock SOCK]\n"
    "               [--serial-log PATH] [--id SBXID]\n";

int
snap_restore_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "restore", required_argument, NULL, 'R' },
		{ "control", required_argument, NULL, 's' },
		{ "vsock", required_argument, NULL, 'v' },
		{ "serial-log", required_argument, NULL, 'l' },
		{ "id", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct snap_run run = { .report_fd = -1, .mem_fd = -1 };
	struct snap_image img;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e = { 0 };
	const char *dir = NULL;
	char path[4096];
	size_t len;
	int o, st;

	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'R':
			dir = optarg;
			break;
		case 's':
			run.control = optarg;
			break;
		case 'v':
			run.vsock = optarg;
			break;
		case 'l':
			run.serial_log = optarg;
			break;
		case 'I':
			run.id = optarg;
			break;
		default:
			fprintf(stderr, "sbx-vmm: unknown or incomplete option "
			    "'%s'\n%s", argv[optind - 1], restore_usage);
			return SBX_VMM_EXIT_USAGE;
		}
	}
	if (!dir || optind < argc) {
		fputs(restore_usage, stderr);
		return SBX_VMM_EXIT_USAGE;
	}
	vmm_log_set_id(run.id);
	snprintf(path, sizeof(path), "%s/state", dir);
	if (sbx_buf_read_file(&b, path, &e) < 0) {
		vmm_log("cannot restore: %s", e.msg);
		return SBX_VMM_EXIT_ERROR;
	}
	{
		char *data = sbx_buf_detach(&b, &len);

		if (snap_image_parse(&img, data, len, path, &e) < 0) {
			vmm_log("cannot restore: %s", e.msg);
			snap_image_free(&img);
			return SBX_VMM_EXIT_ERROR;
		}
	}
	snprintf(path, sizeof(path), "%s/memory", dir);
	run.mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (run.mem_fd < 0) {
		vmm_log("cannot restore: cannot open '%s': %s", path,
		    strerror(errno));
		snap_image_free(&img);
		return SBX_VMM_EXIT_ERROR;
	}
	st = snap_run_vm(&img, &run);
	close(run.mem_fd);
	snap_image_free(&img);
	return st;
}
