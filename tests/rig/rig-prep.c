/*
 * rig-prep - prepares the rig's L1 artifacts in a cache directory:
 *
 *   fetch      downloads Debian's current linux-image-*-amd64 and
 *              busybox-static with apt-get and checks their SHA256
 *   kernel     unpacks the kernel (vmlinuz, plus vmlinux: the ELF inside,
 *              which QEMU boots directly through PVH, skipping the slow
 *              decompression under TCG) and the wanted modules with their
 *              dependencies, in load order
 *   initramfs  packs busybox, the modules and the init script into a cpio
 *   all        all three, then prints "kernel=PATH" and "initramfs=PATH"
 *
 * Every step is skipped when its result in the cache is present and valid.
 * Results go to stdout, progress and errors to stderr. See README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/run.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/cpio.h"
#include "image/deb.h"
#include "image/modules.h"
#include "image/kernel.h"
#include "rig-prep.h"
#include "core/banned.h"

static int quiet;

void
rig_note(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	fputs("rig-prep: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 &&
	    errno != ENOENT ? -1 : 0;
}

int
rig_rmtree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
rig_mkdirs(const char *path, struct sbx_err *e)
{
	char *p = xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; r == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST)
				r = sbx_err_sys(e, "cannot create '%s'", p);
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return r;
}

int
rig_sha256_file(const char *path, char hex[65], struct sbx_err *e)
{
	crypto_hash_sha256_state st;
	unsigned char md[crypto_hash_sha256_BYTES], buf[1 << 16];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	crypto_hash_sha256_init(&st);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			close(fd);
			return sbx_err_sys(e, "cannot read '%s'", path);
		}
		crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
	}
	close(fd);
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(hex, 65, md, sizeof(md));
	return 0;
}

/* Writes `len` bytes to `path` through a temporary file and rename. */
int
rig_write_file(const char *path, const void *data, size_t len,
    struct sbx_err *e)
{
	char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkstemp(tmp), r = 0;
	size_t done = 0;

	if (fd < 0) {
		r = sbx_err_sys(e, "cannot create '%s'", tmp);
		free(tmp);
		return r;
	}
	while (done < len && r == 0) {
		ssize_t n = write(fd, (const char *)data + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = sbx_err_sys(e, "cannot write '%s'", tmp);
		else
			done += (size_t)n;
	}
	if (r == 0 && (fchmod(fd, 0644) < 0 || fsync(fd) < 0))
		r = sbx_err_sys(e, "cannot write '%s'", tmp);
	close(fd);
	if (r == 0 && rename(tmp, path) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", tmp, path);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

/*
 * Reads the wanted module names from `list` (one per line, '#' comments)
 * into `out`.
 */
static int
read_module_list(const char *list, struct sbx_strvec *out, struct sbx_err *e)
{
	struct sbx_buf text = SBX_BUF_INIT;
	char *p, *save = NULL, *line;
	int r;

	r = sbx_buf_read_file(&text, list, e);
	if (r < 0)
		return r;
	for (line = strtok_r(text.buf, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');

		if (hash)
			*hash = '\0';
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		line = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		*p = '\0';
		if (*line)
			sbx_strvec_push(out, line);
	}
	sbx_buf_release(&text);
	if (!out->nr)
		return sbx_err_set(e, SBX_EINVAL, "'%s': no module names", list);
	return 0;
}

/* Builds the initramfs from the kernel dir, busybox and the init script. */
static int
make_initramfs(const struct sbx_kernel *k, const char *busybox,
    const char *init, const char *out, int gzip, struct sbx_err *e)
{
	struct sbx_cpio *c;
	struct sbx_strvec order = SBX_STRVEC_INIT;
	struct sbx_buf list = SBX_BUF_INIT;
	size_t i;
	int r;

	r = read_module_list(k->order_file, &order, e);
	if (r < 0)
		return r;
	r = sbx_cpio_open(&c, out, gzip ? SBX_CPIO_GZIP : 0, e);
	if (r < 0)
		goto done;
	{
		struct sbx_cpio_entry ents[] = {
			{ .path = "dev", .type = SBX_CPIO_DIR, .mode = 0755 },
			{ .path = "dev/console", .type = SBX_CPIO_CHARDEV,
			  .mode = 0600, .major = 5, .minor = 1 },
			{ .path = "dev/null", .type = SBX_CPIO_CHARDEV,
			  .mode = 0666, .major = 1, .minor = 3 },
			{ .path = "bin/busybox", .type = SBX_CPIO_FILE,
			  .mode = 0755, .src = busybox },
			{ .path = "bin/sh", .type = SBX_CPIO_SYMLINK,
			  .mode = 0777, .target = "busybox" },
			{ .path = "init", .type = SBX_CPIO_FILE, .mode = 0755,
			  .src = init },
		};

		for (i = 0; i < sizeof(ents) / sizeof(ents[0]) && r == 0; i++)
			r = sbx_cpio_add(c, &ents[i], e);
	}
	for (i = 0; i < order.nr && r == 0; i++) {
		struct sbx_cpio_entry ko = { .type = SBX_CPIO_FILE,
		    .mode = 0644 };
		char *path = xasprintf("modules/%s.ko", order.v[i]);
		char *src = xasprintf("%s/%s.ko", k->modules_dir, order.v[i]);

		ko.path = path;
		ko.src = src;
		r = sbx_cpio_add(c, &ko, e);
		sbx_buf_addf(&list, "%s\n", order.v[i]);
		free(path);
		free(src);
	}
	if (r == 0) {
		struct sbx_cpio_entry ord = { .path = "modules/order",
		    .type = SBX_CPIO_FILE, .mode = 0644, .data = list.buf,
		    .len = list.len };

		r = sbx_cpio_add(c, &ord, e);
	}
	if (r < 0)
		sbx_cpio_abort(c);
	else
		r = sbx_cpio_close(c, e);
done:
	sbx_strvec_clear(&order);
	sbx_buf_release(&list);
	return r;
}

struct opts {
	const char *cache;
	const char *init;
	const char *modules;
	int gzip;
};

static int
cmd_fetch(const struct opts *o, struct rig_debs *d, struct sbx_err *e)
{
	return rig_fetch(o->cache, d, e);
}

static int
cmd_kernel(const struct opts *o, struct rig_debs *d, struct sbx_kernel *k,
    struct sbx_err *e)
{
	struct sbx_strvec wanted = SBX_STRVEC_INIT;
	int r;

	r = rig_fetch(o->cache, d, e);
	if (r == 0)
		r = read_module_list(o->modules, &wanted, e);
	if (r == 0)
		r = sbx_kernel_unpack(o->cache, d->kernel, &wanted, k, e);
	sbx_strvec_clear(&wanted);
	return r;
}

/*
 * The initramfs is named after what goes into it (init script, module
 * order, busybox package, compression), so source trees with different
 * init scripts share a cache without rebuilding each other's archive.
 */
static int
initramfs_name(const struct sbx_kernel *k, const char *busybox,
    const struct opts *o, char **out, struct sbx_err *e)
{
	struct sbx_buf in = SBX_BUF_INIT;
	unsigned char md[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	int r;

	*out = NULL;
	r = sbx_buf_read_file(&in, o->init, e);
	if (r == 0) {
		sbx_buf_addch(&in, '\0');
		r = sbx_buf_read_file(&in, k->order_file, e);
	}
	if (r == 0) {
		sbx_buf_addf(&in, "%c%s%c%d", 0, busybox, 0, o->gzip);
		crypto_hash_sha256(md, (const unsigned char *)in.buf, in.len);
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		*out = xasprintf("%s/initramfs-%.16s.cpio%s", k->dir, hex,
		    o->gzip ? ".gz" : "");
	}
	sbx_buf_release(&in);
	return r;
}

static int
cmd_initramfs(const struct opts *o, struct sbx_kernel *k, char **initrd,
    struct sbx_err *e)
{
	struct rig_debs d = { 0 };
	char *busybox = NULL, *out = NULL;
	int r;

	r = cmd_kernel(o, &d, k, e);
	if (r == 0)
		r = rig_busybox(o->cache, d.busybox, &busybox, e);
	if (r < 0)
		goto done;
	r = initramfs_name(k, busybox, o, &out, e);
	if (r == 0 && access(out, R_OK) < 0) {
		rig_note("packing the L1 initramfs ('%s')", out);
		r = make_initramfs(k, busybox, o->init, out, o->gzip, e);
	}
	if (r == 0)
		*initrd = out;
	else
		free(out);
done:
	free(busybox);
	rig_debs_release(&d);
	return r;
}

/*
 * Holds an exclusive lock on cache/.lock until the process exits, so
 * concurrent rig-preps (parallel test runs) take turns.
 */
static int
lock_cache(const char *cache, struct sbx_err *e)
{
	char *path = xasprintf("%s/.lock", cache);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644), r = 0;

	if (fd < 0) {
		r = sbx_err_sys(e, "cannot open '%s'", path);
	} else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rig_note("waiting for another rig-prep ('%s')", path);
		if (flock(fd, LOCK_EX) < 0)
			r = sbx_err_sys(e, "cannot lock '%s'", path);
	}
	free(path);
	return r;		/* fd stays open: the lock lives until exit */
}

static void
usage(FILE *f)
{
	fputs("usage: rig-prep fetch|kernel|initramfs|all [--cache DIR] "
	    "[--init FILE] [--modules LIST] [--gzip] [-q]\n", f);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cache", required_argument, NULL, 'C' },
		{ "init", required_argument, NULL, 'i' },
		{ "modules", required_argument, NULL, 'm' },
		{ "gzip", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { 0 };
	struct sbx_err e = { 0 };
	struct rig_debs d = { 0 };
	struct sbx_kernel k = { 0 };
	const char *cmd, *env;
	char *cache = NULL, *initrd = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'C': o.cache = optarg; break;
		case 'i': o.init = optarg; break;
		case 'm': o.modules = optarg; break;
		case 'z': o.gzip = 1; break;
		case 'q': quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	if (sodium_init() < 0) {
		fputs("rig-prep: cannot initialize libsodium\n", stderr);
		return 1;
	}
	if (!o.cache) {
		if ((env = getenv("SBX_RIG_CACHE")) && *env)
			cache = xstrdup(env);
		else if ((env = getenv("XDG_CACHE_HOME")) && *env)
			cache = xasprintf("%s/sbx/rig", env);
		else if ((env = getenv("HOME")) && *env)
			cache = xasprintf("%s/.cache/sbx/rig", env);
		else {
			fputs("rig-prep: no cache directory: set "
			    "SBX_RIG_CACHE or HOME\n", stderr);
			return 1;
		}
		o.cache = cache;
	}
	if (!o.init)
		o.init = RIG_SRCDIR "/init.sh";
	if (!o.modules)
		o.modules = RIG_SRCDIR "/modules.list";
	r = rig_mkdirs(o.cache, &e);
	if (r < 0)
		goto fail;
	r = lock_cache(o.cache, &e);
	if (r < 0)
		goto fail;
	if (!strcmp(cmd, "fetch")) {
		r = cmd_fetch(&o, &d, &e);
		if (r == 0)
			printf("kernel-deb=%s\nbusybox-deb=%s\n", d.kernel,
			    d.busybox);
	} else if (!strcmp(cmd, "kernel")) {
		r = cmd_kernel(&o, &d, &k, &e);
		if (r == 0)
			printf("kernel=%s\nmodules=%s\n", k.boot, k.modules_dir);
	} else if (!strcmp(cmd, "initramfs") || !strcmp(cmd, "all")) {
		r = cmd_initramfs(&o, &k, &initrd, &e);
		if (r == 0 && !strcmp(cmd, "all"))
			printf("kernel=%s\n", k.boot);
		if (r == 0)
			printf("initramfs=%s\n", initrd);
	} else {
		fprintf(stderr, "rig-prep: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	rig_debs_release(&d);
	sbx_kernel_release(&k);
	free(initrd);
	free(cache);
	if (r == 0)
		return 0;
fail:
	fprintf(stderr, "rig-prep: %s\n", e.msg);
	if (e.hint[0])
		fprintf(stderr, "hint: %s\n", e.hint);
	return 1;
}
