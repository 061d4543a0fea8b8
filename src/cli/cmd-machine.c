/*
 * cmd-machine.c - `sbx machine start|stop|status|ssh`: a Linux host VM
 * running `sbx serve` for hosts without hardware KVM (src/machine/).
 *
 * start: rig-prep (tests/rig, installed as sbx-machine-prep) prepares
 * Debian's kernel and an initramfs with src/machine/init.sh; QEMU runs
 * daemonized with the host's / read-only and $SBX_HOME/machine writable
 * over 9p, a user-mode NIC forwarding 127.0.0.1:PORT to the server, and
 * L1's ttyS1 on a unix socket for `ssh`. The server's admin token is made
 * here, in the machine's store, before it boots.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "cli/term.h"
#include "core/buf.h"
#include "core/run.h"
#include "core/xmalloc.h"
#include "hostinfo.h"
#include "machine/machine.h"
#include "serve/token.h"
#include "store/fsutil.h"
#include "core/banned.h"

#define GUEST_PORT 7780

static uint64_t opt_memory = 4ULL << 30;
static long long opt_cpus = 2;
static long long opt_port = 7780;
static uint64_t opt_timeout_ms = 600000;

static const struct sbx_option start_options[] = {
	{ 'm', "memory", SBX_OPT_SIZE, &opt_memory, "SIZE",
	  "memory of the machine (default 4G)", 0, 0 },
	{ 'c', "cpus", SBX_OPT_INT, &opt_cpus, "N",
	  "virtual CPUs (default 2)", 1, 64 },
	{ 'p', "port", SBX_OPT_INT, &opt_port, "N",
	  "serve on 127.0.0.1:N (default 7780)", 1, 65535 },
	{ 't', "timeout", SBX_OPT_DURATION, &opt_timeout_ms, "DURATION",
	  "give up when the server does not answer by then (default 10m)",
	  0, 0 },
	SBX_OPT_END_MARK,
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- ssh channel: the client side of init.sh's shell_loop ---- */

struct session {
	char nonce[33];
	char start[48], end[48];
	int started;
	int status;
};

static int
connect_shell(const char *dir, const char *sock, struct sbx_err *e)
{
	struct sockaddr_un sa;
	char *path = xasprintf("%s/%s", dir, sock);
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		sbx_err_set(e, SBX_EINVAL, "socket path '%s' is too long",
		    path);
		free(path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		sbx_err_sys(e, "cannot connect to the machine's socket '%s'",
		    path);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(path);
	return fd;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Feeds bytes from the machine through the session's markers: what comes
 * before the start marker is dropped (left over from an earlier session),
 * what is between goes to stdout. Returns 1 when the end marker was seen.
 */
static int
session_feed(struct session *s, struct sbx_buf *pend)
{
	char *p, *nl, *keep;
	size_t n;

	if (!s->started) {
		p = strstr(pend->buf, s->start);
		if (!p) {
			/* Keep a tail that may be the marker's beginning. */
			n = strlen(s->start);
			if (pend->len > n) {
				memmove(pend->buf, pend->buf + pend->len - n,
				    n);
				sbx_buf_setlen(pend, n);
			}
			return 0;
		}
		n = (size_t)(p - pend->buf) + strlen(s->start);
		memmove(pend->buf, pend->buf + n, pend->len - n);
		sbx_buf_setlen(pend, pend->len - n);
		s->started = 1;
	}
	p = strstr(pend->buf, s->end);
	if (p && (nl = strchr(p, '\n'))) {
		write_all(1, pend->buf, (size_t)(p - pend->buf));
		s->status = (int)strtol(p + strlen(s->end), NULL, 10);
		return 1;
	}
	/* Everything up to a '\036' that may start the end marker. */
	keep = p ? p : memchr(pend->buf, '\036', pend->len);
	n = keep ? (size_t)(keep - pend->buf) : pend->len;
	write_all(1, pend->buf, n);
	memmove(pend->buf, pend->buf + n, pend->len - n);
	sbx_buf_setlen(pend, pend->len - n);
	return 0;
}

/*
 * Runs one session: `header` is the line after "KIND NONCE". With
 * `interactive`, the terminal is raw and stdin goes to the machine.
 * Returns the session's exit status, or < 0 with `e` set.
 */
static int
session_run(const char *dir, const char *kind, const char *args,
    int interactive, int64_t timeout_ms, struct sbx_err *e)
{
	struct session s;
	struct sbx_buf pend = SBX_BUF_INIT, line = SBX_BUF_INIT;
	unsigned char rnd[16];
	struct pollfd pf[2];
	int64_t deadline = timeout_ms ? now_ms() + timeout_ms : 0;
	char buf[4096];
	ssize_t r;
	int fd, i, rc = -1, in_open = interactive;

	memset(&s, 0, sizeof(s));
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return sbx_err_sys(e, "getrandom");
	for (i = 0; i < 16; i++)
		snprintf(s.nonce + 2 * i, 3, "%02x", rnd[i]);
	snprintf(s.start, sizeof(s.start), "\036%s start\n", s.nonce);
	snprintf(s.end, sizeof(s.end), "\036%s exit ", s.nonce);
	fd = connect_shell(dir, strcmp(kind, "halt") ? "shell.sock" :
	    "control.sock", e);
	if (fd < 0)
		return -1;
	/* A newline first ends whatever half line an earlier client left. */
	sbx_buf_addf(&line, "\n%s %s%s%s\n", kind, s.nonce, *args ? " " : "",
	    args);
	if (write_all(fd, line.buf, line.len) < 0) {
		sbx_err_sys(e, "cannot write to the machine's shell socket");
		goto out;
	}
	if (interactive && term_raw(0) < 0)
		in_open = 0;
	for (;;) {
		int n = 1, wait = 1000;

		pf[0].fd = fd;
		pf[0].events = POLLIN;
		if (in_open && s.started) {
			pf[1].fd = 0;
			pf[1].events = POLLIN;
			n = 2;
		}
		if (poll(pf, (nfds_t)n, wait) < 0) {
			if (errno == EINTR)
				continue;
			sbx_err_sys(e, "poll");
			break;
		}
		if (deadline && !s.started && now_ms() > deadline) {
			sbx_err_set(e, SBX_ETIMEDOUT, "the machine's shell did "
			    "not answer within %lld s", (long long)
			    (timeout_ms / 1000));
			break;
		}
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			r = read(fd, buf, sizeof(buf));
			if (r <= 0) {
				sbx_err_set(e, SBX_EIO, "the machine closed "
				    "the shell connection (it stopped?)");
				break;
			}
			sbx_buf_add(&pend, buf, (size_t)r);
			if (session_feed(&s, &pend)) {
				rc = s.status;
				break;
			}
		}
		if (n == 2 && pf[1].revents & (POLLIN | POLLHUP)) {
			r = read(0, buf, sizeof(buf));
			if (r <= 0)
				in_open = 0;
			else if (write_all(fd, buf, (size_t)r) < 0)
				in_open = 0;
		}
	}
out:
	if (interactive)
		term_restore();
	close(fd);
	sbx_buf_release(&pend);
	sbx_buf_release(&line);
	return rc;
}

/* ---- state ---- */

/*
 * Loads the state. Returns 1 running, 0 not running (stale state is
 * reported in *stale), < 0 on error.
 */
static int
machine_load(const char *dir, struct sbx_machine_state *st, int *stale,
    struct sbx_err *e)
{
	int rc = sbx_machine_state_load(dir, st, e);

	*stale = 0;
	if (rc <= 0)
		return rc;
	if (sbx_machine_alive(st, dir))
		return 1;
	*stale = 1;
	return 0;
}

static void
remove_state(const char *dir, const struct sbx_machine_state *st)
{
	char *p = xasprintf("%s/state.json", dir);

	if (st && st->token_file)
		unlink(st->token_file);
	unlink(p);
	free(p);
}

/* ---- start ---- */

static int
port_free(int port, struct sbx_err *e)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	if (fd < 0)
		return sbx_err_sys(e, "socket");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = errno == EADDRINUSE ?
		    sbx_err_set(e, SBX_EBUSY, "port %d on 127.0.0.1 is in use",
		    port) : sbx_err_sys(e, "cannot bind 127.0.0.1:%d", port);
		if (errno == EADDRINUSE)
			sbx_err_hint(e, "pick another with 'sbx machine start "
			    "--port N'");
	}
	close(fd);
	return rc;
}

/* Where rig-prep, the init script and the module list are. */
static int
find_prep(char **prep, char **init, char **modules, struct sbx_err *e)
{
	char exe[4096], *slash, *p;
	ssize_t n;
	const char *env = getenv("SBX_MACHINE_PREP");

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		/* Running from the build tree. */
		p = xasprintf("%s/tests/rig/rig-prep", exe);
		if (!env && access(p, X_OK) == 0 &&
		    access(SBX_MACHINE_SRCDIR "/init.sh", R_OK) == 0) {
			*prep = p;
			*init = xstrdup(SBX_MACHINE_SRCDIR "/init.sh");
			*modules = xstrdup(SBX_MACHINE_SRCDIR "/modules.list");
			return 0;
		}
		free(p);
	}
	*prep = xstrdup(env ? env : SBX_LIBEXECDIR "/sbx-machine-prep");
	*init = xstrdup(SBX_DATADIR "/machine/init.sh");
	*modules = xstrdup(SBX_DATADIR "/machine/modules.list");
	if (access(*prep, X_OK) < 0 || access(*init, R_OK) < 0)
		return sbx_err_set(e, SBX_ENOENT, "'%s' or '%s' is missing; "
		    "is sbx installed completely?", *prep, *init);
	return 0;
}

static int
prepare_boot(struct sbx_ctx *ctx, char **kernel, char **initrd,
    struct sbx_err *e)
{
	struct sbx_run r;
	struct sbx_buf out = SBX_BUF_INIT, err = SBX_BUF_INIT;
	char *prep, *init, *modules, *cache, *p, *save;
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	int rc;

	if (find_prep(&prep, &init, &modules, e) < 0)
		return -1;
	cache = getenv("SBX_RIG_CACHE") ? xstrdup(getenv("SBX_RIG_CACHE")) :
	    xdg && *xdg ? xasprintf("%s/sbx/rig", xdg) :
	    xasprintf("%s/.cache/sbx/rig", home ? home : "/root");
	sbx_info(ctx, "preparing the machine's kernel and initramfs in %s",
	    cache);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, prep, "all", "--cache", cache, "--init",
	    init, "--modules", modules, NULL);
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = &out;
	r.err = SBX_RUN_CAPTURE;
	r.err_buf = &err;
	rc = sbx_run(&r, e);
	*kernel = *initrd = NULL;
	if (rc > 0)
		sbx_err_set(e, SBX_EFAIL, "%s failed (status %d): %s", prep,
		    rc, err.len ? err.buf : "no message");
	for (p = strtok_r(out.buf, "\n", &save); rc == 0 && p;
	    p = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(p, "kernel=", 7))
			*kernel = xstrdup(p + 7);
		else if (!strncmp(p, "initramfs=", 10))
			*initrd = xstrdup(p + 10);
	}
	if (rc == 0 && (!*kernel || !*initrd))
		rc = sbx_err_set(e, SBX_EFAIL, "%s named no kernel or "
		    "initramfs", prep);
	sbx_run_release(&r);
	sbx_buf_release(&out);
	sbx_buf_release(&err);
	free(prep);
	free(init);
	free(modules);
	free(cache);
	return rc ? -1 : 0;
}

static size_t
discard(void *p, size_t sz, size_t n, void *u)
{
	(void)p;
	(void)u;
	return sz * n;
}

/* 1 when GET <url>/v1/meta answers 200. */
static int
meta_ok(const char *url, const char *token)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char *u = xasprintf("%s/v1/meta", url);
	char *auth = xasprintf("Authorization: Bearer %s", token);
	long code = 0;

	if (!c)
		return 0;
	h = curl_slist_append(h, auth);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(u);
	free(auth);
	return code == 200;
}

static void
kill_qemu(const struct sbx_machine_state *st, const char *dir)
{
	int i;

	if (!sbx_machine_alive(st, dir))
		return;
	kill((pid_t)st->pid, SIGTERM);
	for (i = 0; i < 50 && sbx_machine_alive(st, dir); i++)
		sleep_ms(100);
	if (sbx_machine_alive(st, dir))
		kill((pid_t)st->pid, SIGKILL);
}

static int
launch(struct sbx_ctx *ctx, const char *dir, const char *qemu,
    struct sbx_machine_state *st, struct sbx_err *e)
{
	struct sbx_run r;
	struct sbx_buf err = SBX_BUF_INIT, pidb = SBX_BUF_INIT;
	char *kernel = NULL, *initrd = NULL, exe[4096], *append, *v1, *v2;
	char *net, *pidfile, *con, *chr, *ctl, *smp, *mem;
	ssize_t n;
	int rc = -1;

	if (prepare_boot(ctx, &kernel, &initrd, e) < 0)
		return -1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		free(kernel);
		free(initrd);
		return sbx_err_sys(e, "cannot find this sbx binary");
	}
	exe[n] = '\0';
	append = xasprintf("console=ttyS0 panic=-1 rdinit=/init "
	    "mitigations=off cryptomgr.notests 8250.nr_uarts=3 "
	    "random.trust_cpu=on sbx.state=%s sbx.bin=%s sbx.port=%d", dir,
	    exe, GUEST_PORT);
	v1 = xstrdup("local,path=/,mount_tag=host,security_model=none,"
	    "readonly=on,multidevs=remap");
	v2 = xasprintf("local,path=%s,mount_tag=state,security_model=none,"
	    "multidevs=remap", dir);
	net = xasprintf("user,id=n0,ipv6=off,hostfwd=tcp:127.0.0.1:%lld-:%d",
	    opt_port, GUEST_PORT);
	pidfile = xasprintf("%s/qemu.pid", dir);
	con = xasprintf("file:%s/console.log", dir);
	chr = xasprintf("socket,id=shell,path=%s/shell.sock,server=on,"
	    "wait=off", dir);
	ctl = xasprintf("socket,id=control,path=%s/control.sock,server=on,"
	    "wait=off", dir);
	smp = xasprintf("%lld", opt_cpus);
	mem = xasprintf("%lluM", (unsigned long long)st->memory_mb);
	unlink(pidfile);
	sbx_run_init(&r);
	sbx_strvec_pushl(&r.argv, qemu, "-nodefaults", "-no-user-config",
	    "-display", "none", "-no-reboot", "-machine", "pc", NULL);
	if (!strcmp(st->accel, "kvm"))
		sbx_strvec_pushl(&r.argv, "-accel", "kvm", "-cpu", "host",
		    NULL);
	else
		/* EPYC with SVM and nested paging, minus what TCG lacks. */
		sbx_strvec_pushl(&r.argv, "-accel", "tcg,thread=multi", "-cpu",
		    "EPYC,+svm,+npt,-rdseed,-sha-ni,-fxsr-opt,-misalignsse,"
		    "-3dnowprefetch,-osvw,-topoext,-nrip-save,-xsavec", NULL);
	sbx_strvec_pushl(&r.argv, "-smp", smp, "-m", mem, "-kernel", kernel,
	    "-initrd", initrd, "-append", append, "-serial", con,
	    "-chardev", chr, "-serial", "chardev:shell",
	    "-chardev", ctl, "-serial", "chardev:control",
	    "-netdev", net, "-device", "virtio-net-pci,netdev=n0,romfile=",
	    "-virtfs", v1, "-virtfs", v2, "-pidfile", pidfile, "-daemonize",
	    NULL);
	if (ctx->verbose) {
		size_t i;

		fprintf(stderr, "sbx: running");
		for (i = 0; i < r.argv.nr; i++)
			fprintf(stderr, " %s", r.argv.v[i]);
		fputc('\n', stderr);
	}
	r.in = SBX_RUN_NULL;
	r.out = SBX_RUN_NULL;
	r.err = SBX_RUN_CAPTURE;
	r.err_buf = &err;
	rc = sbx_run(&r, e);
	if (rc > 0) {
		sbx_buf_rtrim(&err);
		sbx_err_set(e, SBX_EFAIL, "QEMU failed to start (status %d): "
		    "%s", rc, err.len ? err.buf : "no message");
		rc = -1;
	} else if (rc == 0) {
		if (sbx_buf_read_file(&pidb, pidfile, e) < 0) {
			rc = -1;
		} else {
			st->pid = strtol(pidb.buf, NULL, 10);
			if (st->pid <= 0)
				rc = sbx_err_set(e, SBX_EFAIL, "QEMU wrote no "
				    "pid to '%s'", pidfile);
		}
	}
	sbx_run_release(&r);
	sbx_buf_release(&err);
	sbx_buf_release(&pidb);
	free(kernel);
	free(initrd);
	free(append);
	free(v1);
	free(v2);
	free(net);
	free(pidfile);
	free(con);
	free(chr);
	free(ctl);
	free(smp);
	free(mem);
	return rc < 0 ? -1 : 0;
}

static int
start_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_machine_state st;
	struct sbx_hostinfo hi;
	struct sbx_token_info ti;
	struct sbx_err e;
	char *dir, *store = NULL, *tok = NULL, *qemu, *p;
	int stale, rc, status = 1;
	int64_t deadline;
	const char *c;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	if (opt_memory < (512ULL << 20))
		return sbx_usage_error(ctx, "--memory must be at least 512M");
	sbx_err_clear(&e);
	dir = sbx_machine_dir(ctx->home);
	memset(&ti, 0, sizeof(ti));
	rc = machine_load(dir, &st, &stale, &e);
	if (rc < 0)
		goto fail;
	if (rc == 1) {
		sbx_err_set(&e, SBX_EEXIST, "the machine is already running "
		    "at %s", st.url);
		sbx_err_hint(&e, "'sbx machine stop' stops it");
		goto fail;
	}
	if (stale) {
		sbx_info(ctx, "removing the state of a machine that is gone "
		    "(QEMU pid %ld)", st.pid);
		remove_state(dir, &st);
	}
	sbx_machine_state_release(&st);
	qemu = sbx_run_find_in_path("qemu-system-x86_64", getenv("PATH"));
	if (!qemu) {
		sbx_err_set(&e, SBX_ENOENT, "qemu-system-x86_64 is not "
		    "installed");
		sbx_err_hint(&e, "install the package qemu-system-x86 "
		    "(apt-get install qemu-system-x86)");
		goto fail;
	}
	/* The kernel command line and QEMU's options split at these. */
	for (c = dir; *c; c++)
		if (*c == ' ' || *c == ',' || *c == '\t' || *c == '\n' ||
		    *c == '\'' || *c == '"') {
			sbx_err_set(&e, SBX_EUSAGE, "the machine's directory "
			    "'%s' has a space, comma or quote in its path", dir);
			free(qemu);
			goto fail;
		}
	if (port_free((int)opt_port, &e) < 0) {
		free(qemu);
		goto fail;
	}
	sbx_hostinfo_probe(&hi, "");
	memset(&st, 0, sizeof(st));
	snprintf(st.accel, sizeof(st.accel), "%s",
	    (hi.virt == SBX_VIRT_HW_INTEL || hi.virt == SBX_VIRT_HW_AMD) &&
	    hi.kvm_usable ? "kvm" : "tcg");
	st.memory_mb = opt_memory >> 20;
	st.cpus = (long)opt_cpus;
	st.url = xasprintf("http://127.0.0.1:%lld", opt_port);
	st.token_file = xasprintf("%s/token", dir);
	store = xasprintf("%s/store", dir);
	if ((mkdir(ctx->home, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0700) < 0 && errno != EEXIST) ||
	    (mkdir(store, 0700) < 0 && errno != EEXIST)) {
		sbx_err_sys(&e, "cannot make '%s'", store);
		free(qemu);
		goto fail;
	}
	/* The server's admin token, made in the machine's store. */
	if (sbx_token_create(store, SBX_SCOPE_ADMIN, (int64_t)time(NULL), 0,
	    "sbx machine", &tok, &ti, &e) < 0 ||
	    sbx_fs_write_atomic(st.token_file, NULL, tok, strlen(tok), 0600,
	    &e) < 0) {
		free(qemu);
		goto fail;
	}
	st.token_id = xstrdup(ti.id);
	p = xasprintf("%s/console.log", dir);
	unlink(p);
	free(p);
	st.started = (int64_t)time(NULL);
	sbx_info(ctx, "booting the machine (%s, %llu MiB, %ld CPUs)",
	    st.accel, (unsigned long long)st.memory_mb, st.cpus);
	rc = launch(ctx, dir, qemu, &st, &e);
	free(qemu);
	if (rc < 0)
		goto fail;
	if (sbx_machine_state_save(dir, &st, &e) < 0) {
		kill_qemu(&st, dir);
		goto fail;
	}
	deadline = now_ms() + (int64_t)opt_timeout_ms;
	while (!meta_ok(st.url, tok)) {
		if (!sbx_machine_alive(&st, dir)) {
			sbx_err_set(&e, SBX_EFAIL, "the machine stopped while "
			    "booting");
			sbx_err_hint(&e, "its console log is %s/console.log",
			    dir);
			remove_state(dir, &st);
			goto fail;
		}
		if (now_ms() > deadline) {
			sbx_err_set(&e, SBX_ETIMEDOUT, "the machine's server did "
			    "not answer within %llu s; stopped it",
			    (unsigned long long)(opt_timeout_ms / 1000));
			sbx_err_hint(&e, "see its console log %s/console.log "
			    "and %s/serve.log", dir, dir);
			kill_qemu(&st, dir);
			remove_state(dir, &st);
			goto fail;
		}
		sleep_ms(1000);
	}
	if (ctx->json) {
		printf("{\"url\": \"%s\", \"accel\": \"%s\", \"pid\": %ld}\n",
		    st.url, st.accel, st.pid);
	} else {
		sbx_info(ctx, "the machine is up; commands without --remote "
		    "now use it");
		printf("%s\n", st.url);
	}
	status = 0;
	goto out;
fail:
	status = sbx_report_err(ctx, &e);
out:
	if (tok) {
		sodium_memzero(tok, strlen(tok));
		free(tok);
	}
	sbx_token_info_release(&ti);
	sbx_machine_state_release(&st);
	free(store);
	free(dir);
	return status;
}

/* ---- stop ---- */

static int
stop_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_machine_state st;
	struct sbx_err e, e2;
	char *dir, *store;
	int stale, rc, i;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	sbx_err_clear(&e);
	dir = sbx_machine_dir(ctx->home);
	rc = machine_load(dir, &st, &stale, &e);
	if (rc < 0) {
		/* A damaged state file: remove it so start works again. */
		remove_state(dir, NULL);
		sbx_info(ctx, "removed a damaged %s/state.json", dir);
		free(dir);
		return sbx_report_err(ctx, &e);
	}
	if (rc == 0 && !stale) {
		sbx_err_set(&e, SBX_ENOENT, "the machine is not running");
		free(dir);
		return sbx_report_err(ctx, &e);
	}
	if (rc == 1) {
		sbx_info(ctx, "stopping the machine (pid %ld)", st.pid);
		sbx_err_clear(&e2);
		/* Syncs and unmounts the store, then powers off. */
		if (session_run(dir, "halt", "", 0, 20000, &e2) < 0 &&
		    ctx->verbose)
			fprintf(stderr, "sbx: clean shutdown failed: %s\n",
			    e2.msg);
		for (i = 0; i < 300 && sbx_machine_alive(&st, dir); i++)
			sleep_ms(100);
		if (sbx_machine_alive(&st, dir)) {
			sbx_info(ctx, "the machine did not power off in 30 s; "
			    "killing QEMU");
			kill_qemu(&st, dir);
		}
	} else {
		sbx_info(ctx, "the machine was not running (QEMU pid %ld is "
		    "gone); removing its state", st.pid);
	}
	store = xasprintf("%s/store", dir);
	sbx_err_clear(&e2);
	sbx_token_revoke(store, st.token_id, (int64_t)time(NULL), &e2);
	free(store);
	remove_state(dir, &st);
	sbx_machine_state_release(&st);
	free(dir);
	return 0;
}

/* ---- status ---- */

static int
status_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_machine_state st;
	struct sbx_err e;
	char *dir;
	int stale, rc;
	long up;
	json_t *o;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	sbx_err_clear(&e);
	dir = sbx_machine_dir(ctx->home);
	rc = machine_load(dir, &st, &stale, &e);
	if (rc < 0) {
		free(dir);
		return sbx_report_err(ctx, &e);
	}
	up = rc == 1 ? (long)(time(NULL) - st.started) : 0;
	if (ctx->json) {
		o = json_pack("{s:s, s:b}", "state", rc == 1 ? "running" :
		    "stopped", "stale", stale);
		if (rc == 1) {
			json_object_set_new(o, "url", json_string(st.url));
			json_object_set_new(o, "accel", json_string(st.accel));
			json_object_set_new(o, "pid", json_integer(st.pid));
			json_object_set_new(o, "memory_mb",
			    json_integer((json_int_t)st.memory_mb));
			json_object_set_new(o, "cpus", json_integer(st.cpus));
			json_object_set_new(o, "uptime_s", json_integer(up));
			json_object_set_new(o, "default_remote",
			    json_boolean(!ctx->remote));
		}
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	} else if (rc == 1) {
		printf("machine:  running (pid %ld)\n", st.pid);
		printf("url:      %s\n", st.url);
		printf("accel:    %s\n", st.accel);
		printf("uptime:   %ldh%02ldm%02lds\n", up / 3600, up / 60 % 60,
		    up % 60);
		printf("memory:   %llu MiB\n", (unsigned long long)st.memory_mb);
		printf("cpus:     %ld\n", st.cpus);
		printf("remote:   %s\n", ctx->remote ? "not the default here "
		    "(--remote or SBX_REMOTE is set)" : "the default: commands "
		    "without --remote use it (--remote local: this host)");
	} else if (stale) {
		printf("machine:  stopped (stale state: QEMU pid %ld is gone; "
		    "'sbx machine start' or 'stop' clears it)\n", st.pid);
	} else {
		printf("machine:  stopped\n");
	}
	sbx_machine_state_release(&st);
	free(dir);
	return 0;
}

/* ---- ssh ---- */

/* Appends `s` in single quotes for bash. */
static void
quote(struct sbx_buf *b, const char *s)
{
	sbx_buf_addch(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			sbx_buf_addstr(b, "'\\''");
		else
			sbx_buf_addch(b, *s);
	}
	sbx_buf_addch(b, '\'');
}

static int
ssh_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_machine_state st;
	struct sbx_buf cmd = SBX_BUF_INIT, args = SBX_BUF_INIT;
	struct sbx_err e;
	char *dir, *b64, *term;
	unsigned rows = 24, cols = 80;
	int stale, rc, i;
	size_t n;

	sbx_err_clear(&e);
	dir = sbx_machine_dir(ctx->home);
	rc = machine_load(dir, &st, &stale, &e);
	if (rc == 0) {
		sbx_err_set(&e, SBX_ENOENT, "the machine is not running");
		sbx_err_hint(&e, "'sbx machine start' starts it");
	}
	if (rc <= 0) {
		free(dir);
		return sbx_report_err(ctx, &e);
	}
	if (argc) {
		for (i = 0; i < argc; i++) {
			if (i)
				sbx_buf_addch(&cmd, ' ');
			quote(&cmd, argv[i]);
		}
		n = sodium_base64_encoded_len(cmd.len,
		    sodium_base64_VARIANT_ORIGINAL);
		b64 = xmalloc(n);
		sodium_bin2base64(b64, n, (const unsigned char *)cmd.buf,
		    cmd.len, sodium_base64_VARIANT_ORIGINAL);
		rc = session_run(dir, "run", b64, 0, 60000, &e);
		free(b64);
	} else {
		if (!isatty(0) || !isatty(1)) {
			sbx_err_set(&e, SBX_EUSAGE, "an interactive shell needs "
			    "a terminal");
			sbx_err_hint(&e, "run a command: sbx machine ssh -- CMD");
			rc = -1;
		} else {
			term = getenv("TERM");
			term_size(0, &rows, &cols);
			sbx_buf_addf(&args, "%u %u %s", rows, cols,
			    term && *term && !strpbrk(term, " '\\\n") ? term :
			    "linux");
			rc = session_run(dir, "tty", args.buf, 1, 60000, &e);
		}
	}
	if (rc < 0)
		rc = sbx_report_err(ctx, &e);
	sbx_buf_release(&cmd);
	sbx_buf_release(&args);
	sbx_machine_state_release(&st);
	free(dir);
	return rc;
}

static const struct sbx_cmd machine_start = {
	.name = "start",
	.summary = "boot the machine and its server; print its URL",
	.usage = "[--memory SIZE] [--cpus N] [--port N] [--timeout DURATION]",
	.options = start_options,
	.exec = start_exec,
};

static const struct sbx_cmd machine_stop = {
	.name = "stop",
	.summary = "shut the machine down cleanly (QEMU is killed after 30 s)",
	.usage = "",
	.exec = stop_exec,
};

static const struct sbx_cmd machine_status = {
	.name = "status",
	.summary = "running or stopped, URL, accelerator, uptime",
	.usage = "[--json]",
	.exec = status_exec,
};

static const struct sbx_cmd machine_ssh = {
	.name = "ssh",
	.summary = "a root shell in the machine, or run CMD there",
	.usage = "[-- CMD [ARG...]]",
	.exec = ssh_exec,
};

static const struct sbx_cmd *const machine_subcmds[] = {
	&machine_ssh, &machine_start, &machine_status, &machine_stop, NULL,
};

static int
machine_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return sbx_run_subcmd(ctx, ctx->cmd, argc, argv);
}

const struct sbx_cmd cmd_machine = {
	.name = "machine",
	.summary = "a Linux VM running sbx serve, for hosts without KVM",
	.usage = "start|stop|status|ssh",
	.flags = SBX_CMD_RAW_ARGS,
	.exec = machine_exec,
	.subcmds = machine_subcmds,
};
