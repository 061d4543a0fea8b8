/*
 * modules.h - kernel module dependencies, for loading modules from an
 * initramfs in the right order without modprobe.
 *
 * A module set is read from a modules directory (the unpacked
 * "lib/modules/<version>" of a kernel package). When it has modules.dep
 * (written by depmod) that file is used; Debian's linux-image .deb does
 * not ship one (depmod runs in postinst), so otherwise every "*.ko" below
 * the directory is found and its dependencies are read from the
 * "depends=" line of its ELF ".modinfo" section.
 *
 * Module names are normalized the kernel's way: the file name without
 * ".ko" (and any ".xz"/".zst"/".gz"), with '-' turned into '_'
 * ("kvm-amd.ko" is "kvm_amd"); lookups accept either spelling.
 *
 * Threads: a struct sbx_modules is immutable after loading and may be
 * read by several threads.
 */
#ifndef SBX_IMAGE_MODULES_H
#define SBX_IMAGE_MODULES_H

#include <stddef.h>

struct sbx_err;
struct sbx_strvec;
struct sbx_modules;

/*
 * Reads the module set under `dir`. Fails with SBX_ENOENT when `dir` does
 * not exist, SBX_EINVAL (naming the file and line or module) on a
 * malformed modules.dep or module. Compressed modules are accepted only
 * with a modules.dep (their .modinfo cannot be read in place).
 */
int sbx_modules_load(struct sbx_modules **out, const char *dir,
    struct sbx_err *e);

/*
 * Parses modules.dep text (`len` bytes) into a new set; `origin` names it
 * in errors ("dir/modules.dep:12: ..."). Exposed for tests.
 */
int sbx_modules_parse_dep(struct sbx_modules **out, const char *text,
    size_t len, const char *origin, struct sbx_err *e);

void sbx_modules_free(struct sbx_modules *m);

/* Number of modules in the set. */
size_t sbx_modules_count(const struct sbx_modules *m);

/*
 * Path of module `name` relative to the modules directory
 * ("kernel/arch/x86/kvm/kvm-amd.ko"), or NULL when unknown.
 */
const char *sbx_modules_path(const struct sbx_modules *m, const char *name);

/*
 * Resolves `wanted` (a NULL-terminated list of names) and every module
 * they depend on, transitively, into load order: each module after all
 * of its dependencies, each once; among independent modules the order of
 * `wanted` is kept. Appends normalized names to `names` and, when not
 * NULL, their relative paths to `paths`. An unknown module fails with
 * SBX_ENOENT naming it (and the module that needs it); a dependency cycle
 * with SBX_EINVAL naming a module on it.
 */
int sbx_modules_resolve(const struct sbx_modules *m,
    const char *const *wanted, struct sbx_strvec *names,
    struct sbx_strvec *paths, struct sbx_err *e);

/*
 * Reads the "depends=" entry of the ".modinfo" section of the ELF64
 * module file `ko` and appends each dependency (normalized) to `deps`.
 * A module without dependencies appends nothing. SBX_EINVAL when the file
 * is not an ELF64 little-endian object or has no .modinfo section.
 */
int sbx_modinfo_depends(const char *ko, struct sbx_strvec *deps,
    struct sbx_err *e);

/* Writes the normalized module name for a path or name into `out`. */
void sbx_modules_name(const char *path_or_name, char *out, size_t len);

#endif
