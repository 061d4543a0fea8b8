/*
 * check_tui.c - the model of `sbx top` (src/tui/top.h): CPU percentages
 * and history from successive stats replies, sorting, filtering, row
 * formatting, the sparkline, messages, the detail pane, and refreshes
 * through a fixture backend whose list can fail and which has no stats.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "unit.h"
#include "backend.h"
#include "core/buf.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "tui/top.h"
#include "core/banned.h"

/* A sandbox record as a backend's list would return it. */
static void
mk(struct sbx_sandbox *sb, const char *id, const char *name,
    enum sbx_sandbox_state st, time_t created)
{
	sbx_sandbox_init(sb);
	snprintf(sb->id, sizeof(sb->id), "%s", id);
	sbx_sandbox_set_name(sb, name);
	sbx_sandbox_set_template(sb, "base");
	sb->state = st;
	sb->spec.vcpus = 2;
	sb->spec.memory = 512ULL << 20;
	sb->spec.disk = 4ULL << 30;
	sb->created = created;
	sb->updated = created;
}

/*
 * A stats reply; the VMM's uptime advances with the host clock `now` and
 * reads 65 s at now = 2000 ms.
 */
static json_t *
stats(long long cpu_ns, long long rss, uint64_t now)
{
	return json_pack("{s:I, s:I, s:I, s:[{s:I}, {s:I}]}", "rss",
	    (json_int_t)rss, "pss", (json_int_t)(rss / 2), "uptime_ms",
	    (json_int_t)(63000 + now), "vcpus", "cpu_ns",
	    (json_int_t)(cpu_ns / 2),
	    "cpu_ns", (json_int_t)(cpu_ns - cpu_ns / 2));
}

/* Three sandboxes; the running one has used `cpu_ns` so far. */
static void
set3(struct tui_model *m, long long cpu_ns, uint64_t now)
{
	struct sbx_sandbox *v = xcalloc(3, sizeof(*v));
	json_t *st[3] = { NULL, NULL, NULL };

	mk(&v[0], "sb-aaaaaaaaaaaa", "web", SBX_SB_RUNNING, 100);
	mk(&v[1], "sb-bbbbbbbbbbbb", NULL, SBX_SB_HIBERNATED, 200);
	mk(&v[2], "sb-cccccccccccc", "Api", SBX_SB_STOPPED, 50);
	st[0] = stats(cpu_ns, 300LL << 20, now);
	tui_model_set(m, v, st, 3, now);
	json_decref(st[0]);
	free(v);
}

static const struct tui_row *
row_by_id(const struct tui_model *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->nrows; i++)
		if (!strcmp(m->rows[i].sb.id, id))
			return &m->rows[i];
	return NULL;
}

START_TEST(cpu_from_two_samples)
{
	struct tui_model m;
	const struct tui_row *r;

	tui_model_init(&m);
	set3(&m, 1000000000LL, 10000);
	r = row_by_id(&m, "sb-aaaaaaaaaaaa");
	ck_assert_int_eq(r->have_stats, 1);
	ck_assert(r->cpu < 0);			/* one sample: unknown */
	ck_assert_int_eq(r->nhist, 0);
	ck_assert_int_eq(r->rss, 300LL << 20);
	ck_assert_int_eq(r->pss, 150LL << 20);
	/* 0.5 s of guest CPU in 1 s of wall time = 50%. */
	set3(&m, 1500000000LL, 11000);
	r = row_by_id(&m, "sb-aaaaaaaaaaaa");
	ck_assert(r->cpu > 49.9 && r->cpu < 50.1);
	ck_assert_int_eq(r->nhist, 1);
	/* 2 s of CPU in 1 s (both vCPUs busy) = 200%. */
	set3(&m, 3500000000LL, 12000);
	r = row_by_id(&m, "sb-aaaaaaaaaaaa");
	ck_assert(r->cpu > 199.9 && r->cpu < 200.1);
	ck_assert_int_eq(r->nhist, 2);
	ck_assert_int_eq(r->uptime_ms, 63000 + 12000);
	/* Not running: no live figures. */
	r = row_by_id(&m, "sb-bbbbbbbbbbbb");
	ck_assert_int_eq(r->have_stats, 0);
	ck_assert(r->cpu < 0 && r->rss < 0);
	tui_model_release(&m);
}
END_TEST

START_TEST(history_is_bounded)
{
	struct tui_model m;
	const struct tui_row *r;
	int i;

	tui_model_init(&m);
	for (i = 0; i < TUI_HIST + 5; i++)
		set3(&m, (long long)i * 100000000LL, 1000 + (uint64_t)i * 1000);
	r = row_by_id(&m, "sb-aaaaaaaaaaaa");
	ck_assert_int_eq(r->nhist, TUI_HIST);
	ck_assert_int_eq(m.ntracks, 3);
	tui_model_release(&m);
}
END_TEST

START_TEST(sort_and_filter)
{
	struct tui_model m;

	tui_model_init(&m);
	set3(&m, 0, 1000);
	set3(&m, 1000000000LL, 2000);
	/* Created order: ccc (50), aaa (100), bbb (200). */
	ck_assert_int_eq(m.nview, 3);
	ck_assert_str_eq(tui_model_row(&m, 0)->sb.id, "sb-cccccccccccc");
	ck_assert_str_eq(tui_model_row(&m, 2)->sb.id, "sb-bbbbbbbbbbbb");
	tui_model_next_sort(&m);	/* id */
	ck_assert_str_eq(tui_sort_name(m.sort), "id");
	ck_assert_str_eq(tui_model_row(&m, 0)->sb.id, "sb-aaaaaaaaaaaa");
	tui_model_next_sort(&m);	/* name: Api, web, unnamed last */
	ck_assert_str_eq(tui_model_row(&m, 0)->sb.name, "Api");
	ck_assert_str_eq(tui_model_row(&m, 1)->sb.name, "web");
	ck_assert_ptr_null(tui_model_row(&m, 2)->sb.name);
	tui_model_next_sort(&m);	/* state */
	tui_model_next_sort(&m);	/* cpu: the busy one first */
	ck_assert_str_eq(tui_sort_name(m.sort), "cpu");
	ck_assert_str_eq(tui_model_row(&m, 0)->sb.id, "sb-aaaaaaaaaaaa");
	/* Filters are case-insensitive substrings of id, name, state... */
	tui_model_set_filter(&m, "API");
	ck_assert_int_eq(m.nview, 1);
	ck_assert_str_eq(tui_model_row(&m, 0)->sb.id, "sb-cccccccccccc");
	tui_model_set_filter(&m, "hibern");
	ck_assert_int_eq(m.nview, 1);
	ck_assert_str_eq(tui_model_row(&m, 0)->sb.id, "sb-bbbbbbbbbbbb");
	tui_model_set_filter(&m, "nothing-matches");
	ck_assert_int_eq(m.nview, 0);
	ck_assert_ptr_null(tui_model_row(&m, 0));
	/* The filter survives a refresh. */
	tui_model_set_filter(&m, "bbbb");
	set3(&m, 2000000000LL, 3000);
	ck_assert_int_eq(m.nview, 1);
	for (int i = 0; i < TUI_SORT_NR - 4; i++)
		tui_model_next_sort(&m);
	ck_assert_int_eq(m.sort, TUI_SORT_CREATED);
	tui_model_release(&m);
}
END_TEST

START_TEST(row_cells)
{
	struct tui_model m;
	struct sbx_strvec c = SBX_STRVEC_INIT;
	const struct tui_row *r;

	tui_model_init(&m);
	set3(&m, 0, 1000);
	set3(&m, 1000000000LL, 2000);
	r = row_by_id(&m, "sb-aaaaaaaaaaaa");
	sbx_sandbox_add_port((struct sbx_sandbox *)&r->sb, 8080, 80, "tcp");
	sbx_sandbox_add_port((struct sbx_sandbox *)&r->sb, 5353, 53, "udp");
	snprintf(((struct sbx_sandbox *)&r->sb)->parent, SBX_SANDBOX_ID_SIZE,
	    "%s", "sb-pppppppppppp");
	tui_row_format(r, 1000, 1, &c);
	ck_assert_int_eq(c.nr, TUI_COL_NR);
	ck_assert_str_eq(c.v[TUI_COL_ID], "sb-aaaaaaaaaaaa");
	ck_assert_str_eq(c.v[TUI_COL_NAME], "web");
	ck_assert_str_eq(c.v[TUI_COL_TEMPLATE], "base");
	ck_assert_str_eq(c.v[TUI_COL_STATE], "running");
	ck_assert_str_eq(c.v[TUI_COL_VCPUS], "2");
	ck_assert_str_eq(c.v[TUI_COL_MEMORY], "512M");
	ck_assert_str_eq(c.v[TUI_COL_RSS], "300M");
	ck_assert_str_eq(c.v[TUI_COL_PSS], "150M");
	ck_assert_str_eq(c.v[TUI_COL_CPU], "100.0");
	/* 100% of one host CPU on 2 vCPUs is half: the 5th step. */
	ck_assert_str_eq(c.v[TUI_COL_HIST], "\u2585");
	ck_assert_str_eq(c.v[TUI_COL_UPTIME], "1m5s");
	ck_assert_str_eq(c.v[TUI_COL_PARENT], "sb-pppppppppppp");
	ck_assert_str_eq(c.v[TUI_COL_PORTS], "8080->80,5353->53/udp");
	sbx_strvec_clear(&c);
	/* A hibernated sandbox: idle since its record last changed. */
	r = row_by_id(&m, "sb-bbbbbbbbbbbb");
	tui_row_format(r, 200 + 125, 0, &c);
	ck_assert_str_eq(c.v[TUI_COL_NAME], "-");
	ck_assert_str_eq(c.v[TUI_COL_RSS], "-");
	ck_assert_str_eq(c.v[TUI_COL_CPU], "-");
	ck_assert_str_eq(c.v[TUI_COL_HIST], "-");
	ck_assert_str_eq(c.v[TUI_COL_UPTIME], "-");
	ck_assert_str_eq(c.v[TUI_COL_IDLE], "2m5s");
	ck_assert_str_eq(c.v[TUI_COL_PORTS], "-");
	sbx_strvec_clear(&c);
	tui_model_release(&m);
}
END_TEST

START_TEST(sparkline_steps)
{
	double h[4] = { 0, 50, 100, 400 };
	struct sbx_buf b = SBX_BUF_INIT;

	tui_sparkline(h, 4, 1, 1, &b);
	ck_assert_str_eq(b.buf, "\u2581\u2585\u2588\u2588");
	sbx_buf_reset(&b);
	tui_sparkline(h, 4, 1, 0, &b);
	ck_assert_str_eq(b.buf, " =##");
	sbx_buf_reset(&b);
	/* Percentages are of the sandbox's vCPUs (4 here). */
	tui_sparkline(h, 4, 4, 0, &b);
	ck_assert_str_eq(b.buf, " .:#");
	sbx_buf_release(&b);
}
END_TEST

START_TEST(lines_and_messages)
{
	struct tui_model m;
	struct sbx_strvec lines = SBX_STRVEC_INIT;
	struct sbx_buf b = SBX_BUF_INIT;

	tui_model_init(&m);
	tui_model_set(&m, NULL, NULL, 0, 1000);
	ck_assert_ptr_nonnull(tui_model_message(&m, &b));
	ck_assert_ptr_nonnull(strstr(b.buf, "no sandboxes"));
	set3(&m, 0, 1000);
	ck_assert_ptr_null(tui_model_message(&m, &b));
	tui_model_lines(&m, 0, 1000, &lines);
	ck_assert_int_eq(lines.nr, 4);
	ck_assert(!strncmp(lines.v[0], "ID ", 3));
	ck_assert_ptr_nonnull(strstr(lines.v[0], "HISTORY"));
	ck_assert(!strncmp(lines.v[1], "sb-cccccccccccc", 15));
	sbx_strvec_clear(&lines);
	/* Narrow: lines are cut to fit where the shrinkable columns allow. */
	tui_model_lines(&m, 60, 1000, &lines);
	ck_assert_int_eq(lines.nr, 4);
	sbx_strvec_clear(&lines);
	tui_model_set_filter(&m, "zzz");
	ck_assert_ptr_nonnull(tui_model_message(&m, &b));
	ck_assert_str_eq(b.buf, "no sandbox matches 'zzz'");
	sbx_buf_reset(&b);
	tui_model_summary(&m, &b);
	ck_assert_str_eq(b.buf, "3 sandboxes: 1 running, 1 hibernated, "
	    "1 stopped  sort: created  filter: zzz (0 shown)");
	sbx_buf_reset(&b);
	tui_model_set_filter(&m, "");
	tui_model_frame(&m, 0, 1000, &b);
	ck_assert_ptr_nonnull(strstr(b.buf, "\nID "));
	ck_assert_ptr_nonnull(strstr(b.buf, "sb-bbbbbbbbbbbb"));
	sbx_buf_release(&b);
	tui_model_release(&m);
}
END_TEST

START_TEST(detail_pane)
{
	struct tui_model m;
	struct tui_detail d;
	struct sbx_snapshot_info snap;
	struct sbx_strvec l = SBX_STRVEC_INIT;
	size_t i;
	int found_snap = 0;

	tui_model_init(&m);
	set3(&m, 0, 1000);
	tui_detail_init(&d);
	memset(&snap, 0, sizeof(snap));
	snprintf(snap.id, sizeof(snap.id), "%s", "0123456789abcdef0123");
	snap.time = 0;
	snap.message = xstrdup("before upgrade");
	d.log = xmalloc(sizeof(snap));
	d.log[0] = snap;
	d.nlog = 1;
	sbx_buf_addstr(&d.console, "one\ntwo\nthr\033[2Jee\nfour\n");
	tui_detail_lines(row_by_id(&m, "sb-aaaaaaaaaaaa"), &d, 2, &l);
	ck_assert_ptr_nonnull(strstr(l.v[0], "sb-aaaaaaaaaaaa (web)"));
	ck_assert_str_eq(l.v[1], "spec: 2 vCPU, 512M memory, 4G disk");
	for (i = 0; i < l.nr; i++)
		if (strstr(l.v[i], "0123456789ab  1970-01-01 00:00:00  "
		    "before upgrade"))
			found_snap = 1;
	ck_assert(found_snap);
	/* The last two console lines, escape sequences defused. */
	ck_assert_str_eq(l.v[l.nr - 2], "  thr?[2Jee");
	ck_assert_str_eq(l.v[l.nr - 1], "  four");
	ck_assert_str_eq(l.v[l.nr - 3], "console:");
	sbx_strvec_clear(&l);
	tui_detail_release(&d);
	tui_model_release(&m);
}
END_TEST

/* A backend whose list fails on demand and that has no stats op. */
static int fx_fail;

static int
fx_list(struct sbx_conn *c, struct sbx_sandbox **out, size_t *n,
    struct sbx_err *e)
{
	(void)c;
	*out = NULL;
	*n = 0;
	if (fx_fail)
		return sbx_err_set(e, SBX_ENET, "cannot connect to "
		    "'http://fx': connection refused");
	*out = xcalloc(1, sizeof(**out));
	mk(*out, "sb-dddddddddddd", "db", SBX_SB_RUNNING, 1);
	*n = 1;
	return 0;
}

static const struct sbx_backend fx = {
	.name = "fx",
	.list = fx_list,
};

START_TEST(refresh_through_backend)
{
	struct tui_model m;
	struct tui_detail d;
	struct sbx_buf b = SBX_BUF_INIT;

	tui_model_init(&m);
	fx_fail = 0;
	ck_assert_int_eq(tui_model_refresh(&m, &fx, NULL, 1000), 0);
	ck_assert_int_eq(m.nrows, 1);
	ck_assert(m.reachable);
	ck_assert_str_eq(m.stats_error,
	    "'stats' is not supported by backend 'fx'");
	/* Unreachable: the last rows stay, the reason is kept. */
	fx_fail = 1;
	ck_assert_int_eq(tui_model_refresh(&m, &fx, NULL, 2000), SBX_ENET);
	ck_assert(!m.reachable);
	ck_assert_int_eq(m.nrows, 1);
	ck_assert_ptr_nonnull(tui_model_message(&m, &b));
	ck_assert_ptr_nonnull(strstr(b.buf, "connection refused"));
	ck_assert_ptr_nonnull(strstr(b.buf, "retrying"));
	/* And it recovers. */
	fx_fail = 0;
	ck_assert_int_eq(tui_model_refresh(&m, &fx, NULL, 3000), 0);
	ck_assert(m.reachable);
	/* Missing log/logs ops become messages, not crashes. */
	tui_detail_init(&d);
	tui_detail_fetch(&d, &fx, NULL, "sb-dddddddddddd", 1024);
	ck_assert_str_eq(d.log_err, "'log' is not supported by backend 'fx'");
	ck_assert_str_eq(d.console_err,
	    "'logs' is not supported by backend 'fx'");
	tui_detail_release(&d);
	sbx_buf_release(&b);
	tui_model_release(&m);
}
END_TEST

Suite *suite_tui(void)
{
	Suite *s = suite_create("tui");
	TCase *tc = tcase_create("model");

	tcase_add_test(tc, cpu_from_two_samples);
	tcase_add_test(tc, history_is_bounded);
	tcase_add_test(tc, sort_and_filter);
	tcase_add_test(tc, row_cells);
	tcase_add_test(tc, sparkline_steps);
	tcase_add_test(tc, lines_and_messages);
	tcase_add_test(tc, detail_pane);
	tcase_add_test(tc, refresh_through_backend);
	suite_add_tcase(s, tc);
	return s;
}
