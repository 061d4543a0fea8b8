/*
 * init.c - sbx-init, PID 1 of the guest initramfs (static binary).
 *
 * 1. mounts /proc, /sys, /dev (devtmpfs), /dev/pts, /run;
 * 2. loads the modules listed in /etc/sbx/modules, one path per line in
 *    dependency order, with finit_module (an already-loaded module is not
 *    an error; a missing or failing one is reported and skipped);
 * 3. if /dev/vda appears within a few seconds, mounts it (ext4) on
 *    /newroot, moves the pseudo filesystems there and switch_roots
 *    (deletes nothing: the initramfs is small and stays in memory);
 *    with no disk it keeps running from the initramfs;
 * 4. execs sbx-agent (/usr/lib/sbx/sbx-agent from the root disk, else
 *    the initramfs copy, which step 2 copied to /run/sbx/sbx-agent so it
 *    is still there after switch_root: any root image works without sbx
 *    inside it) as PID 1.
 * Every step reports to the console as "sbx-init: ...".
 *
 * Kernel command line: sbx.root=/dev/XXX overrides the root device,
 * sbx.root=none keeps the initramfs root, sbx.rootfstype=TYPE and
 * sbx.ro=1 are honoured. sbx.overlay=1 mounts the disk read-only under an
 * overlayfs, so the image is shared by every sandbox unmodified; the
 * upper layer, where a sandbox's writes go, is the ext4 data disk named
 * by sbx.upper=/dev/XXX (the VMM's layered disk: kept across stop and
 * start, frozen by snapshots and forks), else a tmpfs (writes in memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "kvm/guest/netcfg.h"
#include "core/banned.h"

#define MODULES_LIST "/etc/sbx/modules"
#define NEWROOT "/newroot"

static void
say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "sbx-init: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0)
		return;
}

/* Mounts unless already mounted (EBUSY); reports other failures. */
static void
mount_one(const char *src, const char *dst, const char *type,
    unsigned long flags, const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, opts) < 0 && errno != EBUSY)
		say("cannot mount %s on %s: %s", type, dst, strerror(errno));
}

/* Loads one module file; 0, or -1 after reporting. */
static int
load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	long r;

	if (fd < 0) {
		say("cannot open module '%s': %s", path, strerror(errno));
		return -1;
	}
	r = syscall(SYS_finit_module, fd, "", 0);
	if (r < 0 && errno != EEXIST) {
		say("cannot load module '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
load_modules(void)
{
	FILE *f = fopen(MODULES_LIST, "re");
	char line[1024];
	int n = 0, bad = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");

		line[len] = '\0';
		if (!len || line[0] == '#')
			continue;
		if (load_module(line) < 0)
			bad++;
		else
			n++;
	}
	fclose(f);
	say("loaded %d modules%s", n, bad ? " (some failed, see above)" : "");
}

/* Returns the value of "key=" on the kernel command line into buf. */
static int
cmdline_get(const char *key, char *buf, size_t cap)
{
	char cl[4096], *p, *save = NULL;
	size_t kl = strlen(key);
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, cl, sizeof(cl) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	cl[n] = '\0';
	for (p = strtok_r(cl, " \n", &save); p; p = strtok_r(NULL, " \n",
	    &save))
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			snprintf(buf, cap, "%s", p + kl + 1);
			return 0;
		}
	return -1;
}

/* Waits up to `ms` for a block device node to appear. */
static int
wait_for(const char *dev, int ms)
{
	struct timespec ts = { 0, 10 * 1000000L };
	struct stat st;
	int waited;

	for (waited = 0; waited <= ms; waited += 10) {
		if (stat(dev, &st) == 0 && S_ISBLK(st.st_mode))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * Copies the initramfs's agent into /run (a tmpfs that moves into the new
 * root), so it survives switch_root.
 */
static void
keep_agent(void)
{
	char buf[65536];
	int in, out;
	ssize_t n;

	in = open("/sbin/sbx-agent", O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return;
	mkdir("/run/sbx", 0755);
	out = open("/run/sbx/sbx-agent", O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0755);
	if (out < 0) {
		say("cannot copy sbx-agent to /run: %s", strerror(errno));
		close(in);
		return;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			say("cannot copy sbx-agent to /run: %s",
			    strerror(errno));
			break;
		}
	close(in);
	close(out);
}

/*
 * Where the overlay's upper layer lives: the data disk `upper` (ext4,
 * kept across reboots and frozen by snapshots), or a tmpfs when there is
 * none or it cannot be mounted (the writes then live in memory).
 */
static int
mount_upper(const char *upper)
{
	if (upper[0]) {
		if (wait_for(upper, 3000) < 0)
			say("no data disk %s: writes stay in memory", upper);
		else if (mount(upper, "/rw", "ext4", MS_NOATIME, NULL) == 0)
			return 0;
		else
			say("cannot mount the data disk %s: %s; writes stay "
			    "in memory", upper, strerror(errno));
	}
	return mount("tmpfs", "/rw", "tmpfs", 0, "mode=0755");
}

static int
mkdir_keep(const char *path)
{
	return mkdir(path, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

/*
 * The read-only disk under an overlay at NEWROOT whose upper layer is on
 * `upper` (mount_upper); -1 (and the initramfs stays the root) when any
 * step fails.
 */
static int
mount_overlay(const char *dev, const char *type, const char *upper)
{
	mkdir("/ro", 0755);
	mkdir("/rw", 0755);
	if (mount(dev, "/ro", type, MS_RDONLY, NULL) < 0) {
		say("cannot mount %s (%s) read-only: %s; running from the "
		    "initramfs", dev, type, strerror(errno));
		return -1;
	}
	if (mount_upper(upper) < 0 ||
	    mkdir_keep("/rw/upper") < 0 || mkdir_keep("/rw/work") < 0 ||
	    mount("overlay", NEWROOT, "overlay", 0, "lowerdir=/ro,"
	    "upperdir=/rw/upper,workdir=/rw/work") < 0) {
		say("cannot set up the overlay root: %s; running from the "
		    "initramfs", strerror(errno));
		return -1;
	}
	return 0;
}

/* Mounts the root disk and switch_roots into it; -1 to stay put. */
static int
switch_root(void)
{
	char dev[128] = "/dev/vda", type[32] = "ext4", ro[8] = "0";
	char overlay[8] = "0", upper[64] = "";
	static const char *const moves[] = { "/dev", "/proc", "/sys", "/run" };
	unsigned long flags = 0;
	size_t i;

	cmdline_get("sbx.root", dev, sizeof(dev));
	cmdline_get("sbx.rootfstype", type, sizeof(type));
	cmdline_get("sbx.ro", ro, sizeof(ro));
	if (!strcmp(dev, "none"))
		return -1;
	if (wait_for(dev, 3000) < 0) {
		say("no root disk %s: running from the initramfs", dev);
		return -1;
	}
	if (ro[0] == '1')
		flags |= MS_RDONLY;
	mkdir(NEWROOT, 0755);
	cmdline_get("sbx.overlay", overlay, sizeof(overlay));
	cmdline_get("sbx.upper", upper, sizeof(upper));
	if (overlay[0] == '1') {
		if (mount_overlay(dev, type, upper) < 0)
			return -1;
	} else if (mount(dev, NEWROOT, type, flags, NULL) < 0) {
		say("cannot mount %s (%s) on %s: %s; running from the "
		    "initramfs", dev, type, NEWROOT, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		char dst[64];

		snprintf(dst, sizeof(dst), NEWROOT "%s", moves[i]);
		mkdir(dst, 0755);
		if (mount(moves[i], dst, NULL, MS_MOVE, NULL) < 0)
			say("cannot move %s into the new root: %s", moves[i],
			    strerror(errno));
	}
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 ||
	    chroot(".") < 0 || chdir("/") < 0) {
		say("cannot switch to the root disk: %s", strerror(errno));
		return -1;
	}
	say("switched root to %s", dev);
	return 0;
}

int
main(int argc, char **argv)
{
	static const char *const agents[] = {
		"/usr/lib/sbx/sbx-agent", "/usr/libexec/sbx/sbx-agent",
		"/run/sbx/sbx-agent", "/sbin/sbx-agent",
	};
	char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:"
	    "/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL };
	size_t i;

	mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	if (fcntl(2, F_GETFD) < 0) {
		int fd = open("/dev/console", O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
	}
	mount_one("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	mount_one("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	    NULL);
	mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	    "gid=5,mode=0620,ptmxmode=0666");
	mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
	    "mode=1777");
	load_modules();
	keep_agent();
	switch_root();
	mkdir("/tmp", 01777);
	netcfg_up();
	for (i = 0; i < sizeof(agents) / sizeof(agents[0]); i++) {
		char *args[] = { (char *)agents[i], NULL };

		if (access(agents[i], X_OK) != 0)
			continue;
		say("starting %s", agents[i]);
		execve(agents[i], args, env);
		say("cannot run %s: %s", agents[i], strerror(errno));
	}
	say("no sbx-agent found; halting");
	for (;;)
		pause();
}
