/*
 * guest.h - the initramfs every sbx guest boots: sbx-init as /init,
 * sbx-agent, the kernel modules the guest needs (in load order, listed in
 * /etc/sbx/modules for sbx-init), and optionally busybox for a usable
 * shell when there is no root disk.
 */
#ifndef SBX_IMAGE_GUEST_H
#define SBX_IMAGE_GUEST_H

struct sbx_err;
struct sbx_kernel;

/* The modules a guest loads (virtio-mmio devices, ext4, vsock, net). */
extern const char *const sbx_guest_modules[];

struct sbx_guest_files {
	const char *init;	/* static sbx-init */
	const char *agent;	/* static sbx-agent */
	const char *busybox;	/* static busybox, or NULL */
};

/*
 * Writes the gzip'd cpio initramfs to `out` from the unpacked kernel `k`
 * (its order file and modules) and the binaries in `g`.
 */
int sbx_guest_initramfs(const struct sbx_kernel *k,
    const struct sbx_guest_files *g, const char *out, struct sbx_err *e);

#endif
