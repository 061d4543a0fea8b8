/*
 * top.h - the model of `sbx top`: what the dashboard shows, without
 * curses.
 *
 * The model collects sandboxes through backend ops only (list, stats), so
 * it works the same against the local kvm backend and a remote server. It
 * keeps a short per-sandbox history of CPU use across refreshes, sorts and
 * filters the rows and formats them as plain text lines. The curses view
 * (view.c) and `sbx top --once` both draw the lines it produces; the unit
 * tests (tests/unit/check_tui.c) drive it with hand-made sandboxes and
 * stats through tui_model_set().
 *
 * A model is used by one thread. Strings it returns point into the model
 * and stay valid until the next call that changes it.
 */
#ifndef SBX_TUI_TOP_H
#define SBX_TUI_TOP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backend.h"
#include "core/buf.h"
#include "core/err.h"
#include "store/registry.h"

struct sbx_strvec;

#define TUI_HIST 8		/* CPU samples kept for the sparkline */

/* Sort keys, in the order `o` cycles through them. */
enum tui_sort {
	TUI_SORT_CREATED = 0,	/* oldest first, as `sbx ls` */
	TUI_SORT_ID,
	TUI_SORT_NAME,
	TUI_SORT_STATE,
	TUI_SORT_CPU,		/* busiest first */
	TUI_SORT_RSS,		/* largest first */
	TUI_SORT_UPTIME,	/* longest first */
	TUI_SORT_NR,
};

/* One sandbox as the dashboard shows it. */
struct tui_row {
	struct sbx_sandbox sb;
	int have_stats;		/* the stats op answered this refresh */
	int64_t rss, pss;	/* host bytes, -1 = unknown */
	double cpu;		/* percent of one host CPU, -1 = unknown */
	int64_t uptime_ms;	/* -1 = unknown */
	int64_t idle_ms;	/* -1 = unknown */
	double hist[TUI_HIST];	/* CPU %, oldest first */
	unsigned nhist;
};

/* CPU history of one sandbox, carried from one refresh to the next. */
struct tui_track {
	char id[SBX_SANDBOX_ID_SIZE];
	uint64_t cpu_ns;	/* sum over vCPUs at the last sample */
	uint64_t at_ms;		/* clock of that sample: the VMM's uptime + 1 ms,
				   or monotonic time; 0 = no sample */
	uint64_t busy_ms;	/* monotonic time CPU use was last seen */
	double hist[TUI_HIST];
	unsigned nhist;
	int seen;		/* present in the latest refresh */
};

struct tui_model {
	struct tui_row *rows;	/* every sandbox, in list order */
	size_t nrows;
	size_t *view;		/* indices of the filtered rows, sorted */
	size_t nview;
	struct tui_track *tracks;
	size_t ntracks;
	enum tui_sort sort;
	char filter[128];	/* "" = all; case-insensitive substring */
	int reachable;		/* the last list succeeded */
	char error[SBX_ERR_MSG_MAX];	/* why not, when !reachable */
	char stats_error[SBX_ERR_MSG_MAX]; /* "" or why stats failed */
	int utf8;		/* sparkline with block characters */
};

void tui_model_init(struct tui_model *m);
void tui_model_release(struct tui_model *m);

/*
 * Lists the sandboxes with b->list and, for each running one, asks
 * b->stats (when the backend has it). `now_ms` is CLOCK_MONOTONIC time.
 * A failing list keeps the previous rows and sets reachable = 0 with the
 * reason in m->error; returns 0 or the list's error code.
 */
int tui_model_refresh(struct tui_model *m, const struct sbx_backend *b,
    struct sbx_conn *c, uint64_t now_ms);

/*
 * Replaces the rows with `sb` (n records, moved into the model: the
 * caller must not release them) and the stats replies `stats[i]` (NULL =
 * none; borrowed), as a refresh at `now_ms` would. For tests and for
 * tui_model_refresh itself.
 */
void tui_model_set(struct tui_model *m, struct sbx_sandbox *sb,
    json_t *const *stats, size_t n, uint64_t now_ms);

/* Re-applies the filter and the sort order to m->view. */
void tui_model_update_view(struct tui_model *m);
void tui_model_set_filter(struct tui_model *m, const char *filter);
/* Advances to the next sort key. */
void tui_model_next_sort(struct tui_model *m);
const char *tui_sort_name(enum tui_sort s);

/* The row shown at position i of the view. */
const struct tui_row *tui_model_row(const struct tui_model *m, size_t i);

/* Column indices of a formatted row. */
enum tui_col {
	TUI_COL_ID = 0, TUI_COL_NAME, TUI_COL_TEMPLATE, TUI_COL_STATE,
	TUI_COL_VCPUS, TUI_COL_MEMORY, TUI_COL_RSS, TUI_COL_PSS, TUI_COL_CPU,
	TUI_COL_HIST, TUI_COL_UPTIME, TUI_COL_IDLE, TUI_COL_PARENT,
	TUI_COL_PORTS, TUI_COL_NR,
};

/* Column headers. */
extern const char *const tui_col_names[TUI_COL_NR];

/*
 * Formats the cells of `r` into `cells` (TUI_COL_NR strings pushed, "-"
 * for unknown values). `wall_now` is seconds since the epoch (for idle
 * times of sandboxes that are not running); `utf8` picks block
 * characters for the sparkline, else ASCII.
 */
void tui_row_format(const struct tui_row *r, int64_t wall_now, int utf8,
    struct sbx_strvec *cells);

/*
 * The sparkline of `n` CPU samples (percent of the sandbox's vCPUs):
 * "▁▂▃▄▅▆▇█" steps, or " .:-=+*#" without utf8. Appends to `out`.
 */
void tui_sparkline(const double *hist, unsigned n, unsigned vcpus, int utf8,
    struct sbx_buf *out);

/*
 * Renders the header and the visible rows as text lines for `width`
 * columns (0 = no limit) into `lines` (header first, then one line per
 * view row). Columns are aligned by display width.
 */
void tui_model_lines(const struct tui_model *m, size_t width,
    int64_t wall_now, struct sbx_strvec *lines);

/*
 * Renders one frame as `sbx top --once` prints it: a summary line, then
 * the table, or a plain message when there are no sandboxes or the
 * backend is unreachable (tui_model_message).
 */
void tui_model_frame(const struct tui_model *m, size_t width,
    int64_t wall_now, struct sbx_buf *out);

/*
 * The message shown instead of the table, or NULL when there are rows:
 * the backend is unreachable, there are no sandboxes, or the filter
 * matches none.
 */
const char *tui_model_message(const struct tui_model *m, struct sbx_buf *b);

/* The one-line summary: counts by state and the sort key. */
void tui_model_summary(const struct tui_model *m, struct sbx_buf *out);

/* What the detail pane shows beyond the row: fetched with backend ops. */
struct tui_detail {
	char id[SBX_SANDBOX_ID_SIZE];	/* "" = nothing fetched */
	struct sbx_snapshot_info *log;	/* newest first, owned */
	size_t nlog;
	char log_err[SBX_ERR_MSG_MAX];	/* "" or why there is no log */
	struct sbx_buf console;		/* tail of the console log */
	char console_err[SBX_ERR_MSG_MAX];
};

void tui_detail_init(struct tui_detail *d);
void tui_detail_release(struct tui_detail *d);
/*
 * Fetches the snapshot log (b->log) and the last `max_bytes` of the
 * console log (b->logs, written to a temporary file) of sandbox `id`.
 * Missing ops and failures end up as messages in log_err/console_err.
 */
void tui_detail_fetch(struct tui_detail *d, const struct sbx_backend *b,
    struct sbx_conn *c, const char *id, size_t max_bytes);

/*
 * The detail pane's lines for row `r`: spec, pid, error, then
 * "snapshots:" from d (may be NULL: not fetched) and the last `tail`
 * lines of the console. Control characters from the console are
 * replaced, so guest output cannot move the cursor.
 */
void tui_detail_lines(const struct tui_row *r, const struct tui_detail *d,
    size_t tail, struct sbx_strvec *lines);

#endif
