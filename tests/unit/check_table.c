/* check_table.c - table layout, shrinking, UTF-8 truncation, width. */
#include <fcntl.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "unit.h"
#include "core/buf.h"
#include "core/table.h"
#include "core/utf8.h"
#include "core/banned.h"

static struct sbx_table *
sample(void)
{
	struct sbx_table *t = sbx_table_new();

	sbx_table_column(t, "ID", 0);
	sbx_table_column(t, "COMMAND", SBX_TABLE_SHRINK);
	sbx_table_column(t, "MEM", SBX_TABLE_RIGHT);
	sbx_table_cell(t, "sb-aaaa");
	sbx_table_cell(t, "python3 -m http.server 8080");
	sbx_table_cell(t, "512M");
	sbx_table_cell(t, "sb-b");
	sbx_table_cell(t, "sleep infinity");
	sbx_table_cellf(t, "%dG", 2);
	return t;
}

static void
render_eq(const struct sbx_table *t, size_t width, const char *want)
{
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_table_render(t, width, &b);
	ck_assert_msg(!strcmp(b.buf, want), "width %zu:\n%s\nwant:\n%s",
	    width, b.buf, want);
	sbx_buf_release(&b);
}

START_TEST(test_layout)
{
	struct sbx_table *t = sample();

	ck_assert_uint_eq(sbx_table_rows(t), 2);
	render_eq(t, 0,
	    "ID       COMMAND                       MEM\n"
	    "sb-aaaa  python3 -m http.server 8080  512M\n"
	    "sb-b     sleep infinity                 2G\n");
	/* Wide enough: unchanged. */
	render_eq(t, 42,
	    "ID       COMMAND                       MEM\n"
	    "sb-aaaa  python3 -m http.server 8080  512M\n"
	    "sb-b     sleep infinity                 2G\n");
	sbx_table_hide_header(t);
	render_eq(t, 0,
	    "sb-aaaa  python3 -m http.server 8080  512M\n"
	    "sb-b     sleep infinity                 2G\n");
	sbx_table_free(t);
}
END_TEST

START_TEST(test_shrink)
{
	struct sbx_table *t = sample();

	render_eq(t, 41,
	    "ID       COMMAND                      MEM\n"
	    "sb-aaaa  python3 -m http.server 80\xe2\x80\xa6  512M\n"
	    "sb-b     sleep infinity                2G\n");
	render_eq(t, 30,
	    "ID       COMMAND           MEM\n"
	    "sb-aaaa  python3 -m htt\xe2\x80\xa6  512M\n"
	    "sb-b     sleep infinity     2G\n");
	/* Never below the header width: the line stays long. */
	render_eq(t, 10,
	    "ID       COMMAND   MEM\n"
	    "sb-aaaa  python\xe2\x80\xa6  512M\n"
	    "sb-b     sleep \xe2\x80\xa6    2G\n");
	sbx_table_free(t);
}
END_TEST

/* The widest shrinkable column gives way first. */
START_TEST(test_shrink_two)
{
	struct sbx_table *t = sbx_table_new();

	sbx_table_column(t, "A", SBX_TABLE_SHRINK);
	sbx_table_column(t, "B", SBX_TABLE_SHRINK);
	sbx_table_cell(t, "aaaaaaaaaa");
	sbx_table_cell(t, "bbbbbbbbbbbbbbbbbbbb");
	render_eq(t, 22,
	    "A           B\n"
	    "aaaaaaaaaa  bbbbbbbbb\xe2\x80\xa6\n");
	render_eq(t, 12,
	    "A      B\n"
	    "aaaa\xe2\x80\xa6  bbbb\xe2\x80\xa6\n");
	sbx_table_free(t);
}
END_TEST

START_TEST(test_utf8_cells)
{
	struct sbx_table *t = sbx_table_new();

	sbx_table_column(t, "NAME", SBX_TABLE_SHRINK);
	sbx_table_column(t, "X", 0);
	sbx_table_cell(t, "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	sbx_table_cell(t, "1");
	/* "café-日本語" is 5 + 3*2 = 11 columns. */
	render_eq(t, 0,
	    "NAME         X\n"
	    "caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e  1\n");
	/* Cut to 8 columns: "café-日" (7) + "…" (1). */
	render_eq(t, 11,
	    "NAME      X\n"
	    "caf\xc3\xa9-\xe6\x97\xa5\xe2\x80\xa6  1\n");
	/* 7 columns: a wide char never gets split, padding fills. */
	render_eq(t, 10,
	    "NAME     X\n"
	    "caf\xc3\xa9-\xe2\x80\xa6   1\n");
	sbx_table_free(t);
}
END_TEST

START_TEST(test_sanitize)
{
	struct sbx_table *t = sbx_table_new();

	sbx_table_column(t, "N\tAME", 0);
	sbx_table_cell(t, "evil\x1b[2Jname\n\xff");
	sbx_table_cell(t, NULL);
	render_eq(t, 0,
	    "N?AME\n"
	    "evil?[2Jname?\xef\xbf\xbd\n"
	    "\n");
	sbx_table_free(t);
}
END_TEST

START_TEST(test_incomplete_and_empty)
{
	struct sbx_table *t = sbx_table_new();
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_table_render(t, 80, &b);
	ck_assert_str_eq(b.buf, "");
	sbx_table_column(t, "A", 0);
	sbx_table_column(t, "B", SBX_TABLE_RIGHT);
	sbx_table_column(t, "C", 0);
	render_eq(t, 80, "A  B  C\n");
	sbx_table_cell(t, "x");
	ck_assert_uint_eq(sbx_table_rows(t), 1);
	render_eq(t, 80, "A  B  C\nx\n");
	sbx_table_free(t);
	sbx_buf_release(&b);
	sbx_table_free(NULL);
}
END_TEST

START_TEST(test_print)
{
	struct sbx_table *t = sample();
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_int_eq(sbx_table_print(t, f, 0, NULL), 0);
	fclose(f);
	ck_assert_str_eq(text,
	    "ID       COMMAND                       MEM\n"
	    "sb-aaaa  python3 -m http.server 8080  512M\n"
	    "sb-b     sleep infinity                 2G\n");
	free(text);
	sbx_table_free(t);
}
END_TEST

START_TEST(test_term_width)
{
	struct winsize ws = { 0 };
	int p[2], master, slave;

	ck_assert_int_eq(pipe(p), 0);
	setenv("COLUMNS", "33", 1);
	ck_assert_uint_eq(sbx_term_width(p[1]), 0);	/* not a TTY */
	ck_assert_int_eq(openpty(&master, &slave, NULL, NULL, NULL), 0);
	ws.ws_col = 0;
	ioctl(slave, TIOCSWINSZ, &ws);
	ck_assert_uint_eq(sbx_term_width(slave), 33);	/* $COLUMNS */
	setenv("COLUMNS", "junk", 1);
	ck_assert_uint_eq(sbx_term_width(slave), 80);
	unsetenv("COLUMNS");
	ck_assert_uint_eq(sbx_term_width(slave), 80);
	ws.ws_col = 132;
	ws.ws_row = 40;
	ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &ws), 0);
	setenv("COLUMNS", "33", 1);
	ck_assert_uint_eq(sbx_term_width(slave), 132);	/* TIOCGWINSZ wins */
	close(master);
	close(slave);
	close(p[0]);
	close(p[1]);
}
END_TEST

Suite *suite_table(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_shrink);
	tcase_add_test(tc, test_shrink_two);
	tcase_add_test(tc, test_utf8_cells);
	tcase_add_test(tc, test_sanitize);
	tcase_add_test(tc, test_incomplete_and_empty);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_term_width);
	suite_add_tcase(s, tc);
	return s;
}
