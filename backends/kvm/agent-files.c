/*
 * agent-files.c - file transfer from the host: PUT, GET and LIST, with
 * progress callbacks and retries (see agent-client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/agent-client.h"
#include "kvm/agent-client-int.h"
#include "core/banned.h"

void
sbx_agent_put_opts_init(struct sbx_agent_put_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->uid = o->gid = -1;
}

/* Reads the agent's reply after a failed write: its ERROR if it sent one. */
static int
error_after_drop(int fd, uint8_t *buf, struct sbx_err *e)
{
	struct sbx_agent_msg m;
	int r = agent_read_msg(fd, buf, &m, e);

	if (r != 0)
		return AGENT_DROPPED;
	if (m.type == SBX_AGENT_ERROR)
		r = agent_remote_error(&m, e);
	else
		r = AGENT_DROPPED;
	sbx_agent_msg_free(&m);
	return r;
}

/* Expects OK or ERROR; `m` holds the OK on success. */
static int
expect_ok(int fd, uint8_t *buf, struct sbx_agent_msg *m, const char *what,
    struct sbx_err *e)
{
	int r = agent_read_msg(fd, buf, m, e);

	if (r != 0)
		return r;
	if (m->type == SBX_AGENT_OK)
		return 0;
	if (m->type == SBX_AGENT_ERROR)
		r = agent_remote_error(m, e);
	else
		r = sbx_err_set(e, SBX_EINVAL, "unexpected '%s' reply to %s",
		    sbx_agent_type_name(m->type), what);
	sbx_agent_msg_free(m);
	return r;
}

/* One PUT attempt on a new connection. */
static int
put_once(struct sbx_agent *a, int src, uint64_t hint,
    const struct sbx_agent_msg *req, const struct sbx_agent_put_opts *o,
    uint8_t *buf, struct sbx_err *e)
{
	struct sbx_agent_msg m;
	uint64_t total = 0;
	int fd, r;

	if ((fd = agent_connect(a, e)) < 0)
		return fd;
	if (sbx_agent_write_msg(fd, req) < 0) {
		r = AGENT_DROPPED;
		goto out;
	}
	if ((r = expect_ok(fd, buf, &m, "put", e)) != 0)
		goto out;
	sbx_agent_msg_free(&m);
	for (;;) {
		ssize_t n = read(src, buf, SBX_AGENT_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = sbx_err_sys(e, "cannot read the upload source");
			goto out;
		}
		if (n == 0)
			break;
		if (sbx_agent_write_frame(fd, SBX_AGENT_DATA, 0, buf,
		    (size_t)n) < 0) {
			r = error_after_drop(fd, buf, e);
			goto out;
		}
		total += (uint64_t)n;
		if (o->progress && o->progress(o->cookie, total, hint) != 0) {
			r = sbx_err_set(e, SBX_EFAIL, "upload cancelled");
			goto out;
		}
	}
	sbx_agent_msg_init(&m, SBX_AGENT_END, 0);
	m.size = total;
	m.have |= 1u << SBX_AGENT_T_SIZE;
	if (sbx_agent_write_msg(fd, &m) < 0) {
		r = error_after_drop(fd, buf, e);
		goto out;
	}
	if ((r = expect_ok(fd, buf, &m, "put", e)) == 0) {
		if (m.size != total)
			r = sbx_err_set(e, SBX_ECORRUPT, "the agent stored "
			    "%llu bytes of %llu", (unsigned long long)m.size,
			    (unsigned long long)total);
		sbx_agent_msg_free(&m);
	}
out:
	close(fd);
	return r;
}

int
sbx_agent_put_fd(struct sbx_agent *a, int src, uint64_t hint,
    const char *path, const struct sbx_agent_put_opts *o, struct sbx_err *e)
{
	struct sbx_agent_put_opts dflt;
	struct sbx_agent_msg req;
	off_t start = lseek(src, 0, SEEK_CUR);
	uint8_t *buf;
	int attempt, r = SBX_ENET;

	if (!o) {
		sbx_agent_put_opts_init(&dflt);
		o = &dflt;
	}
	sbx_agent_msg_init(&req, SBX_AGENT_PUT,
	    o->parents ? SBX_AGENT_F_PARENTS : 0);
	sbx_agent_msg_set(&req, SBX_AGENT_T_PATH, path);
	req.mode = o->mode ? o->mode : 0644;
	req.have |= 1u << SBX_AGENT_T_MODE;
	if (o->uid >= 0) {
		req.uid = (uint32_t)o->uid;
		req.have |= 1u << SBX_AGENT_T_UID;
	}
	if (o->gid >= 0) {
		req.gid = (uint32_t)o->gid;
		req.have |= 1u << SBX_AGENT_T_GID;
	}
	buf = xmalloc(SBX_AGENT_MAX_PAYLOAD);
	for (attempt = 0; attempt < (a->attempts > 0 ? a->attempts : 1);
	    attempt++) {
		if (attempt) {
			if (start < 0 || lseek(src, start, SEEK_SET) < 0) {
				r = sbx_err_set(e, SBX_ENET, "connection to "
				    "the agent dropped during the upload and "
				    "the source cannot be rewound");
				break;
			}
			agent_sleep_ms(a->backoff_ms);
		}
		r = put_once(a, src, hint, &req, o, buf, e);
		if (r != AGENT_DROPPED)
			break;
		r = SBX_ENET;
	}
	if (r < 0)
		sbx_err_prefix(e, "cannot copy to '%s'", path);
	free(buf);
	sbx_agent_msg_free(&req);
	return r;
}

int
sbx_agent_put_file(struct sbx_agent *a, const char *local, const char *path,
    const struct sbx_agent_put_opts *o, struct sbx_err *e)
{
	struct sbx_agent_put_opts opts;
	struct stat st;
	int fd, r;

	if (o)
		opts = *o;
	else
		sbx_agent_put_opts_init(&opts);
	fd = open(local, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = sbx_err_sys(e, "cannot open '%s'", local);
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return sbx_err_set(e, SBX_EINVAL, "'%s' is not a regular file",
		    local);
	}
	if (!opts.mode)
		opts.mode = (uint32_t)st.st_mode & 07777;
	r = sbx_agent_put_fd(a, fd, (uint64_t)st.st_size, path, &opts, e);
	close(fd);
	return r;
}

/* One GET attempt from offset *got; *got advances with what was written. */
static int
get_once(struct sbx_agent *a, const char *path, int dst, uint64_t *got,
    struct sbx_agent_stat *st, sbx_agent_progress_fn progress, void *cookie,
    uint8_t *buf, struct sbx_err *e)
{
	struct sbx_agent_msg m;
	struct sbx_agent_hdr h;
	const char *why = "";
	uint64_t start = *got, total;
	int fd, r;

	if ((fd = agent_connect(a, e)) < 0)
		return fd;
	sbx_agent_msg_init(&m, SBX_AGENT_GET, 0);
	sbx_agent_msg_set(&m, SBX_AGENT_T_PATH, path);
	m.offset = start;
	m.have |= 1u << SBX_AGENT_T_OFFSET;
	r = sbx_agent_write_msg(fd, &m);
	sbx_agent_msg_free(&m);
	if (r < 0) {
		r = AGENT_DROPPED;
		goto out;
	}
	if ((r = expect_ok(fd, buf, &m, "get", e)) != 0)
		goto out;
	if (st)
		agent_stat_from(st, &m);
	total = m.size;
	sbx_agent_msg_free(&m);
	for (;;) {
		r = sbx_agent_read_frame(fd, &h, buf, &why);
		if (r != 0 && (r == 1 || r == -EPIPE || r == -ECONNRESET ||
		    !strncmp(why, "connection closed", 17))) {
			r = AGENT_DROPPED;
			goto out;
		}
		if (r < 0) {
			r = sbx_err_set(e, SBX_EINVAL, "bad frame from the "
			    "agent: %s", why);
			goto out;
		}
		if (h.type != SBX_AGENT_DATA)
			break;
		if (sbx_agent_write_full(dst, buf, h.len) < 0) {
			r = sbx_err_sys(e, "cannot write the download");
			goto out;
		}
		*got += h.len;
		if (progress && progress(cookie, *got, total) != 0) {
			r = sbx_err_set(e, SBX_EFAIL, "download cancelled");
			goto out;
		}
	}
	if (sbx_agent_msg_decode(h.type, h.flags, buf, h.len, &m, &why) < 0) {
		r = sbx_err_set(e, SBX_EINVAL, "bad '%s' frame from the "
		    "agent: %s", sbx_agent_type_name(h.type), why);
		goto out;
	}
	if (m.type == SBX_AGENT_ERROR)
		r = agent_remote_error(&m, e);
	else if (m.type != SBX_AGENT_END)
		r = sbx_err_set(e, SBX_EINVAL, "unexpected '%s' frame in a "
		    "download", sbx_agent_type_name(m.type));
	else if (m.size != *got - start)
		r = sbx_err_set(e, SBX_ECORRUPT, "download ended after %llu "
		    "bytes but the agent sent %llu",
		    (unsigned long long)(*got - start),
		    (unsigned long long)m.size);
	else
		r = 0;
	sbx_agent_msg_free(&m);
out:
	close(fd);
	return r;
}

int
sbx_agent_get_fd(struct sbx_agent *a, const char *path, int dst,
    struct sbx_agent_stat *st, sbx_agent_progress_fn progress, void *cookie,
    struct sbx_err *e)
{
	uint8_t *buf = xmalloc(SBX_AGENT_MAX_PAYLOAD);
	uint64_t got = 0;
	int attempt, r = SBX_ENET;

	for (attempt = 0; attempt < (a->attempts > 0 ? a->attempts : 1);
	    attempt++) {
		if (attempt)
			agent_sleep_ms(a->backoff_ms);
		r = get_once(a, path, dst, &got, st, progress, cookie, buf, e);
		if (r != AGENT_DROPPED)
			break;
		r = SBX_ENET;
	}
	if (r < 0)
		sbx_err_prefix(e, "cannot copy '%s'", path);
	free(buf);
	return r;
}

int
sbx_agent_get_file(struct sbx_agent *a, const char *path, const char *local,
    sbx_agent_progress_fn progress, void *cookie, struct sbx_err *e)
{
	struct sbx_agent_stat st;
	char *tmp = xasprintf("%s.sbx-XXXXXX", local);
	char *dcopy, *dir;
	int fd, r, dfd;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = sbx_err_sys(e, "cannot create '%s'", tmp);
		free(tmp);
		return r;
	}
	r = sbx_agent_get_fd(a, path, fd, &st, progress, cookie, e);
	if (r == 0 && (fchmod(fd, st.mode & 07777) < 0 || fsync(fd) < 0))
		r = sbx_err_sys(e, "cannot write '%s'", tmp);
	close(fd);
	if (r == 0 && rename(tmp, local) < 0)
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", tmp, local);
	if (r < 0) {
		unlink(tmp);
		free(tmp);
		return r;
	}
	dcopy = xstrdup(local);
	dir = dirname(dcopy);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dcopy);
	free(tmp);
	return 0;
}

int
sbx_agent_list(struct sbx_agent *a, const char *path,
    int (*fn)(void *cookie, const char *name,
    const struct sbx_agent_stat *st), void *cookie, struct sbx_err *e)
{
	uint8_t *buf = xmalloc(SBX_AGENT_MAX_PAYLOAD);
	struct sbx_agent_msg m;
	int attempt, r = SBX_ENET;

	for (attempt = 0; attempt < (a->attempts > 0 ? a->attempts : 1);
	    attempt++) {
		size_t seen = 0;
		int fd;

		if (attempt)
			agent_sleep_ms(a->backoff_ms);
		if ((fd = agent_connect(a, e)) < 0) {
			r = fd;
			break;
		}
		sbx_agent_msg_init(&m, SBX_AGENT_LIST, 0);
		sbx_agent_msg_set(&m, SBX_AGENT_T_PATH, path);
		r = sbx_agent_write_msg(fd, &m) < 0 ? AGENT_DROPPED : 0;
		sbx_agent_msg_free(&m);
		while (r == 0 && (r = agent_read_msg(fd, buf, &m, e)) == 0) {
			struct sbx_agent_stat st;

			if (m.type == SBX_AGENT_ENTRY) {
				agent_stat_from(&st, &m);
				seen++;
				if (fn(cookie, m.name, &st) != 0)
					r = sbx_err_set(e, SBX_EFAIL,
					    "listing stopped");
			} else if (m.type == SBX_AGENT_END) {
				sbx_agent_msg_free(&m);
				break;
			} else if (m.type == SBX_AGENT_ERROR) {
				r = agent_remote_error(&m, e);
			} else {
				r = sbx_err_set(e, SBX_EINVAL, "unexpected "
				    "'%s' frame in a listing",
				    sbx_agent_type_name(m.type));
			}
			sbx_agent_msg_free(&m);
		}
		close(fd);
		/* Retry only when nothing was handed out yet (no repeats). */
		if (r != AGENT_DROPPED || seen)
			break;
	}
	if (r == AGENT_DROPPED)
		r = SBX_ENET;
	free(buf);
	return r;
}
