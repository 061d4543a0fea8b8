/*
 * kernel.h - a Debian kernel package unpacked for booting: the bzImage,
 * its ELF payload, and the modules a guest needs with their dependencies,
 * in load order. Used by the rig (its L1 host) and by `sbx image pull`
 * (the guest kernel).
 */
#ifndef SBX_IMAGE_KERNEL_H
#define SBX_IMAGE_KERNEL_H

struct sbx_err;
struct sbx_strvec;

/* An unpacked kernel (malloc'd paths). */
struct sbx_kernel {
	char *dir;		/* <cache>/<deb file name without .deb> */
	char *boot;		/* dir/vmlinux if extracted, else dir/vmlinuz */
	char *modules_dir;	/* dir/modules-<hash of the wanted list>:
				   <name>.ko */
	char *order_file;	/* modules_dir/order: names in load order */
};

/*
 * Unpacks `deb` into <cache>/<name>: vmlinuz, vmlinux (the decompressed
 * ELF payload, when it can be extracted) and, in a directory named after
 * the `wanted` list, those modules (names like "virtio_blk") plus
 * everything they depend on (from each module's .modinfo), with an order
 * file listing them so that each comes after its dependencies. Work
 * already done for the same package and list is reused; each part
 * appears atomically (built beside it, renamed).
 */
int sbx_kernel_unpack(const char *cache, const char *deb,
    const struct sbx_strvec *wanted, struct sbx_kernel *k,
    struct sbx_err *e);
void sbx_kernel_release(struct sbx_kernel *k);

/*
 * Decompresses the kernel ELF image inside the bzImage `vmlinuz` into
 * `out` (xz, gzip, zstd, lzma or bzip2 payloads, found through the boot
 * header's payload_offset/payload_length).
 */
int sbx_kernel_extract_vmlinux(const char *vmlinuz, const char *out,
    struct sbx_err *e);

#endif
