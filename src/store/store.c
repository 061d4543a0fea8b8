/*
 * store.c - opening $SBX_HOME, the store-wide lock and temporary files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "store/fsutil.h"
#include "store/store-int.h"
#include "core/banned.h"

static const char *const layout[] = {
	"objects", "refs", "refs/templates", "refs/snapshots", "sandboxes",
	"tmp", NULL,
};

int
store_flock_wait(int fd, int op, unsigned timeout_ms)
{
	struct timespec start, now, nap = { 0, 5 * 1000 * 1000 };
	long elapsed;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) * 1000 +
		    (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= (long)timeout_ms)
			return -EWOULDBLOCK;
		nanosleep(&nap, NULL);
	}
}

/*
 * Reads $SBX_HOME/format, writing it on first use; refuses a store laid
 * out by a newer sbx.
 */
static int
check_format(struct sbx_store *s, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *p = xasprintf("%s/format", s->home), want[16];
	int r;

	snprintf(want, sizeof(want), "%d\n", SBX_STORE_FORMAT);
	b.cap = 64;
	if (access(p, F_OK) < 0 && errno == ENOENT) {
		r = sbx_fs_write_atomic(p, s->tmpdir, want, strlen(want), 0600,
		    e);
	} else if ((r = sbx_buf_read_file(&b, p, e)) == 0 &&
	    strcmp(b.buf, want)) {
		sbx_buf_rtrim(&b);
		r = sbx_err_set(e, SBX_ENOTSUP, "store '%s' has format '%.20s'; "
		    "this sbx reads format %d", s->home, b.buf,
		    SBX_STORE_FORMAT);
		sbx_err_hint(e, "use the sbx that created it, or another "
		    "--home");
	}
	sbx_buf_release(&b);
	free(p);
	return r;
}

int
sbx_store_open(const char *home, struct sbx_store **out, struct sbx_err *e)
{
	struct sbx_store *s;
	char *p;
	int i, r;

	*out = NULL;
	if (!home || !*home)
		return sbx_err_set(e, SBX_EUSAGE, "store home is empty");
	if (sodium_init() < 0)
		return sbx_err_set(e, SBX_EFAIL, "cannot initialize libsodium");
	r = sbx_fs_mkdir_p(home, 0700, e);
	if (r < 0) {
		sbx_err_hint(e, "set SBX_HOME or --home to a writable "
		    "directory");
		return r;
	}
	for (i = 0; layout[i]; i++) {
		p = xasprintf("%s/%s", home, layout[i]);
		r = sbx_fs_mkdir(p, 0700, e);
		free(p);
		if (r < 0)
			return r;
	}
	s = xcalloc(1, sizeof(*s));
	s->home = xstrdup(home);
	s->tmpdir = xasprintf("%s/tmp", home);
	s->lock_timeout_ms = 60000;
	p = xasprintf("%s/lock", home);
	s->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		r = sbx_err_sys(e, "cannot open store lock '%s'", p);
		free(p);
		sbx_store_close(s);
		return r;
	}
	free(p);
	r = check_format(s, e);
	if (r < 0) {
		sbx_store_close(s);
		return r;
	}
	*out = s;
	return 0;
}

void
sbx_store_close(struct sbx_store *s)
{
	if (!s)
		return;
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s->home);
	free(s->tmpdir);
	free(s);
}

const char *
sbx_store_home(const struct sbx_store *s)
{
	return s->home;
}

char *
sbx_store_path(const struct sbx_store *s, const char *rel)
{
	return xasprintf("%s/%s", s->home, rel);
}

void
sbx_store_set_lock_timeout(struct sbx_store *s, unsigned ms)
{
	s->lock_timeout_ms = ms;
}

int
sbx_store_write_begin(struct sbx_store *s, struct sbx_err *e)
{
	int r;

	if (s->lock_state != STORE_UNLOCKED)
		return 0;
	r = store_flock_wait(s->lock_fd, LOCK_SH, s->lock_timeout_ms);
	if (r == -EWOULDBLOCK) {
		sbx_err_set(e, SBX_EBUSY, "store '%s' is busy: 'sbx gc' is "
		    "running", s->home);
		sbx_err_hint(e, "try again when it has finished");
		return SBX_EBUSY;
	}
	if (r < 0) {
		errno = -r;
		return sbx_err_sys(e, "cannot lock store '%s'", s->home);
	}
	s->lock_state = STORE_SHARED;
	return 0;
}

int
store_write_enter(struct sbx_store *s, int *taken, struct sbx_err *e)
{
	int r;

	*taken = 0;
	if (s->lock_state != STORE_UNLOCKED)
		return 0;
	r = sbx_store_write_begin(s, e);
	if (r == 0)
		*taken = 1;
	return r;
}

void
store_write_leave(struct sbx_store *s, int taken)
{
	if (taken)
		sbx_store_write_done(s);
}

void
sbx_store_write_done(struct sbx_store *s)
{
	if (s->lock_state == STORE_UNLOCKED)
		return;
	flock(s->lock_fd, LOCK_UN);
	s->lock_state = STORE_UNLOCKED;
}

int
sbx_store_lock_exclusive(struct sbx_store *s, struct sbx_err *e)
{
	int r;

	if (s->lock_state == STORE_EXCLUSIVE)
		return 0;
	sbx_store_write_done(s);
	r = store_flock_wait(s->lock_fd, LOCK_EX, s->lock_timeout_ms);
	if (r == -EWOULDBLOCK) {
		sbx_err_set(e, SBX_EBUSY, "store '%s' is busy: another sbx "
		    "process is writing to it", s->home);
		sbx_err_hint(e, "try again when it has finished");
		return SBX_EBUSY;
	}
	if (r < 0) {
		errno = -r;
		return sbx_err_sys(e, "cannot lock store '%s'", s->home);
	}
	s->lock_state = STORE_EXCLUSIVE;
	return 0;
}

int
sbx_store_tmpfile(struct sbx_store *s, const char *tag, char **path,
    int *fd, struct sbx_err *e)
{
	const char *c;
	char *p;
	int r;

	*path = NULL;
	*fd = -1;
	if (!tag || !*tag || strlen(tag) > 32)
		return sbx_err_set(e, SBX_EINVAL, "bad temporary file tag");
	for (c = tag; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '-'))
			return sbx_err_set(e, SBX_EINVAL,
			    "bad temporary file tag '%s'", tag);
	r = sbx_store_write_begin(s, e);
	if (r < 0)
		return r;
	p = xasprintf("%s/%s-XXXXXX", s->tmpdir, tag);
	*fd = mkostemp(p, O_CLOEXEC);
	if (*fd < 0) {
		r = sbx_err_sys(e, "cannot create a temporary file in "
		    "'%s'", s->tmpdir);

		free(p);
		return r;
	}
	*path = p;
	return 0;
}
