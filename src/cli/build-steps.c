/*
 * build-steps.c - the VM stage of `sbx build` (build-steps.h): boot the
 * template's image, run its `run` steps, launch `start`, wait for
 * `ready`, snapshot the ready VM and point refs/templates/<name> at it,
 * so `sbx create NAME` restores that snapshot instead of booting.
 *
 * A step's files land in the sandbox's writable layer, which lives in
 * guest memory, so the snapshot carries them. The result is cached by
 * the image and the template's canonical hash (build key): an unchanged
 * template is not built again.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "backend.h"
#include "cli/build-steps.h"
#include "cli/cmd.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/progress.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/registry.h"
#include "store/store.h"
#include "template/template.h"
#include "core/banned.h"

#define TAIL_MAX 2048		/* bytes of a failed step's output quoted */

void
sbx_build_event(struct sbx_ctx *ctx, json_t *ev)
{
	if (ctx->json && ev) {
		char *line = json_dumps(ev, JSON_COMPACT);

		if (line) {
			printf("%s\n", line);
			fflush(stdout);
			free(line);
		}
	}
	json_decref(ev);
}
#define READY_POLL_MS 500

/*
 * Output of a step: copied to our stderr as it comes, the end kept. On a
 * terminal a meter under the output shows the step, the bytes it wrote
 * and how long it has run (redrawn while the step is silent).
 */
struct tee {
	int rfd;
	int quiet;
	struct sbx_progress *meter;	/* NULL: none */
	uint64_t bytes;
	char tail[TAIL_MAX];
	size_t len;
};

#define TICK_MS 250	/* how often a silent step's meter is redrawn */

static void *
tee_main(void *arg)
{
	struct tee *t = arg;
	char buf[4096];
	ssize_t n;

	for (;;) {
		if (t->meter) {
			struct pollfd pf = { .fd = t->rfd, .events = POLLIN };
			int r = poll(&pf, 1, TICK_MS);

			if (r == 0 || (r < 0 && errno == EINTR)) {
				sbx_progress_update(t->meter, t->bytes);
				continue;
			}
		}
		n = read(t->rfd, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		t->bytes += (uint64_t)n;
		if (t->meter) {
			sbx_progress_update(t->meter, t->bytes);
			sbx_progress_print(t->meter, buf, (size_t)n);
		} else if (!t->quiet &&
		    write(STDERR_FILENO, buf, (size_t)n) < 0) {
			/* stderr gone: keep collecting the tail */
		}
		if ((size_t)n >= TAIL_MAX) {
			memcpy(t->tail, buf + n - TAIL_MAX, TAIL_MAX);
			t->len = TAIL_MAX;
		} else {
			if (t->len + (size_t)n > TAIL_MAX) {
				size_t drop = t->len + (size_t)n - TAIL_MAX;

				memmove(t->tail, t->tail + drop, t->len - drop);
				t->len -= drop;
			}
			memcpy(t->tail + t->len, buf, (size_t)n);
			t->len += (size_t)n;
		}
	}
	return NULL;
}

/* The template's env plus a step's own. */
static void
step_env(const struct sbx_template *t, const struct sbx_template_step *s,
    struct sbx_strvec *env)
{
	size_t i;

	for (i = 0; i < t->env.nr; i++)
		sbx_strvec_push(env, t->env.v[i]);
	for (i = 0; s && i < s->env.nr; i++)
		sbx_strvec_push(env, s->env.v[i]);
}

/*
 * Runs `sh -c command` in sandbox `id`; its output goes to stderr (unless
 * quiet) and, on failure, the end of it into the error. `meter`: the
 * label of a progress meter drawn under the output on a terminal, or NULL.
 */
static int
run_shell(struct sbx_ctx *ctx, const char *id, const char *command,
    const struct sbx_strvec *env, const char *cwd, const char *user,
    int quiet, const char *meter, int *status, struct sbx_err *e)
{
	const char *argv[] = { "/bin/sh", "-c", command, NULL };
	struct sbx_exec_opts o;
	struct sbx_exec_result r;
	struct tee t;
	pthread_t th;
	int p[2], rc;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	memset(&t, 0, sizeof(t));
	if (pipe2(p, O_CLOEXEC) < 0)
		return sbx_err_sys(e, "cannot make a pipe");
	t.rfd = p[0];
	t.quiet = quiet;
	if (meter && !quiet && isatty(STDERR_FILENO))
		t.meter = sbx_progress_start(meter, 0, 0);
	if (pthread_create(&th, NULL, tee_main, &t) != 0) {
		close(p[0]);
		close(p[1]);
		sbx_progress_abort(t.meter);
		return sbx_err_set(e, SBX_EIO, "cannot start a thread");
	}
	o.argv = argv;
	o.env = env->nr ? (const char *const *)env->v : NULL;
	o.cwd = cwd;
	o.user = user;
	o.stdin_fd = -1;
	o.stdout_fd = p[1];
	o.stderr_fd = p[1];
	o.tty_resize_fd = -1;
	o.detach_byte = -1;
	rc = ctx->backend->exec(ctx->conn, id, &o, &r, e);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	sbx_progress_abort(t.meter);	/* the output stays, the meter goes */
	if (rc < 0)
		return rc;
	*status = r.signal ? 128 + r.signal : r.exit_code;
	if (*status && t.len) {
		/* From the first whole line of what is kept. */
		char *s = t.tail, *end = t.tail + t.len, *nl;

		if (t.len == TAIL_MAX && (nl = memchr(s, '\n', t.len)))
			s = nl + 1;
		sbx_err_set(e, SBX_EFAIL, "%.*s", (int)(end - s), s);
	}
	return 0;
}

/* The ready check, polled until it passes or its timeout. */
static int
wait_ready(struct sbx_ctx *ctx, const struct sbx_template *t, const char *id,
    struct sbx_err *e)
{
	struct sbx_strvec env = SBX_STRVEC_INIT;
	struct sbx_buf cmd = SBX_BUF_INIT, what = SBX_BUF_INIT;
	uint64_t deadline = sbx_clock_ms() + t->ready.timeout_ms;
	int rc = -1, st = 1;

	switch (t->ready.kind) {
	case SBX_READY_NONE:
		return 0;
	case SBX_READY_DELAY:
		poll(NULL, 0, (int)t->ready.delay_ms);
		return 0;
	case SBX_READY_PORT:
		/* A listening TCP socket on the port, IPv4 or IPv6. */
		sbx_buf_addf(&cmd, "grep -Eq ':%04X [0-9A-F]+:0000 0A' "
		    "/proc/net/tcp /proc/net/tcp6", t->ready.port);
		sbx_buf_addf(&what, "port %u", t->ready.port);
		break;
	case SBX_READY_FILE:
		sbx_buf_addf(&cmd, "test -e '%s'", t->ready.file);
		sbx_buf_addf(&what, "file %s", t->ready.file);
		break;
	case SBX_READY_COMMAND:
		sbx_buf_addstr(&cmd, t->ready.command);
		sbx_buf_addf(&what, "command '%s'", t->ready.command);
		break;
	}
	step_env(t, NULL, &env);
	sbx_info(ctx, "build: waiting for %s", what.buf);
	sbx_build_event(ctx, json_pack("{s:s, s:s}", "event", "wait_ready",
	    "check", what.buf));
	for (;;) {
		struct sbx_err ignore = { 0 };

		if (run_shell(ctx, id, cmd.buf, &env, t->workdir, t->user, 1,
		    NULL, &st, &ignore) == 0 && st == 0) {
			rc = 0;
			break;
		}
		if (sbx_clock_ms() >= deadline) {
			struct sbx_err out = { 0 };
			int s2;

			sbx_err_set(e, SBX_ETIMEDOUT, "template '%s' never "
			    "became ready: %s did not pass within %llus",
			    t->name, what.buf, (unsigned long long)
			    (t->ready.timeout_ms / 1000));
			if (t->start && run_shell(ctx, id, "tail -c 400 "
			    SBX_BUILD_START_LOG, &env, NULL, NULL, 1, NULL, &s2,
			    &out) == 0)
				sbx_err_hint(e, "the start command's log is "
				    "%s in the build sandbox", SBX_BUILD_START_LOG);
			break;
		}
		poll(NULL, 0, READY_POLL_MS);
	}
	sbx_strvec_clear(&env);
	sbx_buf_release(&cmd);
	sbx_buf_release(&what);
	return rc;
}

/*
 * The key of the state after the first `n` steps: the image and the
 * template with only those steps (no start, no ready), so changing step
 * 3 changes the keys of steps 3.. and not those before.
 */
static void
step_key(const struct sbx_template *t, const char *image_hex, size_t n,
    char out[SBX_OID_HEXLEN + 1])
{
	unsigned char raw[SBX_TEMPLATE_HASH_LEN];
	char thex[SBX_TEMPLATE_HASH_HEX];
	struct sbx_template part = *t;	/* shallow: only read */
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_oid id;

	part.nrun = n;
	part.start = NULL;
	memset(&part.ready, 0, sizeof(part.ready));
	sbx_template_hash(&part, raw, thex);
	sbx_buf_addf(&b, "sbx-build-step-1\n%s\n%s\n", image_hex, thex);
	sbx_oid_hash(b.buf, b.len, &id);
	sbx_oid_to_hex(&id, out);
	sbx_buf_release(&b);
}

/* refs/build/<key> -> the snapshot after those steps, if still stored. */
static int
step_cached(struct sbx_store *s, const char *key, char snap[SBX_OID_HEXLEN + 1])
{
	struct sbx_oid id;

	if (sbx_ref_read(s, "build", key, &id, NULL) < 0 ||
	    !sbx_store_object_exists(s, &id))
		return 0;
	sbx_oid_to_hex(&id, snap);
	return 1;
}

/* Snapshots the build sandbox after step n and caches it under its key. */
static int
step_snapshot(struct sbx_ctx *ctx, const struct sbx_template *t,
    const char *image_hex, const char *id, size_t n,
    char snap[SBX_OID_HEXLEN + 1], struct sbx_err *e)
{
	struct sbx_snapshot_info info;
	char key[SBX_OID_HEXLEN + 1], *msg;
	struct sbx_oid oid;
	int rc;

	msg = xasprintf("build of '%s': after step %zu", t->name, n);
	rc = ctx->backend->snapshot(ctx->conn, id, msg, &info, e);
	free(msg);
	if (rc < 0)
		return rc;
	memcpy(snap, info.id, SBX_OID_HEXLEN + 1);
	free(info.message);
	step_key(t, image_hex, n, key);
	if (sbx_oid_from_hex(snap, &oid, e) < 0)
		return -1;
	return sbx_ref_write(ctx->store, "build", key, &oid, e);
}

/*
 * Runs steps `first`.. (the sandbox holds the state after the ones
 * before), snapshotting after each so a later build can start from there;
 * then start. `last` gets the snapshot after the last step.
 */
static int
run_steps(struct sbx_ctx *ctx, const struct sbx_template *t,
    const char *image_hex, const char *id, size_t first,
    char last[SBX_OID_HEXLEN + 1], struct sbx_err *e)
{
	size_t i;

	/* The working directory exists before the first step (as WORKDIR). */
	if (t->workdir && first == 0) {
		struct sbx_strvec env = SBX_STRVEC_INIT;
		struct sbx_buf cmd = SBX_BUF_INIT;
		struct sbx_err out = { 0 };
		int st = 0, rc;

		sbx_buf_addf(&cmd, "mkdir -p '%s'", t->workdir);
		if (t->user)
			sbx_buf_addf(&cmd, " && chown '%s' '%s'", t->user,
			    t->workdir);
		rc = run_shell(ctx, id, cmd.buf, &env, "/", NULL, 1, NULL, &st,
		    &out);
		sbx_buf_release(&cmd);
		if (rc < 0 || st) {
			if (rc < 0)
				*e = out;
			else
				sbx_err_set(e, SBX_EFAIL, "cannot create the "
				    "template's workdir '%s': %s", t->workdir,
				    out.msg);
			return rc < 0 ? rc : SBX_EFAIL;
		}
	}
	for (i = first; i < t->nrun; i++) {
		const struct sbx_template_step *s = &t->run[i];
		struct sbx_strvec env = SBX_STRVEC_INIT;
		struct sbx_err out = { 0 };
		const char *nl = strchr(s->command, '\n');
		char label[48];
		int st = 0, rc;

		sbx_info(ctx, "build: step %zu/%zu: %.*s%s", i + 1, t->nrun,
		    nl ? (int)(nl - s->command) : (int)strlen(s->command),
		    s->command, nl && nl[1] ? " ..." : "");
		sbx_build_event(ctx, json_pack("{s:s, s:I, s:I, s:s}", "event",
		    "step", "n", (json_int_t)(i + 1), "of",
		    (json_int_t)t->nrun, "command", s->command));
		step_env(t, s, &env);
		snprintf(label, sizeof(label), "step %zu/%zu", i + 1, t->nrun);
		rc = run_shell(ctx, id, s->command, &env, s->workdir ?
		    s->workdir : t->workdir, s->user ? s->user : t->user,
		    ctx->quiet, label, &st, &out);
		sbx_strvec_clear(&env);
		if (rc < 0) {
			*e = out;
			sbx_err_prefix(e, "step %zu", i + 1);
			return rc;
		}
		if (st) {
			sbx_err_set(e, SBX_EFAIL, "template '%s': step %zu "
			    "('%.*s%s') failed with exit status %d%s%s",
			    t->name, i + 1, nl ? (int)(nl - s->command) :
			    (int)strlen(s->command), s->command, nl && nl[1] ?
			    " ..." : "", st, out.msg[0] ? "; its last "
			    "output:\n" : "", out.msg);
			return SBX_EFAIL;
		}
		if (step_snapshot(ctx, t, image_hex, id, i + 1, last, e) < 0)
			return -1;
		sbx_build_event(ctx, json_pack("{s:s, s:I, s:i, s:s}", "event",
		    "step_done", "n", (json_int_t)(i + 1), "status", 0,
		    "snapshot", last));
	}
	if (t->start) {
		const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
		struct sbx_strvec env = SBX_STRVEC_INIT;
		struct sbx_exec_opts o;
		struct sbx_exec_result r;
		char *cmd = xasprintf("exec >>" SBX_BUILD_START_LOG " 2>&1 "
		    "</dev/null; %s", t->start);
		int rc;

		sbx_info(ctx, "build: start: %s", t->start);
		sbx_build_event(ctx, json_pack("{s:s, s:s}", "event", "start",
		    "command", t->start));
		step_env(t, NULL, &env);
		argv[2] = cmd;
		memset(&o, 0, sizeof(o));
		o.argv = argv;
		o.env = env.nr ? (const char *const *)env.v : NULL;
		o.cwd = t->workdir;
		o.user = t->user;
		o.stdin_fd = -1;
		o.stdout_fd = o.stderr_fd = -1;
		o.tty_resize_fd = -1;
		o.detach_byte = -1;
		o.background = 1;
		rc = ctx->backend->exec(ctx->conn, id, &o, &r, e);
		free(cmd);
		sbx_strvec_clear(&env);
		if (rc < 0)
			return rc;
	}
	return wait_ready(ctx, t, id, e);
}

/* The build key: what the ready snapshot depends on. */
static void
build_key(const struct sbx_template *t, const char *image_hex,
    char out[SBX_OID_HEXLEN + 1])
{
	unsigned char raw[SBX_TEMPLATE_HASH_LEN];
	char thex[SBX_TEMPLATE_HASH_HEX];
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_oid id;

	sbx_template_hash(t, raw, thex);
	sbx_buf_addf(&b, "sbx-template-build-1\n%s\n%s\n", image_hex, thex);
	sbx_oid_hash(b.buf, b.len, &id);
	sbx_oid_to_hex(&id, out);
	sbx_buf_release(&b);
}

/* The cached build of `t` if its key matches: 1 and its snapshot id. */
static int
cached(struct sbx_store *s, const struct sbx_template *t, const char *key,
    char snap[SBX_OID_HEXLEN + 1])
{
	struct sbx_oid id;
	json_t *m = NULL;
	int hit = 0;

	if (sbx_ref_read(s, "templates", t->name, &id, NULL) < 0 ||
	    sbx_manifest_load(s, &id, &m, NULL) < 0)
		return 0;
	if (!strcmp(json_string_value(json_object_get(m, "build_key")) ?
	    json_string_value(json_object_get(m, "build_key")) : "", key) &&
	    sbx_manifest_parse_ref(json_string_value(json_object_get(m,
	    "snapshot")), &id) && sbx_store_object_exists(s, &id)) {
		sbx_oid_to_hex(&id, snap);
		hit = 1;
	}
	json_decref(m);
	return hit;
}

/*
 * Drops the step cache entries (refs/build/) the previous build of `name`
 * made that the new one does not use, so `sbx gc` can reclaim their
 * snapshots; entries of failed builds stay until the next good one.
 */
static void
prune_steps(struct sbx_store *s, const char *name, json_t *keep)
{
	struct sbx_oid id;
	json_t *m = NULL, *v, *w;
	size_t i, j;

	if (sbx_ref_read(s, "templates", name, &id, NULL) < 0 ||
	    sbx_manifest_load(s, &id, &m, NULL) < 0)
		return;
	json_array_foreach(json_object_get(m, "step_keys"), i, v) {
		int used = 0;

		json_array_foreach(keep, j, w)
			used |= json_equal(v, w);
		if (!used && json_is_string(v))
			sbx_ref_delete(s, "build", json_string_value(v), NULL);
	}
	json_decref(m);
}

int
sbx_build_steps(struct sbx_ctx *ctx, const struct sbx_template *t,
    const char *image_hex, int no_cache, char snap[SBX_OID_HEXLEN + 1],
    struct sbx_err *e)
{
	struct sbx_create_opts co;
	struct sbx_sandbox sb;
	struct sbx_snapshot_info info;
	char key[SBX_OID_HEXLEN + 1], ref[SBX_MANIFEST_REF_SIZE];
	char from[SBX_OID_HEXLEN + 1] = "";
	struct sbx_oid mid;
	json_t *m;
	uint64_t t0 = sbx_clock_ms();
	size_t first;
	int rc;

	build_key(t, image_hex, key);
	if (!no_cache && cached(ctx->store, t, key, snap)) {
		sbx_info(ctx, "build: template '%s' is up to date", t->name);
		sbx_build_event(ctx, json_pack("{s:s, s:s}", "event",
		    "up_to_date", "snapshot", snap));
		return 0;
	}
	if (!ctx->backend->create || !ctx->backend->exec ||
	    !ctx->backend->snapshot || !ctx->backend->destroy)
		return sbx_backend_unsupported(ctx->backend, "build", e);
	/* The furthest step whose result is cached: start from there. */
	for (first = no_cache ? 0 : t->nrun; first > 0; first--) {
		char skey[SBX_OID_HEXLEN + 1];

		step_key(t, image_hex, first, skey);
		if (step_cached(ctx->store, skey, from))
			break;
	}
	memset(&co, 0, sizeof(co));
	co.idle_timeout_ms = 0;
	sbx_build_event(ctx, json_pack("{s:s, s:I}", "event", first ?
	    "restore" : "boot", "after_step", (json_int_t)first));
	if (first) {
		co.snapshot = from;
		if (first == 1)
			sbx_info(ctx, "build: step 1 cached; restoring the "
			    "sandbox after it");
		else
			sbx_info(ctx, "build: steps 1-%zu cached; restoring "
			    "the sandbox after step %zu", first, first);
	} else {
		co.template = t->name;	/* boots refs/images/<name> */
		co.boot_image = 1;	/* never the last build's snapshot */
		co.vcpus = t->resources.vcpus;
		co.memory = t->resources.memory;
		sbx_info(ctx, "build: booting the image of '%s'", t->name);
	}
	if (ctx->backend->create(ctx->conn, &co, &sb, e) < 0) {
		sbx_sandbox_release(&sb);
		return -1;
	}
	memcpy(snap, from, sizeof(from));
	rc = run_steps(ctx, t, image_hex, sb.id, first, snap, e);
	/* Without start or ready, the state after the last step is it. */
	if (rc == 0 && (t->start || t->ready.kind != SBX_READY_NONE ||
	    !snap[0])) {
		sbx_info(ctx, "build: snapshotting the ready sandbox");
		sbx_build_event(ctx, json_pack("{s:s}", "event", "snapshot"));
		rc = ctx->backend->snapshot(ctx->conn, sb.id, "template build",
		    &info, e);
		if (rc == 0) {
			memcpy(snap, info.id, SBX_OID_HEXLEN + 1);
			free(info.message);
		}
	}
	{
		struct sbx_err ignore;

		ctx->backend->destroy(ctx->conn, sb.id, 1, &ignore);
	}
	sbx_sandbox_release(&sb);
	if (rc < 0)
		return rc;
	m = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "type",
	    "template", "name", t->name, "build_key", key, "time",
	    (json_int_t)time(NULL), "build_ms",
	    (json_int_t)(sbx_clock_ms() - t0), "description",
	    t->description ? t->description : "", "source", t->path);
	{
		char *abs = realpath(t->path, NULL);

		if (abs)
			json_object_set_new(m, "source", json_string(abs));
		free(abs);
	}
	json_object_set_new(m, "sandbox", sbx_template_sandbox_json(t));
	snprintf(ref, sizeof(ref), "sha:%s", snap);
	json_object_set_new(m, "snapshot", json_string(ref));
	snprintf(ref, sizeof(ref), "sha:%s", image_hex);
	json_object_set_new(m, "image", json_string(ref));
	{
		json_t *keys = json_array();
		size_t i;

		for (i = 1; i <= t->nrun; i++) {
			char skey[SBX_OID_HEXLEN + 1];

			step_key(t, image_hex, i, skey);
			json_array_append_new(keys, json_string(skey));
		}
		json_object_set_new(m, "step_keys", keys);
	}
	rc = sbx_manifest_put(ctx->store, m, &mid, e);
	if (rc == 0)
		prune_steps(ctx->store, t->name, json_object_get(m,
		    "step_keys"));
	json_decref(m);
	if (rc == 0)
		rc = sbx_ref_write(ctx->store, "templates", t->name, &mid, e);
	if (rc == 0)
		sbx_info(ctx, "build: template '%s' ready in %.1f s", t->name,
		    (sbx_clock_ms() - t0) / 1000.0);
	return rc;
}
