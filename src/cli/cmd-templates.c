/*
 * cmd-templates.c - `sbx templates`: list the templates a name can reach
 * and check template files.
 *
 *   sbx templates ls [--json]
 *   sbx templates show [--json] FILE|NAME|-
 *   sbx templates validate [--json] FILE|NAME|-...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/xmalloc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/store.h"
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
	char built[32];		/* "ready 5m ago", "-" */
	json_t *bj;		/* {"snapshot", "time"} or NULL */
	int owned;		/* name and source are ours to free */
};

/*
 * What `sbx build` left for template `name` in the store: its ready
 * snapshot and when it was made. The store is only read, and only if it
 * exists. Returns 1 when the template is built.
 */
static int
built_info(struct sbx_store *s, const char *name, struct ls_row *row)
{
	struct sbx_oid id;
	json_t *m = NULL;
	int64_t t, age;

	if (!s || sbx_ref_name_check("template name", name, NULL) < 0 ||
	    sbx_ref_read(s, "templates", name, &id, NULL) < 0 ||
	    sbx_manifest_load(s, &id, &m, NULL) < 0)
		return 0;
	t = json_integer_value(json_object_get(m, "time"));
	age = (int64_t)time(NULL) - t;
	if (age < 0)
		age = 0;
	if (age < 120)
		snprintf(row->built, sizeof(row->built), "ready %llds ago",
		    (long long)age);
	else if (age < 7200)
		snprintf(row->built, sizeof(row->built), "ready %lldm ago",
		    (long long)(age / 60));
	else if (age < 172800)
		snprintf(row->built, sizeof(row->built), "ready %lldh ago",
		    (long long)(age / 3600));
	else
		snprintf(row->built, sizeof(row->built), "ready %lldd ago",
		    (long long)(age / 86400));
	row->bj = json_pack("{s:O?, s:I}", "snapshot", json_object_get(m,
	    "snapshot"), "time", (json_int_t)t);
	json_decref(m);
	return 1;
}

/*
 * Lists the templates reachable by name (sbx_template_list). When the
 * store holds built templates (refs/templates/, sbx build), a BUILT
 * column says which have a ready snapshot and since when.
 */
/* The server's templates are in its API; these commands read this host's. */
#define TEMPLATES_HINT "the server's: GET /v1/templates[/NAME] (doc/api.md); " \
	"this machine's: leave out --remote"

static int
templates_ls(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_template_entry *ents;
	struct ls_row *rows;
	json_t *arr = NULL;
	struct sbx_store *store = NULL;
	size_t n, i, extra = 0;
	int wname = 4, wdesc = 11, nbuilt = 0;

	(void)argv;
	if (argc > 0)
		return sbx_usage_error(ctx, "unexpected argument '%s'",
		    argv[0]);
	if (ctx->remote)
		return sbx_local_only(ctx, "templates ls", TEMPLATES_HINT);
	sbx_template_list(ctx->home, &ents, &n);
	rows = xcalloc(n ? n : 1, sizeof(*rows));
	{
		char *fmt = xasprintf("%s/format", ctx->home);

		if (access(fmt, F_OK) == 0 &&
		    sbx_store_open(ctx->home, &store, NULL) < 0)
			store = NULL;
		free(fmt);
	}
	if (ctx->json)
		arr = json_array();
	for (i = 0; i < n; i++) {
		struct sbx_template *t = NULL;
		struct sbx_err e;
		json_t *o;

		sbx_err_clear(&e);
		rows[i].name = ents[i].name;
		rows[i].source = ents[i].path ? ents[i].path : "(builtin)";
		snprintf(rows[i].built, sizeof(rows[i].built), "-");
		nbuilt += built_info(store, ents[i].name, &rows[i]);
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
			json_object_set(o, "built", rows[i].bj ? rows[i].bj :
			    json_null());
			json_array_append_new(arr, o);
		}
		if ((int)strlen(rows[i].name) > wname)
			wname = (int)strlen(rows[i].name);
		if ((int)strlen(rows[i].desc) > wdesc)
			wdesc = (int)strlen(rows[i].desc);
		sbx_template_free(t);
	}
	/* Built templates no name reaches any more (built from a file). */
	if (store) {
		struct sbx_strvec built = SBX_STRVEC_INIT;
		size_t j, k;

		sbx_ref_list(store, "templates", &built, NULL);
		for (j = 0; j < built.nr; j++) {
			struct ls_row r;
			struct sbx_oid id;
			json_t *m = NULL;

			for (k = 0; k < n; k++)
				if (!strcmp(ents[k].name, built.v[j]))
					break;
			if (k < n || sbx_ref_read(store, "templates",
			    built.v[j], &id, NULL) < 0 ||
			    sbx_manifest_load(store, &id, &m, NULL) < 0)
				continue;
			memset(&r, 0, sizeof(r));
			if (!built_info(store, built.v[j], &r)) {
				json_decref(m);
				continue;
			}
			rows = xreallocarray(rows, n + extra + 1,
			    sizeof(*rows));
			r.name = xstrdup(built.v[j]);
			r.desc = first_line(json_string_value(json_object_get(m,
			    "description")));
			r.source = xstrdup(json_string_value(json_object_get(m,
			    "source")) ? json_string_value(json_object_get(m,
			    "source")) : "(store)");
			r.owned = 1;
			json_decref(m);
			if (arr)
				json_array_append_new(arr, json_pack(
				    "{s:s, s:s, s:s, s:s, s:b, s:O}", "name",
				    r.name, "description", r.desc, "origin",
				    "store", "path", r.source, "valid", 1,
				    "built", r.bj));
			if ((int)strlen(r.name) > wname)
				wname = (int)strlen(r.name);
			if ((int)strlen(r.desc) > wdesc)
				wdesc = (int)strlen(r.desc);
			rows[n + extra++] = r;
			nbuilt++;
		}
		sbx_strvec_clear(&built);
	}
	if (arr) {
		print_json(arr);
		json_decref(arr);
	} else {
		if (wdesc > 64)
			wdesc = 64;
		if (nbuilt)
			printf("%-*s  %-*s  %-15s  %s\n", wname, "NAME", wdesc,
			    "DESCRIPTION", "BUILT", "SOURCE");
		else
			printf("%-*s  %-*s  %s\n", wname, "NAME", wdesc,
			    "DESCRIPTION", "SOURCE");
		for (i = 0; i < n + extra; i++)
			if (nbuilt)
				printf("%-*s  %-*.*s  %-15s  %s\n", wname,
				    rows[i].name, wdesc, wdesc, rows[i].desc,
				    rows[i].built, rows[i].source);
			else
				printf("%-*s  %-*.*s  %s\n", wname,
				    rows[i].name, wdesc, wdesc, rows[i].desc,
				    rows[i].source);
	}
	for (i = 0; i < n + extra; i++) {
		free(rows[i].desc);
		json_decref(rows[i].bj);
		if (rows[i].owned) {
			free((char *)rows[i].name);
			free((char *)rows[i].source);
		}
	}
	sbx_store_close(store);
	free(rows);
	sbx_template_entries_free(ents, n);
	return 0;
}

/*
 * Loads a template named on the command line ("-" is stdin), with its
 * parents, and checks the host files it refers to. On success *t and
 * *chain are the caller's.
 */
static int
load_checked(struct sbx_ctx *ctx, const char *arg, struct sbx_template **t,
    struct sbx_template ***chain, size_t *nchain, struct sbx_err *e)
{
	size_t i;
	int rc;

	*chain = NULL;
	*nchain = 0;
	if (!strcmp(arg, "-")) {
		struct sbx_buf in = SBX_BUF_INIT;

		in.cap = SBX_TEMPLATE_MAX_SIZE;
		if (sbx_buf_read_fd(&in, 0, e) < 0) {
			sbx_buf_release(&in);
			if (e->code == SBX_EINVAL)
				return sbx_err_set(e, SBX_EINVAL, "<stdin>: "
				    "template larger than the 1 MiB limit");
			return e->code;
		}
		rc = sbx_template_parse(in.buf, in.len, "<stdin>", NULL, t,
		    e);
		sbx_buf_release(&in);
	} else {
		rc = sbx_template_open(arg, ctx->home, t, NULL, e);
	}
	if (rc < 0)
		return rc;
	/* A template is only usable when its parents and files are. */
	rc = sbx_template_parents(*t, ctx->home, chain, nchain, e);
	if (rc == 0)
		rc = sbx_template_check_paths(*t, e);
	for (i = 0; rc == 0 && i < *nchain; i++)
		rc = sbx_template_check_paths((*chain)[i], e);
	if (rc < 0) {
		sbx_template_chain_free(*chain, *nchain);
		sbx_template_free(*t);
		*t = NULL;
		*chain = NULL;
		*nchain = 0;
	}
	return rc;
}

/* Prints a template error: FILE:LINE:COL first, so editors can jump. */
static void
print_template_err(const struct sbx_err *e)
{
	fprintf(stderr, "%s%s\n", e->code == SBX_ENOENT &&
	    !strchr(e->msg, ':') ? "sbx: " : "", e->msg);
	if (e->hint[0])
		fprintf(stderr, "hint: %s\n", e->hint);
}

static json_t *
chain_names(struct sbx_template **chain, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(chain[i]->name));
	return a;
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
		if (load_checked(ctx, argv[i], &t, &chain, &nchain, &e) < 0) {
			bad = 1;
			if (arr)
				json_array_append_new(arr, json_pack(
				    "{s:s, s:b, s:s}", "file", argv[i],
				    "ok", 0, "error", e.msg));
			else
				print_template_err(&e);
			continue;
		}
		sbx_template_hash(t, hash, hex);
		if (arr)
			json_array_append_new(arr, json_pack(
			    "{s:s, s:b, s:n, s:s, s:s, s:o}", "file", argv[i],
			    "ok", 1, "error", "name", t->name, "hash", hex,
			    "parents", chain_names(chain, nchain)));
		else
			printf("%s: ok\n", argv[i]);
		sbx_template_chain_free(chain, nchain);
		sbx_template_free(t);
	}
	if (arr) {
		print_json(arr);
		json_decref(arr);
	}
	return bad ? 1 : 0;
}

/* "1G", "30s" style formatting for `show`. */
static const char *
fmt_size(uint64_t v, char *buf, int len)
{
	sbx_format_size(v, buf, len);
	return buf;
}

static const char *
fmt_ms(uint64_t v, char *buf, int len)
{
	if (v == 0)
		snprintf(buf, (size_t)len, "never");
	else
		sbx_format_duration(v, buf, len);
	return buf;
}

/* The human view of `show`: what a build and a sandbox will get. */
static void
show_text(const struct sbx_template *t, struct sbx_template **chain,
    size_t nchain)
{
	unsigned char hash[SBX_TEMPLATE_HASH_LEN];
	char hex[SBX_TEMPLATE_HASH_HEX], a[32], b[32], c[32];
	size_t i;

	sbx_template_hash(t, hash, hex);
	printf("name:         %s\n", t->name);
	if (t->description)
		printf("description:  %.*s\n",
		    (int)strcspn(t->description, "\n"), t->description);
	printf("source:       %s\n", t->path);
	printf("hash:         %s\n", hex);
	switch (t->from.kind) {
	case SBX_FROM_DEBIAN:
		printf("from:         debian %s (%zu packages)\n",
		    t->from.suite, t->from.packages.nr);
		break;
	case SBX_FROM_TAR:
		printf("from:         tar %s\n", t->from.path);
		break;
	case SBX_FROM_OCI:
		printf("from:         oci %s\n", t->from.path);
		break;
	case SBX_FROM_TEMPLATE:
		printf("from:         template %s (parents:",
		    t->from.template);
		for (i = 0; i < nchain; i++)
			printf("%s %s", i ? "," : "", chain[i]->name);
		printf(")\n");
		break;
	}
	printf("resources:    %u vCPUs, %s memory, %s disk\n",
	    t->resources.vcpus, fmt_size(t->resources.memory, a, sizeof(a)),
	    fmt_size(t->resources.disk, b, sizeof(b)));
	printf("idle timeout: %s\n", fmt_ms(t->idle_timeout_ms, c, sizeof(c)));
	printf("files:        %zu\nrun steps:    %zu\n", t->nfiles, t->nrun);
	if (t->start)
		printf("start:        %s\n", t->start);
	switch (t->ready.kind) {
	case SBX_READY_NONE:
		break;
	case SBX_READY_PORT:
		printf("ready:        port %u\n", t->ready.port);
		break;
	case SBX_READY_FILE:
		printf("ready:        file %s\n", t->ready.file);
		break;
	case SBX_READY_COMMAND:
		printf("ready:        command %s\n", t->ready.command);
		break;
	case SBX_READY_DELAY:
		printf("ready:        after %s\n",
		    fmt_ms(t->ready.delay_ms, a, sizeof(a)));
		break;
	}
	if (t->nports) {
		printf("ports:       ");
		for (i = 0; i < t->nports; i++)
			printf(" %u", t->ports[i]);
		printf("\n");
	}
	if (t->kernel)
		printf("kernel:       %s\n", t->kernel);
}

static int
templates_show(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_template *t, **chain;
	struct sbx_err e;
	size_t nchain;
	json_t *o;

	if (argc != 1)
		return sbx_usage_error(ctx, argc ? "too many arguments" :
		    "no template given");
	if (ctx->remote)
		return sbx_local_only(ctx, "templates show", TEMPLATES_HINT);
	sbx_err_clear(&e);
	if (load_checked(ctx, argv[0], &t, &chain, &nchain, &e) < 0) {
		print_template_err(&e);
		return 1;
	}
	if (ctx->json) {
		o = sbx_template_json(t);
		if (!o) {
			sbx_template_chain_free(chain, nchain);
			sbx_template_free(t);
			sbx_err_set(&e, SBX_EINVAL, "template '%s' cannot be "
			    "shown as JSON (a value is not UTF-8)", argv[0]);
			return sbx_report_err(ctx, &e);
		}
		json_object_set_new(o, "parents", chain_names(chain, nchain));
		print_json(o);
		json_decref(o);
	} else {
		show_text(t, chain, nchain);
	}
	sbx_template_chain_free(chain, nchain);
	sbx_template_free(t);
	return 0;
}

static const struct sbx_cmd templates_ls_cmd = {
	.name = "ls",
	.alias = "list",
	.summary = "list the templates names can refer to",
	.usage = "[--json]",
	.exec = templates_ls,
};

static const struct sbx_cmd templates_show_cmd = {
	.name = "show",
	.summary = "print a template as a build will see it",
	.usage = "[--json] FILE|NAME|-",
	.exec = templates_show,
};

static const struct sbx_cmd templates_validate_cmd = {
	.name = "validate",
	.summary = "check template files and report every problem's location",
	.usage = "[--json] FILE|NAME|-...",
	.exec = templates_validate,
};

static const struct sbx_cmd *const templates_subcmds[] = {
	&templates_ls_cmd,
	&templates_show_cmd,
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
	.summary = "list, show and check sandbox templates",
	.usage = "ls | show TEMPLATE | validate TEMPLATE...",
	.flags = SBX_CMD_RAW_ARGS,
	.exec = templates_exec,
	.subcmds = templates_subcmds,
};
