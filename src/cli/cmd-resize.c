/*
 * cmd-resize.c - `sbx resize [--vcpus N] [--memory SIZE] ID`: change a
 * sandbox's vCPUs and memory. Memory up to what a running sandbox booted
 * with changes live (the kvm backend's balloon); the command then waits
 * a little for the guest to follow and says what it has. The rest applies
 * at the sandbox's next clean boot, which the record shows as a pending
 * change until then (doc/sbx-resize.1).
 */
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "cli/sandbox.h"
#include "core/clock.h"
#include "core/banned.h"

#define WAIT_MS 10000		/* longest wait for the guest to follow */
#define STALL_MS 2000		/* no progress for this long: stop waiting */
#define POLL_MS 250

static long long opt_vcpus;
static uint64_t opt_memory;

static const struct sbx_option resize_options[] = {
	{ 0, "vcpus", SBX_OPT_INT, &opt_vcpus, "N", "virtual CPUs (1-64)",
	  1, 64 },
	{ 'm', "memory", SBX_OPT_SIZE, &opt_memory, "SIZE",
	  "guest memory, e.g. 1G (64M-256G)", 0, 0 },
	SBX_OPT_END_MARK,
};

/* The guest's usable memory per its balloon, or -1 when unknown. */
static long long
balloon_actual(struct sbx_ctx *ctx, const char *id)
{
	struct sbx_err e = { 0 };
	json_t *st = NULL, *a;
	long long v = -1;

	if (!ctx->backend->stats ||
	    ctx->backend->stats(ctx->conn, id, &st, &e) < 0)
		return -1;
	a = json_object_get(json_object_get(st, "balloon"), "actual");
	if (json_is_integer(a))
		v = json_integer_value(a);
	json_decref(st);
	return v;
}

/*
 * Waits until the guest has `target` bytes, stops making progress or
 * WAIT_MS pass; returns what it has then (-1: unknown).
 */
static long long
wait_guest(struct sbx_ctx *ctx, const char *id, uint64_t target)
{
	uint64_t t0 = sbx_clock_ms(), moved = t0;
	long long last = balloon_actual(ctx, id), now;
	struct timespec ts = { 0, POLL_MS * 1000000L };

	while (last >= 0 && (uint64_t)last != target &&
	    sbx_clock_ms() - t0 < WAIT_MS && sbx_clock_ms() - moved < STALL_MS) {
		nanosleep(&ts, NULL);
		now = balloon_actual(ctx, id);
		if (now != last)
			moved = sbx_clock_ms();
		last = now;
	}
	return last;
}

/* Prints what waits for the next boot. */
static void
print_pending(struct sbx_ctx *ctx, const struct sbx_sandbox *sb,
    json_t *pending)
{
	json_int_t v = json_integer_value(json_object_get(pending, "vcpus"));
	json_int_t m = json_integer_value(json_object_get(pending, "memory"));
	const char *note = json_string_value(json_object_get(pending, "note"));

	if (v > 0)
		printf("%s: %lld vCPUs at its next start (now %u)\n", sb->id,
		    (long long)v, sb->spec.vcpus);
	if (m > 0)
		printf("%s: %lld MiB at its next start (booted with %llu "
		    "MiB)\n", sb->id, (long long)m >> 20,
		    (unsigned long long)(sb->spec.memory >> 20));
	if (ctx->quiet)
		return;
	if (note)
		fprintf(stderr, "sbx: resize: memory cannot change live: %s\n",
		    note);
	fprintf(stderr, "sbx: resize: '%s' is %s; %s applies when it boots "
	    "again ('sbx stop %s && sbx start %s')\n", sb->id,
	    sbx_sandbox_state_name(sb->state), v > 0 && m > 0 ? "the new "
	    "size" : v > 0 ? "the vCPU count" : "that memory size", sb->id,
	    sb->id);
}

static int
resize_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_sandbox sb;
	struct sbx_err e = { 0 };
	json_t *pending, *tj;
	uint64_t target;
	long long have;
	int live;

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
	if (ctx->json) {
		cli_print_sandbox_json(&sb);
		sbx_sandbox_release(&sb);
		return 0;
	}
	pending = json_object_get(sb.extra, "resize");
	tj = json_object_get(sb.extra, "memory_target");
	target = json_is_integer(tj) ? (uint64_t)json_integer_value(tj) :
	    sb.spec.memory;
	/*
	 * Live: running, and the memory asked for is not left pending (more
	 * than it booted with always is: then its balloon is only emptied).
	 */
	live = opt_memory && (sb.state == SBX_SB_RUNNING ||
	    sb.state == SBX_SB_PAUSED) &&
	    json_integer_value(json_object_get(pending, "memory")) !=
	    (json_int_t)opt_memory;
	if (live) {
		have = sb.state == SBX_SB_RUNNING ?
		    wait_guest(ctx, sb.id, target) : -1;
		printf("%s: memory %llu MiB, live (booted with %llu MiB)",
		    sb.id, (unsigned long long)(target >> 20),
		    (unsigned long long)(sb.spec.memory >> 20));
		if (have >= 0)
			printf("; the guest has %lld MiB", have >> 20);
		printf("\n");
		if (have >= 0 && (uint64_t)have > target && !ctx->quiet)
			fprintf(stderr, "sbx: resize: the guest has not given "
			    "back all it was asked for yet (%lld MiB to go); "
			    "it keeps trying as memory frees up\n",
			    (long long)(((uint64_t)have - target) >> 20));
		if (sb.state == SBX_SB_PAUSED && !ctx->quiet)
			fprintf(stderr, "sbx: resize: '%s' is paused; its "
			    "guest follows once it runs again\n", sb.id);
	}
	if (json_is_object(pending))
		print_pending(ctx, &sb, pending);
	else if (!live)
		printf("%s: %u vCPUs, %llu MiB\n", sb.id, sb.spec.vcpus,
		    (unsigned long long)(sb.spec.memory >> 20));
	sbx_sandbox_release(&sb);
	return 0;
}

const struct sbx_cmd cmd_resize = {
	.name = "resize",
	.summary = "change a sandbox's memory (live up to its boot size) "
	    "and vCPUs (from its next boot)",
	.usage = "[--vcpus N] [--memory SIZE] ID",
	.options = resize_options,
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = resize_exec,
};
