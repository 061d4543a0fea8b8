/*
 * cmd-templates.c - `sbx templates`: list the templates a name can reach
 * and check template files.
 *
 *   sbx templates ls [--json]
 *   sbx templates validate [--json] FILE|NAME...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "template/template.h"
#include "core/banned.h"

/* Loads one entry of the listing (a file, or a builtin). */
static int
load_entry(const struct sbx_template_entry *en, struct sbx_template **t,
    struct sbx_err *e)
{
	const char *text;
	char *path;
	size_t len;
	int rc;

	if (en->path)
		return sbx_template_load(en->path, t, e);
	text = sbx_template_builtin(en->name, &len);
	path = xasprintf("<builtin>/%s.yaml", en->name);
	rc = sbx_template_parse(text, len, path, "", t, e);
	free(path);
	return rc;
}

/* The first line of a description (descriptions may be block scalars). */
static char *
first_line(const char *s)
{
	return s ? xstrndup(s, strcspn(s, "\n")) : xstrdup("");
}

static void
print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
}

struct ls_row {
	const char *name;
	char *desc;
	const char *source;
};

/*
 * Lists the templates reachable by name (sbx_template_list). Built
 * templates in the store (refs/templates/) are not part of this listing
 * yet: when the store has them, add them here as a second source, with a
 * column saying whether a ready snapshot exists.
 */
static int
templates_ls(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_template_entry *ents;
	struct ls_row *rows;
	json_t *arr = NULL;
	size_t n, i;
	int wname = 4, wdesc = 11;

	(void)argv;
	if (argc > 0)
		return sbx_usage_error(ctx, "unexpected argument '%s'",
		    argv[0]);
	sbx_template_list(ctx->home, &ents, &n);
	rows = xcalloc(n ? n : 1, sizeof(*rows));
	if (ctx->json)
		arr = json_array();
	for (i = 0; i < n; i++) {
		struct sbx_template *t = NULL;
		struct sbx_err e;
		json_t *o;

		sbx_err_clear(&e);
		rows[i].name = ents[i].name;
		rows[i].source = ents[i].path ? ents[i].path : "(builtin)";
		if (load_entry(&ents[i], &t, &e) < 0) {
			rows[i].desc = xstrdup("(invalid, see "
			    "'sbx templates validate')");
			if (!ctx->json)
				fprintf(stderr, "sbx: warning: %s\n", e.msg);
		} else {
			rows[i].desc = first_line(t->description);
		}
		if (arr) {
			o = json_pack("{s:s, s:s, s:s, s:s?, s:b}",
			    "name", ents[i].name,
			    "description", t ? rows[i].desc : "",
			    "origin", sbx_template_origin_name(ents[i].origin),
			    "path", ents[i].path,
			    "valid", t != NULL);
			if (!t)
				json_object_set_new(o, "error",
				    json_string(e.msg));
			json_array_append_new(arr, o);
		}
		if ((int)strlen(rows[i].name) > wname)
			wname = (int)strlen(rows[i].name);
		if ((int)strlen(rows[i].desc) > wdesc)
			wdesc = (int)strlen(rows[i].desc);
		sbx_template_free(t);
	}
	if (arr) {
		print_json(arr);
		json_decref(arr);
	} else {
		if (wdesc > 64)
			wdesc = 64;
		printf("%-*s  %-*s  %s\n", wname, "NAME", wdesc,
		    "DESCRIPTION", "SOURCE");
		for (i = 0; i < n; i++)
			printf("%-*s  %-*.*s  %s\n", wname, rows[i].name,
			    wdesc, wdesc, rows[i].desc, rows[i].source);
	}
	for (i = 0; i < n; i++)
		free(rows[i].desc);
	free(rows);
	sbx_template_entries_free(ents, n);
	return 0;
}

static int
templates_validate(struct sbx_ctx *ctx, int argc, char **argv)
{
	json_t *arr = NULL;
	int i, bad = 0;

	if (argc < 1)
		return sbx_usage_error(ctx, "no template file given");
	if (ctx->json)
		arr = json_array();
	for (i = 0; i < argc; i++) {
		char hex[SBX_TEMPLATE_HASH_HEX];
		unsigned char hash[SBX_TEMPLATE_HASH_LEN];
		struct sbx_template *t, **chain;
		struct sbx_err e;
		size_t nchain;

		sbx_err_clear(&e);
		if (sbx_template_open(argv[i], ctx->home, &t, NULL, &e) < 0) {
			bad = 1;
			if (arr) {
				json_array_append_new(arr, json_pack(
				    "{s:s, s:b, s:s}", "file", argv[i],
				    "ok", 0, "error", e.msg));
				continue;
			}
			/* FILE:LINE:COL first, so editors can jump to it. */
			fprintf(stderr, "%s%s\n", e.code == SBX_ENOENT ||
			    e.code == SBX_EUSAGE ? "sbx: " : "", e.msg);
			if (e.hint[0])
				fprintf(stderr, "hint: %s\n", e.hint);
			continue;
		}
		/* A template is only usable when its parents are. */
		if (sbx_template_parents(t, ctx->home, &chain, &nchain,
		    &e) < 0) {
			sbx_template_free(t);
			bad = 1;
			if (arr) {
				json_array_append_new(arr, json_pack(
				    "{s:s, s:b, s:s}", "file", argv[i],
				    "ok", 0, "error", e.msg));
				continue;
			}
			fprintf(stderr, "%s\n", e.msg);
			if (e.hint[0])
				fprintf(stderr, "hint: %s\n", e.hint);
			continue;
		}
		sbx_template_hash(t, hash, hex);
		if (arr) {
			json_t *parents = json_array();
			size_t j;

			for (j = 0; j < nchain; j++)
				json_array_append_new(parents,
				    json_string(chain[j]->name));
			json_array_append_new(arr, json_pack(
			    "{s:s, s:b, s:n, s:s, s:s, s:o}", "file", argv[i],
			    "ok", 1, "error", "name", t->name, "hash", hex,
			    "parents", parents));
		} else {
			printf("%s: ok\n", argv[i]);
		}
		sbx_template_chain_free(chain, nchain);
		sbx_template_free(t);
	}
	if (arr) {
		print_json(arr);
		json_decref(arr);
	}
	return bad ? 1 : 0;
}

static const struct sbx_cmd templates_ls_cmd = {
	.name = "ls",
	.alias = "list",
	.summary = "list the templates names can refer to",
	.usage = "[--json]",
	.exec = templates_ls,
};

static const struct sbx_cmd templates_validate_cmd = {
	.name = "validate",
	.summary = "check template files and report every problem's location",
	.usage = "[--json] FILE|NAME...",
	.exec = templates_validate,
};

static const struct sbx_cmd *const templates_subcmds[] = {
	&templates_ls_cmd,
	&templates_validate_cmd,
	NULL,
};

extern const struct sbx_cmd cmd_templates;

static int
templates_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	return sbx_run_subcmd(ctx, &cmd_templates, argc, argv);
}

const struct sbx_cmd cmd_templates = {
	.name = "templates",
	.alias = "template",
	.summary = "list and check sandbox templates",
	.usage = "ls | validate FILE...",
	.flags = SBX_CMD_RAW_ARGS,
	.exec = templates_exec,
	.subcmds = templates_subcmds,
};
