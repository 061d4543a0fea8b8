/*
 * rootfs.c - template `from` -> ext4 image object + manifest, cached by
 * the hash of the inputs (see rootfs.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/err.h"
#include "core/progress.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/apt.h"
#include "image/debian.h"
#include "image/ext4.h"
#include "image/files.h"
#include "image/rootfs.h"
#include "image/source.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
#include "core/banned.h"

#define ROOTFS_FORMAT "sbx-rootfs-1"
#define CACHE_KIND "rootfs-cache"
#define APT_LISTS "/var/lib/apt/lists"
/* Times of generated files and the superblock, unless SOURCE_DATE_EPOCH
   says otherwise: fixed, so equal inputs give byte-identical images. */
#define ROOTFS_EPOCH 1704067200		/* 2024-01-01 */

static void note(const struct sbx_rootfs_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(const struct sbx_rootfs_opts *o, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!o->note)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	o->note(o->note_arg, buf);
}

static void hash_str(struct sbx_hasher *h, const char *tag, const char *s)
{
	uint64_t n = s ? strlen(s) : 0;

	sbx_hasher_update(h, tag, strlen(tag) + 1);
	sbx_hasher_update(h, &n, sizeof(n));
	if (n)
		sbx_hasher_update(h, s, n);
}

static void hash_stat(struct sbx_hasher *h, const char *name,
    const struct stat *st)
{
	uint64_t v[3] = { (uint64_t)st->st_size, (uint64_t)st->st_mtim.tv_sec,
	    (uint64_t)st->st_mtim.tv_nsec };

	hash_str(h, "f", name);
	sbx_hasher_update(h, v, sizeof(v));
}

/* Names, sizes, times of the files under `dir` (sorted, recursive). */
static int hash_tree(struct sbx_hasher *h, const char *dir, int depth,
    struct sbx_err *e)
{
	struct dirent **ents;
	struct stat st;
	int n, i, rc = 0;

	if (depth > 16)
		return sbx_err_set(e, SBX_EINVAL, "'%s': too deep", dir);
	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT, "cannot "
		    "open '%s': no such file or directory", dir) :
		    sbx_err_sys(e, "cannot read '%s'", dir);
	for (i = 0; i < n; i++) {
		char *p = NULL;

		if (!rc && strcmp(ents[i]->d_name, ".") &&
		    strcmp(ents[i]->d_name, "..") &&
		    strcmp(ents[i]->d_name, "lock") &&
		    strcmp(ents[i]->d_name, "partial")) {
			p = xasprintf("%s/%s", dir, ents[i]->d_name);
			if (lstat(p, &st) == 0) {
				hash_stat(h, ents[i]->d_name, &st);
				if (S_ISDIR(st.st_mode))
					rc = hash_tree(h, p, depth + 1, e);
			}
		}
		free(p);
		free(ents[i]);
	}
	free(ents);
	return rc;
}

static int hash_file(struct sbx_hasher *h, const char *path,
    struct sbx_err *e)
{
	char buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT, "cannot "
		    "open '%s': no such file", path) :
		    sbx_err_sys(e, "cannot open '%s'", path);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = sbx_err_sys(e, "cannot read '%s'", path);
			close(fd);
			return (int)n;
		}
		sbx_hasher_update(h, buf, n);
	}
	close(fd);
	return 0;
}

/* The cache key of a build (see rootfs.h). */
static int cache_key(const struct sbx_template *t, uint64_t disk,
    struct sbx_oid *key, struct sbx_err *e)
{
	struct sbx_hasher h;
	struct stat st;
	char num[32];
	size_t i;
	int rc = 0;

	sbx_hasher_init(&h);
	hash_str(&h, "format", ROOTFS_FORMAT);
	snprintf(num, sizeof(num), "%d:%" PRIu64, (int)t->from.kind, disk);
	hash_str(&h, "kind", num);
	switch (t->from.kind) {
	case SBX_FROM_DEBIAN:
		hash_str(&h, "suite", t->from.suite);
		for (i = 0; i < t->from.packages.nr; i++)
			hash_str(&h, "pkg", t->from.packages.v[i]);
		rc = hash_tree(&h, APT_LISTS, 0, e);
		break;
	case SBX_FROM_TAR:
	case SBX_FROM_OCI:
		if (stat(t->from.path, &st) < 0) {
			rc = errno == ENOENT ? sbx_err_set(e, SBX_ENOENT,
			    "cannot open '%s': no such file or directory",
			    t->from.path) : sbx_err_sys(e, "cannot open '%s'",
			    t->from.path);
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = hash_tree(&h, t->from.path, 0, e);
		else
			rc = hash_file(&h, t->from.path, e);
		break;
	case SBX_FROM_TEMPLATE:
		rc = sbx_err_set(e, SBX_ENOTSUP, "'from: template: %s' has no "
		    "root file system of its own: it builds on the parent "
		    "template's finished image", t->from.template ?
		    t->from.template : "");
		sbx_err_hint(e, "build the parent with 'sbx build --rootfs-only "
		    "%s'", t->from.template ? t->from.template : "NAME");
		break;
	default:
		rc = sbx_err_set(e, SBX_EINVAL, "template '%s' has no 'from'",
		    t->path);
	}
	if (!rc && (rc = sbx_files_hash(t, &h, e)))
		sbx_err_prefix(e, "cannot read the template's files");
	sbx_hasher_final(&h, key);
	return rc;
}

/* The cached result for `key`, if complete. */
static int cache_lookup(struct sbx_store *st, const char *keyhex,
    struct sbx_rootfs_result *res)
{
	json_t *m = NULL;
	const char *img;
	struct sbx_err e;
	int ok = 0;

	if (sbx_ref_read(st, CACHE_KIND, keyhex, &res->manifest, &e) ||
	    sbx_manifest_load(st, &res->manifest, &m, &e))
		return 0;
	img = json_string_value(json_object_get(m, "image"));
	if (img && sbx_manifest_parse_ref(img, &res->image) &&
	    sbx_store_object_exists(st, &res->image)) {
		res->size = (uint64_t)json_integer_value(json_object_get(m,
		    "size"));
		ok = 1;
	}
	json_decref(m);
	return ok;
}

static json_t *from_json(const struct sbx_template *t)
{
	switch (t->from.kind) {
	case SBX_FROM_DEBIAN:
		return json_pack("{s:s,s:s}", "kind", "debian", "suite",
		    t->from.suite);
	case SBX_FROM_TAR:
		return json_pack("{s:s,s:s}", "kind", "tar", "path",
		    t->from.path);
	default:
		return json_pack("{s:s,s:s}", "kind", "oci", "path",
		    t->from.path);
	}
}

/* The guest paths of the template's `files`. */
static json_t *files_json(const struct sbx_template *t)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < t->nfiles; i++)
		json_array_append_new(a, json_string(t->files[i].dst));
	return a;
}

/*
 * Format options: UUID from the cache key, fixed time, and inodes for
 * `entries` plus mke2fs's usual one per 16 KiB for the free space (the
 * sandbox's own files live there too).
 */
static struct sbx_ext4_fmt fmt_for(const struct sbx_oid *key, uint64_t size,
    uint64_t entries)
{
	uint64_t inodes = entries + entries / 2 + 4096;
	struct sbx_ext4_fmt f = { size, 0, key->hash, ROOTFS_EPOCH };
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (inodes < size / 16384)
		inodes = size / 16384;
	f.inodes = inodes;
	if (sde && *sde) {
		v = strtoll(sde, &end, 10);
		if (!*end && v > 0)
			f.time = v;
	}
	return f;
}

/* Writes the image for a Debian `from` into `img`. */
static int build_debian(const struct sbx_template *t,
    const struct sbx_rootfs_opts *o, const struct sbx_oid *key,
    const char *img, json_t *pkgs, struct sbx_err *e)
{
	struct sbx_ext4_fmt f;
	struct sbx_apt_set set = { NULL, 0 };
	struct sbx_progress *meter = NULL;
	struct sbx_ext4 *w = NULL;
	uint64_t bytes, ents;
	char *cache = NULL;
	size_t i, fetched;
	int rc;

	if ((rc = sbx_apt_check_suite(t->from.suite, e)))
		return rc;
	note(o, "resolving %zu packages with apt", t->from.packages.nr);
	if ((rc = sbx_apt_resolve(&t->from.packages, SBX_APT_BASE, &set, e)))
		goto out;
	cache = o->debcache ? xstrdup(o->debcache) : sbx_apt_cache_dir();
	note(o, "fetching %zu packages into '%s'", set.n, cache);
	if ((rc = sbx_apt_fetch_flags(&set, cache, o->progress &&
	    !(o->progress_flags & SBX_PROGRESS_QUIET) && isatty(2) ?
	    SBX_APT_SHOW : 0, &fetched, e)))
		goto out;
	note(o, "%zu downloaded, %zu cached", fetched, set.n - fetched);
	if ((rc = sbx_debian_measure(&set, &bytes, &ents, e)))
		goto out;
	f = fmt_for(key, sbx_ext4_size_for(bytes, ents, o->disk), ents);
	if ((rc = sbx_ext4_create_fmt(img, &f, &w, e)))
		goto out;
	note(o, "writing %zu packages into the image", set.n);
	if (o->progress)
		meter = sbx_progress_start("image", bytes, o->progress_flags);
	sbx_ext4_set_progress(w, meter);
	if ((rc = sbx_debian_write(&set, w, e)))
		goto out;
	if (t->nfiles)
		note(o, "copying %zu files entries", t->nfiles);
	if ((rc = sbx_files_write(t, w, e)))
		goto out;
	sbx_progress_update(meter, bytes);
	sbx_progress_finish(meter);
	meter = NULL;
	rc = sbx_ext4_close(w, e);
	w = NULL;
	for (i = 0; !rc && i < set.n; i++)
		json_array_append_new(pkgs, json_sprintf("%s=%s",
		    set.v[i].name, set.v[i].version));
out:
	sbx_progress_abort(meter);
	sbx_ext4_abort(w);
	sbx_apt_set_free(&set);
	free(cache);
	return rc;
}

static int build_archive(const struct sbx_template *t,
    const struct sbx_rootfs_opts *o, const struct sbx_oid *key,
    const char *img, struct sbx_err *e)
{
	struct sbx_ext4_fmt f;
	const struct sbx_source_stats *ss;
	struct sbx_progress *meter = NULL;
	struct sbx_source *src = NULL;
	struct sbx_ext4 *w = NULL;
	int rc;

	note(o, "reading '%s'", t->from.path);
	rc = sbx_source_open(t->from.kind == SBX_FROM_OCI ? SBX_SOURCE_OCI :
	    SBX_SOURCE_TAR, t->from.path, &src, e);
	if (rc)
		return rc;
	ss = sbx_source_stats(src);
	f = fmt_for(key, sbx_ext4_size_for(ss->bytes, ss->entries, o->disk),
	    ss->entries);
	rc = sbx_ext4_create_fmt(img, &f, &w, e);
	if (!rc) {
		note(o, "writing %" PRIu64 " entries (%u layers) into the "
		    "image", ss->entries, ss->layers);
		if (o->progress)
			meter = sbx_progress_start("image", ss->bytes,
			    o->progress_flags);
		sbx_ext4_set_progress(w, meter);
		rc = sbx_source_write(src, w, e);
	}
	if (!rc && t->nfiles)
		note(o, "copying %zu files entries", t->nfiles);
	if (!rc)
		rc = sbx_files_write(t, w, e);
	if (rc)
		sbx_progress_abort(meter);
	else
		sbx_progress_finish(meter);
	if (!rc) {
		rc = sbx_ext4_close(w, e);
		w = NULL;
	}
	sbx_ext4_abort(w);
	sbx_source_free(src);
	return rc;
}

int sbx_rootfs_build(struct sbx_store *st, const struct sbx_template *t,
    const struct sbx_rootfs_opts *o, struct sbx_rootfs_result *res,
    struct sbx_err *e)
{
	static const struct sbx_rootfs_opts defaults;
	char keyhex[SBX_OID_HEXLEN + 1];
	struct sbx_rootfs_opts opts;
	struct sbx_oid key;
	struct stat sb;
	json_t *m = NULL, *pkgs = json_array();
	char *img = NULL;
	int fd, rc;

	opts = o ? *o : defaults;
	if (!opts.disk)
		opts.disk = 256ULL << 20;
	memset(res, 0, sizeof(*res));
	if ((rc = cache_key(t, opts.disk, &key, e)))
		goto out;
	sbx_oid_to_hex(&key, keyhex);
	if (!opts.no_cache && cache_lookup(st, keyhex, res)) {
		res->cached = 1;
		note(&opts, "root file system is cached");
		goto out;
	}
	if ((rc = sbx_store_tmpfile(st, "rootfs", &img, &fd, e)))
		goto out;
	close(fd);
	if (t->from.kind == SBX_FROM_DEBIAN)
		rc = build_debian(t, &opts, &key, img, pkgs, e);
	else
		rc = build_archive(t, &opts, &key, img, e);
	if (rc)
		goto out;
	if (stat(img, &sb) < 0) {
		rc = sbx_err_sys(e, "cannot stat '%s'", img);
		goto out;
	}
	res->size = (uint64_t)sb.st_size;
	note(&opts, "storing the image");
	if ((rc = sbx_store_put_path(st, img, NULL, &res->image, e)))
		goto out;
	free(img);
	img = NULL;
	m = json_pack("{s:s,s:o,s:o,s:O,s:I,s:s,s:o}", "type", "rootfs",
	    "image", sbx_manifest_ref_json(&res->image), "from", from_json(t),
	    "packages", pkgs, "size", (json_int_t)res->size, "key", keyhex,
	    "files", files_json(t));
	if (!m) {
		rc = sbx_err_set(e, SBX_EFAIL, "cannot build the rootfs "
		    "manifest");
		goto out;
	}
	if ((rc = sbx_manifest_put(st, m, &res->manifest, e)))
		goto out;
	rc = sbx_ref_write(st, CACHE_KIND, keyhex, &res->manifest, e);
out:
	if (img)
		unlink(img);
	free(img);
	json_decref(m);
	json_decref(pkgs);
	return rc;
}
