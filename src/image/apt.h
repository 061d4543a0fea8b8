/*
 * apt.h - Debian packages for images, resolved and fetched with the
 * host's apt (apt-get and apt-cache are run, never linked).
 *
 * Resolution asks apt's own solver: `apt-get -s install` against an empty
 * package database (Dir::State::Status=/dev/null) with recommends off
 * lists exactly the packages, at exact versions, that installing the
 * list on an empty system takes: the dependency closure with Depends and
 * Pre-Depends, virtual packages and alternatives decided by apt the way
 * it decides them on a real system. `apt-get download --print-uris` then
 * gives each version's file name, size and the SHA256 from the same
 * Packages index `apt-cache show` reads.
 *
 * The host's apt lists describe the host's suite only (Debian 12
 * "bookworm" on the build machines), so a template can only ask for that
 * suite; sbx_apt_check_suite says so clearly.
 *
 * Downloads go to a cache directory (sbx_apt_cache_dir), each .deb is
 * checked against its SHA256 and only then renamed into place; a cached
 * file with the right hash is not fetched again.
 *
 * Threads: no shared state; each call runs its own apt processes.
 */
#ifndef SBX_IMAGE_APT_H
#define SBX_IMAGE_APT_H

#include <stddef.h>
#include <stdint.h>

struct sbx_err;
struct sbx_strvec;

struct sbx_apt_pkg {
	char *name;		/* "libc6" */
	char *version;		/* "2.36-9+deb12u4" (with any epoch) */
	char *arch;		/* "amd64" or "all" */
	char *file;		/* file name apt gives the .deb */
	char *sha256;		/* 64 lowercase hex */
	uint64_t size;
	char *path;		/* cached .deb after sbx_apt_fetch, or NULL */
};

struct sbx_apt_set {
	struct sbx_apt_pkg *v;	/* in apt's installation order */
	size_t n;
};

/* Flags for sbx_apt_resolve. */
enum {
	/*
	 * Add what every Debian root needs, as debootstrap's minbase
	 * variant does: the Essential packages and those of Priority
	 * "required" (dpkg, apt, base-files, base-passwd, bash, ...).
	 */
	SBX_APT_BASE = 1 << 0,
};

/*
 * The host's Debian suite ("bookworm", from /etc/os-release) into a
 * malloc'd string, or NULL when unknown.
 */
char *sbx_apt_host_suite(void);

/*
 * 0 when `suite` is the host's suite (codename, or "stable"-style alias
 * of it is NOT accepted: say the codename), else SBX_ENOTSUP:
 * "debian suite 'trixie' is not supported on this host: only 'bookworm'
 * (the host's own suite) can be installed" with a hint.
 */
int sbx_apt_check_suite(const char *suite, struct sbx_err *e);

/*
 * Resolves `pkgs` (names, optionally "name=version") to the full set.
 * Unknown packages fail with SBX_ENOENT and apt's message.
 */
int sbx_apt_resolve(const struct sbx_strvec *pkgs, int flags,
    struct sbx_apt_set *out, struct sbx_err *e);

/*
 * The download cache: $XDG_CACHE_HOME/sbx/debs, else ~/.cache/sbx/debs
 * (malloc'd). Not created here.
 */
char *sbx_apt_cache_dir(void);

/*
 * Makes sure every package of `set` is in `cachedir` (created if needed)
 * with its SHA256, downloading the missing or damaged ones with one
 * `apt-get download`; sets each ->path. *fetched (may be NULL) gets the
 * number downloaded. A hash mismatch is SBX_ECORRUPT naming the file.
 */
int sbx_apt_fetch(struct sbx_apt_set *set, const char *cachedir,
    size_t *fetched, struct sbx_err *e);

/* Flags for sbx_apt_fetch_flags. */
enum {
	SBX_APT_SHOW = 1 << 0,	/* apt-get's "Get:" lines go to stderr */
};

/* sbx_apt_fetch with SBX_APT_SHOW. */
int sbx_apt_fetch_flags(struct sbx_apt_set *set, const char *cachedir,
    int flags, size_t *fetched, struct sbx_err *e);

/* SHA256 of a file as 64 hex digits into `hex` (65 bytes). */
int sbx_apt_sha256_file(const char *path, char hex[65], struct sbx_err *e);

void sbx_apt_set_free(struct sbx_apt_set *set);

#endif
