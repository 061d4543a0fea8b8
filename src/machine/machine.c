/*
 * machine.c - the state of `sbx machine` (machine.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/xmalloc.h"
#include "machine/machine.h"
#include "store/fsutil.h"
#include "core/banned.h"

char *
sbx_machine_dir(const char *home)
{
	return xasprintf("%s/machine", home);
}

void
sbx_machine_state_release(struct sbx_machine_state *st)
{
	if (!st)
		return;
	free(st->url);
	free(st->token_file);
	free(st->token_id);
	memset(st, 0, sizeof(*st));
}

static const char *
get_str(json_t *o, const char *key, struct sbx_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || !*json_string_value(v)) {
		sbx_err_set(e, SBX_ECORRUPT, "machine state: '%s' is missing "
		    "or not a non-empty string", key);
		return NULL;
	}
	return json_string_value(v);
}

static int
get_int(json_t *o, const char *key, json_int_t min, json_int_t max,
    json_int_t *out, struct sbx_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return sbx_err_set(e, SBX_ECORRUPT, "machine state: '%s' is "
		    "missing or not an integer in %lld..%lld", key,
		    (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

int
sbx_machine_state_parse(const char *text, size_t len,
    struct sbx_machine_state *st, struct sbx_err *e)
{
	json_error_t je;
	json_t *o;
	json_int_t pid, mem, cpus, started;
	const char *url, *tf, *tid, *accel;
	int rc = SBX_ECORRUPT;

	memset(st, 0, sizeof(*st));
	o = json_loadb(text, len, 0, &je);
	if (!o)
		return sbx_err_set(e, SBX_ECORRUPT, "machine state is not "
		    "JSON: %s (line %d)", je.text, je.line);
	if (!json_is_object(o)) {
		sbx_err_set(e, SBX_ECORRUPT, "machine state is not a JSON "
		    "object");
		goto out;
	}
	if (get_int(o, "pid", 1, 0x7fffffff, &pid, e) < 0 ||
	    get_int(o, "memory_mb", 64, 1 << 24, &mem, e) < 0 ||
	    get_int(o, "cpus", 1, 1024, &cpus, e) < 0 ||
	    get_int(o, "started", 0, (json_int_t)1 << 40, &started, e) < 0 ||
	    !(url = get_str(o, "url", e)) ||
	    !(tf = get_str(o, "token_file", e)) ||
	    !(tid = get_str(o, "token_id", e)) ||
	    !(accel = get_str(o, "accel", e)))
		goto out;
	if (strcmp(accel, "tcg") && strcmp(accel, "kvm")) {
		sbx_err_set(e, SBX_ECORRUPT, "machine state: accel '%s' is "
		    "neither tcg nor kvm", accel);
		goto out;
	}
	if (strncmp(url, "http://", 7)) {
		sbx_err_set(e, SBX_ECORRUPT, "machine state: url '%s' is not "
		    "http://", url);
		goto out;
	}
	st->pid = (long)pid;
	st->memory_mb = (uint64_t)mem;
	st->cpus = (long)cpus;
	st->started = (int64_t)started;
	st->url = xstrdup(url);
	st->token_file = xstrdup(tf);
	st->token_id = xstrdup(tid);
	snprintf(st->accel, sizeof(st->accel), "%s", accel);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

char *
sbx_machine_state_dump(const struct sbx_machine_state *st)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:I}",
	    "pid", (json_int_t)st->pid, "url", st->url,
	    "token_file", st->token_file, "token_id", st->token_id,
	    "memory_mb", (json_int_t)st->memory_mb,
	    "cpus", (json_int_t)st->cpus, "accel", st->accel,
	    "started", (json_int_t)st->started);
	char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	char *r = xasprintf("%s\n", s);

	free(s);
	json_decref(o);
	return r;
}

int
sbx_machine_state_load(const char *dir, struct sbx_machine_state *st,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *path = xasprintf("%s/state.json", dir);
	int rc;

	memset(st, 0, sizeof(*st));
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		free(path);
		return 0;
	}
	rc = sbx_buf_read_file(&b, path, e);
	if (rc == 0)
		rc = sbx_machine_state_parse(b.buf, b.len, st, e) < 0 ? -1 : 1;
	if (rc < 0)
		sbx_err_hint(e, "'%s' is damaged; 'sbx machine stop' removes "
		    "it", path);
	sbx_buf_release(&b);
	free(path);
	return rc;
}

int
sbx_machine_state_save(const char *dir, const struct sbx_machine_state *st,
    struct sbx_err *e)
{
	char *path = xasprintf("%s/state.json", dir);
	char *text = sbx_machine_state_dump(st);
	int rc = sbx_fs_write_atomic(path, NULL, text, strlen(text), 0600, e);

	free(text);
	free(path);
	return rc;
}

int
sbx_machine_alive(const struct sbx_machine_state *st, const char *dir)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	char *path;
	size_t i;
	int alive = 0;

	if (st->pid <= 0 || kill((pid_t)st->pid, 0) < 0)
		return 0;
	path = xasprintf("/proc/%ld/cmdline", st->pid);
	sbx_err_clear(&e);
	if (sbx_buf_read_file(&b, path, &e) == 0) {
		for (i = 0; i < b.len; i++)
			if (!b.buf[i])
				b.buf[i] = ' ';
		alive = strstr(b.buf, dir) != NULL;
	}
	sbx_buf_release(&b);
	free(path);
	return alive;
}

int
sbx_machine_remote(const char *home, char **url, char **token)
{
	struct sbx_machine_state st;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	char *dir = sbx_machine_dir(home);
	int rc = 0;

	sbx_err_clear(&e);
	if (sbx_machine_state_load(dir, &st, &e) == 1 &&
	    sbx_machine_alive(&st, dir) &&
	    sbx_buf_read_file(&b, st.token_file, &e) == 0) {
		sbx_buf_rtrim(&b);
		if (b.len) {
			*url = xstrdup(st.url);
			*token = xstrdup(b.buf);
			rc = 1;
		}
	}
	sbx_buf_release(&b);
	sbx_machine_state_release(&st);
	free(dir);
	return rc;
}
