/*
 * disk.c - a sandbox's data disk chain (disk.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/agent-client.h"
#include "kvm/disk.h"
#include "kvm/spawn.h"
#include "kvm/vmm/layer.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "store/fsutil.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
#include "core/banned.h"

#define DISK_CTL_MS 10000

int
kvm_disk_present(const struct sbx_sandbox *sb)
{
	return json_is_object(json_object_get(sb->extra, KVM_DISK_KEY));
}

static json_t *
layers_of(const struct sbx_sandbox *sb)
{
	return json_object_get(json_object_get(sb->extra, KVM_DISK_KEY),
	    "layers");
}

/*
 * The blank ext4 of `size` bytes as a layer object: from its ref, or
 * formatted (sparse), turned into a layer holding its non-zero blocks,
 * stored and given a ref. The caller holds the store's write lock.
 */
static int
blank_base(struct sbx_conn *c, uint64_t size, struct sbx_oid *id,
    struct sbx_err *e)
{
	struct sbx_ext4 *w;
	char name[64], *raw = NULL, *lay = NULL;
	int rfd = -1, lfd = -1, rc = -1;

	snprintf(name, sizeof(name), "blank-ext4-%llu",
	    (unsigned long long)size);
	if (sbx_ref_read(c->store, "disks", name, id, NULL) == 0 &&
	    sbx_store_object_exists(c->store, id))
		return 0;
	/*
	 * The raw image is formatted in $TMPDIR, not in the store: a store
	 * on 9p (sbx machine's) has no SEEK_HOLE, and reading 2 GiB of holes
	 * through it took over a minute; only the small layer goes there.
	 */
	raw = xasprintf("%s/sbx-blank-ext4-XXXXXX", getenv("TMPDIR") &&
	    *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if ((rfd = mkostemp(raw, O_CLOEXEC)) < 0) {
		sbx_err_sys(e, "cannot create '%s'", raw);
		free(raw);
		return -1;
	}
	if (sbx_store_tmpfile(c->store, "blank-layer", &lay, &lfd, e) < 0)
		goto out;
	close(lfd);
	lfd = -1;
	if (sbx_ext4_create(raw, size, 0, &w, e) < 0 ||
	    sbx_ext4_close(w, e) < 0)
		goto out;
	if (layer_from_raw(rfd, size, lay, e) < 0 ||
	    sbx_store_put_path(c->store, lay, NULL, id, e) < 0)
		goto out;
	rc = sbx_ref_write(c->store, "disks", name, id, e);
out:
	if (rfd >= 0)
		close(rfd);
	if (raw)
		unlink(raw);
	if (lay)
		unlink(lay);	/* gone already when stored */
	free(raw);
	free(lay);
	return rc;
}

/* Removes the sandbox's top files (a new chain starts empty). */
static void
top_remove(struct sbx_conn *c, const char *id)
{
	char *top = kvm_sbfile(c, id, KVM_DISK_TOP);
	char *map = xasprintf("%s.map", top);

	unlink(map);
	unlink(top);
	free(map);
	free(top);
}

int
kvm_disk_new(struct sbx_conn *c, struct sbx_sandbox *sb, struct sbx_err *e)
{
	uint64_t size = sb->spec.disk ? sb->spec.disk : KVM_DEFAULT_DISK;
	struct sbx_oid id;
	int rc;

	if (size < KVM_MIN_DISK)
		return sbx_err_set(e, SBX_EUSAGE, "a disk of %llu bytes is too "
		    "small; the least is %llu MiB", (unsigned long long)size,
		    (unsigned long long)(KVM_MIN_DISK >> 20));
	size = (size + 4095) & ~4095ULL;
	if (sbx_store_write_begin(c->store, e) < 0)
		return -1;
	rc = blank_base(c, size, &id, e);
	if (rc == 0) {
		top_remove(c, sb->id);
		json_object_set_new(sb->extra, KVM_DISK_KEY, json_pack(
		    "{s:I, s:[o]}", "size", (json_int_t)size, "layers",
		    sbx_manifest_ref_json(&id)));
		/* Referenced from sandbox.json once the caller saves it. */
		rc = sbx_sandbox_save(c->store, sb, e);
	}
	sbx_store_write_done(c->store);
	return rc;
}

int
kvm_put_counted(struct sbx_conn *c, const char *path, struct sbx_oid *id,
    uint64_t *added, struct sbx_err *e)
{
	struct stat st;
	uint64_t alloc = stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;

	if (sbx_store_hash_path(path, id, e) < 0)
		return -1;
	if (added && !sbx_store_object_exists(c->store, id))
		*added += alloc;
	return sbx_store_put_path(c->store, path, id, NULL, e);
}

json_t *
kvm_disk_paths(struct sbx_conn *c, const struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	json_t *out = json_array(), *v;
	struct sbx_oid id;
	size_t i;
	char *p;

	json_array_foreach(layers_of(sb), i, v) {
		if (!sbx_manifest_parse_ref(json_string_value(v), &id)) {
			sbx_err_set(e, SBX_ECORRUPT, "sandbox '%s': data disk "
			    "layer %zu is not an object reference", sb->id, i);
			json_decref(out);
			return NULL;
		}
		if (!sbx_store_object_exists(c->store, &id)) {
			sbx_err_set(e, SBX_ENOENT, "sandbox '%s': data disk "
			    "layer %.12s is missing from the store", sb->id,
			    json_string_value(v) + 4);
			json_decref(out);
			return NULL;
		}
		p = sbx_store_object_path(c->store, &id);
		json_array_append_new(out, json_string(p));
		free(p);
	}
	return out;
}

int
kvm_disk_argv(struct sbx_conn *c, const struct sbx_sandbox *sb,
    struct sbx_strvec *av, struct sbx_err *e)
{
	json_t *paths, *v;
	size_t i;
	char *top;

	if (!kvm_disk_present(sb))
		return 0;
	if (!(paths = kvm_disk_paths(c, sb, e)))
		return -1;
	if (!json_array_size(paths)) {
		json_decref(paths);
		return sbx_err_set(e, SBX_ECORRUPT, "sandbox '%s': its data "
		    "disk has no layers", sb->id);
	}
	json_array_foreach(paths, i, v)
		sbx_strvec_pushf(av, "--data-layer=%s", json_string_value(v));
	json_decref(paths);
	top = kvm_sbfile(c, sb->id, KVM_DISK_TOP);
	sbx_strvec_pushf(av, "--data-disk=%s", top);
	free(top);
	return 0;
}

void
kvm_disk_since(const struct sbx_sandbox *sb, json_t *req)
{
	const char *mark = json_string_value(json_object_get(
	    json_object_get(sb->extra, KVM_DISK_KEY), "mark"));

	if (mark)
		json_object_set_new(req, "disk_since", json_string(mark));
}

void
kvm_disk_set_mark(struct sbx_sandbox *sb, const char *mark)
{
	json_t *d = json_object_get(sb->extra, KVM_DISK_KEY);

	if (!json_is_object(d))
		return;
	if (mark)
		json_object_set_new(d, "mark", json_string(mark));
	else
		json_object_del(d, "mark");
}

/* The running VMM's disk mark (stats.data_disk.mark) into *mark, or NULL. */
static int
vmm_disk_mark(const char *id, char **mark, struct sbx_err *e)
{
	json_t *rep = kvm_ctl_request(id, json_pack("{s:s}", "op", "stats"),
	    DISK_CTL_MS, e);
	const char *m;

	*mark = NULL;
	if (!rep)
		return -1;
	m = json_string_value(json_object_get(json_object_get(rep,
	    "data_disk"), "mark"));
	*mark = m ? xstrdup(m) : NULL;
	json_decref(rep);
	return 0;
}

void
kvm_disk_learn_mark(struct sbx_sandbox *sb)
{
	struct sbx_err e;
	char *mark;

	if (!kvm_disk_present(sb))
		return;
	/* Unknown: the next snapshot flattens, which is always right. */
	vmm_disk_mark(sb->id, &mark, &e);
	kvm_disk_set_mark(sb, mark);
	free(mark);
}

int
kvm_disk_frozen(struct sbx_conn *c, struct sbx_sandbox *sb,
    const char *path, json_t *rep, uint64_t *added, struct sbx_err *e)
{
	return kvm_disk_frozen_as(c, sb, path, json_is_true(json_object_get(
	    rep, "disk_full")), json_string_value(json_object_get(rep,
	    "disk_mark")), added, e);
}

int
kvm_disk_frozen_as(struct sbx_conn *c, struct sbx_sandbox *sb,
    const char *path, int full, const char *mark, uint64_t *added,
    struct sbx_err *e)
{
	json_t *d = json_object_get(sb->extra, KVM_DISK_KEY), *layers;
	struct sbx_oid id;

	if (!json_is_object(d))
		return 0;
	/* The record no longer describes the VMM's stack until stored. */
	json_object_del(d, "mark");
	if (access(path, F_OK) < 0)
		return sbx_err_sys(e, "the VMM wrote no data disk layer '%s'",
		    path);
	if (kvm_put_counted(c, path, &id, added, e) < 0)
		return -1;
	layers = full ? json_array() : json_deep_copy(json_object_get(d,
	    "layers"));
	if (!json_is_array(layers)) {
		json_decref(layers);
		layers = json_array();
	}
	json_array_append_new(layers, sbx_manifest_ref_json(&id));
	json_object_set_new(d, "layers", layers);
	kvm_disk_set_mark(sb, mark);
	return 0;
}

json_t *
kvm_disk_manifest(const struct sbx_sandbox *sb)
{
	json_t *d = json_object_get(sb->extra, KVM_DISK_KEY);

	if (!json_is_object(d))
		return NULL;
	return json_pack("{s:O, s:O}", "size", json_object_get(d, "size"),
	    "layers", json_object_get(d, "layers"));
}

int
kvm_disk_from_manifest(struct sbx_sandbox *sb, json_t *m,
    struct sbx_err *e)
{
	json_t *d = json_object_get(m, "disk"), *layers, *v;
	struct sbx_oid id;
	json_int_t size;
	size_t i;

	json_object_del(sb->extra, KVM_DISK_KEY);
	if (!d)
		return 0;
	layers = json_object_get(d, "layers");
	size = json_integer_value(json_object_get(d, "size"));
	if (!json_is_object(d) || size <= 0 || size % 4096 ||
	    !json_is_array(layers) || !json_array_size(layers))
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot manifest has no "
		    "valid 'disk' (want size and layers)");
	json_array_foreach(layers, i, v)
		if (!sbx_manifest_parse_ref(json_string_value(v), &id))
			return sbx_err_set(e, SBX_ECORRUPT, "snapshot manifest: "
			    "disk layer %zu is not an object reference", i);
	json_object_set_new(sb->extra, KVM_DISK_KEY, json_pack("{s:I, s:O}",
	    "size", size, "layers", layers));
	return 0;
}

int
kvm_disk_absorb(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	char *dir = kvm_sbfile(c, sb->id, "hibernate");
	char *path = xasprintf("%s/disk", dir);
	int rc = 0;

	/*
	 * sbx's own hibernation stores the layer at once; one left in
	 * hibernate/ was written by the VMM for idleness, without a base
	 * mark, so it is the whole disk flattened (snapshot-format.md).
	 */
	if (kvm_disk_present(sb) && access(path, F_OK) == 0) {
		rc = sbx_store_write_begin(c->store, e);
		if (rc == 0)
			rc = kvm_disk_frozen_as(c, sb, path, 1, NULL, NULL, e);
		if (rc == 0)
			rc = sbx_sandbox_save(c->store, sb, e);
		sbx_store_write_done(c->store);
	}
	free(path);
	free(dir);
	return rc;
}

void
kvm_disk_sync(const struct sbx_sandbox *sb)
{
	char *sock = kvm_runfile(sb->id, "vsock.sock");
	char *spec = xasprintf("vsock:%s", sock);
	struct sbx_agent a;
	struct sbx_err e;

	if (kvm_disk_present(sb) && sbx_agent_init(&a, spec, &e) == 0) {
		sbx_agent_sync(&a, &e);
		sbx_agent_release(&a);
	}
	free(spec);
	free(sock);
}

int
kvm_disk_settle(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	json_t *rep, *d = json_object_get(sb->extra, KVM_DISK_KEY);
	const char *want = json_string_value(json_object_get(d, "mark"));
	char *tmp, *disk, *have;
	int rc, same;

	if (!json_is_object(d))
		return 0;
	if (vmm_disk_mark(sb->id, &have, e) < 0)
		return -1;
	same = want && have && !strcmp(want, have);
	free(have);
	if (same)
		return 0;
	/*
	 * The VMM froze a layer the record does not list (an sbx killed
	 * between the VMM's reply and saving the record): a clean boot from
	 * the record would miss it. A flattened layer of the whole disk,
	 * taken now, replaces the chain (its memory half is dropped).
	 */
	if (sbx_store_write_begin(c->store, e) < 0)
		return -1;
	tmp = sbx_store_path(c->store, "tmp/settle-XXXXXX");
	if (!mkdtemp(tmp)) {
		rc = sbx_err_sys(e, "cannot create a directory to save the "
		    "data disk of '%s'", sb->id);
		free(tmp);
		sbx_store_write_done(c->store);
		return rc;
	}
	disk = xasprintf("%s/disk", tmp);
	rep = kvm_ctl_request(sb->id, json_pack("{s:s, s:s}", "op",
	    "snapshot", "dir", tmp), 300000, e);
	rc = rep ? 0 : -1;
	if (rc == 0 && !json_is_true(json_object_get(rep, "disk_full")))
		rc = sbx_err_set(e, SBX_EIO, "the VMM of '%s' did not flatten "
		    "its data disk", sb->id);
	if (rc == 0)
		rc = kvm_disk_frozen(c, sb, disk, rep, NULL, e);
	if (rc == 0)
		rc = sbx_sandbox_save(c->store, sb, e);
	sbx_store_write_done(c->store);
	json_decref(rep);
	{
		struct sbx_err ignore;

		sbx_fs_remove_tree(tmp, &ignore);
	}
	free(disk);
	free(tmp);
	return rc;
}
