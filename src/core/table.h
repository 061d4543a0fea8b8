/*
 * table.h - aligned text tables that fit the terminal (`sbx ls`, `sbx
 * templates`, `sbx snapshot ls`).
 *
 *	struct sbx_table *t = sbx_table_new();
 *
 *	sbx_table_column(t, "ID", 0);
 *	sbx_table_column(t, "COMMAND", SBX_TABLE_SHRINK);
 *	sbx_table_column(t, "MEMORY", SBX_TABLE_RIGHT);
 *	sbx_table_cell(t, "sb-abc");	// cells fill rows left to right
 *	sbx_table_cell(t, cmd);
 *	sbx_table_cellf(t, "%s", size);
 *	sbx_table_print(t, stdout, sbx_term_width(STDOUT_FILENO), e);
 *	sbx_table_free(t);
 *
 * Columns are separated by two spaces; lines carry no trailing blanks.
 * When the table is wider than the given width, SBX_TABLE_SHRINK columns
 * are narrowed (the widest first, never below their header or 4
 * columns) and their cells cut with "…"; if that is not enough the
 * lines are left long. Widths count terminal columns (UTF-8 aware: wide
 * characters take 2, combining marks 0). Control characters in cells
 * are shown as '?', invalid UTF-8 as U+FFFD, so untrusted names cannot
 * move the cursor. A table is used by one thread.
 */
#ifndef SBX_CORE_TABLE_H
#define SBX_CORE_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct sbx_buf;
struct sbx_err;
struct sbx_table;

enum {
	SBX_TABLE_LEFT = 0,
	SBX_TABLE_RIGHT = 1,	/* right-align (numbers, sizes) */
	SBX_TABLE_SHRINK = 2,	/* may be truncated to fit the width */
};

struct sbx_table *sbx_table_new(void);
void sbx_table_free(struct sbx_table *t);
/* Adds a column; all columns must be added before the first cell. */
void sbx_table_column(struct sbx_table *t, const char *header,
    unsigned flags);
/* Leaves out the header line (for --no-header style output). */
void sbx_table_hide_header(struct sbx_table *t);
/* Appends a cell (copied); after the last column a new row starts. */
void sbx_table_cell(struct sbx_table *t, const char *text);
void sbx_table_cellf(struct sbx_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Number of rows begun so far. */
size_t sbx_table_rows(const struct sbx_table *t);

/* Renders into `out` for `width` columns (0: no limit). */
void sbx_table_render(const struct sbx_table *t, size_t width,
    struct sbx_buf *out);
/* Renders and writes to `f`; SBX_EIO if the write fails. */
int sbx_table_print(const struct sbx_table *t, FILE *f, size_t width,
    struct sbx_err *e);

/*
 * The width to render for on `fd`: 0 (no limit) when fd is not a
 * terminal; else the terminal's width (TIOCGWINSZ), else $COLUMNS,
 * else 80.
 */
size_t sbx_term_width(int fd);

#endif
