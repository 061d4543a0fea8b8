/*
 * gc.c - mark from refs and sandboxes through manifests; sweep objects
 * and stale temporary files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/fsutil.h"
#include "store/gc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/registry.h"
#include "store/store-int.h"
#include "core/banned.h"

/* Open-addressing set of object ids. */
struct oidset {
	struct sbx_oid *slots;
	unsigned char *used;
	size_t cap, nr;
};

static size_t
oid_bucket(const struct sbx_oid *id, size_t cap)
{
	uint64_t h;

	memcpy(&h, id->hash, sizeof(h));
	return (size_t)(h & (cap - 1));
}

static void oidset_add_raw(struct oidset *set, const struct sbx_oid *id);

/* Doubles the table. */
static void
oidset_grow(struct oidset *set)
{
	struct oidset big;
	size_t i;

	big.cap = set->cap ? set->cap * 2 : 1024;
	big.nr = 0;
	big.slots = xcalloc(big.cap, sizeof(*big.slots));
	big.used = xcalloc(big.cap, 1);
	for (i = 0; i < set->cap; i++)
		if (set->used[i])
			oidset_add_raw(&big, &set->slots[i]);
	free(set->slots);
	free(set->used);
	*set = big;
}

/* Inserts without growing; returns nothing (caller checked absence). */
static void
oidset_add_raw(struct oidset *set, const struct sbx_oid *id)
{
	size_t i = oid_bucket(id, set->cap);

	while (set->used[i])
		i = (i + 1) & (set->cap - 1);
	set->used[i] = 1;
	set->slots[i] = *id;
	set->nr++;
}

static int
oidset_has(const struct oidset *set, const struct sbx_oid *id)
{
	size_t i;

	if (!set->cap)
		return 0;
	for (i = oid_bucket(id, set->cap); set->used[i];
	    i = (i + 1) & (set->cap - 1))
		if (!sbx_oid_cmp(&set->slots[i], id))
			return 1;
	return 0;
}

/* Adds id; returns 1 if it was new. */
static int
oidset_add(struct oidset *set, const struct sbx_oid *id)
{
	if (oidset_has(set, id))
		return 0;
	if ((set->nr + 1) * 2 > set->cap)
		oidset_grow(set);
	oidset_add_raw(set, id);
	return 1;
}

static void
oidset_free(struct oidset *set)
{
	free(set->slots);
	free(set->used);
	memset(set, 0, sizeof(*set));
}

struct gc {
	struct sbx_store *s;
	const struct sbx_gc_opts *o;
	struct sbx_gc_stats *st;
	struct oidset marked;
	struct sbx_oid *stack;		/* ids marked but not yet scanned */
	size_t nstack, astack;
	struct sbx_err *e;
};

/* Marks one id (manifest walker and root callback). */
static int
mark(const struct sbx_oid *id, void *arg)
{
	struct gc *g = arg;

	if (!oidset_add(&g->marked, id))
		return 0;
	if (g->nstack == g->astack) {
		g->astack = g->astack ? g->astack * 2 : 64;
		g->stack = xreallocarray(g->stack, g->astack,
		    sizeof(*g->stack));
	}
	g->stack[g->nstack++] = *id;
	return 0;
}

/* 1 if the object looks like a manifest: small and starting with '{'. */
static int
looks_like_manifest(struct gc *g, const struct sbx_oid *id)
{
	uint64_t size;
	char c = 0;
	int fd, ok;

	if (sbx_store_object_size(g->s, id, &size, NULL) < 0) {
		g->st->missing++;
		return 0;
	}
	if (size < 2 || size > SBX_MANIFEST_MAX)
		return 0;
	if (sbx_store_object_open(g->s, id, &fd, NULL) < 0)
		return 0;
	ok = read(fd, &c, 1) == 1 && c == '{';
	close(fd);
	return ok;
}

/* Scans marked objects until the stack is empty. */
static int
mark_closure(struct gc *g)
{
	struct sbx_oid id;
	json_t *m;
	int r;

	while (g->nstack > 0) {
		id = g->stack[--g->nstack];
		if (!looks_like_manifest(g, &id))
			continue;
		/* Not a manifest after all (or corrupt): a plain blob. */
		if (sbx_manifest_load(g->s, &id, &m, NULL) < 0)
			continue;
		r = sbx_manifest_walk(m, mark, g);
		json_decref(m);
		if (r)
			return r;
	}
	return 0;
}

/* Ref walker callback: a root. */
static int
mark_ref(const char *kind, const char *name, const struct sbx_oid *id,
    void *arg)
{
	struct gc *g = arg;

	(void)kind;
	(void)name;
	g->st->roots++;
	return mark(id, g);
}

/* Marks everything every sandbox.json references. */
static int
mark_sandboxes(struct gc *g)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	size_t i;
	json_t *j;
	int r;

	r = sbx_sandbox_list(g->s, &ids, g->e);
	for (i = 0; r == 0 && i < ids.nr; i++) {
		r = sbx_sandbox_load_json(g->s, ids.v[i], &j, g->e);
		if (r == SBX_ENOENT) {
			/* A sandbox directory without sandbox.json is being
			 * created or removed; only a crash leaves one. */
			r = 0;
			continue;
		}
		if (r < 0) {
			sbx_err_hint(g->e, "gc stopped before removing "
			    "anything; fix or remove that file first");
			break;
		}
		g->st->roots++;
		r = sbx_manifest_walk(j, mark, g);
		json_decref(j);
	}
	sbx_strvec_clear(&ids);
	return r;
}

/* Sweep callback for one object. */
static int
sweep_one(const struct sbx_oid *id, uint64_t size, void *arg)
{
	struct gc *g = arg;
	char hex[SBX_OID_HEXLEN + 1];
	int r;

	if (oidset_has(&g->marked, id)) {
		g->st->objects_kept++;
		g->st->bytes_kept += size;
		return 0;
	}
	if (!g->o->dry_run) {
		r = sbx_store_object_remove(g->s, id, g->e);
		if (r < 0)
			return r;
	}
	g->st->objects_removed++;
	g->st->bytes_removed += size;
	if (g->o->report) {
		sbx_oid_to_hex(id, hex);
		g->o->report(SBX_GC_OBJECT, hex, size, g->o->arg);
	}
	return 0;
}

/* Removes empty fan-out directories objects/xx. */
static void
prune_fanout(struct sbx_store *s)
{
	char *dir = xasprintf("%s/objects", s->home);
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d) {
		while ((de = readdir(d)) != NULL)
			if (strlen(de->d_name) == 2 && de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
		closedir(d);
	}
	free(dir);
}

/* Bytes used by a tmp/ entry (files only; directories count as 0). */
static uint64_t
entry_size(const struct stat *st)
{
	return S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
}

/* Removes tmp/ entries older than the limit. */
static int
sweep_tmp(struct gc *g)
{
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	DIR *d = opendir(g->s->tmpdir);
	int r = 0;

	if (!d)
		return sbx_err_sys(g->e, "cannot read directory '%s'",
		    g->s->tmpdir);
	while ((de = readdir(d)) != NULL) {
		char *p;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (now - st.st_mtime < (time_t)g->o->tmp_max_age_s)
			continue;
		if (!g->o->dry_run) {
			p = xasprintf("%s/%s", g->s->tmpdir, de->d_name);
			r = sbx_fs_remove_tree(p, g->e);
			free(p);
			if (r < 0)
				break;
		}
		g->st->tmp_removed++;
		g->st->tmp_bytes_removed += entry_size(&st);
		if (g->o->report)
			g->o->report(SBX_GC_TMP, de->d_name, entry_size(&st),
			    g->o->arg);
	}
	closedir(d);
	return r;
}

void
sbx_gc_opts_init(struct sbx_gc_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tmp_max_age_s = SBX_GC_TMP_MAX_AGE_DEFAULT;
}

int
sbx_gc(struct sbx_store *s, const struct sbx_gc_opts *o,
    struct sbx_gc_stats *st, struct sbx_err *e)
{
	struct gc g;
	int r;

	memset(st, 0, sizeof(*st));
	memset(&g, 0, sizeof(g));
	g.s = s;
	g.o = o;
	g.st = st;
	g.e = e;
	r = sbx_store_lock_exclusive(s, e);
	if (r < 0)
		return r;
	r = sbx_ref_foreach(s, mark_ref, &g, e);
	if (r == SBX_ECORRUPT)
		sbx_err_hint(e, "gc stopped before removing anything; fix or "
		    "delete that ref first");
	if (r == 0)
		r = mark_sandboxes(&g);
	if (r == 0)
		r = mark_closure(&g);
	if (r == 0)
		r = sbx_store_foreach_object(s, sweep_one, &g, e);
	if (r == 0 && !o->dry_run)
		prune_fanout(s);
	if (r == 0)
		r = sweep_tmp(&g);
	sbx_store_write_done(s);
	oidset_free(&g.marked);
	free(g.stack);
	return r;
}
