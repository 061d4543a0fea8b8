/*
 * debian.h - a Debian root assembled from .deb files straight into an
 * ext4 image, without root privileges, dpkg or a staging directory.
 *
 * What debootstrap's first stage leaves behind, written directly:
 *
 *  - the merged-/usr layout of bookworm: usr/{bin,sbin,lib,lib64} and the
 *    symlinks bin, sbin, lib, lib64 pointing into usr (created first, as
 *    debootstrap's setup_merged_usr does, so that a package shipping
 *    "./bin/sh" lands in usr/bin);
 *  - every package's data.tar, in apt's installation order, streamed
 *    entry by entry into the image (directories a package ships where
 *    the root has a symlink to a directory keep the symlink, like dpkg);
 *  - the dpkg database: var/lib/dpkg/status with each package's control
 *    stanza and "Status: install ok unpacked", info/<pkg>.list (every
 *    path the package shipped), and every control.tar member but
 *    "control" (md5sums, conffiles, maintainer scripts, triggers, ...)
 *    as info/<pkg>.<member>; "<pkg>:<arch>" for Multi-Arch: same. The
 *    first boot runs `dpkg --configure -a` (debootstrap's second stage)
 *    to run the maintainer scripts;
 *  - etc/passwd and etc/group from base-passwd's master files when the
 *    package is in the set (its postinst would do the same), so a shell
 *    and root logins work before configure.
 *
 * Conffiles are recorded with the hash "newconffile" (dpkg's marker for a
 * conffile it has not configured yet): sbx does not compute MD5.
 *
 * Threads: no shared state.
 */
#ifndef SBX_IMAGE_DEBIAN_H
#define SBX_IMAGE_DEBIAN_H

#include <stdint.h>

struct sbx_apt_set;
struct sbx_err;
struct sbx_ext4;

/*
 * Estimates what the packages of `set` (fetched: ->path set) hold, from
 * their Installed-Size and md5sums, for sizing the image.
 */
int sbx_debian_measure(const struct sbx_apt_set *set, uint64_t *bytes,
    uint64_t *entries, struct sbx_err *e);

/* Writes the root described above into `w`. */
int sbx_debian_write(const struct sbx_apt_set *set, struct sbx_ext4 *w,
    struct sbx_err *e);

#endif
