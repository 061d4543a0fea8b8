/*
 * ops-snap.c - hibernate, resume and fork of local sandboxes (kvm.h),
 * driving sbx-vmm's "snapshot" and "fork" control ops and
 * `sbx-vmm --restore` (doc/snapshot-format.md).
 *
 * A hibernated sandbox keeps its snapshot in its store directory
 * (sandboxes/<id>/hibernate/{state,memory}); resume restores it into a new
 * sbx-vmm with the sandbox's usual sockets and console log, then the agent
 * sets the clock, entropy and hostname (kvm_personalize). A fork makes N
 * new sandbox records (parent = the source) and asks the source's VMM to
 * fork(2) itself once per child with that child's sockets and logs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/net.h"
#include "kvm/spawn.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "core/banned.h"

#define SNAP_LOCK_MS 30000
#define SNAP_CTL_MS 300000	/* a snapshot of a big guest takes a while */
#define SNAP_AGENT_MS 120000

/* One request/reply on the VMM's control socket; the reply if "ok". */
static json_t *
ctl_request(const char *id, json_t *req, struct sbx_err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *path = kvm_runfile(id, "ctl.sock"), *s;
	struct sbx_buf in = SBX_BUF_INIT;
	uint64_t deadline = sbx_clock_ms() + SNAP_CTL_MS;
	json_t *rep = NULL;
	json_error_t jerr;
	size_t len, off = 0;
	int fd = -1;

	s = json_dumps(req, JSON_COMPACT);
	if (strlen(path) >= sizeof(sa.sun_path)) {
		sbx_err_set(e, SBX_EINVAL, "control socket path '%s' is too "
		    "long", path);
		goto out;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		sbx_err_sys(e, "cannot reach the VMM of '%s' at '%s'", id,
		    path);
		goto out;
	}
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps left room for the NUL */
	while (off < len) {
		ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sbx_err_sys(e, "cannot talk to the VMM of '%s'", id);
			goto out;
		}
		off += n;
	}
	while (!memchr(in.buf, '\n', in.len)) {
		struct pollfd p = { fd, POLLIN, 0 };
		uint64_t now = sbx_clock_ms();
		char buf[4096];
		ssize_t n;

		if (now >= deadline) {
			sbx_err_set(e, SBX_ETIMEDOUT, "the VMM of '%s' did not "
			    "answer within %d s", id, SNAP_CTL_MS / 1000);
			goto out;
		}
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			sbx_err_set(e, SBX_EIO, "the VMM of '%s' closed the "
			    "control connection", id);
			goto out;
		}
		sbx_buf_add(&in, buf, n);
	}
	rep = json_loadb(in.buf, (char *)memchr(in.buf, '\n', in.len) - in.buf,
	    0, &jerr);
	if (!rep || !json_is_object(rep)) {
		sbx_err_set(e, SBX_EINVAL, "bad reply from the VMM of '%s'",
		    id);
		json_decref(rep);
		rep = NULL;
	} else if (!json_is_true(json_object_get(rep, "ok")) &&
	    !json_object_get(rep, "children")) {
		const char *m = json_string_value(json_object_get(rep,
		    "error"));

		sbx_err_set(e, SBX_EIO, "the VMM of '%s' refused: %s", id,
		    m ? m : "no reason given");
		json_decref(rep);
		rep = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	sbx_buf_release(&in);
	free(path);
	free(s);
	return rep;
}

static void
rundir_prepare(const char *id)
{
	char *dir = kvm_rundir(id), *p, *s;

	/* mkdir -p, mode 0700 */
	p = xstrdup(dir);
	for (s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0700);
			*s = '/';
		}
	mkdir(p, 0700);
	free(p);
	free(dir);
}

static void
rundir_clean(const char *id)
{
	static const char *const files[] = { "ctl.sock", "vsock.sock", NULL };
	char *dir = kvm_rundir(id), *p;
	size_t i;

	for (i = 0; files[i]; i++) {
		p = kvm_runfile(id, files[i]);
		unlink(p);
		free(p);
	}
	rmdir(dir);
	free(dir);
}

/* Starts `sbx-vmm --restore DIR` detached for sandbox `id`. */
static int
spawn_restore(struct sbx_conn *c, const char *id, const char *snapdir,
    pid_t *pid_out, struct sbx_err *e)
{
	struct sbx_strvec av = SBX_STRVEC_INIT;
	char *sbdir = sbx_sandbox_dir(c->store, id), *rundir = kvm_rundir(id);
	char *log = xasprintf("%s/vmm.log", sbdir), *vmm = kvm_vmm_path();
	int rc;

	rundir_prepare(id);
	sbx_strvec_push(&av, vmm);
	sbx_strvec_pushf(&av, "--restore=%s", snapdir);
	sbx_strvec_pushf(&av, "--id=%s", id);
	sbx_strvec_pushf(&av, "--serial-log=%s/console.log", sbdir);
	sbx_strvec_pushf(&av, "--control=%s/ctl.sock", rundir);
	sbx_strvec_pushf(&av, "--vsock=%s/vsock.sock", rundir);
	rc = kvm_exec_detached(av.v, log, pid_out, e);
	sbx_strvec_clear(&av);
	free(vmm);
	free(log);
	free(rundir);
	free(sbdir);
	return rc;
}

/* Agent up, identity given, record running. */
static int
finish_running(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	char *sbdir = sbx_sandbox_dir(c->store, sb->id);
	int rc;

	rc = kvm_wait_agent(sb->id, sbdir, sb->pid, SNAP_AGENT_MS, e);
	free(sbdir);
	if (rc < 0 || kvm_personalize(sb->id, e) < 0)
		return -1;
	kvm_ports_apply(sb);	/* net.h: forwards of the old VMM */
	sb->state = SBX_SB_RUNNING;
	return sbx_sandbox_save(c->store, sb, e);
}

/* Resolves, locks and loads a sandbox that must be running. */
static int
open_running(struct sbx_conn *c, const char *query, struct sbx_sandbox *sb,
    struct sbx_sandbox_lock **lk, struct sbx_err *e)
{
	char id[SBX_SANDBOX_ID_SIZE];

	sbx_sandbox_init(sb);
	*lk = NULL;
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0 ||
	    sbx_sandbox_lock(c->store, id, SNAP_LOCK_MS, lk, e) < 0)
		return -1;
	sbx_sandbox_release(sb);
	if (sbx_sandbox_load(c->store, id, sb, e) < 0 ||
	    kvm_refresh(c, sb, e) < 0)
		return -1;
	if (sb->state != SBX_SB_RUNNING || !kvm_vmm_alive(sb->pid))
		return sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s, not "
		    "running", id, sbx_sandbox_state_name(sb->state));
	return 0;
}

int
kvm_hibernate(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk;
	char *dir = NULL;
	json_t *rep;
	int rc = -1;

	if (open_running(c, query, &sb, &lk, e) < 0)
		goto out;
	dir = kvm_sbfile(c, sb.id, "hibernate");
	rep = ctl_request(sb.id, json_pack("{s:s, s:s}", "op", "snapshot",
	    "dir", dir), e);
	if (!rep)
		goto out;
	json_decref(rep);
	if (kvm_vmm_kill(&sb, 10000, e) < 0)
		goto out;
	rundir_clean(sb.id);
	sb.state = SBX_SB_HIBERNATED;
	sb.pid = 0;
	rc = sbx_sandbox_save(c->store, &sb, e);
out:
	free(dir);
	sbx_sandbox_release(&sb);
	if (lk)
		sbx_sandbox_unlock(lk);
	return rc;
}

int
kvm_resume(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk = NULL;
	char id[SBX_SANDBOX_ID_SIZE], *dir = NULL;
	pid_t pid = 0;
	int rc = -1;

	sbx_sandbox_init(&sb);
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0 ||
	    sbx_sandbox_lock(c->store, id, SNAP_LOCK_MS, &lk, e) < 0)
		goto out;
	sbx_sandbox_release(&sb);
	if (sbx_sandbox_load(c->store, id, &sb, e) < 0)
		goto out;
	if (sb.state != SBX_SB_HIBERNATED) {
		sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s; only hibernated "
		    "sandboxes resume", id, sbx_sandbox_state_name(sb.state));
		goto out;
	}
	dir = kvm_sbfile(c, id, "hibernate");
	if (spawn_restore(c, id, dir, &pid, e) < 0)
		goto out;
	sb.pid = pid;
	sb.state = SBX_SB_CREATING;
	if (sbx_sandbox_save(c->store, &sb, e) < 0 ||
	    finish_running(c, &sb, e) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	{
		struct sbx_err ignore;

		kvm_vmm_kill(&sb, 2000, &ignore);
		sb.pid = 0;
		sb.state = SBX_SB_HIBERNATED;
		sbx_sandbox_save(c->store, &sb, &ignore);
	}
out:
	free(dir);
	sbx_sandbox_release(&sb);
	if (lk)
		sbx_sandbox_unlock(lk);
	return rc;
}

int
kvm_fork(struct sbx_conn *c, const char *query, unsigned count,
    struct sbx_strvec *ids, struct sbx_err *e)
{
	struct sbx_sandbox src, *kids = NULL;
	struct sbx_sandbox_lock *lk;
	json_t *specs = NULL, *rep = NULL, *res;
	unsigned i, made = 0, ok = 0;
	int rc = -1;

	if (count < 1 || count > 100)
		return sbx_err_set(e, SBX_EUSAGE, "fork makes 1 to 100 "
		    "sandboxes, not %u", count);
	if (open_running(c, query, &src, &lk, e) < 0)
		goto out;
	kids = xcalloc(count, sizeof(*kids));
	specs = json_array();
	for (i = 0; i < count; i++) {
		struct sbx_sandbox *k = &kids[i];
		char *sbdir, *rundir;

		sbx_sandbox_init(k);
		sbx_sandbox_set_template(k, src.template);
		memcpy(k->image, src.image, sizeof(k->image));
		memcpy(k->parent, src.id, sizeof(k->parent));
		k->spec.vcpus = src.spec.vcpus;
		k->spec.memory = src.spec.memory;
		k->spec.disk = src.spec.disk;
		json_decref(k->extra);
		k->extra = json_deep_copy(src.extra);
		json_object_del(k->extra, "error");
		k->state = SBX_SB_CREATING;
		if (sbx_sandbox_create(c->store, k, e) < 0)
			goto fail;
		made++;
		rundir_prepare(k->id);
		sbdir = sbx_sandbox_dir(c->store, k->id);
		rundir = kvm_rundir(k->id);
		{
			json_t *o = json_pack("{s:s}", "id", k->id);
			char *p;

			p = xasprintf("%s/ctl.sock", rundir);
			json_object_set_new(o, "control", json_string(p));
			free(p);
			p = xasprintf("%s/vsock.sock", rundir);
			json_object_set_new(o, "vsock", json_string(p));
			free(p);
			p = xasprintf("%s/console.log", sbdir);
			json_object_set_new(o, "serial_log", json_string(p));
			free(p);
			p = xasprintf("%s/vmm.log", sbdir);
			json_object_set_new(o, "log", json_string(p));
			free(p);
			json_array_append_new(specs, o);
		}
		free(sbdir);
		free(rundir);
	}
	rep = ctl_request(src.id, json_pack("{s:s, s:O}", "op", "fork",
	    "children", specs), e);
	if (!rep)
		goto fail;
	res = json_object_get(rep, "children");
	for (i = 0; i < count; i++) {
		json_t *r = json_array_get(res, i);
		json_int_t pid = json_integer_value(json_object_get(r, "pid"));

		if (pid <= 0) {
			const char *m = json_string_value(json_object_get(r,
			    "error"));

			sbx_err_set(e, SBX_EIO, "fork child %u of '%s' failed: "
			    "%s", i + 1, src.id, m ? m : "no reason given");
			continue;
		}
		kids[i].pid = (pid_t)pid;
		if (sbx_sandbox_save(c->store, &kids[i], e) < 0 ||
		    finish_running(c, &kids[i], e) < 0)
			continue;
		sbx_strvec_push(ids, kids[i].id);
		ok++;
	}
	if (ok == count)
		rc = 0;
fail:
	/* Children that did not come up leave nothing behind. */
	for (i = 0; i < made; i++) {
		struct sbx_err ignore;

		if (kids[i].state == SBX_SB_RUNNING)
			continue;
		kvm_vmm_kill(&kids[i], 2000, &ignore);
		rundir_clean(kids[i].id);
		sbx_sandbox_remove(c->store, kids[i].id, &ignore);
	}
out:
	for (i = 0; kids && i < count; i++)
		sbx_sandbox_release(&kids[i]);
	free(kids);
	json_decref(specs);
	json_decref(rep);
	sbx_sandbox_release(&src);
	if (lk)
		sbx_sandbox_unlock(lk);
	return rc;
}
