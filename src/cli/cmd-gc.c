/*
 * cmd-gc.c - `sbx gc [--dry-run] [--json]`: remove objects that no ref,
 * sandbox or reachable manifest refers to (src/store/gc.h).
 */
#include <stdio.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "core/parse.h"
#include "store/gc.h"
#include "store/store.h"
#include "core/banned.h"

static int opt_dry_run;

static const struct sbx_option gc_options[] = {
	{ 'n', "dry-run", SBX_OPT_BOOL, &opt_dry_run, NULL,
	  "list what would be removed, remove nothing", 0, 0 },
	SBX_OPT_END_MARK,
};

struct gc_out {
	struct sbx_ctx *ctx;
	json_t *removed;	/* --json: array of entries */
};

/* Reports one removed (or removable) entry. */
static void
gc_report(enum sbx_gc_kind kind, const char *name, uint64_t size, void *arg)
{
	struct gc_out *out = arg;
	char sz[32];

	if (out->removed) {
		json_array_append_new(out->removed, json_pack("{s:s,s:s,s:I}",
		    "kind", kind == SBX_GC_OBJECT ? "object" : "tmp",
		    "name", name, "size", (json_int_t)size));
		return;
	}
	if (!opt_dry_run && !out->ctx->verbose)
		return;
	sbx_format_size(size, sz, sizeof(sz));
	printf("%s %s%s (%s)\n", opt_dry_run ? "would remove" : "removed",
	    kind == SBX_GC_OBJECT ? "object " : "tmp/", name, sz);
}

static int
gc_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct gc_out out = { ctx, NULL };
	struct sbx_err e;
	char freed[32], kept[32];
	int r;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	if ((r = sbx_local_only(ctx, "gc", "run it where 'sbx serve' runs, "
	    "without --remote or SBX_REMOTE")) != 0)
		return r;
	sbx_err_clear(&e);
	sbx_gc_opts_init(&o);
	o.dry_run = opt_dry_run;
	o.report = gc_report;
	o.arg = &out;
	if (ctx->json)
		out.removed = json_array();
	r = sbx_gc(ctx->store, &o, &st, &e);
	if (r < 0) {
		json_decref(out.removed);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->json) {
		json_t *j = json_pack("{s:b,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		    "dry_run", opt_dry_run, "removed", out.removed,
		    "objects_removed", (json_int_t)st.objects_removed,
		    "bytes_freed", (json_int_t)st.bytes_removed,
		    "tmp_removed", (json_int_t)st.tmp_removed,
		    "tmp_bytes_freed", (json_int_t)st.tmp_bytes_removed,
		    "objects_kept", (json_int_t)st.objects_kept,
		    "bytes_kept", (json_int_t)st.bytes_kept,
		    "missing", (json_int_t)st.missing);

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
		return 0;
	}
	sbx_format_size(st.bytes_removed + st.tmp_bytes_removed, freed,
	    sizeof(freed));
	sbx_format_size(st.bytes_kept, kept, sizeof(kept));
	printf("%s %zu object%s and %zu temporary file%s, %s %s; "
	    "kept %zu object%s (%s)\n",
	    opt_dry_run ? "would remove" : "removed",
	    st.objects_removed, st.objects_removed == 1 ? "" : "s",
	    st.tmp_removed, st.tmp_removed == 1 ? "" : "s",
	    freed, opt_dry_run ? "would be freed" : "freed",
	    st.objects_kept, st.objects_kept == 1 ? "" : "s", kept);
	if (st.missing)
		sbx_info(ctx, "warning: %zu referenced object%s missing from "
		    "the store (rebuild the templates or snapshots that use "
		    "them)", st.missing,
		    st.missing == 1 ? " is" : "s are");
	return 0;
}

const struct sbx_cmd cmd_gc = {
	.name = "gc",
	.summary = "remove objects no ref, sandbox or snapshot uses",
	.usage = "[--dry-run] [--json]",
	.options = gc_options,
	.flags = SBX_CMD_NEEDS_STORE,
	.exec = gc_exec,
};
