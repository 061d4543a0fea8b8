/*
 * guest.c - building the guest initramfs (guest.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/cpio.h"
#include "image/guest.h"
#include "image/kernel.h"
#include "core/banned.h"

const char *const sbx_guest_modules[] = {
	"virtio_mmio", "virtio_blk", "virtio_rng", "virtio_net",
	"virtio_balloon", "crc32c_generic", "ext4", "overlay",
	"vmw_vsock_virtio_transport", NULL,
};

/* Busybox applets linked in /bin when busybox is included. */
static const char *const applets[] = {
	"sh", "ash", "cat", "cp", "dd", "df", "dmesg", "echo", "env", "grep",
	"head", "hostname", "ip", "kill", "ln", "ls", "mkdir", "mount", "mv",
	"nproc", "ps", "rm", "sed", "sha256sum", "sleep", "sync", "tail",
	"test", "touch", "true", "false", "uname", "wc", "vi", "free", "top",
	NULL,
};

static int
add(struct sbx_cpio *c, const char *path, enum sbx_cpio_type type,
    unsigned mode, const char *src, struct sbx_err *e)
{
	struct sbx_cpio_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.path = path;
	ent.type = type;
	ent.mode = mode;
	if (type == SBX_CPIO_SYMLINK)
		ent.target = src;
	else
		ent.src = src;
	return sbx_cpio_add(c, &ent, e);
}

static int
add_dev(struct sbx_cpio *c, const char *path, unsigned major,
    unsigned minor, struct sbx_err *e)
{
	struct sbx_cpio_entry ent;

	memset(&ent, 0, sizeof(ent));
	ent.path = path;
	ent.type = SBX_CPIO_CHARDEV;
	ent.mode = 0600;
	ent.major = major;
	ent.minor = minor;
	return sbx_cpio_add(c, &ent, e);
}

/* Adds the ordered modules and /etc/sbx/modules listing them. */
static int
add_modules(struct sbx_cpio *c, const struct sbx_kernel *k,
    struct sbx_err *e)
{
	struct sbx_buf order = SBX_BUF_INIT, list = SBX_BUF_INIT;
	struct sbx_cpio_entry ent;
	char *line, *save = NULL;
	int r;

	r = sbx_buf_read_file(&order, k->order_file, e);
	for (line = r ? NULL : strtok_r(order.buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *src = xasprintf("%s/%s.ko", k->modules_dir, line);
		char *dst = xasprintf("lib/modules/sbx/%s.ko", line);

		r = add(c, dst, SBX_CPIO_FILE, 0644, src, e);
		sbx_buf_addf(&list, "/%s\n", dst);
		free(src);
		free(dst);
		if (r)
			break;
	}
	if (!r) {
		memset(&ent, 0, sizeof(ent));
		ent.path = "etc/sbx/modules";
		ent.type = SBX_CPIO_FILE;
		ent.mode = 0644;
		ent.data = list.buf;
		ent.len = list.len;
		r = sbx_cpio_add(c, &ent, e);
	}
	sbx_buf_release(&order);
	sbx_buf_release(&list);
	return r;
}

int
sbx_guest_initramfs(const struct sbx_kernel *k,
    const struct sbx_guest_files *g, const char *out, struct sbx_err *e)
{
	static const char *const dirs[] = { "bin", "dev", "etc", "etc/sbx",
	    "lib", "lib/modules", "lib/modules/sbx", "newroot", "proc", "run",
	    "sbin", "sys", "tmp", "root", NULL };
	struct sbx_cpio *c;
	size_t i;
	int r = 0;

	if (sbx_cpio_open(&c, out, SBX_CPIO_GZIP, e) < 0)
		return -1;
	for (i = 0; !r && dirs[i]; i++)
		r = add(c, dirs[i], SBX_CPIO_DIR, !strcmp(dirs[i], "tmp") ?
		    01777 : 0755, NULL, e);
	if (!r)
		r = add_dev(c, "dev/console", 5, 1, e);
	if (!r)
		r = add_dev(c, "dev/null", 1, 3, e);
	if (!r)
		r = add(c, "init", SBX_CPIO_FILE, 0755, g->init, e);
	if (!r)
		r = add(c, "sbin/sbx-agent", SBX_CPIO_FILE, 0755, g->agent, e);
	if (!r && g->busybox) {
		r = add(c, "bin/busybox", SBX_CPIO_FILE, 0755, g->busybox, e);
		for (i = 0; !r && applets[i]; i++) {
			char *p = xasprintf("bin/%s", applets[i]);

			r = add(c, p, SBX_CPIO_SYMLINK, 0777, "busybox", e);
			free(p);
		}
	}
	if (!r)
		r = add_modules(c, k, e);
	if (r) {
		sbx_cpio_abort(c);
		return r;
	}
	return sbx_cpio_close(c, e);
}
