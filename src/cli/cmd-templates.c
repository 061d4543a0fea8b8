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
#include "remote/remote.h"
#include "template/catalog.h"
#include "template/template.h"
#include "core/banned.h"

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

/* "ready 5m ago" from a built template's time, "-" when not built. */
static void
built_age(json_t *built, char *buf, size_t len)
{
	int64_t age;

	if (!json_is_object(built)) {
		snprintf(buf, len, "-");
		return;
	}
	age = (int64_t)time(NULL) - json_integer_value(json_object_get(built,
	    "time"));
	if (age < 0)
		age = 0;
	if (age < 120)
		snprintf(buf, len, "ready %llds ago", (long long)age);
	else if (age < 7200)
		snprintf(buf, len, "ready %lldm ago", (long long)(age / 60));
	else if (age < 172800)
		snprintf(buf, len, "ready %lldh ago", (long long)(age / 3600));
	else
		snprintf(buf, len, "ready %lldd ago", (long long)(age / 86400));
}

/* A row's SOURCE: the file, else where the template comes from. */
static const char *
source_of(json_t *o, char *buf, size_t len)
{
	const char *p = json_string_value(json_object_get(o, "path"));

	if (p)
		return p;
	snprintf(buf, len, "(%s)", json_string_value(json_object_get(o,
	    "origin")) ? json_string_value(json_object_get(o, "origin")) :
	    "?");
	return buf;
}

/*
 * Lists the templates reachable by name and those the store has built
 * (template/catalog.h): this host's, or with --remote the server's. When
 * some are built, a BUILT column says which have a ready snapshot and
 * since when.
 */
static int
templates_ls(struct sbx_ctx *ctx, int argc, char **argv)
{
	json_t *arr, *o;
	size_t i;
	int wname = 4, wdesc = 11, nbuilt = 0;
	char built[32], src[64], size[32];

	(void)argv;
	if (argc > 0)
		return sbx_usage_error(ctx, "unexpected argument '%s'",
		    argv[0]);
	if (ctx->remote) {
		struct sbx_err e;

		sbx_err_clear(&e);
		if (sbx_dispatch_backend(ctx, &e) < 0 ||
		    sbx_remote_templates(ctx->conn, NULL, &arr, &e) < 0)
			return sbx_report_err(ctx, &e);
	} else {
		arr = sbx_template_catalog(ctx->home);
	}
	if (ctx->json) {
		print_json(arr);
		json_decref(arr);
		return 0;
	}
	json_array_foreach(arr, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *desc = json_string_value(json_object_get(o,
		    "description"));

		if (!name || !desc)
			continue;
		if (json_is_false(json_object_get(o, "valid")) &&
		    json_is_string(json_object_get(o, "error")))
			fprintf(stderr, "sbx: warning: %s\n", json_string_value(
			    json_object_get(o, "error")));
		if ((int)strlen(name) > wname)
			wname = (int)strlen(name);
		if ((int)strlen(desc) > wdesc)
			wdesc = (int)strlen(desc);
		nbuilt += json_is_object(json_object_get(o, "built"));
	}
	if (wdesc > 64)
		wdesc = 64;
	if (nbuilt)
		printf("%-*s  %-*s  %-15s  %6s  %s\n", wname, "NAME", wdesc,
		    "DESCRIPTION", "BUILT", "SIZE", "SOURCE");
	else
		printf("%-*s  %-*s  %s\n", wname, "NAME", wdesc, "DESCRIPTION",
		    "SOURCE");
	json_array_foreach(arr, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *desc = json_is_false(json_object_get(o, "valid")) ?
		    "(invalid, see 'sbx templates validate')" :
		    json_string_value(json_object_get(o, "description"));

		if (!name || !desc)
			continue;
		built_age(json_object_get(o, "built"), built, sizeof(built));
		if (json_is_integer(json_object_get(json_object_get(o, "built"),
		    "bytes")))
			sbx_format_size((uint64_t)json_integer_value(
			    json_object_get(json_object_get(o, "built"),
			    "bytes")), size, (int)sizeof(size));
		else
			snprintf(size, sizeof(size), "-");
		if (nbuilt)
			printf("%-*s  %-*.*s  %-15s  %6s  %s\n", wname, name,
			    wdesc, wdesc, desc, built, size,
			    source_of(o, src, sizeof(src)));
		else
			printf("%-*s  %-*.*s  %s\n", wname, name, wdesc, wdesc,
			    desc, source_of(o, src, sizeof(src)));
	}
	json_decref(arr);
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

static const char *
jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static uint64_t
jint(json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/*
 * The human view of `show`: what a build and a sandbox will get, from
 * sbx_template_json's object (this host's, or the server's).
 */
static void
show_text(json_t *o)
{
	json_t *from = json_object_get(o, "from"), *v;
	json_t *res = json_object_get(o, "resources");
	json_t *ready = json_object_get(o, "ready");
	const char *d = jstr(o, "description");
	char a[32], b[32], c[32];
	size_t i;

	printf("name:         %s\n", jstr(o, "name"));
	if (d)
		printf("description:  %.*s\n", (int)strcspn(d, "\n"), d);
	printf("source:       %s\n", source_of(o, a, sizeof(a)));
	printf("hash:         %s\n", jstr(o, "hash") ? jstr(o, "hash") : "?");
	if (jstr(from, "debian"))
		printf("from:         debian %s (%zu packages)\n",
		    jstr(from, "debian"),
		    json_array_size(json_object_get(from, "packages")));
	else if (jstr(from, "tar"))
		printf("from:         tar %s\n", jstr(from, "tar"));
	else if (jstr(from, "oci"))
		printf("from:         oci %s\n", jstr(from, "oci"));
	else if (jstr(from, "template")) {
		printf("from:         template %s", jstr(from, "template"));
		if (json_is_array(json_object_get(o, "parents"))) {
			printf(" (parents:");
			json_array_foreach(json_object_get(o, "parents"), i, v)
				printf("%s %s", i ? "," : "",
				    json_string_value(v));
			printf(")");
		}
		printf("\n");
	}
	printf("resources:    %llu vCPUs, %s memory, %s disk\n",
	    (unsigned long long)jint(res, "vcpus"),
	    fmt_size(jint(res, "memory"), a, sizeof(a)),
	    fmt_size(jint(res, "disk"), b, sizeof(b)));
	printf("idle timeout: %s\n", fmt_ms(jint(o, "idle_timeout_ms"), c,
	    sizeof(c)));
	printf("files:        %zu\nrun steps:    %zu\n",
	    json_array_size(json_object_get(o, "files")),
	    json_array_size(json_object_get(o, "run")));
	if (jstr(o, "start"))
		printf("start:        %s\n", jstr(o, "start"));
	if (json_object_get(ready, "port"))
		printf("ready:        port %llu\n",
		    (unsigned long long)jint(ready, "port"));
	else if (jstr(ready, "file"))
		printf("ready:        file %s\n", jstr(ready, "file"));
	else if (jstr(ready, "command"))
		printf("ready:        command %s\n", jstr(ready, "command"));
	else if (json_object_get(ready, "delay_ms"))
		printf("ready:        after %s\n",
		    fmt_ms(jint(ready, "delay_ms"), a, sizeof(a)));
	if (json_array_size(json_object_get(o, "ports"))) {
		printf("ports:       ");
		json_array_foreach(json_object_get(o, "ports"), i, v)
			printf(" %lld", (long long)json_integer_value(v));
		printf("\n");
	}
	if (jstr(o, "kernel"))
		printf("kernel:       %s\n", jstr(o, "kernel"));
}

/* `show` of a template the server knows (GET /v1/templates/NAME). */
static int
show_remote(struct sbx_ctx *ctx, const char *name)
{
	struct sbx_err e;
	json_t *o;

	sbx_err_clear(&e);
	if (sbx_dispatch_backend(ctx, &e) < 0 ||
	    sbx_remote_templates(ctx->conn, name, &o, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->json)
		print_json(o);
	else
		show_text(o);
	json_decref(o);
	return 0;
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
		return show_remote(ctx, argv[0]);
	sbx_err_clear(&e);
	if (load_checked(ctx, argv[0], &t, &chain, &nchain, &e) < 0) {
		print_template_err(&e);
		return 1;
	}
	o = sbx_template_json(t);
	if (!o) {
		sbx_template_chain_free(chain, nchain);
		sbx_template_free(t);
		sbx_err_set(&e, SBX_EINVAL, "template '%s' cannot be shown "
		    "(a value is not UTF-8)", argv[0]);
		return sbx_report_err(ctx, &e);
	}
	json_object_set_new(o, "parents", chain_names(chain, nchain));
	if (ctx->json)
		print_json(o);
	else
		show_text(o);
	json_decref(o);
	sbx_template_chain_free(chain, nchain);
	sbx_template_free(t);
	return 0;
}

static const struct sbx_cmd templates_ls_cmd = {
	.name = "ls",
	.alias = "list",
	.summary = "list the templates names can refer to (here or on --remote)",
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
