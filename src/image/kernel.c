/*
 * kernel.c - unpacking a Debian kernel package: the bzImage, its ELF
 * payload and a dependency-closed, ordered set of modules (kernel.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/deb.h"
#include "image/modules.h"
#include "image/kernel.h"
#include "store/fsutil.h"
#include "core/banned.h"

#define BZIMAGE_MAX (64 << 20)
#define VMLINUX_MAX (512ULL << 20)

/* "cache/<deb file name without .deb>" */
static char *
deb_dir(const char *cache, const char *deb, const char *suffix)
{
	const char *base = strrchr(deb, '/');
	size_t n;

	base = base ? base + 1 : deb;
	n = strlen(base);
	if (n > 4 && !strcmp(base + n - 4, ".deb"))
		n -= 4;
	return xasprintf("%s/%.*s%s", cache, (int)n, base, suffix);
}

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* Decompresses `len` bytes at `data` (any libarchive filter) into fd. */
static int
decompress_to(const unsigned char *data, size_t len, int fd,
    unsigned long long *total, const char *what, struct sbx_err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	char buf[1 << 16];
	la_ssize_t n;
	int r = 0;

	*total = 0;
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_memory(a, data, len) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		r = sbx_err_set(e, SBX_EINVAL, "'%s': cannot decompress the "
		    "kernel payload: %s", what, archive_error_string(a));
		goto out;
	}
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (*total + (unsigned long long)n > VMLINUX_MAX) {
			r = sbx_err_set(e, SBX_EINVAL, "'%s': kernel payload "
			    "larger than 512 MiB", what);
			goto out;
		}
		if (write(fd, buf, (size_t)n) != n) {
			r = sbx_err_sys(e, "cannot write the kernel ELF");
			goto out;
		}
		*total += (unsigned long long)n;
	}
	if (n < 0)
		r = sbx_err_set(e, SBX_EINVAL, "'%s': kernel payload: %s",
		    what, archive_error_string(a));
out:
	archive_read_free(a);
	return r;
}

int
sbx_kernel_extract_vmlinux(const char *vmlinuz, const char *out, struct sbx_err *e)
{
	struct sbx_buf img = SBX_BUF_INIT;
	const unsigned char *p;
	unsigned long long total = 0;
	size_t setup, start, len;
	char *tmp = NULL, magic[4];
	int fd = -1, r;

	img.cap = BZIMAGE_MAX;
	r = sbx_buf_read_file(&img, vmlinuz, e);
	if (r < 0)
		goto out;
	p = (const unsigned char *)img.buf;
	if (img.len < 0x260 || memcmp(p + 0x202, "HdrS", 4) ||
	    (p[0x206] | p[0x207] << 8) < 0x208) {
		r = sbx_err_set(e, SBX_EINVAL, "'%s': not a bzImage with boot "
		    "protocol 2.08 or later", vmlinuz);
		goto out;
	}
	setup = p[0x1f1] ? p[0x1f1] : 4;
	start = (setup + 1) * 512 + le32(p + 0x248);
	len = le32(p + 0x24c);
	if (start >= img.len || len > img.len - start || len < 8) {
		r = sbx_err_set(e, SBX_EINVAL, "'%s': payload offset/length "
		    "out of range", vmlinuz);
		goto out;
	}
	tmp = xasprintf("%s.tmp-XXXXXX", out);
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = sbx_err_sys(e, "cannot create '%s'", tmp);
		goto out;
	}
	r = decompress_to(p + start, len, fd, &total, vmlinuz, e);
	if (r < 0) {
		/* xz and zstd payloads end with the 4-byte output size. */
		if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) {
			r = sbx_err_sys(e, "cannot rewrite '%s'", tmp);
			goto out;
		}
		r = decompress_to(p + start, len - 4, fd, &total, vmlinuz, e);
	}
	if (r < 0)
		goto out;
	if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, "\177ELF", 4)) {
		r = sbx_err_set(e, SBX_EINVAL, "'%s': the payload is not an "
		    "ELF file", vmlinuz);
		goto out;
	}
	if (fchmod(fd, 0644) < 0 || fsync(fd) < 0 || rename(tmp, out) < 0)
		r = sbx_err_sys(e, "cannot write '%s'", out);
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		if (r < 0)
			unlink(tmp);
		free(tmp);
	}
	sbx_buf_release(&img);
	return r;
}

/* The single directory below `path` ("lib/modules/<version>"). */
static char *
only_subdir(const char *path, struct sbx_err *e)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char *found = NULL;

	if (!d) {
		sbx_err_sys(e, "cannot read '%s'", path);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (found) {
			sbx_err_set(e, SBX_EINVAL, "'%s' holds more than one "
			    "kernel version", path);
			free(found);
			found = NULL;
			break;
		}
		found = xstrdup(de->d_name);
	}
	closedir(d);
	if (!found && !e->msg[0])
		sbx_err_set(e, SBX_EINVAL, "'%s' is empty", path);
	return found;
}

static void
kernel_fill(struct sbx_kernel *k, const char *dir, const char *mods)
{
	k->dir = xstrdup(dir);
	k->boot = xasprintf("%s/vmlinux", dir);
	if (access(k->boot, R_OK) < 0) {
		free(k->boot);
		k->boot = xasprintf("%s/vmlinuz", dir);
	}
	k->modules_dir = xstrdup(mods);
	k->order_file = xasprintf("%s/order", mods);
}

/* Moves the resolved modules and their order file into `out`. */
static int
kernel_modules(const char *moddir, const char *out,
    const struct sbx_strvec *wanted, struct sbx_err *e)
{
	struct sbx_modules *m = NULL;
	struct sbx_strvec names = SBX_STRVEC_INIT, paths = SBX_STRVEC_INIT;
	struct sbx_buf order = SBX_BUF_INIT;
	char *path;
	size_t i;
	int r;

	r = sbx_modules_load(&m, moddir, e);
	if (r == 0)
		r = sbx_modules_resolve(m, (const char *const *)wanted->v,
		    &names, &paths, e);
	for (i = 0; r == 0 && i < names.nr; i++) {
		char *from = xasprintf("%s/%s", moddir, paths.v[i]);
		char *to = xasprintf("%s/%s.ko", out, names.v[i]);

		if (rename(from, to) < 0)
			r = sbx_err_sys(e, "cannot move '%s' to '%s'", from,
			    to);
		sbx_buf_addf(&order, "%s\n", names.v[i]);
		free(from);
		free(to);
	}
	if (r == 0) {
		path = xasprintf("%s/order", out);
		r = sbx_fs_write_atomic(path, NULL, order.buf, order.len,
		    0644, e);
		free(path);
	}
	sbx_modules_free(m);
	sbx_strvec_clear(&names);
	sbx_strvec_clear(&paths);
	sbx_buf_release(&order);
	return r;
}

/*
 * Layout: cache/<deb>/vmlinuz and vmlinux, shared by every module set, and
 * cache/<deb>/modules-<hash of the wanted list>/ holding <name>.ko and
 * "order". Nothing is ever replaced in place, so source trees with
 * different lists share one cache (rig-prep holds the cache lock).
 */
int
sbx_kernel_unpack(const char *cache, const char *deb, const struct sbx_strvec *wanted,
    struct sbx_kernel *k, struct sbx_err *e)
{
	static const char *const parts[] = { "boot", "lib/modules", NULL };
	unsigned char md[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	char *dir = deb_dir(cache, deb, ""), *mods, *tmp = NULL, *x = NULL;
	char *kver = NULL, *p = NULL, *q = NULL;
	struct sbx_buf want = SBX_BUF_INIT;
	size_t i, n;
	int r;

	for (i = 0; i < wanted->nr; i++)
		sbx_buf_addf(&want, "%s\n", wanted->v[i]);
	crypto_hash_sha256(md, (const unsigned char *)want.buf, want.len);
	sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
	mods = xasprintf("%s/modules-%.16s", dir, hex);
	p = xasprintf("%s/vmlinuz", dir);
	q = xasprintf("%s/order", mods);
	if (access(p, R_OK) == 0 && access(q, R_OK) == 0) {
		kernel_fill(k, dir, mods);
		r = 0;
		goto done;
	}
	free(p);
	free(q);
	p = q = NULL;
	tmp = xasprintf("%s/tmp-kernel-XXXXXX", cache);
	if (!mkdtemp(tmp)) {
		r = sbx_err_sys(e, "cannot create '%s'", tmp);
		goto done;
	}
	x = xasprintf("%s/x", tmp);
	r = sbx_fs_mkdir_p(x, 0755, e);
	if (r == 0)
		r = sbx_fs_mkdir_p(dir, 0755, e);
	if (r == 0)
		r = sbx_deb_extract(deb, x, parts, 0, &n, e);
	p = xasprintf("%s/lib/modules", x);
	if (r == 0 && !(kver = only_subdir(p, e)))
		r = SBX_EINVAL;
	if (r < 0)
		goto clean;
	free(p);
	p = xasprintf("%s/vmlinuz", dir);
	if (access(p, R_OK) < 0) {
		char *img = xasprintf("%s/boot/vmlinuz-%s", x, kver);
		char *elf = xasprintf("%s/vmlinux", dir);

		if (access(img, R_OK) < 0) {
			r = sbx_err_set(e, SBX_EINVAL, "'%s': no kernel image "
			    "'boot/vmlinuz-%s'", deb, kver);
		} else if (sbx_kernel_extract_vmlinux(img, elf, e) < 0) {
			/* Without an ELF payload, callers boot the bzImage. */
			sbx_err_clear(e);
		}
		/* vmlinuz last: its presence means the kernel is complete. */
		if (r == 0 && rename(img, p) < 0)
			r = sbx_err_sys(e, "cannot move '%s' to '%s'", img, p);
		free(img);
		free(elf);
		if (r < 0)
			goto clean;
	}
	free(p);
	p = xasprintf("%s/lib/modules/%s", x, kver);
	q = xasprintf("%s/mods", tmp);
	r = sbx_fs_mkdir_p(q, 0755, e);
	if (r == 0)
		r = kernel_modules(p, q, wanted, e);
	if (r == 0 && rename(q, mods) < 0 && errno != ENOTEMPTY &&
	    errno != EEXIST)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", q, mods);
	if (r == 0)
		kernel_fill(k, dir, mods);
clean:
	sbx_fs_remove_tree(tmp, NULL);
done:
	free(tmp);
	free(x);
	free(kver);
	free(p);
	free(q);
	free(mods);
	free(dir);
	sbx_buf_release(&want);
	return r;
}

void
sbx_kernel_release(struct sbx_kernel *k)
{
	free(k->dir);
	free(k->boot);
	free(k->modules_dir);
	free(k->order_file);
	memset(k, 0, sizeof(*k));
}

