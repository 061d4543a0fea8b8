/*
 * xframe.h - the frames of an interactive exec (POST .../exec with
 * "Upgrade: sbx-exec", doc/api.md): after the 101, both sides send
 * frames of a 5-byte header (type u8, payload length u32 big-endian) and
 * the payload. Shared by the server (h-exec-tty.c) and the remote
 * backend (backends/remote/exec-tty.c).
 */
#ifndef SBX_SERVE_XFRAME_H
#define SBX_SERVE_XFRAME_H

#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

#define SBX_XFRAME_HDR 5
#define SBX_XFRAME_MAX (64u * 1024)	/* largest payload either way */

enum sbx_xframe_type {
	/* client to server */
	SBX_XF_STDIN = 0x01,		/* bytes for the command's stdin */
	SBX_XF_STDIN_EOF = 0x02,	/* empty: no more stdin */
	SBX_XF_RESIZE = 0x03,		/* rows u16, cols u16 (big-endian) */
	SBX_XF_SIGNAL = 0x04,		/* u8 signal number */
	/* server to client */
	SBX_XF_STDOUT = 0x81,		/* bytes (the terminal, with a tty) */
	SBX_XF_STDERR = 0x82,		/* bytes */
	SBX_XF_EXIT = 0x83,		/* code u32, signal u32 (big-endian) */
	SBX_XF_ERROR = 0x84,		/* JSON {"code": ..., "message": ...} */
};

/* One decoded frame; `p` points into the caller's input. */
struct sbx_xframe {
	unsigned type;
	const unsigned char *p;
	size_t len;
	unsigned rows, cols;	/* RESIZE */
	int sig;		/* SIGNAL, EXIT */
	int code;		/* EXIT */
};

/* Appends one frame (len <= SBX_XFRAME_MAX) to `b`. */
void sbx_xframe_put(struct sbx_buf *b, unsigned type, const void *p,
    size_t len);
void sbx_xframe_put_resize(struct sbx_buf *b, unsigned rows, unsigned cols);
void sbx_xframe_put_signal(struct sbx_buf *b, int sig);
void sbx_xframe_put_exit(struct sbx_buf *b, int code, int sig);
/* ERROR with the error code's name (sbx_errcode_name) and message. */
void sbx_xframe_put_error(struct sbx_buf *b, int code, const char *msg);

/*
 * Takes the next whole frame from in[*off, len): 1 and *off moved past
 * it, 0 when more bytes are needed, or SBX_EINVAL with `e` naming what
 * is wrong
 * (a type that does not travel in this direction, a payload too long or
 * of the wrong size, an out-of-range value). `to_server` picks the
 * direction whose types are valid.
 */
int sbx_xframe_next(const void *in, size_t len, size_t *off, int to_server,
    struct sbx_xframe *f, struct sbx_err *e);

/* The ERROR frame's payload as an sbx_err code and message in `e`. */
int sbx_xframe_error(const struct sbx_xframe *f, struct sbx_err *e);

#endif
