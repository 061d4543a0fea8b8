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
#include <dirent.h>
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
#include "kvm/vmm/datadisk.h"
#include "kvm/vmm/delta.h"
#include "kvm/vmm/dirty.h"
#include "kvm/vmm/idle.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/net_policy.h"
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
	if (run->net && !cfg->net)
		return sbx_err_set(e, SBX_EUSAGE, "--net: the snapshot's "
		    "machine has no network device");
	if (run->net)	/* sbx's record of the sandbox's rules now */
		cfg->net = run->net;
	cfg->disk_ro = json_is_true(json_object_get(j, "disk_ro"));
	cfg->rng = json_is_true(json_object_get(j, "rng"));
	/* Absent in snapshots taken before the balloon existed. */
	cfg->balloon = json_is_true(json_object_get(j, "balloon"));
	cfg->memory = json_integer_value(json_object_get(j, "memory"));
	v = json_object_get(j, "vcpus");
	cfg->vcpus = json_integer_value(v);
	cfg->cid = json_integer_value(json_object_get(j, "cid"));
	if (!cfg->kernel || !cfg->cmdline || !cfg->memory || !cfg->vcpus ||
	    cfg->vcpus > VMM_MAX_VCPUS)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot configuration "
		    "lacks kernel, cmdline, memory or vcpus");
	if (datadisk_restore_config(j, run, cfg, e) < 0)
		return e->code;
	if (cfg->vsock && run->vsock)
		cfg->vsock = run->vsock;
	cfg->serial_log = run->serial_log;
	cfg->id = run->id;
	cfg->restoring = true;
	return 0;
}

/*
 * Moves the inherited RAM (a fork child's copy of its parent's mapping) to
 * the VM's address. The parent's RAM may be several mappings (a VM
 * restored from chunks maps each chunk file), and mremap moves one at a
 * time, so each mapping inside the range is moved to its offset.
 */
static int
move_inherited(uint8_t *from, uint8_t *to, uint64_t size, struct sbx_err *e)
{
	struct sbx_buf maps = SBX_BUF_INIT;
	uintptr_t lo = (uintptr_t)from, hi = lo + size;
	char *line, *save = NULL;
	int r = 0;

	if (mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to) !=
	    MAP_FAILED)
		return 0;
	if (errno != EFAULT)
		return sbx_err_sys(e, "cannot move the inherited guest memory");
	if (sbx_buf_read_file(&maps, "/proc/self/maps", e) < 0)
		return -1;
	for (line = strtok_r(maps.buf, "\n", &save); line && r == 0;
	    line = strtok_r(NULL, "\n", &save)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx", &a, &b) != 2 || b <= lo || a >= hi)
			continue;
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (mremap((void *)a, b - a, b - a, MREMAP_MAYMOVE |
		    MREMAP_FIXED, to + (a - lo)) == MAP_FAILED)
			r = sbx_err_sys(e, "cannot move the inherited guest "
			    "memory at +0x%lx", a - lo);
	}
	sbx_buf_release(&maps);
	return r;
}

/*
 * Maps DIR/memory.d/<offset> files (snapshot.c write_chunks) over guest
 * RAM; what no file covers stays zero. Names, sizes and overlaps are
 * checked: the directory may come from a damaged store.
 */
static int
attach_chunks(struct vmm *vm, const char *dir, struct sbx_err *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t *offs = NULL, *lens = NULL;
	size_t n = 0, cap = 0, i;
	int r = 0;

	if (!d)
		return sbx_err_sys(e, "cannot open '%s'", dir);
	while (r == 0 && (de = readdir(d))) {
		char path[4096], *end;
		unsigned long long off;
		struct stat st;
		void *p;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		errno = 0;
		off = strtoull(de->d_name, &end, 16);
		if (strlen(de->d_name) != 16 || *end || errno ||
		    off % GMEM_PAGE || off >= vm->mem.size) {
			r = sbx_err_set(e, SBX_ECORRUPT, "'%s/%s' is not a "
			    "memory chunk of this VM (want a page-aligned "
			    "offset below %llu as 16 hex digits)", dir,
			    de->d_name, (unsigned long long)vm->mem.size);
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = sbx_err_sys(e, "cannot open '%s'", path);
			if (fd >= 0)
				close(fd);
			break;
		}
		if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
		    (uint64_t)st.st_size % GMEM_PAGE ||
		    (uint64_t)st.st_size > vm->mem.size - off) {
			close(fd);
			r = sbx_err_set(e, SBX_ECORRUPT, "memory chunk '%s' "
			    "has %lld bytes: not whole pages inside guest "
			    "RAM", path, (long long)st.st_size);
			break;
		}
		p = mmap(vm->mem.host + off, st.st_size, PROT_READ |
		    PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, 0);
		close(fd);
		if (p == MAP_FAILED) {
			r = sbx_err_sys(e, "cannot map '%s'", path);
			break;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			offs = xrealloc(offs, cap * sizeof(*offs));
			lens = xrealloc(lens, cap * sizeof(*lens));
		}
		offs[n] = off;
		lens[n++] = (uint64_t)st.st_size;
	}
	closedir(d);
	/* Chunks must not overlap: which one would the guest see? */
	for (i = 0; r == 0 && i < n; i++) {
		size_t j;

		for (j = i + 1; j < n; j++)
			if (offs[i] < offs[j] + lens[j] &&
			    offs[j] < offs[i] + lens[i]) {
				r = sbx_err_set(e, SBX_ECORRUPT, "memory chunks "
				    "at 0x%llx and 0x%llx in '%s' overlap",
				    (unsigned long long)offs[i],
				    (unsigned long long)offs[j], dir);
				break;
			}
	}
	free(offs);
	free(lens);
	return r;
}

/*
 * Copies the pages of page delta `path` (delta.h) over the mapped RAM:
 * the only bytes of RAM a restore reads, as many as the diff snapshots
 * since the last whole chunks changed. NULL: there is none.
 */
static int
attach_delta(struct vmm *vm, const char *path, struct sbx_err *e)
{
	int64_t n;
	int fd;

	if (!path)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	n = delta_apply(fd, vm->mem.host, vm->mem.size, path, e);
	close(fd);
	if (n < 0)
		return -1;
	vmm_log("applied %lld pages of '%s'", (long long)n, path);
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
	if (run->inherit)
		return move_inherited(run->inherit, vm->mem.host,
		    vm->mem.size, e);
	if (run->mem_fd < 0 && run->mem_dir)
		return attach_chunks(vm, run->mem_dir, e) < 0 ? -1 :
		    attach_delta(vm, run->delta, e);
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
	return attach_delta(vm, run->delta, e);
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
	char pid[96];
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
	if (datadisk_restore_check(m.vm, cj, &e) < 0)
		goto fail;
	if (memory_attach(m.vm, img, run, &e) < 0)
		goto fail;
	if (getenv("SBX_VMM_MEMHASH")) {
		char h[GMEM_HASH_TEXT];

		gmem_hash_text(&m.vm->mem, h);	/* before any vCPU runs */
		vmm_log("restore: memory hash %s", h);
	}
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
	dirty_reset();	/* a new VM: a fork child must not use its parent's */
	if (run->idle_ms && idle_watch(m.vm, loop, run->idle_ms,
	    run->idle_dir, &e) < 0)
		goto fail;
	if (vmm_start(m.vm, &e) < 0)
		goto fail;
	/* A fork child also tells its parent its disk mark. */
	snprintf(pid, sizeof(pid), "%d%s%s", (int)getpid(),
	    m.vm->data_disk ? " " : "",
	    m.vm->data_disk ? layer_stack_mark(m.vm->data_disk) : "");
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
	vmm_log_summary(m.vm, status);	/* restored and forked VMMs too */
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
    "               [--serial-log PATH] [--id SBXID]\n"
    "               [--idle-timeout DURATION --hibernate-dir DIR]\n"
    "               [--net POLICY] [--data-disk TOP [--data-layer PATH]...]\n";

int
snap_restore_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "restore", required_argument, NULL, 'R' },
		{ "control", required_argument, NULL, 's' },
		{ "vsock", required_argument, NULL, 'v' },
		{ "serial-log", required_argument, NULL, 'l' },
		{ "id", required_argument, NULL, 'I' },
		{ "idle-timeout", required_argument, NULL, 'T' },
		{ "hibernate-dir", required_argument, NULL, 'H' },
		{ "net", required_argument, NULL, 'N' },
		DATADISK_LONG_OPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct datadisk_opts dopt = { 0 };
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
		case 'T':
		case 'H':
			if (idle_option(o, optarg, &e) < 0) {
				fprintf(stderr, "sbx-vmm: %s\n", e.msg);
				return SBX_VMM_EXIT_USAGE;
			}
			break;
		case 'N':
			if (net_policy_option(o, optarg, &run.net, &e) < 0) {
				fprintf(stderr, "sbx-vmm: --net: %s\n", e.msg);
				return SBX_VMM_EXIT_USAGE;
			}
			break;
		case DATADISK_OPT_TOP:
		case DATADISK_OPT_LAYER:
			if (datadisk_option(&dopt, o, optarg, &e) < 0) {
				fprintf(stderr, "sbx-vmm: %s\n", e.msg);
				return SBX_VMM_EXIT_USAGE;
			}
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
	if (idle_check(&e) < 0) {
		fprintf(stderr, "sbx-vmm: %s\n", e.msg);
		return SBX_VMM_EXIT_USAGE;
	}
	if (dopt.nlayers && !dopt.top) {
		fprintf(stderr, "sbx-vmm: --data-layer needs --data-disk TOP\n");
		return SBX_VMM_EXIT_USAGE;
	}
	run.data_top = dopt.top;
	run.data_layers = dopt.layers;
	run.ndata_layers = dopt.nlayers;
	run.idle_ms = idle_ms;
	run.idle_dir = idle_dir;
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
	if (run.mem_fd < 0 && errno == ENOENT) {
		/* The chunked layout (snapshot.c write_chunks). */
		snprintf(path, sizeof(path), "%s/memory.d", dir);
		run.mem_dir = path;
		if (access(path, R_OK | X_OK) < 0)
			run.mem_dir = NULL;
	}
	if (run.mem_fd < 0 && !run.mem_dir) {
		vmm_log("cannot restore: '%s' has neither a 'memory' file nor "
		    "a 'memory.d' directory (%s)", dir, strerror(errno));
		snap_image_free(&img);
		return SBX_VMM_EXIT_ERROR;
	}
	{
		static char dpath[4096];
		struct stat dst;

		/*
		 * A diff snapshot's page delta, applied over the memory; a
		 * dangling link to it is an error, not "no delta".
		 */
		snprintf(dpath, sizeof(dpath), "%s/delta", dir);
		if (lstat(dpath, &dst) == 0 || errno != ENOENT)
			run.delta = dpath;
	}
	st = snap_run_vm(&img, &run);
	if (run.mem_fd >= 0)
		close(run.mem_fd);
	snap_image_free(&img);
	return st;
}
