/*
 * backend.c - the local `kvm` backend: lifecycle ops over the store and
 * sbx-vmm processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvm/disk.h"
#include "kvm/kvm.h"
#include "kvm/net.h"
#include "kvm/spawn.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "store/store.h"
#include "core/banned.h"

#define KVM_LOCK_MS 30000

char *
kvm_rundir(const char *id)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	struct stat st;

	if (xdg && *xdg == '/' && stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) &&
	    access(xdg, W_OK) == 0)
		return xasprintf("%s/sbx/%s", xdg, id);
	return xasprintf("/tmp/sbx-%u/%s", (unsigned)getuid(), id);
}

char *
kvm_runfile(const char *id, const char *name)
{
	char *dir = kvm_rundir(id), *p = xasprintf("%s/%s", dir, name);

	free(dir);
	return p;
}

char *
kvm_sbfile(struct sbx_conn *c, const char *id, const char *name)
{
	char *dir = sbx_sandbox_dir(c->store, id), *p;

	p = xasprintf("%s/%s", dir, name);
	free(dir);
	return p;
}

int
kvm_vmm_alive(pid_t pid)
{
	char path[64], comm[32];
	FILE *f;
	int ok = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (fgets(comm, sizeof(comm), f)) {
		comm[strcspn(comm, "\n")] = '\0';
		ok = !strcmp(comm, "sbx-vmm");
	}
	fclose(f);
	/* A zombie's comm still reads; it is not alive for us. */
	if (ok) {
		char stat[512];

		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(stat, sizeof(stat), f)) {
				char *p = strrchr(stat, ')');

				if (p && p[1] == ' ' && p[2] == 'Z')
					ok = 0;
			}
			fclose(f);
		}
	}
	return ok;
}

#define GONE_LINES 3	/* vmm.log lines quoted: a triple fault's registers
			   come just before the exit line */
#define GONE_MAX 900

/*
 * Why a sandbox's VMM is gone, for its record: the pid and the last lines
 * the VMM wrote to vmm.log (its exit status or the error it died of, and
 * what came just before), joined with " / ".
 */
static char *
vmm_gone_reason(struct sbx_conn *c, const struct sbx_sandbox *sb)
{
	struct sbx_buf b = SBX_BUF_INIT, j = SBX_BUF_INIT;
	char *path = kvm_sbfile(c, sb->id, "vmm.log"), *why, *last, *p;
	int lines = 0;

	if (sbx_buf_read_file(&b, path, NULL) < 0)
		sbx_buf_reset(&b);
	while (b.len && b.buf[b.len - 1] == '\n')
		b.buf[--b.len] = '\0';
	last = b.buf + b.len;
	while (last > b.buf && lines < GONE_LINES) {
		last--;
		while (last > b.buf && last[-1] != '\n')
			last--;
		lines++;
	}
	if (strlen(last) > GONE_MAX)
		last += strlen(last) - GONE_MAX;
	for (p = last; *p; p++)
		if (*p == '\n')
			sbx_buf_addstr(&j, " / ");
		else
			sbx_buf_addch(&j, *p);
	why = j.len ? xasprintf("its VMM (pid %ld) is gone; its log ends: %s",
	    (long)sb->pid, j.buf) : xasprintf("its VMM (pid %ld) is gone",
	    (long)sb->pid);
	sbx_buf_release(&j);
	sbx_buf_release(&b);
	free(path);
	return why;
}

/* Did sb's VMM hibernate it for idleness (a complete snapshot + marker)? */
static int
idle_hibernated(struct sbx_conn *c, const struct sbx_sandbox *sb)
{
	char *dir = kvm_sbfile(c, sb->id, "hibernate");
	char *mk = xasprintf("%s/%s", dir, KVM_IDLE_MARKER);
	char *st = xasprintf("%s/state", dir);
	int yes = access(mk, F_OK) == 0 && access(st, F_OK) == 0;

	free(dir);
	free(mk);
	free(st);
	return yes;
}

int
kvm_refresh(struct sbx_conn *c, struct sbx_sandbox *sb, struct sbx_err *e)
{
	struct sbx_sandbox_lock *lk;
	int rc;

	if ((sb->state != SBX_SB_RUNNING && sb->state != SBX_SB_PAUSED &&
	    sb->state != SBX_SB_CREATING) || kvm_vmm_alive(sb->pid))
		return 0;
	/* "creating" without a pid is a create in progress elsewhere. */
	if (sb->state == SBX_SB_CREATING && !sb->pid)
		return 0;
	if (sbx_sandbox_lock(c->store, sb->id, KVM_LOCK_MS, &lk, e) < 0)
		return -1;
	/* Re-read under the lock: someone may have fixed it meanwhile. */
	{
		struct sbx_sandbox fresh;

		if (sbx_sandbox_load(c->store, sb->id, &fresh, e) < 0) {
			sbx_sandbox_release(&fresh);
			sbx_sandbox_unlock(lk);
			return -1;
		}
		sbx_sandbox_release(sb);
		*sb = fresh;
	}
	rc = 0;
	if ((sb->state == SBX_SB_RUNNING || sb->state == SBX_SB_PAUSED) &&
	    !kvm_vmm_alive(sb->pid) && idle_hibernated(c, sb)) {
		/* The VMM hibernated it for idleness (vmm/idle.h). */
		sb->state = SBX_SB_HIBERNATED;
		sb->pid = 0;
		rc = sbx_sandbox_save(c->store, sb, e);
	} else if ((sb->state == SBX_SB_RUNNING ||
	    sb->state == SBX_SB_PAUSED || sb->state == SBX_SB_CREATING) &&
	    !kvm_vmm_alive(sb->pid)) {
		char *why = vmm_gone_reason(c, sb);

		json_object_set_new(sb->extra, "error", json_string(why));
		free(why);
		sb->state = SBX_SB_ERROR;
		sb->pid = 0;
		rc = sbx_sandbox_save(c->store, sb, e);
	}
	sbx_sandbox_unlock(lk);
	return rc;
}

int
kvm_vmm_kill(struct sbx_sandbox *sb, unsigned grace_ms, struct sbx_err *e)
{
	uint64_t deadline;
	pid_t pid = sb->pid;

	if (!kvm_vmm_alive(pid))
		return 0;
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH)
		return sbx_err_sys(e, "cannot stop the VMM of '%s' (pid %ld)",
		    sb->id, (long)pid);
	deadline = sbx_clock_ms() + grace_ms;
	while (kvm_vmm_alive(pid) && sbx_clock_ms() < deadline)
		poll(NULL, 0, 20);
	if (kvm_vmm_alive(pid)) {
		kill(pid, SIGKILL);
		deadline = sbx_clock_ms() + 5000;
		while (kvm_vmm_alive(pid) && sbx_clock_ms() < deadline)
			poll(NULL, 0, 20);
		if (kvm_vmm_alive(pid))
			return sbx_err_set(e, SBX_EBUSY, "the VMM of '%s' (pid "
			    "%ld) does not exit", sb->id, (long)pid);
	}
	return 0;
}

static int
kvm_open(const struct sbx_backend_cfg *cfg, struct sbx_conn **out,
    struct sbx_err *e)
{
	struct sbx_conn *c = xcalloc(1, sizeof(*c));

	if (sbx_store_open(cfg->home, &c->store, e) < 0) {
		free(c);
		return -1;
	}
	c->home = xstrdup(cfg->home);
	c->quiet = cfg->quiet;
	c->verbose = cfg->verbose;
	*out = c;
	return 0;
}

static void
kvm_close(struct sbx_conn *c)
{
	if (!c)
		return;
	sbx_store_close(c->store);
	free(c->home);
	free(c);
}

static int
kvm_get(struct sbx_conn *c, const char *query, struct sbx_sandbox *out,
    struct sbx_err *e)
{
	char id[SBX_SANDBOX_ID_SIZE];

	sbx_sandbox_init(out);
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0)
		return -1;
	sbx_sandbox_release(out);
	if (sbx_sandbox_load(c->store, id, out, e) < 0)
		return -1;
	return kvm_refresh(c, out, e);
}

static int
cmp_created(const void *a, const void *b)
{
	const struct sbx_sandbox *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

static int
kvm_list(struct sbx_conn *c, struct sbx_sandbox **out, size_t *n,
    struct sbx_err *e)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_sandbox *v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (sbx_sandbox_list(c->store, &ids, e) < 0)
		return -1;
	v = xcalloc(ids.nr ? ids.nr : 1, sizeof(*v));
	for (i = 0; i < ids.nr; i++) {
		struct sbx_err ignore;

		/* A sandbox removed meanwhile is simply not listed. */
		sbx_err_clear(&ignore);
		if (sbx_sandbox_load(c->store, ids.v[i], &v[k], &ignore) < 0) {
			sbx_sandbox_release(&v[k]);
			if (ignore.code == SBX_ENOENT)
				continue;
			*e = ignore;
			goto fail;
		}
		sbx_err_clear(&ignore);
		if (kvm_refresh(c, &v[k], &ignore) < 0) {
			sbx_sandbox_release(&v[k]);
			if (ignore.code == SBX_ENOENT)	/* removed meanwhile */
				continue;
			*e = ignore;
			goto fail;
		}
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_created);
	sbx_strvec_clear(&ids);
	*out = v;
	*n = k;
	return 0;
fail:
	for (i = 0; i < k; i++)
		sbx_sandbox_release(&v[i]);
	free(v);
	sbx_strvec_clear(&ids);
	return -1;
}

/* 0 if `path` is a directory of ours with no access for others. */
static int
private_dir(const char *path, struct sbx_err *e)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return sbx_err_sys(e, "cannot check '%s'", path);
	if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 077)) {
		sbx_err_set(e, SBX_EPERM, "runtime directory '%s' is not a "
		    "private directory of this user (owner %u, mode %03o)",
		    path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
		sbx_err_hint(e, "remove it, or set XDG_RUNTIME_DIR to a "
		    "directory of your own");
		return SBX_EPERM;
	}
	return 0;
}

int
kvm_rundir_make(const char *id, struct sbx_err *e)
{
	char *dir = kvm_rundir(id), *s;
	int rc = 0;

	/* mkdir -p, mode 0700 */
	for (s = dir + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				rc = sbx_err_sys(e, "cannot create '%s'", dir);
			*s = c;
			if (rc < 0 || !c)
				break;
		}
	}
	/* The directory and its parent (sbx/ or /tmp/sbx-UID). */
	if (rc == 0 && (rc = private_dir(dir, e)) == 0) {
		s = strrchr(dir, '/');
		*s = '\0';
		rc = private_dir(dir, e);
	}
	free(dir);
	return rc;
}

void
kvm_rundir_remove(const char *id)
{
	char *dir = kvm_rundir(id);
	struct dirent *de;
	DIR *d = opendir(dir);

	/* Its sockets and pid file, and the proxy's forwards (port-N.sock). */
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	free(dir);
}

static int
kvm_stop(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk;
	char id[SBX_SANDBOX_ID_SIZE];
	int rc = -1;

	if (sbx_sandbox_resolve(c->store, query, id, e) < 0)
		return -1;
	if (sbx_sandbox_lock(c->store, id, KVM_LOCK_MS, &lk, e) < 0)
		return -1;
	if (sbx_sandbox_load(c->store, id, &sb, e) < 0)
		goto out;
	if (sb.state == SBX_SB_RUNNING && kvm_vmm_alive(sb.pid)) {
		struct sbx_err de = { 0 };

		kvm_disk_sync(&sb);
		/* A hung VMM must still stop: the disk is then as recorded. */
		if (kvm_disk_settle(c, &sb, &de) < 0 && !c->quiet)
			fprintf(stderr, "sbx: warning: %s; the disk keeps what "
			    "its record lists\n", de.msg);
	}
	if (kvm_vmm_kill(&sb, 10000, e) < 0)
		goto out;
	kvm_rundir_remove(id);
	if (sb.state != SBX_SB_STOPPED) {
		sb.state = SBX_SB_STOPPED;
		sb.pid = 0;
		if (sbx_sandbox_save(c->store, &sb, e) < 0)
			goto out;
	}
	rc = 0;
out:
	sbx_sandbox_release(&sb);
	sbx_sandbox_unlock(lk);
	return rc;
}

static int
kvm_destroy(struct sbx_conn *c, const char *query, int force,
    struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk;
	char id[SBX_SANDBOX_ID_SIZE];
	int rc = -1;

	if (sbx_sandbox_resolve(c->store, query, id, e) < 0)
		return -1;
	if (sbx_sandbox_lock(c->store, id, KVM_LOCK_MS, &lk, e) < 0)
		return -1;
	if (sbx_sandbox_load(c->store, id, &sb, e) < 0)
		goto out;
	if (kvm_vmm_alive(sb.pid)) {
		if (!force) {
			sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s", id,
			    sbx_sandbox_state_name(sb.state));
			sbx_err_hint(e, "stop it first, or use 'sbx rm -f'");
			goto out;
		}
		if (kvm_vmm_kill(&sb, 2000, e) < 0)
			goto out;
	}
	kvm_rundir_remove(id);
	rc = sbx_sandbox_remove(c->store, id, e);
out:
	sbx_sandbox_release(&sb);
	sbx_sandbox_unlock(lk);
	return rc;
}

/* Copies the console log to dst_fd; with follow, until the VMM exits. */
static int
kvm_logs(struct sbx_conn *c, const char *query, int dst_fd, int follow,
    struct sbx_err *e)
{
	struct sbx_sandbox sb;
	char id[SBX_SANDBOX_ID_SIZE], buf[65536], *path;
	int fd, rc = 0;
	ssize_t n;

	if (kvm_get(c, query, &sb, e) < 0) {
		sbx_sandbox_release(&sb);
		return -1;
	}
	memcpy(id, sb.id, sizeof(id));
	path = kvm_sbfile(c, id, "console.log");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? 0 : sbx_err_sys(e, "cannot read '%s'",
		    path);
		goto out;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sbx_err_sys(e, "cannot read '%s'", path);
			break;
		}
		if (n == 0) {
			if (!follow || !kvm_vmm_alive(sb.pid))
				break;
			poll(NULL, 0, 200);
			continue;
		}
		if (write(dst_fd, buf, (size_t)n) != n) {
			rc = sbx_err_sys(e, "cannot write the log");
			break;
		}
	}
	close(fd);
out:
	free(path);
	sbx_sandbox_release(&sb);
	return rc;
}

const struct sbx_backend sbx_backend_kvm = {
	.name = "kvm",
	.open = kvm_open,
	.close = kvm_close,
	.create = kvm_create,
	.list = kvm_list,
	.get = kvm_get,
	.stop = kvm_stop,
	.start = kvm_start,
	.destroy = kvm_destroy,
	.logs = kvm_logs,
	.exec = kvm_exec,
	.file_put = kvm_file_put,
	.file_get = kvm_file_get,
	.file_stat = kvm_file_stat,
	.file_list = kvm_file_list,
	.file_mkdir = kvm_file_mkdir,
	.file_rm = kvm_file_rm,
	.file_rename = kvm_file_rename,
	.stats = kvm_stats,
	.port = kvm_port,
	.port_close = kvm_port_close,
	.port_connect = kvm_port_connect,
	.fork = kvm_fork,
	.hibernate = kvm_hibernate,
	.resume = kvm_resume,
	.resize = kvm_resize,
	.snapshot = kvm_snapshot,
	.log = kvm_log,
};
