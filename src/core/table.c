/*
 * table.c - column layout, shrinking and UTF-8-aware truncation. See
 * table.h.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/table.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define SEP 2		/* spaces between columns */
#define MIN_SHRINK 4	/* narrowest a shrinkable column gets */

struct sbx_table {
	struct sbx_strvec headers;
	unsigned *flags;
	size_t ncols;
	struct sbx_strvec cells;	/* row-major, already sanitized */
	int hide_header;
};

struct sbx_table *
sbx_table_new(void)
{
	struct sbx_table *t = xcalloc(1, sizeof(*t));

	sbx_strvec_init(&t->headers);
	sbx_strvec_init(&t->cells);
	return t;
}

void
sbx_table_free(struct sbx_table *t)
{
	if (!t)
		return;
	sbx_strvec_clear(&t->headers);
	sbx_strvec_clear(&t->cells);
	free(t->flags);
	free(t);
}

/* Copies text with control characters as '?' and bad UTF-8 as U+FFFD. */
static char *
sanitize(const char *s)
{
	struct sbx_buf b = SBX_BUF_INIT;
	size_t len = strlen(s), i = 0;

	while (i < len) {
		uint32_t cp;
		int n = sbx_utf8_decode(s + i, len - i, &cp);

		if (n < 0) {
			sbx_buf_addstr(&b, "\xef\xbf\xbd");
			i++;
		} else if (cp < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp < 0xa0)) {
			sbx_buf_addch(&b, '?');
			i += (size_t)n;
		} else {
			sbx_buf_add(&b, s + i, (size_t)n);
			i += (size_t)n;
		}
	}
	return sbx_buf_detach(&b, NULL);
}

void
sbx_table_column(struct sbx_table *t, const char *header, unsigned flags)
{
	if (t->cells.nr) {
		fputs("sbx: bug: table column added after cells\n", stderr);
		abort();
	}
	t->flags = xreallocarray(t->flags, t->ncols + 1, sizeof(*t->flags));
	t->flags[t->ncols++] = flags;
	sbx_strvec_push(&t->headers, "");
	free(t->headers.v[t->headers.nr - 1]);
	t->headers.v[t->headers.nr - 1] = sanitize(header);
}

void
sbx_table_hide_header(struct sbx_table *t)
{
	t->hide_header = 1;
}

void
sbx_table_cell(struct sbx_table *t, const char *text)
{
	sbx_strvec_push(&t->cells, "");
	free(t->cells.v[t->cells.nr - 1]);
	t->cells.v[t->cells.nr - 1] = sanitize(text ? text : "");
}

void
sbx_table_cellf(struct sbx_table *t, const char *fmt, ...)
{
	struct sbx_buf b = SBX_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbx_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sbx_table_cell(t, b.buf);
	sbx_buf_release(&b);
}

size_t
sbx_table_rows(const struct sbx_table *t)
{
	return t->ncols ? (t->cells.nr + t->ncols - 1) / t->ncols : 0;
}

static const char *
cell_at(const struct sbx_table *t, size_t row, size_t col)
{
	size_t i = row * t->ncols + col;

	return i < t->cells.nr ? t->cells.v[i] : "";
}

static size_t
swidth(const char *s)
{
	return sbx_utf8_width(s, strlen(s));
}

/* Narrows SHRINK columns, widest first, until the table fits `width`. */
static void
fit(const struct sbx_table *t, size_t *w, size_t width)
{
	size_t total = SEP * (t->ncols - 1), c;

	for (c = 0; c < t->ncols; c++)
		total += w[c];
	while (total > width) {
		size_t best = t->ncols, min;

		for (c = 0; c < t->ncols; c++) {
			if (!(t->flags[c] & SBX_TABLE_SHRINK))
				continue;
			min = swidth(t->headers.v[c]);
			if (min < MIN_SHRINK)
				min = MIN_SHRINK;
			if (w[c] > min && (best == t->ncols || w[c] > w[best]))
				best = c;
		}
		if (best == t->ncols)
			return;
		w[best]--;
		total--;
	}
}

/* Appends s cut to `room` columns (with "…" when cut); returns width. */
static size_t
add_clipped(struct sbx_buf *out, const char *s, size_t room)
{
	size_t len = strlen(s), i = 0, used = 0;

	if (sbx_utf8_width(s, len) <= room) {
		sbx_buf_add(out, s, len);
		return sbx_utf8_width(s, len);
	}
	if (!room)
		return 0;
	while (i < len) {
		uint32_t cp;
		int n = sbx_utf8_decode(s + i, len - i, &cp);
		size_t cw = (size_t)sbx_utf8_cpwidth(cp);

		if (n < 0)
			n = 1;
		if (used + cw > room - 1)
			break;
		sbx_buf_add(out, s + i, (size_t)n);
		used += cw;
		i += (size_t)n;
	}
	sbx_buf_addstr(out, "\xe2\x80\xa6");
	return used + 1;
}

static void
spaces(struct sbx_buf *out, size_t n)
{
	while (n--)
		sbx_buf_addch(out, ' ');
}

/* One line: the header (header != 0) or data row `row`. */
static void
render_row(const struct sbx_table *t, const size_t *w, int header,
    size_t row, struct sbx_buf *out)
{
	size_t c, start = out->len;

	for (c = 0; c < t->ncols; c++) {
		const char *s = header ? t->headers.v[c] : cell_at(t, row, c);
		size_t sw = swidth(s);

		if (c)
			spaces(out, SEP);
		if ((t->flags[c] & SBX_TABLE_RIGHT) && sw < w[c])
			spaces(out, w[c] - sw);
		sw = add_clipped(out, s, w[c]);
		if (!(t->flags[c] & SBX_TABLE_RIGHT) && sw < w[c])
			spaces(out, w[c] - sw);
	}
	/* No trailing blanks. */
	while (out->len > start && out->buf[out->len - 1] == ' ')
		out->len--;
	out->buf[out->len] = '\0';
	sbx_buf_addch(out, '\n');
}

void
sbx_table_render(const struct sbx_table *t, size_t width,
    struct sbx_buf *out)
{
	size_t *w, r, c, rows = sbx_table_rows(t);

	if (!t->ncols)
		return;
	w = xcalloc(t->ncols, sizeof(*w));
	for (c = 0; c < t->ncols; c++) {
		if (!t->hide_header)
			w[c] = swidth(t->headers.v[c]);
		for (r = 0; r < rows; r++) {
			size_t cw = swidth(cell_at(t, r, c));

			if (cw > w[c])
				w[c] = cw;
		}
	}
	if (width)
		fit(t, w, width);
	if (!t->hide_header)
		render_row(t, w, 1, 0, out);
	for (r = 0; r < rows; r++)
		render_row(t, w, 0, r, out);
	free(w);
}

int
sbx_table_print(const struct sbx_table *t, FILE *f, size_t width,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	int rc = 0;

	sbx_table_render(t, width, &b);
	if (fwrite(b.buf, 1, b.len, f) != b.len)
		rc = sbx_err_sys(e, "cannot write table output");
	sbx_buf_release(&b);
	return rc;
}

size_t
sbx_term_width(int fd)
{
	struct winsize ws;
	const char *cols;
	char *end;
	long n;

	if (!isatty(fd))
		return 0;
	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	cols = getenv("COLUMNS");
	if (cols && *cols) {
		n = strtol(cols, &end, 10);
		if (!*end && n > 0 && n < 100000)
			return (size_t)n;
	}
	return 80;
}
