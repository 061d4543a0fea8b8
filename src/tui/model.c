/*
 * model.c - data collection, history, sorting, filtering and row
 * formatting for `sbx top` (see top.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tui/top.h"
#include "backend.h"
#include "core/parse.h"
#include "core/strvec.h"
#include "core/table.h"
#include "core/xmalloc.h"
#include "core/banned.h"

/* CPU use below this (percent of one host CPU) counts as idle. */
#define TUI_IDLE_PCT 2.0

const char *const tui_col_names[TUI_COL_NR] = {
	"ID", "NAME", "TEMPLATE", "STATE", "VCPU", "MEM", "RSS", "PSS",
	"CPU%", "HISTORY", "UPTIME", "IDLE", "PARENT", "PORTS",
};

static const char *const sort_names[TUI_SORT_NR] = {
	"created", "id", "name", "state", "cpu", "rss", "uptime",
};

void
tui_model_init(struct tui_model *m)
{
	memset(m, 0, sizeof(*m));
	m->reachable = 1;
}

static void
rows_free(struct tui_model *m)
{
	size_t i;

	for (i = 0; i < m->nrows; i++)
		sbx_sandbox_release(&m->rows[i].sb);
	free(m->rows);
	m->rows = NULL;
	m->nrows = 0;
	free(m->view);
	m->view = NULL;
	m->nview = 0;
}

void
tui_model_release(struct tui_model *m)
{
	rows_free(m);
	free(m->tracks);
	m->tracks = NULL;
	m->ntracks = 0;
}

const char *
tui_sort_name(enum tui_sort s)
{
	return s < TUI_SORT_NR ? sort_names[s] : "?";
}

static struct tui_track *
track_find(struct tui_model *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->ntracks; i++)
		if (!strcmp(m->tracks[i].id, id))
			return &m->tracks[i];
	m->tracks = xreallocarray(m->tracks, m->ntracks + 1,
	    sizeof(*m->tracks));
	memset(&m->tracks[m->ntracks], 0, sizeof(*m->tracks));
	snprintf(m->tracks[m->ntracks].id, sizeof(m->tracks->id), "%s", id);
	return &m->tracks[m->ntracks++];
}

/* Drops the history of sandboxes that were not in the latest refresh. */
static void
tracks_prune(struct tui_model *m)
{
	size_t i, k = 0;

	for (i = 0; i < m->ntracks; i++)
		if (m->tracks[i].seen)
			m->tracks[k++] = m->tracks[i];
	m->ntracks = k;
}

/* A non-negative integer member of a stats reply, or -1. */
static int64_t
stat_int(json_t *j, const char *key)
{
	json_t *v = json_object_get(j, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (int64_t)json_integer_value(v);
	return -1;
}

/* Total guest CPU time in ns: "cpu_ns", else the sum over "vcpus". */
static int64_t
stat_cpu_ns(json_t *j)
{
	int64_t t = stat_int(j, "cpu_ns"), sum = 0;
	json_t *arr = json_object_get(j, "vcpus"), *v;
	size_t i;

	if (t >= 0)
		return t;
	if (!json_is_array(arr) || !json_array_size(arr))
		return -1;
	json_array_foreach(arr, i, v) {
		int64_t ns = stat_int(v, "cpu_ns");

		if (ns < 0)
			return -1;
		sum += ns;
	}
	return sum;
}

/* Fills the live figures of `r` from a stats reply and its history. */
static void
row_apply_stats(struct tui_model *m, struct tui_row *r, json_t *st,
    uint64_t now_ms)
{
	struct tui_track *t = track_find(m, r->sb.id);
	uint64_t clock;
	int64_t ns;

	t->seen = 1;
	r->rss = r->pss = r->uptime_ms = r->idle_ms = -1;
	r->cpu = -1;
	if (st && json_is_object(st)) {
		r->have_stats = 1;
		r->rss = stat_int(st, "rss");
		r->pss = stat_int(st, "pss");
		r->uptime_ms = stat_int(st, "uptime_ms");
		r->idle_ms = stat_int(st, "idle_ms");
		ns = stat_cpu_ns(st);
		/*
		 * CPU time against the VMM's own uptime when it reports one:
		 * both are sampled together, so a slow reply or a busy host
		 * does not skew the figure.
		 */
		clock = r->uptime_ms >= 0 ? (uint64_t)r->uptime_ms + 1 : now_ms;
		if (ns >= 0) {
			if (t->at_ms && clock > t->at_ms &&
			    (uint64_t)ns >= t->cpu_ns) {
				r->cpu = (double)((uint64_t)ns - t->cpu_ns) /
				    1e6 / (double)(clock - t->at_ms) * 100.0;
				if (t->nhist == TUI_HIST) {
					memmove(t->hist, t->hist + 1,
					    (TUI_HIST - 1) * sizeof(double));
					t->nhist--;
				}
				t->hist[t->nhist++] = r->cpu;
				if (r->cpu >= TUI_IDLE_PCT)
					t->busy_ms = now_ms;
			}
			if (!t->busy_ms)
				t->busy_ms = now_ms;
			t->cpu_ns = (uint64_t)ns;
			t->at_ms = clock;
			/* Seen idle since we started watching: a lower bound. */
			if (r->idle_ms < 0 && r->cpu >= 0)
				r->idle_ms = (int64_t)(now_ms - t->busy_ms);
		}
	} else {
		/* Not running (or no stats): the history starts over. */
		t->at_ms = 0;
		t->nhist = 0;
		t->busy_ms = 0;
	}
	memcpy(r->hist, t->hist, sizeof(r->hist));
	r->nhist = t->nhist;
}

void
tui_model_set(struct tui_model *m, struct sbx_sandbox *sb,
    json_t *const *stats, size_t n, uint64_t now_ms)
{
	size_t i;

	rows_free(m);
	for (i = 0; i < m->ntracks; i++)
		m->tracks[i].seen = 0;
	m->rows = xcalloc(n ? n : 1, sizeof(*m->rows));
	m->nrows = n;
	for (i = 0; i < n; i++) {
		m->rows[i].sb = sb[i];
		row_apply_stats(m, &m->rows[i], stats ? stats[i] : NULL,
		    now_ms);
	}
	tracks_prune(m);
	m->reachable = 1;
	m->error[0] = '\0';
	tui_model_update_view(m);
}

int
tui_model_refresh(struct tui_model *m, const struct sbx_backend *b,
    struct sbx_conn *c, uint64_t now_ms)
{
	struct sbx_sandbox *v = NULL;
	json_t **st;
	struct sbx_err e;
	size_t n = 0, i;

	sbx_err_clear(&e);
	if (b->list(c, &v, &n, &e) < 0) {
		m->reachable = 0;
		snprintf(m->error, sizeof(m->error), "%s", e.msg[0] ? e.msg :
		    "cannot list sandboxes");
		free(v);
		return e.code ? e.code : SBX_EFAIL;
	}
	st = xcalloc(n ? n : 1, sizeof(*st));
	m->stats_error[0] = '\0';
	for (i = 0; i < n && b->stats; i++) {
		if (v[i].state != SBX_SB_RUNNING &&
		    v[i].state != SBX_SB_PAUSED)
			continue;
		sbx_err_clear(&e);
		if (b->stats(c, v[i].id, &st[i], &e) < 0) {
			st[i] = NULL;
			snprintf(m->stats_error, sizeof(m->stats_error),
			    "stats of '%s': %.400s", v[i].id, e.msg);
		}
	}
	if (!b->stats && n) {
		sbx_backend_unsupported(b, "stats", &e);
		snprintf(m->stats_error, sizeof(m->stats_error), "%s", e.msg);
	}
	tui_model_set(m, v, st, n, now_ms);
	for (i = 0; i < n; i++)
		json_decref(st[i]);
	free(st);
	free(v);
	return 0;
}

/* Case-insensitive substring test. */
static int
contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (!hay)
		return 0;
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return !n;
}

static int
row_matches(const struct tui_row *r, const char *f)
{
	if (!*f)
		return 1;
	return contains(r->sb.id, f) || contains(r->sb.name, f) ||
	    contains(r->sb.template, f) ||
	    contains(sbx_sandbox_state_name(r->sb.state), f) ||
	    contains(r->sb.parent, f);
}

/* qsort has no context argument: the model being sorted. */
static const struct tui_model *sort_model;

static int
cmp_i64_desc(int64_t a, int64_t b)
{
	return a == b ? 0 : a > b ? -1 : 1;
}

static int
cmp_rows(const void *pa, const void *pb)
{
	const struct tui_row *a = &sort_model->rows[*(const size_t *)pa];
	const struct tui_row *b = &sort_model->rows[*(const size_t *)pb];
	int c = 0;

	switch (sort_model->sort) {
	case TUI_SORT_ID:
		c = strcmp(a->sb.id, b->sb.id);
		break;
	case TUI_SORT_NAME:
		/* Unnamed sandboxes last. */
		if (!a->sb.name || !b->sb.name)
			c = !a->sb.name - !b->sb.name;
		else
			c = strcmp(a->sb.name, b->sb.name);
		break;
	case TUI_SORT_STATE:
		c = (int)a->sb.state - (int)b->sb.state;
		break;
	case TUI_SORT_CPU:
		c = a->cpu == b->cpu ? 0 : a->cpu > b->cpu ? -1 : 1;
		break;
	case TUI_SORT_RSS:
		c = cmp_i64_desc(a->rss, b->rss);
		break;
	case TUI_SORT_UPTIME:
		c = cmp_i64_desc(a->uptime_ms, b->uptime_ms);
		break;
	case TUI_SORT_CREATED:
	case TUI_SORT_NR:
		break;
	}
	if (!c && a->sb.created != b->sb.created)
		c = a->sb.created < b->sb.created ? -1 : 1;
	return c ? c : strcmp(a->sb.id, b->sb.id);
}

void
tui_model_update_view(struct tui_model *m)
{
	size_t i;

	free(m->view);
	m->view = xcalloc(m->nrows ? m->nrows : 1, sizeof(*m->view));
	m->nview = 0;
	for (i = 0; i < m->nrows; i++)
		if (row_matches(&m->rows[i], m->filter))
			m->view[m->nview++] = i;
	sort_model = m;
	qsort(m->view, m->nview, sizeof(*m->view), cmp_rows);
	sort_model = NULL;
}

void
tui_model_set_filter(struct tui_model *m, const char *filter)
{
	snprintf(m->filter, sizeof(m->filter), "%s", filter ? filter : "");
	tui_model_update_view(m);
}

void
tui_model_next_sort(struct tui_model *m)
{
	m->sort = (enum tui_sort)((m->sort + 1) % TUI_SORT_NR);
	tui_model_update_view(m);
}

const struct tui_row *
tui_model_row(const struct tui_model *m, size_t i)
{
	return i < m->nview ? &m->rows[m->view[i]] : NULL;
}

void
tui_sparkline(const double *hist, unsigned n, unsigned vcpus, int utf8,
    struct sbx_buf *out)
{
	static const char *const blocks[8] = {
		"\u2581", "\u2582", "\u2583", "\u2584",
		"\u2585", "\u2586", "\u2587", "\u2588",
	};
	static const char ascii[] = " .:-=+*#";
	unsigned i;

	for (i = 0; i < n; i++) {
		double pct = hist[i] / (vcpus ? vcpus : 1);
		int lvl = pct <= 0 ? 0 : (int)(pct * 8 / 100.0);

		if (lvl > 7)
			lvl = 7;
		if (utf8)
			sbx_buf_addstr(out, blocks[lvl]);
		else
			sbx_buf_addch(out, ascii[lvl]);
	}
}

/* The memory a sandbox has: its live balloon target, else its spec. */
static uint64_t
shown_memory(const struct sbx_sandbox *sb)
{
	json_t *mt = json_object_get(sb->extra, "memory_target");

	return json_is_integer(mt) && json_integer_value(mt) > 0 ?
	    (uint64_t)json_integer_value(mt) : sb->spec.memory;
}

static void
push_size(struct sbx_strvec *cells, int64_t bytes)
{
	char b[32];

	if (bytes < 0) {
		sbx_strvec_push(cells, "-");
		return;
	}
	sbx_format_size((uint64_t)bytes, b, sizeof(b));
	sbx_strvec_push(cells, b);
}

/* Durations to the second: "45s", "5m12s", "2h3m". */
static void
push_duration(struct sbx_strvec *cells, int64_t ms)
{
	char b[32];

	if (ms < 0) {
		sbx_strvec_push(cells, "-");
		return;
	}
	sbx_format_duration((uint64_t)(ms / 1000 * 1000), b, sizeof(b));
	if (ms < 1000)
		snprintf(b, sizeof(b), "0s");
	sbx_strvec_push(cells, b);
}

void
tui_row_format(const struct tui_row *r, int64_t wall_now, int utf8,
    struct sbx_strvec *cells)
{
	const struct sbx_sandbox *sb = &r->sb;
	struct sbx_buf b = SBX_BUF_INIT;
	int64_t idle = r->idle_ms;
	size_t i;

	sbx_strvec_push(cells, sb->id);
	sbx_strvec_push(cells, sb->name ? sb->name : "-");
	sbx_strvec_push(cells, sb->template ? sb->template : "-");
	sbx_strvec_push(cells, sbx_sandbox_state_name(sb->state));
	sbx_strvec_pushf(cells, "%u", sb->spec.vcpus);
	push_size(cells, sb->spec.memory ? (int64_t)shown_memory(sb) : -1);
	push_size(cells, r->rss);
	push_size(cells, r->pss);
	if (r->cpu >= 0)
		sbx_strvec_pushf(cells, "%.1f", r->cpu);
	else
		sbx_strvec_push(cells, "-");
	tui_sparkline(r->hist, r->nhist, sb->spec.vcpus, utf8, &b);
	sbx_strvec_push(cells, b.len ? b.buf : "-");
	push_duration(cells, r->uptime_ms);
	/* Not running: idle since the record last changed. */
	if (idle < 0 && sb->state != SBX_SB_RUNNING &&
	    sb->state != SBX_SB_CREATING && sb->updated > 0 &&
	    wall_now >= sb->updated)
		idle = (int64_t)(wall_now - sb->updated) * 1000;
	push_duration(cells, idle);
	sbx_strvec_push(cells, sb->parent[0] ? sb->parent : "-");
	sbx_buf_reset(&b);
	for (i = 0; i < sb->nports; i++)
		sbx_buf_addf(&b, "%s%u->%u%s", i ? "," : "",
		    sb->ports[i].host, sb->ports[i].guest,
		    strcmp(sb->ports[i].proto, "udp") ? "" : "/udp");
	sbx_strvec_push(cells, b.len ? b.buf : "-");
	sbx_buf_release(&b);
}

void
tui_model_lines(const struct tui_model *m, size_t width, int64_t wall_now,
    struct sbx_strvec *lines)
{
	static const unsigned flags[TUI_COL_NR] = {
		[TUI_COL_NAME] = SBX_TABLE_SHRINK,
		[TUI_COL_TEMPLATE] = SBX_TABLE_SHRINK,
		[TUI_COL_VCPUS] = SBX_TABLE_RIGHT,
		[TUI_COL_MEMORY] = SBX_TABLE_RIGHT,
		[TUI_COL_RSS] = SBX_TABLE_RIGHT,
		[TUI_COL_PSS] = SBX_TABLE_RIGHT,
		[TUI_COL_CPU] = SBX_TABLE_RIGHT,
		[TUI_COL_UPTIME] = SBX_TABLE_RIGHT,
		[TUI_COL_IDLE] = SBX_TABLE_RIGHT,
		[TUI_COL_PARENT] = SBX_TABLE_SHRINK,
		[TUI_COL_PORTS] = SBX_TABLE_SHRINK,
	};
	struct sbx_table *t = sbx_table_new();
	struct sbx_strvec cells = SBX_STRVEC_INIT;
	struct sbx_buf out = SBX_BUF_INIT;
	size_t i, c;
	char *p, *nl;

	for (c = 0; c < TUI_COL_NR; c++)
		sbx_table_column(t, tui_col_names[c], flags[c]);
	for (i = 0; i < m->nview; i++) {
		sbx_strvec_clear(&cells);
		tui_row_format(tui_model_row(m, i), wall_now, m->utf8, &cells);
		for (c = 0; c < cells.nr; c++)
			sbx_table_cell(t, cells.v[c]);
	}
	sbx_table_render(t, width, &out);
	for (p = out.buf; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl) {
			sbx_strvec_push(lines, p);
			break;
		}
		*nl = '\0';
		sbx_strvec_push(lines, p);
	}
	sbx_buf_release(&out);
	sbx_strvec_clear(&cells);
	sbx_table_free(t);
}

const char *
tui_model_message(const struct tui_model *m, struct sbx_buf *b)
{
	sbx_buf_reset(b);
	if (!m->reachable)
		sbx_buf_addf(b, "backend unreachable: %s (retrying)",
		    m->error);
	else if (!m->nrows)
		sbx_buf_addstr(b, "no sandboxes (create one with "
		    "'sbx create')");
	else if (!m->nview)
		sbx_buf_addf(b, "no sandbox matches '%s'", m->filter);
	else
		return NULL;
	return b->buf;
}

void
tui_model_summary(const struct tui_model *m, struct sbx_buf *out)
{
	size_t count[SBX_SB_ERROR + 1];
	size_t i;
	int st, any = 0;

	memset(count, 0, sizeof(count));
	for (i = 0; i < m->nrows; i++)
		if (m->rows[i].sb.state <= SBX_SB_ERROR)
			count[m->rows[i].sb.state]++;
	sbx_buf_addf(out, "%zu sandbox%s", m->nrows, m->nrows == 1 ? "" :
	    "es");
	for (st = SBX_SB_CREATING; st <= SBX_SB_ERROR; st++) {
		if (!count[st])
			continue;
		sbx_buf_addf(out, "%s%zu %s", any ? ", " : ": ", count[st],
		    sbx_sandbox_state_name((enum sbx_sandbox_state)st));
		any = 1;
	}
	sbx_buf_addf(out, "  sort: %s", tui_sort_name(m->sort));
	if (m->filter[0])
		sbx_buf_addf(out, "  filter: %s (%zu shown)", m->filter,
		    m->nview);
}

void
tui_model_frame(const struct tui_model *m, size_t width, int64_t wall_now,
    struct sbx_buf *out)
{
	struct sbx_strvec lines = SBX_STRVEC_INIT;
	struct sbx_buf msg = SBX_BUF_INIT;
	size_t i;

	tui_model_summary(m, out);
	sbx_buf_addch(out, '\n');
	if (tui_model_message(m, &msg)) {
		sbx_buf_addf(out, "%s\n", msg.buf);
	} else {
		tui_model_lines(m, width, wall_now, &lines);
		for (i = 0; i < lines.nr; i++)
			sbx_buf_addf(out, "%s\n", lines.v[i]);
	}
	if (m->stats_error[0])
		sbx_buf_addf(out, "%s\n", m->stats_error);
	sbx_buf_release(&msg);
	sbx_strvec_clear(&lines);
}

/* Appends the lines of text to `lines`, keeping only the last `tail`. */
static void
push_tail(struct sbx_strvec *lines, const char *text, size_t tail)
{
	const char *p = text, *end = text + strlen(text), *start;
	size_t nl = 0;

	/* Skip a trailing newline, then walk back over `tail` lines. */
	if (end > text && end[-1] == '\n')
		end--;
	for (start = end; start > text; start--)
		if (start[-1] == '\n' && ++nl == tail)
			break;
	for (p = start; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		size_t len = e ? (size_t)(e - p) : (size_t)(end - p);
		char *s = xstrndup(p, len);
		char *q;

		/* Console text is untrusted: no control characters. */
		for (q = s; *q; q++)
			if ((unsigned char)*q < 0x20 || *q == 0x7f)
				*q = *q == '\t' ? ' ' : '?';
		sbx_strvec_pushf(lines, "  %s", s);
		free(s);
		p += len + 1;
	}
}

void
tui_detail_lines(const struct tui_row *r, const struct tui_detail *d,
    size_t tail, struct sbx_strvec *lines)
{
	const struct sbx_snapshot_info *log = d ? d->log : NULL;
	size_t nlog = d ? d->nlog : 0;
	const char *log_err = d ? d->log_err : "loading";
	const char *console = d ? d->console.buf : NULL;
	const struct sbx_sandbox *sb = &r->sb;
	char mem[32], disk[32], when[32];
	size_t i;

	sbx_format_size(shown_memory(sb), mem, sizeof(mem));
	sbx_format_size(sb->spec.disk, disk, sizeof(disk));
	sbx_strvec_pushf(lines, "%s%s%s%s  %s  template %s", sb->id,
	    sb->name ? " (" : "", sb->name ? sb->name : "",
	    sb->name ? ")" : "", sbx_sandbox_state_name(sb->state),
	    sb->template ? sb->template : "-");
	sbx_strvec_pushf(lines, "spec: %u vCPU, %s memory, %s disk%s%s",
	    sb->spec.vcpus, mem, disk, sb->parent[0] ? ", forked from " : "",
	    sb->parent);
	if (sb->pid)
		sbx_strvec_pushf(lines, "vmm pid %ld", (long)sb->pid);
	if (json_is_string(json_object_get(sb->extra, "error")))
		sbx_strvec_pushf(lines, "error: %s", json_string_value(
		    json_object_get(sb->extra, "error")));
	sbx_strvec_push(lines, "snapshots:");
	if (log_err && *log_err)
		sbx_strvec_pushf(lines, "  (%s)", log_err);
	else if (!nlog)
		sbx_strvec_push(lines, "  (none)");
	for (i = 0; i < nlog; i++) {
		struct tm tm;
		time_t t = (time_t)log[i].time;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		sbx_strvec_pushf(lines, "  %.12s  %s  %s", log[i].id, when,
		    log[i].message && *log[i].message ? log[i].message :
		    "(no message)");
	}
	sbx_strvec_push(lines, "console:");
	if (d && d->console_err[0])
		sbx_strvec_pushf(lines, "  (%s)", d->console_err);
	else if (!console || !*console)
		sbx_strvec_push(lines, "  (empty)");
	else
		push_tail(lines, console, tail);
}

void
tui_detail_init(struct tui_detail *d)
{
	memset(d, 0, sizeof(*d));
	sbx_buf_init(&d->console, 0);
}

static void
detail_clear_log(struct tui_detail *d)
{
	size_t i;

	for (i = 0; i < d->nlog; i++)
		free(d->log[i].message);
	free(d->log);
	d->log = NULL;
	d->nlog = 0;
}

void
tui_detail_release(struct tui_detail *d)
{
	detail_clear_log(d);
	sbx_buf_release(&d->console);
	d->id[0] = '\0';
}

void
tui_detail_fetch(struct tui_detail *d, const struct sbx_backend *b,
    struct sbx_conn *c, const char *id, size_t max_bytes)
{
	struct sbx_err e;
	FILE *f;
	long size;

	detail_clear_log(d);
	sbx_buf_reset(&d->console);
	d->log_err[0] = d->console_err[0] = '\0';
	snprintf(d->id, sizeof(d->id), "%s", id);
	sbx_err_clear(&e);
	if (!b->log)
		sbx_backend_unsupported(b, "log", &e);
	else if (b->log(c, id, &d->log, &d->nlog, &e) < 0) {
		d->log = NULL;
		d->nlog = 0;
	}
	snprintf(d->log_err, sizeof(d->log_err), "%s", e.msg);
	sbx_err_clear(&e);
	if (!b->logs) {
		sbx_backend_unsupported(b, "logs", &e);
		snprintf(d->console_err, sizeof(d->console_err), "%s", e.msg);
		return;
	}
	f = tmpfile();
	if (!f) {
		sbx_err_sys(&e, "cannot create a temporary file");
		snprintf(d->console_err, sizeof(d->console_err), "%s", e.msg);
		return;
	}
	if (b->logs(c, id, fileno(f), 0, &e) < 0) {
		snprintf(d->console_err, sizeof(d->console_err), "%s", e.msg);
	} else if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0) {
		char buf[8192];
		size_t n;

		if ((size_t)size > max_bytes)
			fseek(f, size - (long)max_bytes, SEEK_SET);
		else
			rewind(f);
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			sbx_buf_add(&d->console, buf, n);
	}
	fclose(f);
}
