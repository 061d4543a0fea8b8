#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "core/banned.h"

char sbx_buf_empty[1];

void
sbx_buf_init(struct sbx_buf *b, size_t hint)
{
	b->buf = sbx_buf_empty;
	b->len = 0;
	b->alloc = 0;
	b->cap = 0;
	if (hint)
		sbx_buf_grow(b, hint);
}

void
sbx_buf_release(struct sbx_buf *b)
{
	size_t cap = b->cap;

	if (b->alloc)
		free(b->buf);
	sbx_buf_init(b, 0);
	b->cap = cap;
}

char *
sbx_buf_detach(struct sbx_buf *b, size_t *len)
{
	char *p;

	if (!b->alloc)
		sbx_buf_grow(b, 1);
	p = b->buf;
	if (len)
		*len = b->len;
	b->buf = sbx_buf_empty;
	b->len = b->alloc = 0;
	return p;
}

void
sbx_buf_reset(struct sbx_buf *b)
{
	sbx_buf_setlen(b, 0);
}

int
sbx_buf_grow(struct sbx_buf *b, size_t extra)
{
	size_t want;

	if (extra > (size_t)-1 - b->len - 1)
		return SBX_EINVAL;
	if (b->cap && b->len + extra > b->cap)
		return SBX_EINVAL;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	if (want < b->alloc + b->alloc / 2)
		want = b->alloc + b->alloc / 2;
	if (want < 64)
		want = 64;
	if (!b->alloc) {
		b->buf = xmalloc(want);
		b->buf[0] = '\0';
	} else {
		b->buf = xrealloc(b->buf, want);
	}
	b->alloc = want;
	return 0;
}

int
sbx_buf_add(struct sbx_buf *b, const void *data, size_t len)
{
	if (sbx_buf_grow(b, len) < 0)
		return SBX_EINVAL;
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
	return 0;
}

int
sbx_buf_addstr(struct sbx_buf *b, const char *s)
{
	return sbx_buf_add(b, s, strlen(s));
}

int
sbx_buf_addch(struct sbx_buf *b, int c)
{
	char ch = (char)c;

	return sbx_buf_add(b, &ch, 1);
}

int
sbx_buf_vaddf(struct sbx_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || sbx_buf_grow(b, (size_t)n) < 0)
		return SBX_EINVAL;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
sbx_buf_addf(struct sbx_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = sbx_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
sbx_buf_setlen(struct sbx_buf *b, size_t len)
{
	if (!b->alloc)
		return;
	if (len > b->alloc - 1)
		len = b->alloc - 1;
	b->len = len;
	b->buf[len] = '\0';
}

void
sbx_buf_rtrim(struct sbx_buf *b)
{
	size_t n = b->len;

	while (n && (b->buf[n - 1] == ' ' || b->buf[n - 1] == '\n' ||
	    b->buf[n - 1] == '\t' || b->buf[n - 1] == '\r'))
		n--;
	sbx_buf_setlen(b, n);
}

ssize_t
sbx_buf_read_fd(struct sbx_buf *b, int fd, struct sbx_err *e)
{
	size_t start = b->len;
	ssize_t n;

	for (;;) {
		size_t room = 8192;

		if (b->cap && b->len >= b->cap) {
			/* Full: only EOF right here is acceptable. */
			char c;

			do
				n = read(fd, &c, 1);
			while (n < 0 && errno == EINTR);
			if (n == 0)
				break;
			if (n < 0) {
				sbx_err_sys(e, "read failed");
				sbx_buf_setlen(b, start);
				return SBX_EIO;
			}
			sbx_buf_setlen(b, start);
			return sbx_err_set(e, SBX_EINVAL,
			    "input larger than %zu bytes", b->cap);
		}
		if (b->cap && room > b->cap - b->len)
			room = b->cap - b->len;
		sbx_buf_grow(b, room);
		n = read(fd, b->buf + b->len, room);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			sbx_err_sys(e, "read failed");
			sbx_buf_setlen(b, start);
			return SBX_EIO;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
	}
	return (ssize_t)(b->len - start);
}

int
sbx_buf_read_file(struct sbx_buf *b, const char *path, struct sbx_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	r = sbx_buf_read_fd(b, fd, e);
	close(fd);
	if (r < 0) {
		sbx_err_prefix(e, "'%s'", path);
		return (int)r;
	}
	return 0;
}
