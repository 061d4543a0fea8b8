/*
 * progress.c - the rate-limited progress line. See progress.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/parse.h"
#include "core/progress.h"
#include "core/table.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define BAR_MAX 30
#define BAR_MIN 10
#define LABEL_MAX 24

struct sbx_progress {
	int fd;
	unsigned flags;
	int tty;
	size_t width;
	char *label;
	uint64_t total, done;
	uint64_t start_ms, last_draw_ms;
	int drawn, broken;
	struct sbx_buf held;	/* sbx_progress_print's unfinished line */
};

struct sbx_progress *
sbx_progress_start_fd(int fd, const char *label, uint64_t total,
    unsigned flags)
{
	struct sbx_progress *p = xcalloc(1, sizeof(*p));

	p->fd = fd;
	p->flags = flags;
	p->tty = (flags & SBX_PROGRESS_FORCE_TTY) || isatty(fd);
	p->width = sbx_term_width(fd);
	if (!p->width)
		p->width = 80;
	p->label = xstrdup(label);
	p->total = total;
	p->start_ms = sbx_clock_ms();
	return p;
}

struct sbx_progress *
sbx_progress_start(const char *label, uint64_t total, unsigned flags)
{
	return sbx_progress_start_fd(STDERR_FILENO, label, total, flags);
}

/* Writes all of b; a failed write turns the meter off. */
static void
emit(struct sbx_progress *p, const struct sbx_buf *b)
{
	size_t off = 0;

	while (!p->broken && off < b->len) {
		ssize_t n = write(p->fd, b->buf + off, b->len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			p->broken = 1;
		else
			off += (size_t)n;
	}
}

/* A size ("215M") or, for SBX_PROGRESS_COUNT, a plain count. */
static void
amount(const struct sbx_progress *p, uint64_t v, char *buf, size_t len)
{
	if (p->flags & SBX_PROGRESS_COUNT)
		snprintf(buf, len, "%" PRIu64, v);
	else
		sbx_format_size(v, buf, (int)len);
}

/* Units per second so far, or 0 before there is anything to measure. */
static uint64_t
rate(const struct sbx_progress *p, uint64_t now)
{
	uint64_t ms = now - p->start_ms;

	if (ms < 200)
		return 0;
	return (uint64_t)((unsigned __int128)p->done * 1000 / ms);
}

/* Appends the label, cut to LABEL_MAX columns. */
static void
add_label(struct sbx_buf *b, const char *label)
{
	size_t len = strlen(label);

	if (sbx_utf8_width(label, len) <= LABEL_MAX) {
		sbx_buf_add(b, label, len);
		return;
	}
	while (len && sbx_utf8_width(label, len) > LABEL_MAX - 1)
		len--;
	/* Do not end inside a UTF-8 sequence. */
	while (len && ((unsigned char)label[len] & 0xc0) == 0x80)
		len--;
	sbx_buf_add(b, label, len);
	sbx_buf_addstr(b, "\xe2\x80\xa6");
}

/* Redraws the meter line in place. */
static void
draw(struct sbx_progress *p, uint64_t now)
{
	struct sbx_buf b = SBX_BUF_INIT, tail = SBX_BUF_INIT;
	char d[32], t[32], r[32], eta[32];
	uint64_t rt = rate(p, now);
	size_t used;

	amount(p, p->done, d, sizeof(d));
	sbx_buf_addstr(&b, "\r");
	add_label(&b, p->label);
	if (p->total) {
		uint64_t done = p->done > p->total ? p->total : p->done;
		unsigned pct = (unsigned)((unsigned __int128)done * 100 /
		    p->total);
		size_t bar, fill, i;

		amount(p, p->total, t, sizeof(t));
		sbx_buf_addf(&tail, " %s/%s", d, t);
		if (rt) {
			amount(p, rt, r, sizeof(r));
			sbx_buf_addf(&tail, "  %s/s", r);
			if (done < p->total) {
				sbx_format_duration((uint64_t)((unsigned
				    __int128)(p->total - done) * 1000 / rt),
				    eta, sizeof(eta));
				sbx_buf_addf(&tail, "  ETA %s", eta);
			}
		}
		sbx_buf_addf(&b, " %3u%%", pct);
		used = sbx_utf8_width(b.buf + 1, b.len - 1) + tail.len + 3;
		bar = p->width > used + 1 ? p->width - used - 1 : 0;
		if (bar > BAR_MAX)
			bar = BAR_MAX;
		if (bar >= BAR_MIN) {
			fill = (size_t)((unsigned __int128)done * bar /
			    p->total);
			sbx_buf_addstr(&b, " [");
			for (i = 0; i < bar; i++)
				sbx_buf_addch(&b, i < fill ? '#' : ' ');
			sbx_buf_addch(&b, ']');
		}
		sbx_buf_add(&b, tail.buf, tail.len);
	} else {
		sbx_buf_addf(&b, " %s", d);
		if (rt) {
			amount(p, rt, r, sizeof(r));
			sbx_buf_addf(&b, "  %s/s", r);
		}
		/* With no total, how long it has run is the news. */
		if (now - p->start_ms >= 1000) {
			sbx_format_duration((now - p->start_ms) / 1000 * 1000,
			    t, sizeof(t));
			sbx_buf_addf(&b, "  %s", t);
		}
	}
	/* A line that wraps cannot be redrawn with \r: cut it. */
	while (b.len > 1 && sbx_utf8_width(b.buf + 1, b.len - 1) >= p->width) {
		b.len--;
		while (b.len > 1 &&
		    ((unsigned char)b.buf[b.len] & 0xc0) == 0x80)
			b.len--;
	}
	b.buf[b.len] = '\0';
	sbx_buf_addstr(&b, "\033[K");
	emit(p, &b);
	p->drawn = 1;
	p->last_draw_ms = now;
	sbx_buf_release(&b);
	sbx_buf_release(&tail);
}

void
sbx_progress_update(struct sbx_progress *p, uint64_t done)
{
	uint64_t now;

	if (!p)
		return;
	p->done = done;
	if (!p->tty || (p->flags & SBX_PROGRESS_QUIET))
		return;
	now = sbx_clock_ms();
	if (p->drawn && now - p->last_draw_ms < SBX_PROGRESS_INTERVAL_MS)
		return;
	draw(p, now);
}

void
sbx_progress_add(struct sbx_progress *p, uint64_t n)
{
	if (p)
		sbx_progress_update(p, p->done + n);
}

void
sbx_progress_set_total(struct sbx_progress *p, uint64_t total)
{
	if (p)
		p->total = total;
}

/*
 * Writes what sbx_progress_print held back (a line without its newline
 * yet) over the meter's line, ending it: the meter is going away.
 */
static void
flush_held(struct sbx_progress *p)
{
	struct sbx_buf b = SBX_BUF_INIT;

	if (!p->held.len)
		return;
	if (p->drawn)
		sbx_buf_addstr(&b, "\r\033[K");
	sbx_buf_add(&b, p->held.buf, p->held.len);
	sbx_buf_addch(&b, '\n');
	emit(p, &b);
	sbx_buf_release(&b);
	sbx_buf_reset(&p->held);
	p->drawn = 0;
}

#define HELD_MAX 4096	/* a line longer than this goes out in pieces */

void
sbx_progress_print(struct sbx_progress *p, const char *buf, size_t len)
{
	struct sbx_buf b = SBX_BUF_INIT;
	const char *nl;
	size_t keep;

	if (!p || !len)
		return;
	if (!p->tty || (p->flags & SBX_PROGRESS_QUIET)) {
		sbx_buf_add(&b, buf, len);
		emit(p, &b);
		sbx_buf_release(&b);
		return;
	}
	sbx_buf_add(&p->held, buf, len);
	nl = memrchr(p->held.buf, '\n', p->held.len);
	if (!nl && p->held.len < HELD_MAX)
		return;		/* the meter stays until the line ends */
	keep = nl ? p->held.len - (size_t)(nl + 1 - p->held.buf) : 0;
	if (p->drawn)
		sbx_buf_addstr(&b, "\r\033[K");
	sbx_buf_add(&b, p->held.buf, p->held.len - keep);
	if (!nl)
		sbx_buf_addch(&b, '\n');
	emit(p, &b);
	sbx_buf_release(&b);
	memmove(p->held.buf, p->held.buf + p->held.len - keep, keep);
	sbx_buf_setlen(&p->held, keep);
	p->drawn = 0;
	draw(p, sbx_clock_ms());	/* the meter again, under the text */
}

static void
release(struct sbx_progress *p)
{
	sbx_buf_release(&p->held);
	free(p->label);
	free(p);
}

void
sbx_progress_finish(struct sbx_progress *p)
{
	struct sbx_buf b = SBX_BUF_INIT;
	uint64_t now, ms;
	char d[32], dur[32], r[32];

	if (!p)
		return;
	flush_held(p);
	if ((p->flags & SBX_PROGRESS_QUIET) ||
	    (!p->tty && !(p->flags & SBX_PROGRESS_VERBOSE))) {
		release(p);
		return;
	}
	now = sbx_clock_ms();
	ms = now - p->start_ms;
	amount(p, p->done, d, sizeof(d));
	sbx_format_duration(ms, dur, sizeof(dur));
	if (p->tty)
		sbx_buf_addstr(&b, "\r");
	sbx_buf_addf(&b, "%s: %s in %s", p->label, d, dur);
	if (ms) {
		amount(p, (uint64_t)((unsigned __int128)p->done * 1000 / ms), r,
		    sizeof(r));
		sbx_buf_addf(&b, " (%s/s)", r);
	}
	if (p->tty)
		sbx_buf_addstr(&b, "\033[K");
	sbx_buf_addch(&b, '\n');
	emit(p, &b);
	sbx_buf_release(&b);
	release(p);
}

void
sbx_progress_abort(struct sbx_progress *p)
{
	struct sbx_buf b = SBX_BUF_INIT;

	if (!p)
		return;
	flush_held(p);
	if (p->tty && p->drawn && !(p->flags & SBX_PROGRESS_QUIET)) {
		sbx_buf_addstr(&b, "\r\033[K");
		emit(p, &b);
	}
	sbx_buf_release(&b);
	release(p);
}
