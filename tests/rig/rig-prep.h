/*
 * rig-prep.h - pieces of the rig's artifact builder (tests/rig/rig-prep).
 * All functions return 0 or a negative SBX_E* code and fill `e`.
 */
#ifndef SBX_RIG_PREP_H
#define SBX_RIG_PREP_H

#include <stddef.h>

struct sbx_err;
struct sbx_strvec;

/* Verified packages in the cache (malloc'd paths). */
struct rig_debs {
	char *kernel;		/* linux-image-<version>-amd64_*.deb */
	char *busybox;		/* busybox-static_*.deb */
};

/* Progress line on stderr ("rig-prep: ..."), unless -q. */
void rig_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Downloads (apt-get download) the kernel package linux-image-amd64
 * depends on now (or $SBX_RIG_KERNEL_PKG) and busybox-static into
 * cache/debs unless already there, and checks each file against the
 * SHA256 apt knows. Without apt metadata (offline), falls back to the
 * packages recorded by the last successful fetch, re-verified.
 */
int rig_fetch(const char *cache, struct rig_debs *d, struct sbx_err *e);
void rig_debs_release(struct rig_debs *d);

/* Unpacks bin/busybox of `deb` into the cache; *path gets its path. */
int rig_busybox(const char *cache, const char *deb, char **path,
    struct sbx_err *e);

/* Helpers. */
int rig_rmtree(const char *path);
int rig_mkdirs(const char *path, struct sbx_err *e);
int rig_sha256_file(const char *path, char hex[65], struct sbx_err *e);
int rig_write_file(const char *path, const void *data, size_t len,
    struct sbx_err *e);

#endif
