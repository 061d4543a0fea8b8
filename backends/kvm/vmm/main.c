/*
 * main.c - sbx-vmm: command line, process set-up, I/O loop, exit status.
 *
 * sbx-vmm --kernel PATH [--initrd PATH] [--cmdline STR] [--memory SIZE]
 *         [--vcpus N] [--disk PATH[,ro]] [--rng] [--balloon]
 *         [--serial-log PATH]
 *         [--console] [--control SOCK] [--vsock SOCK [--cid N]]
 *         [--id SBXID] [--net[=POLICY]] [--allow RULE] [--deny RULE]
 *         [--no-net] [--data-disk TOP [--data-layer PATH]... [--data-size N]]
 *
 * sbx-vmm --make-layer RAW OUT   (a data disk layer from a raw image)
 *
 * Exit statuses: backends/kvm/proto/control.h (enum sbx_vmm_exit).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/parse.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/control.h"
#include "kvm/vmm/datadisk.h"
#include "kvm/vmm/idle.h"
#include "kvm/vmm/log.h"
#include "kvm/vmm/loop.h"
#include "kvm/vmm/net_policy.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1 pci=off"

static const char usage_text[] =
    "usage: sbx-vmm --kernel PATH [--initrd PATH] [--cmdline STR]\n"
    "               [--memory SIZE] [--vcpus N] [--disk PATH[,ro]] [--rng]\n"
    "               [--balloon] [--data-disk TOP [--data-layer PATH]...\n"
    "               [--data-size SIZE]]\n"
    "               [--serial-log PATH] [--console] [--control SOCK]\n"
    "               [--vsock SOCK [--cid N]] [--id SBXID]\n"
    "               [--net[=POLICY]] [--allow RULE] [--deny RULE] [--no-net]\n"
    "               [--idle-timeout DURATION --hibernate-dir DIR]\n"
    "       sbx-vmm --restore DIR [--data-disk TOP [--data-layer PATH]...] ...\n"
    "       sbx-vmm --make-layer RAW OUT\n";

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "memory", required_argument, NULL, 'm' },
	{ "vcpus", required_argument, NULL, 'n' },
	{ "disk", required_argument, NULL, 'd' },
	{ "rng", no_argument, NULL, 'r' },
	{ "balloon", no_argument, NULL, 'b' },
	{ "serial-log", required_argument, NULL, 'l' },
	{ "console", no_argument, NULL, 'C' },
	{ "control", required_argument, NULL, 's' },
	{ "vsock", required_argument, NULL, 'v' },
	{ "cid", required_argument, NULL, 'u' },
	{ "id", required_argument, NULL, 'I' },
	{ "net", optional_argument, NULL, 'N' },
	{ "allow", required_argument, NULL, 'A' },
	{ "deny", required_argument, NULL, 'D' },
	{ "no-net", no_argument, NULL, 'O' },
	{ "idle-timeout", required_argument, NULL, 'T' },
	{ "hibernate-dir", required_argument, NULL, 'H' },
	{ "help", no_argument, NULL, 'h' },
	DATADISK_LONG_OPTS,
	DATADISK_LONG_OPT_SIZE,
	{ NULL, 0, NULL, 0 },
};

struct vmm_main {
	struct vmm *vm;
	struct control *ctl;
	struct loop *loop;
	int sigfd;
	bool raw;
	struct termios saved;
	int escape;		/* saw Ctrl-A on the console */
};

static int
usage_error(const char *fmt, const char *arg)
{
	fputs("sbx-vmm: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n", stderr);
	fputs(usage_text, stderr);
	return SBX_VMM_EXIT_USAGE;
}

/* Fills `cfg` from argv; returns 0 or an exit status. */
static int
parse_args(int argc, char **argv, struct vmm_config *cfg, const char **ctl)
{
	static char disk[4096];
	static struct datadisk_opts dopt;
	struct sbx_err e = { 0 };
	long long n;
	int o;

	memset(cfg, 0, sizeof(*cfg));
	cfg->cmdline = DEFAULT_CMDLINE;
	cfg->memory = 256ULL << 20;
	cfg->vcpus = 1;
	cfg->cid = 3;
	*ctl = NULL;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		switch (o) {
		case 'k':
			cfg->kernel = optarg;
			break;
		case 'i':
			cfg->initrd = optarg;
			break;
		case 'c':
			cfg->cmdline = optarg;
			break;
		case 'm':
			if (sbx_parse_size(optarg, 64ULL << 20, 1ULL << 40,
			    &cfg->memory, &e) < 0)
				return usage_error("--memory: %s", e.msg);
			break;
		case 'n':
			if (sbx_parse_int(optarg, 1, VMM_MAX_VCPUS, &n, &e) < 0)
				return usage_error("--vcpus: %s", e.msg);
			cfg->vcpus = n;
			break;
		case 'd': {
			size_t len = strlen(optarg);

			if (len >= sizeof(disk))
				return usage_error("--disk: path too long%s",
				    "");
			memcpy(disk, optarg, len + 1);
			if (len > 3 && !strcmp(disk + len - 3, ",ro")) {
				disk[len - 3] = 0;
				cfg->disk_ro = true;
			}
			if (!*disk)
				return usage_error("--disk: empty path%s", "");
			cfg->disk = disk;
			break;
		}
		case 'r':
			cfg->rng = true;
			break;
		case 'b':
			cfg->balloon = true;
			break;
		case 'l':
			cfg->serial_log = optarg;
			break;
		case 'C':
			cfg->console = true;
			break;
		case 's':
			*ctl = optarg;
			break;
		case 'v':
			cfg->vsock = optarg;
			break;
		case 'u':
			if (sbx_parse_int(optarg, 3, 0xfffffffeLL, &n, &e) < 0)
				return usage_error("--cid: %s", e.msg);
			cfg->cid = n;
			break;
		case 'I':
			cfg->id = optarg;
			break;
		case 'N':	/* network and egress policy: net_policy.h */
		case 'A':
		case 'D':
			if (net_policy_option(o, optarg, &cfg->net, &e) < 0)
				return usage_error("%s", e.msg);
			break;
		case 'O':
			cfg->net = NULL;
			break;
		case 'T':
		case 'H':
			if (idle_option(o, optarg, &e) < 0)
				return usage_error("%s", e.msg);
			break;
		case DATADISK_OPT_TOP:
		case DATADISK_OPT_LAYER:
		case DATADISK_OPT_SIZE:
			if (datadisk_option(&dopt, o, optarg, &e) < 0)
				return usage_error("%s", e.msg);
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return usage_error("unknown or incomplete option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!cfg->kernel)
		return usage_error("--kernel is required%s", "");
	if (idle_check(&e) < 0)
		return usage_error("%s", e.msg);
	if (datadisk_config(&dopt, cfg, &e) < 0)
		return usage_error("%s", e.msg);
	return 0;
}

static void
on_signal(void *arg, uint32_t events)
{
	struct vmm_main *m = arg;
	struct signalfd_siginfo si;

	if (read(m->sigfd, &si, sizeof(si)) == sizeof(si))
		vmm_exit(m->vm, SBX_VMM_EXIT_STOPPED);
}

/* Console input: to the UART; Ctrl-A x stops the VM. */
static void
on_stdin(void *arg, uint32_t events)
{
	struct vmm_main *m = arg;
	uint8_t buf[SERIAL_FIFO];
	ssize_t n, i;
	size_t done = 0;

	n = read(0, buf, sizeof(buf));
	if (n <= 0) {
		loop_del(m->loop, 0);
		return;
	}
	for (i = 0; i < n; i++) {
		if (m->escape) {
			m->escape = 0;
			if (buf[i] == 'x') {
				vmm_exit(m->vm, SBX_VMM_EXIT_STOPPED);
				return;
			}
		} else if (buf[i] == 1) {
			m->escape = 1;
			continue;
		}
		/* The FIFO drains at guest speed: wait for room. */
		while (serial_rx(&m->vm->serial, buf + i, 1) == 0 &&
		    !m->vm->exiting && done++ < 1000)
			usleep(1000);
	}
}

static void
vm_event(struct vmm *vm, const char *event, void *arg)
{
	struct vmm_main *m = arg;

	control_event(m->ctl, event, 0);
}

static int
console_setup(struct vmm_main *m)
{
	struct termios t;

	if (isatty(0) && tcgetattr(0, &m->saved) == 0) {
		t = m->saved;
		cfmakeraw(&t);
		t.c_oflag |= OPOST | ONLCR;
		if (tcsetattr(0, TCSANOW, &t) == 0)
			m->raw = true;
	}
	if (loop_add(m->loop, 0, EPOLLIN, on_stdin, m) < 0 && errno != EPERM)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct vmm_main m = { .sigfd = -1 };
	struct vmm_config cfg;
	struct sbx_err e = { 0 };
	const char *ctl_path;
	sigset_t set;
	int status;

	vmm_log_fatal_signals();
	if (argc > 1 && !strncmp(argv[1], "--restore", 9))
		return snap_restore_main(argc, argv);	/* snapshot.h */
	if (argc > 1 && !strcmp(argv[1], "--make-layer"))
		return datadisk_make_layer_main(argc, argv);	/* datadisk.h */
	status = parse_args(argc, argv, &cfg, &ctl_path);
	if (status)
		return status;
	snap_set_config(&cfg);
	vmm_log_set_id(cfg.id);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);	/* unblocked in vCPU threads only */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigdelset(&set, SIGUSR1);

	m.loop = loop_new(&e);
	if (!m.loop)
		goto fail;
	m.vm = vmm_create(&cfg, m.loop, &e);
	if (!m.vm)
		goto fail;
	m.vm->on_event = vm_event;
	m.vm->event_arg = &m;
	m.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m.sigfd < 0 || loop_add(m.loop, m.sigfd, EPOLLIN, on_signal, &m)) {
		sbx_err_sys(&e, "signalfd");
		goto fail;
	}
	if (ctl_path) {
		m.ctl = control_new(ctl_path, m.vm, m.loop, &e);
		if (!m.ctl)
			goto fail;
	}
	if (cfg.console && console_setup(&m) < 0) {
		sbx_err_sys(&e, "cannot watch the console");
		goto fail;
	}
	if (idle_ms && idle_watch(m.vm, m.loop, idle_ms, idle_dir, &e) < 0)
		goto fail;
	if (vmm_start(m.vm, &e) < 0)
		goto fail;
	if (loop_run(m.loop) < 0) {
		vmm_log("I/O loop failed: %s", strerror(errno));
		vmm_exit(m.vm, SBX_VMM_EXIT_ERROR);
	}
	status = m.vm->exit_status;
	if (m.raw)
		tcsetattr(0, TCSANOW, &m.saved);
	vmm_log_summary(m.vm, status);
	control_event(m.ctl, "exit", status);
	control_free(m.ctl);
	vmm_destroy(m.vm);
	loop_free(m.loop);
	return status;
fail:
	if (m.raw)
		tcsetattr(0, TCSANOW, &m.saved);
	vmm_log("%s", e.msg);
	if (e.hint[0])
		vmm_log("hint: %s", e.hint);
	control_free(m.ctl);
	vmm_destroy(m.vm);
	loop_free(m.loop);
	return e.code == SBX_EUSAGE ? SBX_VMM_EXIT_USAGE : SBX_VMM_EXIT_ERROR;
}
