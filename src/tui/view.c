/*
 * view.c - the curses side of `sbx top`: drawing the model, keys,
 * prompts and actions (see view.h).
 *
 * Frames are drawn with werase + wnoutrefresh + doupdate, never clear(),
 * so only changed cells reach the terminal and nothing flickers.
 */
#include <errno.h>
#include <langinfo.h>
#include <limits.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <curses.h>

#include "tui/top.h"
#include "tui/view.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/parse.h"
#include "core/run.h"
#include "core/strvec.h"
#include "core/utf8.h"
#include "core/xmalloc.h"
#include "core/banned.h"

#define DETAIL_CONSOLE_BYTES 65536
#define DETAIL_REFETCH_MS 5000

enum { PAIR_RUNNING = 1, PAIR_PAUSED, PAIR_HIBERNATED, PAIR_STOPPED,
	PAIR_ERROR, PAIR_CREATING, PAIR_TITLE, PAIR_BAD };

struct view {
	const struct tui_view_cfg *cfg;
	struct tui_model m;
	struct tui_detail d;
	char sel_id[SBX_SANDBOX_ID_SIZE];	/* follows the sandbox */
	size_t sel, top;
	int detail, help, color, quit;
	uint64_t next_refresh, next_detail;
	char status[512];
	int status_bad;
};

static void
set_status(struct view *v, int bad, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_status(struct view *v, int bad, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(v->status, sizeof(v->status), fmt, ap);
	va_end(ap);
	v->status_bad = bad;
}

/*
 * Writes `s` at (y, x), at most `maxw` columns wide, cutting at a
 * character boundary by display width.
 */
static void
put_text(int y, int x, const char *s, int maxw)
{
	size_t len = strlen(s), off = 0;
	int w = 0;

	while (off < len) {
		uint32_t cp;
		int n = sbx_utf8_decode(s + off, len - off, &cp);
		int cw = sbx_utf8_cpwidth(cp);

		if (n < 0)
			n = 1;
		if (w + cw > maxw)
			break;
		w += cw;
		off += (size_t)n;
	}
	if (off)
		mvaddnstr(y, x, s, (int)off);
}

static int
state_pair(enum sbx_sandbox_state st)
{
	switch (st) {
	case SBX_SB_RUNNING: return PAIR_RUNNING;
	case SBX_SB_PAUSED: return PAIR_PAUSED;
	case SBX_SB_HIBERNATED: return PAIR_HIBERNATED;
	case SBX_SB_STOPPED: return PAIR_STOPPED;
	case SBX_SB_ERROR: return PAIR_ERROR;
	case SBX_SB_CREATING: return PAIR_CREATING;
	}
	return 0;
}

static void
colors_init(struct view *v)
{
	const char *nc = getenv("NO_COLOR");

	v->color = !(nc && *nc) && has_colors();
	if (!v->color)
		return;
	start_color();
	use_default_colors();
	init_pair(PAIR_RUNNING, COLOR_GREEN, -1);
	init_pair(PAIR_PAUSED, COLOR_YELLOW, -1);
	init_pair(PAIR_HIBERNATED, COLOR_CYAN, -1);
	init_pair(PAIR_STOPPED, -1, -1);
	init_pair(PAIR_ERROR, COLOR_RED, -1);
	init_pair(PAIR_CREATING, COLOR_MAGENTA, -1);
	init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_BAD, COLOR_RED, -1);
}

static attr_t
row_attr(struct view *v, const struct tui_row *r)
{
	attr_t a = 0;

	if (v->color)
		a |= COLOR_PAIR(state_pair(r->sb.state));
	if (r->sb.state == SBX_SB_STOPPED)
		a |= A_DIM;
	if (r->sb.state == SBX_SB_ERROR && !v->color)
		a |= A_BOLD;
	return a;
}

/* Puts the selection back on the sandbox it was on. */
static void
follow_selection(struct view *v)
{
	size_t i;

	for (i = 0; i < v->m.nview && v->sel_id[0]; i++)
		if (!strcmp(tui_model_row(&v->m, i)->sb.id, v->sel_id)) {
			v->sel = i;
			return;
		}
	if (v->sel >= v->m.nview)
		v->sel = v->m.nview ? v->m.nview - 1 : 0;
	if (v->m.nview)
		snprintf(v->sel_id, sizeof(v->sel_id), "%s",
		    tui_model_row(&v->m, v->sel)->sb.id);
	else
		v->sel_id[0] = '\0';
}

static void
select_row(struct view *v, size_t i)
{
	if (!v->m.nview)
		return;
	v->sel = i >= v->m.nview ? v->m.nview - 1 : i;
	snprintf(v->sel_id, sizeof(v->sel_id), "%s",
	    tui_model_row(&v->m, v->sel)->sb.id);
	v->next_detail = 0;
}

static void
draw_centered(int y, const char *msg, attr_t a)
{
	int w = (int)sbx_utf8_width(msg, strlen(msg));
	int x = w < COLS ? (COLS - w) / 2 : 0;

	attron(a);
	put_text(y, x, msg, COLS - x);
	attroff(a);
}

static void
draw_help(void)
{
	static const char *const lines[] = {
		"sbx top - keys",
		"",
		"  up/down, j/k   move          Enter  details",
		"  PgUp/PgDn, g/G page, ends    /      filter",
		"  f  fork (asks how many)      o      next sort column",
		"  s  snapshot (asks message)   ?      this help",
		"  h  hibernate                 q      quit",
		"  r  resume (start if stopped)",
		"  x  stop                      d      delete (asks)",
		"  e  shell in the sandbox (returns when it exits)",
		"",
		"  any key closes this help",
	};
	int n = (int)(sizeof(lines) / sizeof(lines[0])), w = 58, i;
	int y0 = LINES > n + 2 ? (LINES - n - 2) / 2 : 0;
	int x0 = COLS > w + 2 ? (COLS - w - 2) / 2 : 0;

	for (i = 0; i < n + 2 && y0 + i < LINES; i++) {
		mvhline(y0 + i, x0, ' ', w + 2);
		if (i > 0 && i <= n)
			put_text(y0 + i, x0 + 1, lines[i - 1], w);
	}
	attron(A_BOLD);
	mvhline(y0, x0, ACS_HLINE, w + 2);
	if (y0 + n + 1 < LINES)
		mvhline(y0 + n + 1, x0, ACS_HLINE, w + 2);
	attroff(A_BOLD);
}

static void
draw_status(struct view *v)
{
	static const char keys[] = "Enter detail  f fork  s snap  h hib  "
	    "r resume  x stop  d del  e shell  / filter  o sort  ? help  "
	    "q quit";
	attr_t a = 0;

	if (v->status[0]) {
		if (v->status_bad)
			a = v->color ? COLOR_PAIR(PAIR_BAD) | A_BOLD : A_BOLD;
		attron(a);
		put_text(LINES - 1, 0, v->status, COLS);
		attroff(a);
	} else if (v->m.stats_error[0] && v->m.nrows) {
		/* Live figures missing: say why rather than show dashes. */
		struct sbx_buf b = SBX_BUF_INIT;

		sbx_buf_addf(&b, "%s  (? help)", v->m.stats_error);
		a = v->color ? COLOR_PAIR(PAIR_BAD) : A_BOLD;
		attron(a);
		put_text(LINES - 1, 0, b.buf, COLS);
		attroff(a);
		sbx_buf_release(&b);
	} else {
		attron(A_DIM);
		put_text(LINES - 1, 0, keys, COLS);
		attroff(A_DIM);
	}
}

static void
draw_title(struct view *v)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char when[16];
	time_t now = time(NULL);
	struct tm tm;
	attr_t a = v->color ? COLOR_PAIR(PAIR_TITLE) : A_REVERSE;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	sbx_buf_addf(&b, "sbx top (%s)  ", v->cfg->backend->name);
	tui_model_summary(&v->m, &b);
	attron(a);
	mvhline(0, 0, ' ', COLS);
	put_text(0, 0, b.buf, COLS - 9);
	if (COLS > 9)
		mvaddstr(0, COLS - 8, when);
	attroff(a);
	sbx_buf_release(&b);
}

/*
 * Draws the detail lines in `h` rows from `y`: the head (spec and
 * snapshots) first, and the newest console lines in what is left.
 */
static void
draw_detail(const struct sbx_strvec *dl, int y, int h)
{
	size_t con = dl->nr, head, i, skip;

	for (i = 0; i < dl->nr; i++)
		if (!strcmp(dl->v[i], "console:"))
			con = i;
	head = con + 1 < (size_t)h ? con + 1 : (size_t)(h > 2 ? h - 2 : h);
	for (i = 0; i < head && i < dl->nr; i++)
		put_text(y++, 1, dl->v[i], COLS - 1);
	if (head < con + 1 && con < dl->nr)	/* head was cut */
		put_text(y - 1, 1, dl->v[con], COLS - 1);
	h -= (int)head;
	if (con + 1 >= dl->nr || h <= 0)
		return;
	skip = dl->nr - (con + 1) > (size_t)h ? dl->nr - (size_t)h :
	    con + 1;
	for (i = skip; i < dl->nr; i++)
		put_text(y++, 1, dl->v[i], COLS - 1);
}

static void
draw(struct view *v)
{
	struct sbx_strvec lines = SBX_STRVEC_INIT;
	struct sbx_buf msg = SBX_BUF_INIT;
	int avail, rows_h, y;
	size_t i;

	werase(stdscr);
	draw_title(v);
	avail = LINES - 2;	/* title and status lines */
	if (tui_model_message(&v->m, &msg)) {
		draw_centered(LINES / 2, msg.buf, v->m.reachable ? A_BOLD :
		    (v->color ? COLOR_PAIR(PAIR_BAD) | A_BOLD : A_BOLD));
		goto out;
	}
	tui_model_lines(&v->m, (size_t)COLS, time(NULL), &lines);
	rows_h = avail - 1;
	if (v->detail)
		rows_h = rows_h / 2 > 3 ? rows_h / 2 : rows_h;
	if (rows_h < 1)
		rows_h = 1;
	if (v->sel < v->top)
		v->top = v->sel;
	if (v->sel >= v->top + (size_t)rows_h)
		v->top = v->sel - (size_t)rows_h + 1;
	attron(A_BOLD | A_UNDERLINE);
	put_text(1, 0, lines.nr ? lines.v[0] : "", COLS);
	attroff(A_BOLD | A_UNDERLINE);
	for (i = v->top, y = 2; i < v->m.nview && y < 2 + rows_h; i++, y++) {
		attr_t a = row_attr(v, tui_model_row(&v->m, i));

		if (i == v->sel) {
			a |= A_REVERSE;
			attron(a);
			mvhline(y, 0, ' ', COLS);
		} else {
			attron(a);
		}
		if (i + 1 < lines.nr)
			put_text(y, 0, lines.v[i + 1], COLS);
		attroff(a);
	}
	if (v->detail && v->m.nview) {
		struct sbx_strvec dl = SBX_STRVEC_INIT;
		const struct tui_row *r = tui_model_row(&v->m, v->sel);
		int dy = 2 + rows_h, h = LINES - 1 - dy - 1;

		mvhline(dy, 0, ACS_HLINE, COLS);
		if (h > 0) {
			tui_detail_lines(r, strcmp(v->d.id, r->sb.id) ? NULL :
			    &v->d, (size_t)h, &dl);
			draw_detail(&dl, dy + 1, h);
		}
		sbx_strvec_clear(&dl);
	}
out:
	draw_status(v);
	if (v->help)
		draw_help();
	wnoutrefresh(stdscr);
	doupdate();
	sbx_strvec_clear(&lines);
	sbx_buf_release(&msg);
}

/* Fetches data when due; `force` refreshes now. */
static void
tick(struct view *v, int force)
{
	uint64_t now = sbx_clock_ms();

	if (force || now >= v->next_refresh) {
		tui_model_refresh(&v->m, v->cfg->backend, v->cfg->conn, now);
		follow_selection(v);
		v->next_refresh = now + v->cfg->interval_ms;
	}
	if (v->detail && v->m.nview && (force || now >= v->next_detail)) {
		tui_detail_fetch(&v->d, v->cfg->backend, v->cfg->conn,
		    tui_model_row(&v->m, v->sel)->sb.id, DETAIL_CONSOLE_BYTES);
		v->next_detail = now + DETAIL_REFETCH_MS;
	}
}

/*
 * Reads a line in the status line after `label`, starting from `buf`.
 * Enter accepts (returns 1), Escape or Ctrl-C cancels (returns 0). With
 * `live`, the filter follows every keystroke.
 */
static int
prompt(struct view *v, const char *label, char *buf, size_t len, int live)
{
	char saved[sizeof(v->m.filter)];
	size_t n = strlen(buf);

	snprintf(saved, sizeof(saved), "%s", v->m.filter);
	nodelay(stdscr, FALSE);
	curs_set(1);
	for (;;) {
		wint_t wc;
		int k, col;

		set_status(v, 0, "%s%s", label, buf);
		draw(v);
		col = (int)sbx_utf8_width(v->status, strlen(v->status));
		move(LINES - 1, col < COLS ? col : COLS - 1);
		refresh();
		k = get_wch(&wc);
		if (k == ERR)
			continue;
		if (k == KEY_CODE_YES) {
			if (wc == KEY_ENTER)
				break;
			if (wc == KEY_BACKSPACE && n) {
				/* Drop one UTF-8 character. */
				do
					n--;
				while (n && ((unsigned char)buf[n] & 0xc0) ==
				    0x80);
				buf[n] = '\0';
			}
		} else if (wc == '\n' || wc == '\r') {
			break;
		} else if (wc == 27 || wc == 3 || wc == 7) {
			if (live)
				tui_model_set_filter(&v->m, saved);
			set_status(v, 0, "%s", "");
			curs_set(0);
			nodelay(stdscr, TRUE);
			return 0;
		} else if (wc == 127 || wc == 8) {
			while (n && ((unsigned char)buf[--n] & 0xc0) == 0x80)
				;
			buf[n] = '\0';
		} else if (wc == 21) {	/* Ctrl-U */
			n = 0;
			buf[0] = '\0';
		} else if (wc >= 0x20) {
			char mb[MB_LEN_MAX];
			mbstate_t ps;
			size_t m;

			memset(&ps, 0, sizeof(ps));
			m = wcrtomb(mb, (wchar_t)wc, &ps);
			if (m != (size_t)-1 && n + m < len) {
				memcpy(buf + n, mb, m);
				n += m;
				buf[n] = '\0';
			}
		}
		if (live) {
			tui_model_set_filter(&v->m, buf);
			follow_selection(v);
		}
	}
	curs_set(0);
	nodelay(stdscr, TRUE);
	set_status(v, 0, "%s", "");
	return 1;
}

/* Asks a y/n question in the status line; 1 for yes. */
static int
confirm(struct view *v, const char *question)
{
	int k;

	set_status(v, 0, "%s [y/N] ", question);
	draw(v);
	nodelay(stdscr, FALSE);
	do
		k = getch();
	while (k == KEY_RESIZE && (draw(v), 1));
	nodelay(stdscr, TRUE);
	set_status(v, 0, "%s", "");
	return k == 'y' || k == 'Y';
}

/* Shows what is happening before a slow op runs. */
static void
busy(struct view *v, const char *fmt, const char *id)
{
	set_status(v, 0, fmt, id);
	draw(v);
}

static void
report(struct view *v, int rc, const struct sbx_err *e, const char *done,
    const char *id)
{
	if (rc < 0)
		set_status(v, 1, "%s", e->msg);
	else
		set_status(v, 0, done, id);
	v->next_refresh = 0;
}

/* `sbx shell ID` on the real terminal, curses suspended. */
static void
action_shell(struct view *v, const char *id)
{
	struct sbx_run r;
	struct sbx_err e;
	char exe[PATH_MAX];
	ssize_t n;
	int rc;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		set_status(v, 1, "cannot find the sbx program: %s",
		    strerror(errno));
		return;
	}
	exe[n] = '\0';
	sbx_run_init(&r);
	sbx_strvec_push(&r.argv, exe);
	if (v->cfg->home)
		sbx_strvec_pushl(&r.argv, "--home", v->cfg->home, NULL);
	if (v->cfg->remote)
		sbx_strvec_pushl(&r.argv, "--remote", v->cfg->remote, NULL);
	sbx_strvec_pushl(&r.argv, "shell", id, NULL);
	def_prog_mode();
	endwin();
	printf("sbx top: shell in %s (exit or Ctrl-] to come back)\n", id);
	fflush(stdout);
	sbx_err_clear(&e);
	rc = sbx_run_start(&r, &e);
	if (rc == 0)
		rc = sbx_run_wait(&r, &e);
	/* Leave a failure on screen until the user has read it. */
	if (rc != 0) {
		int ch;

		if (rc < 0)
			printf("sbx top: %s\n", e.msg);
		printf("sbx top: press Enter to return\n");
		fflush(stdout);
		while ((ch = getchar()) != EOF && ch != '\n')
			;
		clearerr(stdin);
	}
	reset_prog_mode();
	refresh();
	if (rc < 0)
		set_status(v, 1, "%s", e.msg);
	else
		set_status(v, rc != 0, "shell in %s exited with status %d", id,
		    rc);
	sbx_run_release(&r);
	v->next_refresh = 0;
}

static void
action_fork(struct view *v, const struct tui_row *row)
{
	const struct sbx_backend *b = v->cfg->backend;
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_buf out = SBX_BUF_INIT;
	char id[SBX_SANDBOX_ID_SIZE], num[16] = "1", q[96];
	long long count;
	struct sbx_err e;
	size_t i;

	snprintf(id, sizeof(id), "%s", row->sb.id);
	sbx_err_clear(&e);
	if (!b->fork) {
		sbx_backend_unsupported(b, "fork", &e);
		set_status(v, 1, "%s", e.msg);
		return;
	}
	snprintf(q, sizeof(q), "fork %s into how many sandboxes? ", id);
	if (!prompt(v, q, num, sizeof(num), 0))
		return;
	if (sbx_parse_int(num, 1, 100, &count, &e) < 0) {
		set_status(v, 1, "fork: %s", e.msg);
		return;
	}
	busy(v, "forking %s...", id);
	if (b->fork(v->cfg->conn, id, (unsigned)count, &ids, &e) < 0) {
		set_status(v, 1, "%s", e.msg);
	} else {
		for (i = 0; i < ids.nr; i++)
			sbx_buf_addf(&out, " %s", ids.v[i]);
		set_status(v, 0, "forked %s:%s", id, out.buf);
	}
	v->next_refresh = 0;
	sbx_buf_release(&out);
	sbx_strvec_clear(&ids);
}

static void
action_snapshot(struct view *v, const struct tui_row *row)
{
	const struct sbx_backend *b = v->cfg->backend;
	struct sbx_snapshot_info info;
	char id[SBX_SANDBOX_ID_SIZE], msg[256] = "";
	struct sbx_err e;

	snprintf(id, sizeof(id), "%s", row->sb.id);
	sbx_err_clear(&e);
	if (!b->snapshot) {
		sbx_backend_unsupported(b, "snapshot", &e);
		set_status(v, 1, "%s", e.msg);
		return;
	}
	if (!prompt(v, "snapshot message: ", msg, sizeof(msg), 0))
		return;
	busy(v, "snapshotting %s...", id);
	memset(&info, 0, sizeof(info));
	if (b->snapshot(v->cfg->conn, id, msg, &info, &e) < 0)
		set_status(v, 1, "%s", e.msg);
	else
		set_status(v, 0, "snapshot %.12s of %s", info.id, id);
	free(info.message);
	v->next_refresh = 0;
	v->next_detail = 0;
}

/* h, r, x: ops that take just the sandbox. */
static void
action_simple(struct view *v, const struct tui_row *row, int key)
{
	const struct sbx_backend *b = v->cfg->backend;
	int (*op)(struct sbx_conn *, const char *, struct sbx_err *) = NULL;
	const char *name = NULL, *doing = NULL, *done = NULL;
	char id[SBX_SANDBOX_ID_SIZE];
	struct sbx_err e;

	snprintf(id, sizeof(id), "%s", row->sb.id);
	sbx_err_clear(&e);
	switch (key) {
	case 'h':
		op = b->hibernate, name = "hibernate";
		doing = "hibernating %s...", done = "hibernated %s";
		break;
	case 'r':
		if (row->sb.state == SBX_SB_STOPPED ||
		    row->sb.state == SBX_SB_ERROR) {
			op = b->start, name = "start";
			doing = "starting %s...", done = "started %s";
		} else {
			op = b->resume, name = "resume";
			doing = "resuming %s...", done = "resumed %s";
		}
		break;
	case 'x':
		op = b->stop, name = "stop";
		doing = "stopping %s...", done = "stopped %s";
		break;
	}
	if (!name)
		return;
	if (!op) {
		sbx_backend_unsupported(b, name, &e);
		set_status(v, 1, "%s", e.msg);
		return;
	}
	busy(v, doing, id);
	report(v, op(v->cfg->conn, id, &e), &e, done, id);
}

static void
action_delete(struct view *v, const struct tui_row *row)
{
	const struct sbx_backend *b = v->cfg->backend;
	char id[SBX_SANDBOX_ID_SIZE], q[128];
	int live = row->sb.state == SBX_SB_RUNNING ||
	    row->sb.state == SBX_SB_PAUSED;
	struct sbx_err e;

	snprintf(id, sizeof(id), "%s", row->sb.id);
	sbx_err_clear(&e);
	if (!b->destroy) {
		sbx_backend_unsupported(b, "destroy", &e);
		set_status(v, 1, "%s", e.msg);
		return;
	}
	snprintf(q, sizeof(q), "delete %s%s?", id, live ?
	    " (it is running: it will be stopped)" : "");
	if (!confirm(v, q)) {
		set_status(v, 0, "not deleted");
		return;
	}
	busy(v, "deleting %s...", id);
	report(v, b->destroy(v->cfg->conn, id, live, &e), &e, "deleted %s",
	    id);
}

static void
handle_key(struct view *v, int k)
{
	const struct tui_row *row = tui_model_row(&v->m, v->sel);
	int page = LINES > 6 ? LINES - 4 : 1;

	if (v->help) {
		v->help = 0;
		if (k != 'q')
			return;
	}
	if (k != KEY_RESIZE && k != ERR)
		v->status[0] = '\0';
	switch (k) {
	case 'q': case 'Q': case 3:
		v->quit = 1;
		return;
	case KEY_UP: case 'k':
		if (v->sel)
			select_row(v, v->sel - 1);
		return;
	case KEY_DOWN: case 'j':
		select_row(v, v->sel + 1);
		return;
	case KEY_PPAGE:
		select_row(v, v->sel > (size_t)page ? v->sel - (size_t)page :
		    0);
		return;
	case KEY_NPAGE:
		select_row(v, v->sel + (size_t)page);
		return;
	case KEY_HOME: case 'g':
		select_row(v, 0);
		return;
	case KEY_END: case 'G':
		select_row(v, v->m.nview ? v->m.nview - 1 : 0);
		return;
	case '\n': case '\r': case KEY_ENTER:
		v->detail = !v->detail;
		v->next_detail = 0;
		return;
	case '?':
		v->help = 1;
		return;
	case 'o':
		tui_model_next_sort(&v->m);
		follow_selection(v);
		set_status(v, 0, "sorted by %s", tui_sort_name(v->m.sort));
		return;
	case '/': {
		char f[sizeof(v->m.filter)];

		snprintf(f, sizeof(f), "%s", v->m.filter);
		prompt(v, "filter: ", f, sizeof(f), 1);
		follow_selection(v);
		return;
	}
	case KEY_RESIZE:
		return;
	}
	if (!row)
		return;
	switch (k) {
	case 'f':
		action_fork(v, row);
		break;
	case 's':
		action_snapshot(v, row);
		break;
	case 'h': case 'r': case 'x':
		action_simple(v, row, k);
		break;
	case 'd':
		action_delete(v, row);
		break;
	case 'e': {
		char id[SBX_SANDBOX_ID_SIZE];

		snprintf(id, sizeof(id), "%s", row->sb.id);
		action_shell(v, id);
		break;
	}
	}
}

int
tui_view_run(const struct tui_view_cfg *cfg, struct sbx_err *e)
{
	struct view v;
	SCREEN *scr;
	const char *cs;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return sbx_err_set(e, SBX_EUSAGE, "'sbx top' needs a terminal "
		    "(use --once for plain text)");
	setlocale(LC_ALL, "");
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		const char *t = getenv("TERM");

		return sbx_err_set(e, SBX_EUSAGE, "cannot use terminal type "
		    "'%s'", t ? t : "");
	}
	set_term(scr);
	memset(&v, 0, sizeof(v));
	v.cfg = cfg;
	tui_model_init(&v.m);
	tui_detail_init(&v.d);
	cs = nl_langinfo(CODESET);
	v.m.utf8 = cs && !strcmp(cs, "UTF-8");
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	colors_init(&v);
	while (!v.quit) {
		struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
		uint64_t now;
		int k, wait;

		tick(&v, 0);
		draw(&v);
		now = sbx_clock_ms();
		wait = v.next_refresh > now ? (int)(v.next_refresh - now) : 0;
		if (v.detail && v.next_detail > now &&
		    (int)(v.next_detail - now) < wait)
			wait = (int)(v.next_detail - now);
		/* A resize interrupts poll; getch then sees KEY_RESIZE. */
		if (poll(&p, 1, wait) < 0 && errno != EINTR)
			break;
		while (!v.quit && (k = getch()) != ERR)
			handle_key(&v, k);
	}
	endwin();
	delscreen(scr);
	tui_detail_release(&v.d);
	tui_model_release(&v.m);
	return 0;
}
