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
 *
 * `sbx snapshot` stores a snapshot as objects: the memory file and the
 * state file (moved into the store, not copied) and a manifest
 * {"type":"snapshot", "parent", "memory", "state", "image", "spec",
 * "message", "time", "added_bytes"}; sandbox.json's "head" names the
 * newest, and "parent" links the chain `sbx log` walks. `sbx create
 * --from` restores a snapshot into a new sandbox, mapping the memory
 * object itself.
 */
#include <dirent.h>
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
#include "store/manifest.h"
#include "store/registry.h"
#include "store/store.h"
#include "core/banned.h"

#define SNAP_LOCK_MS 30000
#define SNAP_CTL_MS 300000	/* a snapshot of a big guest takes a while */
#define SNAP_AGENT_MS 120000
#define SNAP_CHUNK (2u << 20)		/* bytes of RAM per memory object */


/*
 * Starts `sbx-vmm --restore DIR` detached for sandbox `sb`, with the idle
 * timeout and egress policy its record has now (a create from a snapshot
 * may have changed both).
 */
static int
spawn_restore(struct sbx_conn *c, const struct sbx_sandbox *sb,
    const char *snapdir, pid_t *pid_out, struct sbx_err *e)
{
	struct sbx_strvec av = SBX_STRVEC_INIT;
	const char *id = sb->id;
	char *sbdir = sbx_sandbox_dir(c->store, id), *rundir = kvm_rundir(id);
	char *log = xasprintf("%s/vmm.log", sbdir), *vmm = kvm_vmm_path();
	json_t *net = json_object_get(sb->extra, "network");
	uint64_t idle_ms = (uint64_t)json_integer_value(
	    json_object_get(sb->extra, KVM_IDLE_KEY));
	int rc;

	sbx_strvec_push(&av, vmm);
	sbx_strvec_pushf(&av, "--restore=%s", snapdir);
	sbx_strvec_pushf(&av, "--id=%s", id);
	sbx_strvec_pushf(&av, "--serial-log=%s/console.log", sbdir);
	sbx_strvec_pushf(&av, "--control=%s/ctl.sock", rundir);
	sbx_strvec_pushf(&av, "--vsock=%s/vsock.sock", rundir);
	if (idle_ms) {
		sbx_strvec_pushf(&av, "--idle-timeout=%llums",
		    (unsigned long long)idle_ms);
		sbx_strvec_pushf(&av, "--hibernate-dir=%s/hibernate", sbdir);
	}
	if (json_is_object(net) && json_is_true(json_object_get(net,
	    "enabled"))) {
		char *policy = kvm_net_policy(sb);

		if (policy)
			sbx_strvec_pushf(&av, "--net=%s", policy);
		free(policy);
	}
	rc = kvm_rundir_make(id, e);
	if (rc == 0 && (kvm_disk_argv(c, sb, &av, e) < 0 ||
	    kvm_exec_detached(av.v, log, pid_out, e) < 0)) {
		kvm_rundir_remove(id);	/* no VMM: nothing of its is there */
		rc = -1;
	}
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

	rc = kvm_wait_agent(sb->id, sbdir, sb->pid, SNAP_AGENT_MS, false, e);
	free(sbdir);
	if (rc < 0 || kvm_personalize(sb->id, e) < 0)
		return -1;
	kvm_ports_apply(sb);	/* net.h: forwards of the old VMM */
	kvm_disk_learn_mark(sb);
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
	char *dir = NULL, *disk = NULL;
	json_t *rep, *req;
	int rc = -1, locked = 0;

	if (open_running(c, query, &sb, &lk, e) < 0)
		goto out;
	dir = kvm_sbfile(c, sb.id, "hibernate");
	req = json_pack("{s:s, s:s}", "op", "snapshot", "dir", dir);
	kvm_disk_since(&sb, req);
	rep = kvm_ctl_request(sb.id, req, SNAP_CTL_MS, e);
	if (!rep)
		goto out;
	/*
	 * The data disk's frozen top joins the chain (the store keeps it,
	 * gc sees it in sandbox.json); if that fails the sandbox runs on.
	 */
	if (kvm_disk_present(&sb)) {
		disk = xasprintf("%s/disk", dir);
		locked = sbx_store_write_begin(c->store, e) == 0;
		if (!locked || kvm_disk_frozen(c, &sb, disk, rep, NULL, e) < 0 ||
		    sbx_sandbox_save(c->store, &sb, e) < 0) {
			json_decref(rep);
			goto out;
		}
	}
	json_decref(rep);
	/*
	 * The snapshot is complete: the sandbox is hibernated from here on,
	 * even if its old VMM is slow to go (tearing down a big VM under
	 * load can outlast the grace time); a resume starts a new one.
	 */
	{
		struct sbx_err kerr = { 0 };

		if (kvm_vmm_kill(&sb, 10000, &kerr) < 0 && !c->quiet)
			fprintf(stderr, "sbx: warning: %s; recorded as "
			    "hibernated anyway\n", kerr.msg);
	}
	kvm_rundir_remove(sb.id);
	sb.state = SBX_SB_HIBERNATED;
	sb.pid = 0;
	rc = sbx_sandbox_save(c->store, &sb, e);
out:
	if (locked)
		sbx_store_write_done(c->store);
	free(disk);
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
	{
		/* A hibernation for idleness is over once resumed. */
		char *mk = xasprintf("%s/%s", dir, KVM_IDLE_MARKER);
		char *pend = xasprintf("%s/%s", dir, KVM_IDLE_PENDING);

		unlink(mk);
		unlink(pend);	/* left by a VMM killed while writing */
		free(mk);
		free(pend);
	}
	if (kvm_disk_absorb(c, &sb, e) < 0 ||
	    spawn_restore(c, &sb, dir, &pid, e) < 0)
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
	json_t *specs = NULL, *rep = NULL, *req, *res;
	unsigned i, made = 0, ok = 0;
	char *layer = NULL;
	int rc = -1, locked = 0;

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
		if (kvm_rundir_make(k->id, e) < 0)
			goto fail;
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
			p = xasprintf("%s/%s", sbdir, KVM_DISK_TOP);
			json_object_set_new(o, "disk_top", json_string(p));
			free(p);
			if (json_integer_value(json_object_get(src.extra,
			    KVM_IDLE_KEY)) > 0) {
				p = xasprintf("%s/hibernate", sbdir);
				json_object_set_new(o, "hibernate_dir",
				    json_string(p));
				free(p);
				json_object_set(o, "idle_timeout_ms",
				    json_object_get(src.extra, KVM_IDLE_KEY));
			}
			json_array_append_new(specs, o);
		}
		free(sbdir);
		free(rundir);
	}
	req = json_pack("{s:s, s:O}", "op", "fork", "children", specs);
	if (kvm_disk_present(&src)) {
		/*
		 * The source freezes its data disk's top into `layer`; every
		 * child gets a new empty top over the chain it ends.
		 */
		json_t *paths = kvm_disk_paths(c, &src, e);
		int fd;

		if (!paths || sbx_store_tmpfile(c->store, "fork-disk", &layer,
		    &fd, e) < 0) {
			json_decref(paths);
			json_decref(req);
			goto fail;
		}
		close(fd);
		json_object_set_new(req, "disk_layers", paths);
		json_object_set_new(req, "disk_layer", json_string(layer));
		kvm_disk_since(&src, req);
	}
	rep = kvm_ctl_request(src.id, req, SNAP_CTL_MS, e);
	if (!rep)
		goto fail;
	if (layer) {
		if (sbx_store_write_begin(c->store, e) < 0)
			goto fail;
		locked = 1;
		if (kvm_disk_frozen(c, &src, layer, rep, NULL, e) < 0 ||
		    sbx_sandbox_save(c->store, &src, e) < 0)
			goto fail;
	}
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
		if (layer) {
			/* The source's chain, with the child's own mark. */
			json_object_set_new(kids[i].extra, KVM_DISK_KEY,
			    json_deep_copy(json_object_get(src.extra,
			    KVM_DISK_KEY)));
			kvm_disk_set_mark(&kids[i], json_string_value(
			    json_object_get(r, "disk_mark")));
		}
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
		kvm_rundir_remove(kids[i].id);
		sbx_sandbox_remove(c->store, kids[i].id, &ignore);
	}
out:
	if (locked)
		sbx_store_write_done(c->store);
	if (layer) {
		unlink(layer);	/* gone already once stored */
		free(layer);
	}
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

/*
 * Moves a snapshot directory written by the VMM in chunked layout
 * (DIR/state, DIR/memory.d/<offset>) into the store: one object per
 * chunk, so chunks unchanged since an earlier snapshot cost nothing.
 * Fills manifest `m` with "state" and "memory": {"size", "chunk",
 * "chunks": {offset: ref}}.
 */
static int
store_snapdir(struct sbx_conn *c, const char *dir, uint64_t size, json_t *m,
    json_t *base, json_t *dirty, uint64_t *added, struct sbx_err *e)
{
	char *mdir = xasprintf("%s/memory.d", dir), *path;
	json_t *chunks = base ? json_deep_copy(base) : json_object(), *v;
	size_t i;

	/* A diff: the parent's chunks, less every chunk that changed. */
	json_array_foreach(dirty, i, v) {
		char key[17];

		snprintf(key, sizeof(key), "%016llx",
		    (unsigned long long)json_integer_value(v));
		json_object_del(chunks, key);
	}
	struct sbx_oid id;
	struct dirent *de;
	DIR *d;
	int r = 0;

	*added = 0;
	path = xasprintf("%s/state", dir);
	r = kvm_put_counted(c, path, &id, added, e);
	free(path);
	if (r == 0)
		json_object_set_new(m, "state", sbx_manifest_ref_json(&id));
	d = r == 0 ? opendir(mdir) : NULL;
	if (r == 0 && !d)
		r = sbx_err_sys(e, "cannot open '%s'", mdir);
	while (r == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", mdir, de->d_name);
		r = kvm_put_counted(c, path, &id, added, e);
		free(path);
		if (r == 0)
			json_object_set_new(chunks, de->d_name,
			    sbx_manifest_ref_json(&id));
	}
	if (d)
		closedir(d);
	if (r == 0)
		json_object_set_new(m, "memory", json_pack("{s:I, s:I, s:o}",
		    "size", (json_int_t)size, "chunk",
		    (json_int_t)SNAP_CHUNK, "chunks", json_incref(chunks)));
	/*
	 * A diff's page delta: the pages of the parent's chunks that changed
	 * since they were last written whole (the VMM folds earlier deltas
	 * into it, so the parent's delta is not carried over).
	 */
	path = xasprintf("%s/delta", dir);
	if (r == 0 && access(path, F_OK) == 0) {
		r = kvm_put_counted(c, path, &id, added, e);
		if (r == 0)
			json_object_set_new(json_object_get(m, "memory"),
			    "delta", sbx_manifest_ref_json(&id));
	}
	free(path);
	json_decref(chunks);
	free(mdir);
	return r;
}

/* Removes what is left of a snapshot directory (after a failure). */
static void
snapdir_remove(const char *dir)
{
	char *mdir = xasprintf("%s/memory.d", dir), *p;
	struct dirent *de;
	DIR *d = opendir(mdir);

	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = xasprintf("%s/%s", mdir, de->d_name);
		unlink(p);
		free(p);
	}
	if (d)
		closedir(d);
	rmdir(mdir);
	p = xasprintf("%s/delta", dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/disk", dir);
	unlink(p);
	free(p);
	p = xasprintf("%s/state", dir);
	unlink(p);
	free(p);
	rmdir(dir);
	free(mdir);
}

/*
 * The head snapshot of `sb` as a diff base: its VMM mark (if it was taken
 * from this sandbox) and its chunks. Leaves both NULL otherwise.
 */
static void
head_base(struct sbx_conn *c, const struct sbx_sandbox *sb, char **since,
    json_t **chunks)
{
	struct sbx_oid id;
	json_t *m = NULL;
	const char *mark, *from;

	if (sbx_oid_from_hex(sb->head, &id, NULL) < 0 ||
	    sbx_manifest_load(c->store, &id, &m, NULL) < 0)
		return;
	mark = json_string_value(json_object_get(m, "vmm_mark"));
	from = json_string_value(json_object_get(m, "sandbox"));
	if (mark && from && !strcmp(from, sb->id) &&
	    json_is_object(json_object_get(json_object_get(m, "memory"),
	    "chunks"))) {
		*since = xstrdup(mark);
		*chunks = json_incref(json_object_get(json_object_get(m,
		    "memory"), "chunks"));
	}
	json_decref(m);
}

int
kvm_snapshot(struct sbx_conn *c, const char *query, const char *message,
    struct sbx_snapshot_info *out, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk;
	struct sbx_oid man;
	char *tmp = NULL;
	char ref[SBX_MANIFEST_REF_SIZE];
	json_t *rep, *req, *m = NULL, *base = NULL, *dirty = NULL;
	char *since = NULL, *mark = NULL, *disk_mark = NULL, *disk;
	json_int_t written = 0, dirty_pages = 0, delta_pages = 0;
	uint64_t added = 0;
	int rc = -1, locked = 0, diff = 0, disk_full = 0, r;

	memset(out, 0, sizeof(*out));
	if (open_running(c, query, &sb, &lk, e) < 0)
		goto out;
	if (sbx_store_write_begin(c->store, e) < 0)
		goto out;
	locked = 1;
	tmp = sbx_store_path(c->store, "tmp/snapshot-XXXXXX");
	if (!mkdtemp(tmp)) {
		sbx_err_sys(e, "cannot create a directory for the snapshot");
		free(tmp);
		tmp = NULL;
		goto out;
	}
	/*
	 * If the head snapshot was taken from this very VMM, the VMM knows
	 * what changed since (its mark) and writes only that.
	 */
	if (sb.head[0])
		head_base(c, &sb, &since, &base);
	req = json_pack("{s:s, s:s, s:I}", "op", "snapshot", "dir", tmp,
	    "chunk", (json_int_t)SNAP_CHUNK);
	if (since)
		json_object_set_new(req, "since", json_string(since));
	kvm_disk_since(&sb, req);
	rep = kvm_ctl_request(sb.id, req, SNAP_CTL_MS, e);
	if (!rep)
		goto out;
	disk_full = json_is_true(json_object_get(rep, "disk_full"));
	if (json_string_value(json_object_get(rep, "disk_mark")))
		disk_mark = xstrdup(json_string_value(json_object_get(rep,
		    "disk_mark")));
	diff = json_is_true(json_object_get(rep, "diff")) && base;
	written = json_integer_value(json_object_get(rep, "memory_bytes"));
	mark = json_string_value(json_object_get(rep, "mark")) ?
	    xstrdup(json_string_value(json_object_get(rep, "mark"))) : NULL;
	dirty = json_incref(json_object_get(rep, "dirty"));
	dirty_pages = json_integer_value(json_object_get(rep, "dirty_pages"));
	delta_pages = json_integer_value(json_object_get(rep, "delta_pages"));
	json_decref(rep);
	m = json_pack("{s:s, s:{s:i, s:I}, s:s, s:I, s:s}",
	    "type", "snapshot",
	    "spec", "vcpus", (int)sb.spec.vcpus, "memory",
	    (json_int_t)sb.spec.memory,
	    "message", message ? message : "",
	    "time", (json_int_t)time(NULL),
	    "sandbox", sb.id);
	/* What a sandbox restored from it needs to know of its origin. */
	if (sb.template)
		json_object_set_new(m, "template", json_string(sb.template));
	json_object_set(m, "extra", sb.extra);
	if (store_snapdir(c, tmp, sb.spec.memory, m, diff ? base : NULL,
	    diff ? dirty : NULL, &added, e) < 0)
		goto out;
	if (kvm_disk_present(&sb)) {
		/* The frozen top of the data disk ends the chain. */
		disk = xasprintf("%s/disk", tmp);
		r = kvm_disk_frozen_as(c, &sb, disk, disk_full, disk_mark,
		    &added, e);
		free(disk);
		if (r < 0)
			goto out;
		json_object_set_new(m, "disk", kvm_disk_manifest(&sb));
	}
	json_object_set_new(m, "added_bytes", json_integer((json_int_t)added));
	json_object_set_new(m, "written_bytes", json_integer(written));
	json_object_set_new(m, "diff", json_boolean(diff));
	if (diff) {
		json_object_set_new(m, "dirty_pages", json_integer(dirty_pages));
		json_object_set_new(m, "delta_pages", json_integer(delta_pages));
	}
	if (mark)
		json_object_set_new(m, "vmm_mark", json_string(mark));
	if (sb.image[0]) {
		snprintf(ref, sizeof(ref), "sha:%s", sb.image);
		json_object_set_new(m, "image", json_string(ref));
	}
	if (sb.head[0]) {
		snprintf(ref, sizeof(ref), "sha:%s", sb.head);
		json_object_set_new(m, "parent", json_string(ref));
	}
	if (sbx_manifest_put(c->store, m, &man, e) < 0)
		goto out;
	sbx_oid_to_hex(&man, sb.head);
	if (sbx_sandbox_save(c->store, &sb, e) < 0)
		goto out;
	memcpy(out->id, sb.head, sizeof(out->id));
	if (json_object_get(m, "parent"))
		memcpy(out->parent, json_string_value(json_object_get(m,
		    "parent")) + 4, SBX_OID_HEXLEN + 1);
	out->time = json_integer_value(json_object_get(m, "time"));
	out->message = xstrdup(message ? message : "");
	out->added_bytes = added;
	rc = 0;
out:
	if (tmp)
		snapdir_remove(tmp);
	if (locked)
		sbx_store_write_done(c->store);
	json_decref(m);
	json_decref(base);
	json_decref(dirty);
	free(disk_mark);
	free(since);
	free(mark);
	free(tmp);
	sbx_sandbox_release(&sb);
	if (lk)
		sbx_sandbox_unlock(lk);
	return rc;
}

/* Loads snapshot manifest `hex`; checks its type. */
static int
snap_load(struct sbx_conn *c, const char *hex, json_t **m, struct sbx_err *e)
{
	struct sbx_oid id;

	if (sbx_oid_from_hex(hex, &id, e) < 0 ||
	    sbx_manifest_load(c->store, &id, m, e) < 0)
		return -1;
	if (strcmp(json_string_value(json_object_get(*m, "type")) ?
	    json_string_value(json_object_get(*m, "type")) : "", "snapshot")) {
		json_decref(*m);
		*m = NULL;
		return sbx_err_set(e, SBX_EINVAL, "object %.12s is not a "
		    "snapshot", hex);
	}
	return 0;
}

int
kvm_log(struct sbx_conn *c, const char *query,
    struct sbx_snapshot_info **out, size_t *n, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	char id[SBX_SANDBOX_ID_SIZE], hex[SBX_OID_HEXLEN + 1];
	size_t cap = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	sbx_sandbox_init(&sb);
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0)
		goto out;
	sbx_sandbox_release(&sb);
	if (sbx_sandbox_load(c->store, id, &sb, e) < 0)
		goto out;
	memcpy(hex, sb.head, sizeof(hex));
	while (hex[0]) {
		struct sbx_snapshot_info *i;
		json_t *m;
		const char *p;

		if (*n >= 100000 || snap_load(c, hex, &m, e) < 0)
			goto out;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = xrealloc(*out, cap * sizeof(**out));
		}
		i = &(*out)[(*n)++];
		memset(i, 0, sizeof(*i));
		memcpy(i->id, hex, sizeof(i->id));
		p = json_string_value(json_object_get(m, "parent"));
		if (p && strlen(p) == 4 + SBX_OID_HEXLEN)
			memcpy(i->parent, p + 4, SBX_OID_HEXLEN + 1);
		i->time = json_integer_value(json_object_get(m, "time"));
		p = json_string_value(json_object_get(m, "message"));
		i->message = xstrdup(p ? p : "");
		i->added_bytes = json_integer_value(json_object_get(m,
		    "added_bytes"));
		memcpy(hex, i->parent, sizeof(hex));
		json_decref(m);
	}
	rc = 0;
out:
	sbx_sandbox_release(&sb);
	return rc;
}

/* Object `ref` ("sha:...") `r` as a path in the store; `what` names it. */
static char *
snap_object(struct sbx_conn *c, const char *r, const char *what,
    struct sbx_err *e)
{
	struct sbx_oid id;

	if (!r || !sbx_manifest_parse_ref(r, &id)) {
		sbx_err_set(e, SBX_ECORRUPT, "snapshot manifest has no valid "
		    "%s", what);
		return NULL;
	}
	if (!sbx_store_object_exists(c->store, &id)) {
		sbx_err_set(e, SBX_ENOENT, "the snapshot's %s object %.12s is "
		    "missing from the store", what, r + 4);
		return NULL;
	}
	return sbx_store_object_path(c->store, &id);
}

/*
 * Lays out snapshot manifest `m` in `dir` the way sbx-vmm --restore reads
 * it: DIR/state and DIR/memory.d/<offset> as symlinks to the objects.
 */
static int
snap_link(struct sbx_conn *c, json_t *m, const char *dir, struct sbx_err *e)
{
	json_t *mem = json_object_get(m, "memory");
	json_t *chunks = json_object_get(mem, "chunks"), *v;
	char *mdir = xasprintf("%s/memory.d", dir), *obj, *lnk;
	const char *key;
	int r = 0;

	if (!json_is_object(chunks) || json_integer_value(json_object_get(
	    mem, "size")) <= 0) {
		free(mdir);
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot manifest has no "
		    "valid 'memory' (want size and chunks)");
	}
	if (mkdir(dir, 0700) < 0 || mkdir(mdir, 0700) < 0) {
		r = sbx_err_sys(e, "cannot create '%s'", mdir);
		free(mdir);
		return r;
	}
	if (!(obj = snap_object(c, json_string_value(json_object_get(m,
	    "state")), "'state'", e))) {
		free(mdir);
		return -1;
	}
	lnk = xasprintf("%s/state", dir);
	if (symlink(obj, lnk) < 0)
		r = sbx_err_sys(e, "cannot link '%s'", lnk);
	free(obj);
	free(lnk);
	if (r == 0 && json_object_get(mem, "delta")) {
		/* The page delta of a diff snapshot (snapshot-format.md). */
		if (!(obj = snap_object(c, json_string_value(json_object_get(
		    mem, "delta")), "memory delta", e)))
			r = -1;
		else {
			lnk = xasprintf("%s/delta", dir);
			if (symlink(obj, lnk) < 0)
				r = sbx_err_sys(e, "cannot link '%s'", lnk);
			free(obj);
			free(lnk);
		}
	}
	json_object_foreach(chunks, key, v) {
		if (r < 0)
			break;
		if (strlen(key) != 16 || strspn(key, "0123456789abcdef") != 16) {
			r = sbx_err_set(e, SBX_ECORRUPT, "snapshot memory chunk "
			    "'%.40s' is not an offset (16 hex digits)", key);
			break;
		}
		if (!(obj = snap_object(c, json_string_value(v), "memory "
		    "chunk", e))) {
			r = -1;
			break;
		}
		lnk = xasprintf("%s/%s", mdir, key);
		if (symlink(obj, lnk) < 0)
			r = sbx_err_sys(e, "cannot link '%s'", lnk);
		free(obj);
		free(lnk);
	}
	free(mdir);
	return r;
}

/*
 * What a create from a snapshot may still choose: the idle timeout,
 * more egress rules and more environment (the machine itself is the
 * snapshot's).
 */
static int
apply_create_opts(struct sbx_sandbox *sb, const struct sbx_create_opts *o,
    struct sbx_err *e)
{
	if (o->vcpus || o->memory || o->disk)
		return sbx_err_set(e, SBX_EUSAGE, "a sandbox restored from a "
		    "snapshot has the snapshot's vCPUs, memory and disk");
	if (o->idle_timeout_ms > 0)
		json_object_set_new(sb->extra, KVM_IDLE_KEY,
		    json_integer(o->idle_timeout_ms));
	else if (o->idle_timeout_ms == 0)
		json_object_del(sb->extra, KVM_IDLE_KEY);
	if (kvm_env_record(sb, o->env, e) < 0)
		return -1;
	return kvm_net_extend(sb, o, e);
}

int
kvm_create_from(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *sb, struct sbx_err *e)
{
	struct sbx_sandbox_lock *lk = NULL;
	struct sbx_oid sid;
	json_t *m = NULL;
	char hex[SBX_OID_HEXLEN + 1], *dir = NULL;
	const char *img, *from;
	pid_t pid = 0;
	int registered = 0;

	sbx_sandbox_init(sb);
	if (sbx_store_object_resolve(c->store, o->snapshot, &sid, e) < 0)
		return -1;
	sbx_oid_to_hex(&sid, hex);
	if (snap_load(c, hex, &m, e) < 0)
		return -1;
	img = json_string_value(json_object_get(m, "image"));
	from = json_string_value(json_object_get(m, "sandbox"));
	if (o->name)
		sbx_sandbox_set_name(sb, o->name);
	sb->spec.vcpus = json_integer_value(json_object_get(json_object_get(m,
	    "spec"), "vcpus"));
	sb->spec.memory = json_integer_value(json_object_get(
	    json_object_get(m, "spec"), "memory"));
	if (img && strlen(img) == 4 + SBX_OID_HEXLEN)
		memcpy(sb->image, img + 4, SBX_OID_HEXLEN + 1);
	memcpy(sb->head, hex, sizeof(sb->head));
	if (json_is_object(json_object_get(m, "extra"))) {
		json_decref(sb->extra);
		sb->extra = json_deep_copy(json_object_get(m, "extra"));
		json_object_del(sb->extra, "error");
		if (json_is_string(json_object_get(m, "template")))
			sbx_sandbox_set_template(sb, json_string_value(
			    json_object_get(m, "template")));
	} else if (from) {
		struct sbx_sandbox s2;

		if (sbx_sandbox_load(c->store, from, &s2, NULL) == 0) {
			sbx_sandbox_set_template(sb, s2.template);
			json_decref(sb->extra);
			sb->extra = json_deep_copy(s2.extra);
			json_object_del(sb->extra, "error");
		}
		sbx_sandbox_release(&s2);
	}
	if (apply_create_opts(sb, o, e) < 0 ||
	    kvm_disk_from_manifest(sb, m, e) < 0)
		goto fail;
	sb->state = SBX_SB_CREATING;
	if (sbx_sandbox_create(c->store, sb, e) < 0)
		goto fail;
	registered = 1;
	if (sbx_sandbox_lock(c->store, sb->id, SNAP_LOCK_MS, &lk, e) < 0)
		goto fail;
	dir = kvm_sbfile(c, sb->id, "restore");
	if (snap_link(c, m, dir, e) < 0)
		goto fail;
	if (spawn_restore(c, sb, dir, &pid, e) < 0)
		goto fail;
	sb->pid = pid;
	if (sbx_sandbox_save(c->store, sb, e) < 0 ||
	    finish_running(c, sb, e) < 0)
		goto fail;
	sbx_sandbox_unlock(lk);
	json_decref(m);
	free(dir);
	return 0;
fail:
	if (pid) {
		struct sbx_err ignore;

		kvm_vmm_kill(sb, 2000, &ignore);
		kvm_rundir_remove(sb->id);
	}
	if (registered) {
		struct sbx_err ignore;

		sbx_sandbox_remove(c->store, sb->id, &ignore);
	}
	if (lk)
		sbx_sandbox_unlock(lk);
	json_decref(m);
	free(dir);
	return -1;
}
