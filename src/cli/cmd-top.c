/*
 * cmd-top.c - `sbx top [--interval DUR] [--once]`: the live dashboard of
 * every sandbox (src/tui), or one plain-text frame with --once (with
 * --json: the sandboxes with a "live" object of their figures).
 */
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "backend.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/table.h"
#include "tui/top.h"
#include "tui/view.h"
#include "core/banned.h"

static uint64_t top_interval = 1000;
static int top_once;

static const struct sbx_option top_options[] = {
	{ 'n', "interval", SBX_OPT_DURATION, &top_interval, "DUR",
	  "time between refreshes (default 1s)", 0, 0 },
	{ 0, "once", SBX_OPT_BOOL, &top_once, NULL,
	  "print one frame as plain text and exit", 0, 0 },
	SBX_OPT_END_MARK,
};

/* The rows with their live figures, as `sbx top --once --json` prints. */
static void
top_print_json(const struct tui_model *m)
{
	json_t *arr = json_array();
	size_t i, k;

	for (i = 0; i < m->nview; i++) {
		const struct tui_row *r = tui_model_row(m, i);
		json_t *o = sbx_sandbox_to_json(&r->sb), *live = json_object();
		json_t *hist = json_array();

		for (k = 0; k < r->nhist; k++)
			json_array_append_new(hist, json_real(r->hist[k]));
		if (r->rss >= 0)
			json_object_set_new(live, "rss", json_integer(r->rss));
		if (r->pss >= 0)
			json_object_set_new(live, "pss", json_integer(r->pss));
		if (r->cpu >= 0)
			json_object_set_new(live, "cpu_percent",
			    json_real(r->cpu));
		json_object_set_new(live, "cpu_history", hist);
		if (r->uptime_ms >= 0)
			json_object_set_new(live, "uptime_ms",
			    json_integer(r->uptime_ms));
		if (r->idle_ms >= 0)
			json_object_set_new(live, "idle_ms",
			    json_integer(r->idle_ms));
		json_object_set_new(o, "live", live);
		json_array_append_new(arr, o);
	}
	json_dumpf(arr, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(arr);
}

/* One frame on stdout; CPU figures need two samples, so take two. */
static int
top_print_once(struct sbx_ctx *ctx)
{
	struct tui_model m;
	struct sbx_buf out = SBX_BUF_INIT;
	const char *cs;
	int rc, i, running = 0;
	size_t k;

	setlocale(LC_CTYPE, "");
	cs = nl_langinfo(CODESET);
	tui_model_init(&m);
	m.utf8 = cs && !strcmp(cs, "UTF-8");
	rc = tui_model_refresh(&m, ctx->backend, ctx->conn, sbx_clock_ms());
	for (k = 0; k < m.nrows; k++)
		running |= m.rows[k].have_stats;
	for (i = 0; rc == 0 && running && i < 1; i++) {
		uint64_t t = top_interval < 1000 ? top_interval : 1000;

		usleep((useconds_t)(t * 1000));
		rc = tui_model_refresh(&m, ctx->backend, ctx->conn,
		    sbx_clock_ms());
	}
	if (rc < 0) {
		struct sbx_err e;

		sbx_err_set(&e, rc, "%s", m.error);
		tui_model_release(&m);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->json) {
		top_print_json(&m);
	} else {
		tui_model_frame(&m, sbx_term_width(STDOUT_FILENO), time(NULL),
		    &out);
		fwrite(out.buf, 1, out.len, stdout);
	}
	sbx_buf_release(&out);
	tui_model_release(&m);
	return 0;
}

static int
top_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct tui_view_cfg cfg;
	struct sbx_err e;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	if (top_interval < 100)
		return sbx_usage_error(ctx, "option '--interval': must be at "
		    "least 100ms");
	if (top_once)
		return top_print_once(ctx);
	memset(&cfg, 0, sizeof(cfg));
	cfg.backend = ctx->backend;
	cfg.conn = ctx->conn;
	cfg.interval_ms = top_interval;
	cfg.home = ctx->home;
	cfg.remote = ctx->remote;
	sbx_err_clear(&e);
	if (tui_view_run(&cfg, &e) < 0)
		return sbx_report_err(ctx, &e);
	return 0;
}

const struct sbx_cmd cmd_top = {
	.name = "top",
	.summary = "watch and manage every sandbox live (ncurses dashboard)",
	.usage = "[-n DUR] [--once]",
	.options = top_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = top_exec,
};
