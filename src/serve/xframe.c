/*
 * xframe.c - encoding and checking the frames of an interactive exec
 * (xframe.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "serve/serve.h"
#include "serve/xframe.h"
#include "core/banned.h"

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
sbx_xframe_put(struct sbx_buf *b, unsigned type, const void *p, size_t len)
{
	unsigned char h[SBX_XFRAME_HDR];

	h[0] = (unsigned char)type;
	put_u32(h + 1, (uint32_t)len);
	sbx_buf_add(b, h, sizeof(h));
	if (len)
		sbx_buf_add(b, p, len);
}

void
sbx_xframe_put_resize(struct sbx_buf *b, unsigned rows, unsigned cols)
{
	unsigned char p[4];

	p[0] = (unsigned char)(rows >> 8);
	p[1] = (unsigned char)rows;
	p[2] = (unsigned char)(cols >> 8);
	p[3] = (unsigned char)cols;
	sbx_xframe_put(b, SBX_XF_RESIZE, p, sizeof(p));
}

void
sbx_xframe_put_signal(struct sbx_buf *b, int sig)
{
	unsigned char p = (unsigned char)sig;

	sbx_xframe_put(b, SBX_XF_SIGNAL, &p, 1);
}

void
sbx_xframe_put_exit(struct sbx_buf *b, int code, int sig)
{
	unsigned char p[8];

	put_u32(p, (uint32_t)code);
	put_u32(p + 4, (uint32_t)sig);
	sbx_xframe_put(b, SBX_XF_EXIT, p, sizeof(p));
}

void
sbx_xframe_put_error(struct sbx_buf *b, int code, const char *msg)
{
	json_t *j = json_pack("{s:s, s:s}", "code", sbx_errcode_name(code),
	    "message", msg && *msg ? msg : "failed");
	char *text = json_dumps(j, JSON_COMPACT);
	size_t n = text ? strlen(text) : 0;

	if (n > SBX_XFRAME_MAX)
		n = 0;		/* cannot happen: messages are short */
	sbx_xframe_put(b, SBX_XF_ERROR, text, n);
	free(text);
	json_decref(j);
}

/* The payload size a type must have, or -1 for any (up to the max). */
static long
fixed_len(unsigned type)
{
	switch (type) {
	case SBX_XF_STDIN_EOF:
		return 0;
	case SBX_XF_RESIZE:
		return 4;
	case SBX_XF_SIGNAL:
		return 1;
	case SBX_XF_EXIT:
		return 8;
	default:
		return -1;
	}
}

static const char *
type_name(unsigned type)
{
	switch (type) {
	case SBX_XF_STDIN:
		return "stdin";
	case SBX_XF_STDIN_EOF:
		return "stdin-eof";
	case SBX_XF_RESIZE:
		return "resize";
	case SBX_XF_SIGNAL:
		return "signal";
	case SBX_XF_STDOUT:
		return "stdout";
	case SBX_XF_STDERR:
		return "stderr";
	case SBX_XF_EXIT:
		return "exit";
	case SBX_XF_ERROR:
		return "error";
	default:
		return NULL;
	}
}

int
sbx_xframe_next(const void *in, size_t len, size_t *off, int to_server,
    struct sbx_xframe *f, struct sbx_err *e)
{
	const unsigned char *p = (const unsigned char *)in + *off;
	size_t have = len - *off;
	uint32_t n;
	long want;

	memset(f, 0, sizeof(*f));
	if (have < SBX_XFRAME_HDR)
		return 0;
	f->type = p[0];
	n = get_u32(p + 1);
	if (!type_name(f->type) || !(f->type & 0x80) != !!to_server)
		return sbx_err_set(e, SBX_EINVAL, "unknown exec frame type "
		    "0x%02x", f->type);
	if (n > SBX_XFRAME_MAX)
		return sbx_err_set(e, SBX_EINVAL, "'%s' exec frame of %lu "
		    "bytes (at most %u)", type_name(f->type),
		    (unsigned long)n, SBX_XFRAME_MAX);
	want = fixed_len(f->type);
	if (want >= 0 && (long)n != want)
		return sbx_err_set(e, SBX_EINVAL, "'%s' exec frame of %lu "
		    "bytes (must be %ld)", type_name(f->type),
		    (unsigned long)n, want);
	if (have - SBX_XFRAME_HDR < n)
		return 0;
	f->p = p + SBX_XFRAME_HDR;
	f->len = n;
	switch (f->type) {
	case SBX_XF_RESIZE:
		f->rows = (unsigned)f->p[0] << 8 | f->p[1];
		f->cols = (unsigned)f->p[2] << 8 | f->p[3];
		if (!f->rows || !f->cols)
			return sbx_err_set(e, SBX_EINVAL, "'resize' exec frame "
			    "with %ux%u (rows and columns must be 1 or more)",
			    f->rows, f->cols);
		break;
	case SBX_XF_SIGNAL:
		f->sig = f->p[0];
		if (f->sig < 1 || f->sig > 64)
			return sbx_err_set(e, SBX_EINVAL, "'signal' exec frame "
			    "with signal %d (must be 1-64)", f->sig);
		break;
	case SBX_XF_EXIT:
		f->code = (int)get_u32(f->p);
		f->sig = (int)get_u32(f->p + 4);
		if (f->code < 0 || f->code > 255 || f->sig < 0 || f->sig > 64)
			return sbx_err_set(e, SBX_EINVAL, "'exit' exec frame "
			    "with code %d signal %d", f->code, f->sig);
		break;
	default:
		break;
	}
	*off += SBX_XFRAME_HDR + n;
	return 1;
}

int
sbx_xframe_error(const struct sbx_xframe *f, struct sbx_err *e)
{
	json_t *j = json_loadb((const char *)f->p, f->len, 0, NULL);
	const char *code = NULL, *msg = NULL;
	int rc;

	if (!j || json_unpack(j, "{s:s, s:s}", "code", &code, "message",
	    &msg) < 0) {
		json_decref(j);
		return sbx_err_set(e, SBX_ENET, "sbx server sent a malformed "
		    "'error' exec frame");
	}
	rc = sbx_err_set(e, sbx_serve_code_from_name(code), "%s", msg);
	json_decref(j);
	return rc;
}
