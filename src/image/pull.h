/*
 * pull.h - `sbx image pull`: the default image every sandbox can boot
 * without building a template: Debian's stock kernel (linux-image-amd64),
 * the sbx guest initramfs (sbx-init, sbx-agent, modules, busybox) and, by
 * default, a root disk built from the embedded `base` template. Stored as
 * the manifest that refs/images/<name> points at (backends/kvm/image.h).
 */
#ifndef SBX_IMAGE_PULL_H
#define SBX_IMAGE_PULL_H

#include "store/store.h"

struct sbx_err;

typedef void (*sbx_pull_note_fn)(void *arg, const char *msg);

struct sbx_pull_opts {
	const char *name;	/* ref name, NULL = "default" */
	const char *libexec;	/* where sbx-init and sbx-agent are */
	const char *home;	/* $SBX_HOME, for template lookup */
	int rootfs;		/* also build a root disk */
	const char *template;	/* its template (name or path), NULL = the
				   embedded base; one with build steps
				   ('run') is refused unless allow_steps */
	int allow_steps;	/* sbx build: the steps run later, in a VM */
	sbx_pull_note_fn note;	/* progress lines, may be NULL */
	void *note_arg;
};

struct sbx_pull_result {
	struct sbx_oid manifest;
	char kernel_package[128];
	int has_rootfs;
};

/*
 * Downloads (cached) and assembles the image; points refs/images/<name>
 * at its manifest. The kernel package is the one linux-image-amd64
 * depends on, or $SBX_KERNEL_PKG.
 */
int sbx_image_pull(struct sbx_store *s, const struct sbx_pull_opts *o,
    struct sbx_pull_result *res, struct sbx_err *e);

#endif
