/*
 * rig-kernel.c - unpacking busybox for the L1 initramfs (the kernel and
 * its modules come from src/image/kernel.c, shared with sbx image pull).
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
#include "rig-prep.h"
#include "core/banned.h"

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

int
rig_busybox(const char *cache, const char *deb, char **path,
    struct sbx_err *e)
{
	static const char *const parts[] = { "bin/busybox", NULL };
	char *dir = deb_dir(cache, deb, ""), *tmp;
	size_t n = 0;
	int r = 0;

	*path = xasprintf("%s/bin/busybox", dir);
	if (access(*path, X_OK) == 0)
		goto out;
	tmp = xasprintf("%s.tmp", dir);
	rig_rmtree(tmp);
	r = rig_mkdirs(tmp, e);
	if (r == 0)
		r = sbx_deb_extract(deb, tmp, parts, 0, &n, e);
	if (r == 0 && n == 0)
		r = sbx_err_set(e, SBX_EINVAL, "'%s': no bin/busybox", deb);
	if (r == 0 && rename(tmp, dir) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", tmp, dir);
	rig_rmtree(tmp);
	free(tmp);
out:
	if (r < 0) {
		free(*path);
		*path = NULL;
	}
	free(dir);
	return r;
}
