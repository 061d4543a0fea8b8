/*
 * cmd-resize.c - `sbx resize [--vcpus N] [--memory SIZE] ID`: change a
 * sandbox's vCPUs and memory. The kvm backend applies them at the
 * sandbox's next clean boot (sbx start); the sandbox's record shows a
 * pending change until then (doc/sbx-resize.1 says why it is not live).
 */
#include <stdio.h>

#include <jansson.h>

#include "cli/sandbox.h"
#include "core/banned.h"

static long long opt_vcpus;
static uint64_t opt_memory;

static const struct sbx_option resize_options[] = {
	{ 0, "vcpus", SBX_OPT_INT, &opt_vcpus, "N", "virtual CPUs (1-64)",
	  1, 64 },
	{ 'm', "memory", SBX_OPT_SIZE, &opt_memory, "SIZE",
	  "guest memory, e.g. 1G (64M-256G)", 0, 0 },
	SBX_OPT_END_MARK,
};

static int
resize_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_sandbox sb;
	struct sbx_err e = { 0 };
	json_t *pending;

	if (argc != 1)
		return sbx_usage_error(ctx, "expects one sandbox");
	if (!opt_vcpus && !opt_memory)
		return sbx_usage_error(ctx, "give --vcpus, --memory or both");
	if (opt_memory && (opt_memory < (64ULL << 20) ||
	    opt_memory > (256ULL << 30)))
		return sbx_usage_error(ctx, "memory must be between 64M and "
		    "256G");
	if (!ctx->backend->resize) {
		sbx_backend_unsupported(ctx->backend, "resize", &e);
		return sbx_report_err(ctx, &e);
	}
	if (ctx->backend->resize(ctx->conn, argv[0], (unsigned)opt_vcpus,
	    opt_memory, &e) < 0)
		return sbx_report_err(ctx, &e);
	if (ctx->backend->get(ctx->conn, argv[0], &sb, &e) < 0) {
		sbx_sandbox_release(&sb);
		return sbx_report_err(ctx, &e);
	}
	pending = json_object_get(sb.extra, "resize");
	if (ctx->json) {
		cli_print_sandbox_json(&sb);
	} else if (json_is_object(pending)) {
		printf("%s: %lld vCPUs, %lld MiB at its next start "
		    "(now %u vCPUs, %llu MiB)\n", sb.id,
		    (long long)json_integer_value(json_object_get(pending,
		    "vcpus")), (long long)json_integer_value(json_object_get(
		    pending, "memory")) >> 20, sb.spec.vcpus,
		    (unsigned long long)(sb.spec.memory >> 20));
		if (!ctx->quiet)
			fprintf(stderr, "sbx: resize: '%s' is %s; the new size "
			    "applies when it boots again ('sbx stop %s && sbx "
			    "start %s')\n", sb.id,
			    sbx_sandbox_state_name(sb.state), sb.id, sb.id);
	} else {
		printf("%s: %u vCPUs, %llu MiB\n", sb.id, sb.spec.vcpus,
		    (unsigned long long)(sb.spec.memory >> 20));
	}
	sbx_sandbox_release(&sb);
	return 0;
}

const struct sbx_cmd cmd_resize = {
	.name = "resize",
	.summary = "change a sandbox's vCPUs and memory (from its next boot)",
	.usage = "[--vcpus N] [--memory SIZE] ID",
	.options = resize_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = resize_exec,
};
