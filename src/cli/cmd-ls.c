/*
 * cmd-ls.c - `sbx ls [--json] [-a] [--state STATE]` (alias `ps`): the
 * sandboxes, oldest first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/sandbox.h"
#include "core/parse.h"
#include "core/table.h"
#include "core/banned.h"

static const char *ls_state;
static int ls_quiet_ids;

static const struct sbx_option ls_options[] = {
	{ 0, "state", SBX_OPT_STRING, &ls_state, "STATE",
	  "only sandboxes in this state", 0, 0 },
	{ 0, "ids", SBX_OPT_BOOL, &ls_quiet_ids, NULL,
	  "print only the ids", 0, 0 },
	SBX_OPT_END_MARK,
};

static void
age(time_t t, char *buf, int len)
{
	time_t now = time(NULL);

	sbx_format_duration(now > t ? (uint64_t)(now - t) * 1000 : 0, buf,
	    len);
	/* Whole seconds are enough for an age. */
	if (strstr(buf, "ms"))
		snprintf(buf, (size_t)len, "0s");
}

static int
ls_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_sandbox *v = NULL;
	enum sbx_sandbox_state want = SBX_SB_RUNNING;
	struct sbx_err e;
	size_t n = 0, i;
	json_t *arr;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	sbx_err_clear(&e);
	if (ls_state && sbx_sandbox_state_parse(ls_state, &want, &e) < 0)
		return sbx_usage_error(ctx, "option '--state': %s", e.msg);
	if (ctx->backend->list(ctx->conn, &v, &n, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json) {
		arr = json_array();
		for (i = 0; i < n; i++)
			if (!ls_state || v[i].state == want)
				json_array_append_new(arr,
				    sbx_sandbox_to_json(&v[i]));
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else if (ls_quiet_ids) {
		for (i = 0; i < n; i++)
			if (!ls_state || v[i].state == want)
				printf("%s\n", v[i].id);
	} else {
		struct sbx_table *t = sbx_table_new();

		sbx_table_column(t, "ID", SBX_TABLE_LEFT);
		sbx_table_column(t, "NAME", SBX_TABLE_SHRINK);
		sbx_table_column(t, "STATE", SBX_TABLE_LEFT);
		sbx_table_column(t, "TEMPLATE", SBX_TABLE_SHRINK);
		sbx_table_column(t, "VCPUS", SBX_TABLE_RIGHT);
		sbx_table_column(t, "MEMORY", SBX_TABLE_RIGHT);
		sbx_table_column(t, "AGE", SBX_TABLE_RIGHT);
		sbx_table_column(t, "PARENT", SBX_TABLE_LEFT);
		for (i = 0; i < n; i++) {
			char mem[16], a[32];
			json_t *mt = json_object_get(v[i].extra,
			    "memory_target");

			if (ls_state && v[i].state != want)
				continue;
			/* A running sandbox's live size (sbx resize). */
			sbx_format_size(json_is_integer(mt) ?
			    (uint64_t)json_integer_value(mt) : v[i].spec.memory,
			    mem, sizeof(mem));
			age(v[i].created, a, sizeof(a));
			sbx_table_cell(t, v[i].id);
			sbx_table_cell(t, v[i].name ? v[i].name : "-");
			sbx_table_cell(t, sbx_sandbox_state_name(v[i].state));
			sbx_table_cell(t, v[i].template ? v[i].template : "-");
			sbx_table_cellf(t, "%u", v[i].spec.vcpus);
			sbx_table_cell(t, mem);
			sbx_table_cell(t, a);
			sbx_table_cell(t, v[i].parent[0] ? v[i].parent : "-");
		}
		sbx_table_print(t, stdout, sbx_term_width(1), &e);
		sbx_table_free(t);
	}
	for (i = 0; i < n; i++)
		sbx_sandbox_release(&v[i]);
	free(v);
	return 0;
}

const struct sbx_cmd cmd_ls = {
	.name = "ls",
	.alias = "ps",
	.summary = "list sandboxes",
	.usage = "[--json] [--ids] [--state STATE]",
	.options = ls_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = ls_exec,
};
