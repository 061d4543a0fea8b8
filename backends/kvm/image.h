/*
 * image.h - what a new sandbox boots: kernel, initramfs and root disk.
 *
 * An image is either a directory given with `--image` holding `vmlinuz`,
 * `initrd.img` and optionally `rootfs.ext4`, or a store manifest named by
 * the ref `images/<name>`:
 *
 *   {"type": "image", "kernel": "sha:<hex>", "initrd": "sha:<hex>",
 *    "rootfs": "sha:<hex>" (optional), "cmdline": "..." (optional)}
 *
 * `sbx image pull` (cmd-image.c) makes the default image `images/default`.
 */
#ifndef SBX_KVM_IMAGE_H
#define SBX_KVM_IMAGE_H

struct sbx_err;
struct sbx_store;

struct kvm_image {
	char *kernel;		/* paths, owned */
	char *initrd;		/* or NULL */
	char *rootfs;		/* or NULL: the root stays in the initramfs */
	char *cmdline;		/* extra kernel parameters, or NULL */
	char *name;		/* what it was resolved from, for records */
	char manifest[65];	/* its manifest id (hex), "" for a directory */
};

/* The kernel parameters every sbx guest gets before the image's own. */
#define KVM_BASE_CMDLINE "console=ttyS0 reboot=k panic=-1 quiet " \
	"rdinit=/init i8042.noaux"

/*
 * Resolves `path` (a directory, when not NULL) or the image named `name`
 * (NULL: "default") to files. SBX_ENOENT with a hint when no such image
 * exists.
 */
int kvm_image_resolve(struct sbx_store *s, const char *path,
    const char *name, struct kvm_image *img, struct sbx_err *e);
void kvm_image_release(struct kvm_image *img);

#endif
