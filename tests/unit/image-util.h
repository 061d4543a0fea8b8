/*
 * image-util.h - helpers shared by the image builder's unit tests
 * (check_ext4.c, check_source.c, check_debian.c): run e2fsck and debugfs
 * on an image and capture what they say.
 */
#ifndef SBX_TESTS_IMAGE_UTIL_H
#define SBX_TESTS_IMAGE_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/run.h"

#define IMG_TOOL_PATH "PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin"

/* Runs a tool with stdout+stderr into `out`; returns its exit status. */
static inline int img_tool(struct sbx_buf *out, const char *const *argv)
{
	struct sbx_run r;
	struct sbx_err e;
	int st;

	sbx_run_init(&r);
	sbx_strvec_pushv(&r.argv, argv);
	sbx_strvec_push(&r.env, IMG_TOOL_PATH);
	r.in = SBX_RUN_NULL;
	r.out = SBX_RUN_CAPTURE;
	r.out_buf = out;
	r.err = SBX_RUN_TO_OUT;
	r.timeout_ms = 120000;
	st = sbx_run(&r, &e);
	sbx_run_release(&r);
	return st;
}

/* `e2fsck -fn img`: 0 when clean; the report goes to `why`. */
static inline int img_fsck(const char *img, struct sbx_buf *why)
{
	const char *argv[] = { "e2fsck", "-fn", img, NULL };

	sbx_buf_reset(why);
	return img_tool(why, argv);
}

/* `debugfs -R "CMD" img` output (the banner line dropped) into `out`. */
static inline int img_debugfs(const char *img, struct sbx_buf *out,
    const char *fmt, ...)
{
	struct sbx_buf cmd = SBX_BUF_INIT, raw = SBX_BUF_INIT;
	const char *argv[] = { "debugfs", "-R", NULL, img, NULL };
	const char *p;
	va_list ap;
	int st;

	va_start(ap, fmt);
	sbx_buf_vaddf(&cmd, fmt, ap);
	va_end(ap);
	argv[2] = cmd.buf;
	st = img_tool(&raw, argv);
	sbx_buf_reset(out);
	p = raw.buf;
	if (!strncmp(p, "debugfs ", 8) && strchr(p, '\n'))
		p = strchr(p, '\n') + 1;
	sbx_buf_addstr(out, p);
	sbx_buf_release(&cmd);
	sbx_buf_release(&raw);
	return st;
}

#define ck_fsck_clean(img) do { \
	struct sbx_buf _w = SBX_BUF_INIT; \
	int _st = img_fsck((img), &_w); \
	ck_assert_msg(_st == 0, "e2fsck -fn '%s' status %d:\n%s", (img), \
	    _st, _w.buf); \
	sbx_buf_release(&_w); \
} while (0)

#endif
