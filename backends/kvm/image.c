/*
 * image.c - resolving what a sandbox boots (image.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "kvm/image.h"
#include "core/xmalloc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
#include "core/banned.h"

void
kvm_image_release(struct kvm_image *img)
{
	free(img->kernel);
	free(img->initrd);
	free(img->rootfs);
	free(img->cmdline);
	free(img->name);
	memset(img, 0, sizeof(*img));
}

static int
is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int
from_dir(const char *dir, struct kvm_image *img, struct sbx_err *e)
{
	char *p;

	img->kernel = xasprintf("%s/vmlinuz", dir);
	if (!is_file(img->kernel))
		return sbx_err_set(e, SBX_ENOENT, "image '%s' has no kernel "
		    "('%s' is missing)", dir, img->kernel);
	p = xasprintf("%s/initrd.img", dir);
	if (is_file(p))
		img->initrd = p;
	else
		free(p);
	p = xasprintf("%s/rootfs.ext4", dir);
	if (is_file(p))
		img->rootfs = p;
	else
		free(p);
	if (!img->initrd && !img->rootfs)
		return sbx_err_set(e, SBX_ENOENT, "image '%s' has neither "
		    "'initrd.img' nor 'rootfs.ext4'", dir);
	img->name = xstrdup(dir);
	return 0;
}

/* The object path behind a "sha:<hex>" field of `m`, or NULL. */
static int
object_field(struct sbx_store *s, json_t *m, const char *key,
    const char *image, char **out, int required, struct sbx_err *e)
{
	const char *v = json_string_value(json_object_get(m, key));
	struct sbx_oid id;

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		return sbx_err_set(e, SBX_ECORRUPT, "image '%s': manifest has "
		    "no '%s'", image, key);
	}
	if (!sbx_manifest_parse_ref(v, &id))
		return sbx_err_set(e, SBX_ECORRUPT, "image '%s': field '%s' is "
		    "not an object reference", image, key);
	if (!sbx_store_object_exists(s, &id))
		return sbx_err_set(e, SBX_ECORRUPT, "image '%s': object %s "
		    "(%s) is missing from the store", image, v + 4, key);
	*out = sbx_store_object_path(s, &id);
	return 0;
}

int
kvm_image_resolve(struct sbx_store *s, const char *path, const char *name,
    struct kvm_image *img, struct sbx_err *e)
{
	struct sbx_oid id;
	json_t *m = NULL;
	const char *cl;
	int rc;

	memset(img, 0, sizeof(*img));
	if (path)
		return from_dir(path, img, e);
	if (!name)
		name = "default";
	if (sbx_ref_read(s, "images", name, &id, e) < 0) {
		if (e && e->code == SBX_ENOENT) {
			sbx_err_set(e, SBX_ENOENT, "no image '%s' in the store",
			    name);
			if (!strcmp(name, "default"))
				sbx_err_hint(e, "make it with 'sbx image pull'");
			else
				sbx_err_hint(e, "build it with 'sbx build'");
		}
		return -1;
	}
	if (sbx_manifest_load(s, &id, &m, e) < 0)
		return -1;
	rc = object_field(s, m, "kernel", name, &img->kernel, 1, e);
	if (!rc)
		rc = object_field(s, m, "initrd", name, &img->initrd, 0, e);
	if (!rc)
		rc = object_field(s, m, "rootfs", name, &img->rootfs, 0, e);
	cl = json_string_value(json_object_get(m, "cmdline"));
	if (!rc && cl)
		img->cmdline = xstrdup(cl);
	if (!rc) {
		img->name = xstrdup(name);
		sbx_oid_to_hex(&id, img->manifest);
	}
	json_decref(m);
	if (rc)
		kvm_image_release(img);
	return rc;
}
