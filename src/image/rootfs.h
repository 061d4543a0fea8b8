/*
 * rootfs.h - a template's `from` turned into an ext4 root file system
 * object in the store.
 *
 * sbx_rootfs_build() reads the source (Debian packages via apt.h and
 * debian.h, a tar or OCI image via source.h), writes the image with
 * ext4.h into a temporary file of the store and moves it in with
 * sbx_store_put_path (no second copy). It then stores a manifest
 *
 *   {"type":"rootfs", "image":"sha:<ext4 object>", "from":{...},
 *    "packages":["name=version", ...], "size":<bytes>, "key":"<hex>"}
 *
 * and points refs/rootfs-cache/<key> at it. The key is the BLAKE2b-256 of
 * everything the image depends on: the `from` fields, the disk size, the
 * image format version, and for Debian the state of the host's apt lists
 * (names, sizes and times of /var/lib/apt/lists/ files: an `apt-get
 * update` that changes them changes the key), for a tar or docker-save
 * file its content hash, for an OCI layout directory the names, sizes and
 * times of its files. When the ref exists and its manifest and image are
 * in the store, the build does no work and returns them.
 *
 * A failed build leaves nothing in the store but tmp/ garbage that is
 * removed on the way out.
 *
 * Threads: one thread per call; the store handle is not shared.
 */
#ifndef SBX_IMAGE_ROOTFS_H
#define SBX_IMAGE_ROOTFS_H

#include <stdint.h>

#include "store/store.h"
#include "template/template.h"

struct sbx_err;

/* Progress notes ("resolving packages", ...); `msg` is one line. */
typedef void (*sbx_rootfs_note_fn)(void *arg, const char *msg);

struct sbx_rootfs_opts {
	uint64_t disk;		/* free space in the image (template's
				   resources.disk); 0 = 256 MiB */
	int no_cache;		/* rebuild even when cached */
	const char *debcache;	/* .deb cache dir; NULL = sbx_apt_cache_dir */
	sbx_rootfs_note_fn note; /* may be NULL */
	void *note_arg;
	int progress;		/* draw a meter while writing the image */
	unsigned progress_flags; /* SBX_PROGRESS_* (core/progress.h) */
};

struct sbx_rootfs_result {
	struct sbx_oid manifest;	/* the rootfs manifest */
	struct sbx_oid image;		/* the ext4 image object */
	uint64_t size;			/* image size in bytes */
	int cached;			/* 1 when nothing was built */
};

/*
 * Builds (or finds cached) the root file system for `from` (the `from`
 * of a parsed template). SBX_FROM_TEMPLATE is SBX_ENOTSUP here (the
 * caller resolves the parent template's image). Errors name the source.
 */
int sbx_rootfs_build(struct sbx_store *st,
    const struct sbx_template *t, const struct sbx_rootfs_opts *o,
    struct sbx_rootfs_result *res, struct sbx_err *e);

#endif
