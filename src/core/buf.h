/*
 * buf.h - growable byte buffer (after git's strbuf).
 *
 * Invariants: `buf` is never NULL after sbx_buf_init and always
 * NUL-terminated at buf[len]; `len < alloc` once anything was allocated.
 * A buffer with `cap` != 0 refuses to grow past `cap` bytes of content:
 * the appending call returns SBX_EINVAL and leaves the buffer unchanged.
 * Use a cap for untrusted input (HTTP bodies, YAML, guest data).
 */
#ifndef SBX_CORE_BUF_H
#define SBX_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

struct sbx_err;

struct sbx_buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;	/* 0 = unlimited */
};

#define SBX_BUF_INIT { sbx_buf_empty, 0, 0, 0 }
extern char sbx_buf_empty[];

void sbx_buf_init(struct sbx_buf *b, size_t hint);
/* Frees the storage and returns the buffer to the empty state. */
void sbx_buf_release(struct sbx_buf *b);
/* Hands the storage to the caller (free() it); the buffer becomes empty. */
char *sbx_buf_detach(struct sbx_buf *b, size_t *len);
void sbx_buf_reset(struct sbx_buf *b);
/* Ensures room for `extra` more bytes; fails only when past the cap. */
int sbx_buf_grow(struct sbx_buf *b, size_t extra);
int sbx_buf_add(struct sbx_buf *b, const void *data, size_t len);
int sbx_buf_addstr(struct sbx_buf *b, const char *s);
int sbx_buf_addch(struct sbx_buf *b, int c);
int sbx_buf_addf(struct sbx_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sbx_buf_vaddf(struct sbx_buf *b, const char *fmt, va_list ap);
void sbx_buf_setlen(struct sbx_buf *b, size_t len);
void sbx_buf_rtrim(struct sbx_buf *b);
/*
 * Reads `fd` to EOF (EINTR retried), appending. Returns bytes read or a
 * negative SBX_E code; past the cap it fails with SBX_EINVAL and `e` says
 * so. On failure the buffer is left as it was before the call.
 */
ssize_t sbx_buf_read_fd(struct sbx_buf *b, int fd, struct sbx_err *e);
/* Reads a whole file into `b`. */
int sbx_buf_read_file(struct sbx_buf *b, const char *path, struct sbx_err *e);

#endif
