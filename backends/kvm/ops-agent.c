/*
 * ops-agent.c - the kvm backend's exec and file ops: each resolves the
 * sandbox, checks that it runs, and talks to its sbx-agent through the
 * VMM's vsock socket (agent-client.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/agent-client.h"
#include "kvm/kvm.h"
#include "kvm/spawn.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "core/banned.h"

int
kvm_wake(struct sbx_conn *c, const char *query, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	int rc;

	if (sbx_backend_kvm.get(c, query, sb, e) < 0)
		return -1;
	/*
	 * Someone else is bringing it up (a create, or the resume of a
	 * concurrent wake: two proxied requests to one hibernated sandbox):
	 * wait for the outcome rather than refuse.
	 */
	if (sb->state == SBX_SB_CREATING) {
		uint64_t deadline = sbx_clock_ms() + kvm_boot_timeout_ms();
		char sid[SBX_SANDBOX_ID_SIZE];

		memcpy(sid, sb->id, sizeof(sid));
		while (sb->state == SBX_SB_CREATING &&
		    sbx_clock_ms() < deadline) {
			usleep(100 * 1000);
			sbx_sandbox_release(sb);
			if (sbx_backend_kvm.get(c, sid, sb, e) < 0)
				return -1;
		}
	}
	/*
	 * A hibernated sandbox wakes up for whoever talks to it (as
	 * CodeSandbox's do); if another command resumed it meanwhile, fine:
	 * kvm_resume checks the state under the sandbox's lock.
	 */
	if (sb->state == SBX_SB_HIBERNATED) {
		struct sbx_err re = { 0 };
		char sid[SBX_SANDBOX_ID_SIZE];

		memcpy(sid, sb->id, sizeof(sid));
		rc = kvm_resume(c, sid, &re);
		sbx_sandbox_release(sb);
		if (sbx_backend_kvm.get(c, sid, sb, e) < 0)
			return -1;
		if (rc < 0 && sb->state != SBX_SB_RUNNING) {
			if (e)
				*e = re;
			return re.code ? re.code : -1;
		}
	}
	if (sb->state != SBX_SB_RUNNING) {
		rc = sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s, not "
		    "running", sb->id, sbx_sandbox_state_name(sb->state));
		if (sb->state == SBX_SB_STOPPED)
			sbx_err_hint(e, "start it with 'sbx start %s'", sb->id);
		else if (sb->state == SBX_SB_HIBERNATED)
			sbx_err_hint(e, "resume it with 'sbx resume %s'",
			    sb->id);
		else if (sb->state == SBX_SB_ERROR && json_is_string(
		    json_object_get(sb->extra, "error")))
			sbx_err_hint(e, "%s", json_string_value(
			    json_object_get(sb->extra, "error")));
		return rc;
	}
	return 0;
}

#define KVM_REVIVE_MS 120000	/* the longest wait for an idle snapshot */

struct revive {
	struct sbx_conn *c;
	char id[SBX_SANDBOX_ID_SIZE];
};

/*
 * The agent's connection failed: if the VMM is writing its idle snapshot
 * (vmm/idle.h), waits for it to finish, then wakes the sandbox (0: try
 * again). A VMM that is up and not hibernating, or a sandbox that did not
 * come back, keeps the failure.
 */
static int
revive(void *arg)
{
	struct revive *r = arg;
	struct sbx_sandbox sb;
	char *pending = kvm_sbfile(r->c, r->id, "hibernate/" KVM_IDLE_PENDING);
	char *marker = kvm_sbfile(r->c, r->id, "hibernate/" KVM_IDLE_MARKER);
	uint64_t deadline = sbx_clock_ms() + KVM_REVIVE_MS;
	int rc = -1;

	sbx_sandbox_init(&sb);
	if (sbx_sandbox_load(r->c->store, r->id, &sb, NULL) < 0)
		goto out;
	/*
	 * While the VMM writes the snapshot, "pending" exists; once written,
	 * the marker does until the VMM has exited (and a resume removes it).
	 */
	if (sb.state == SBX_SB_RUNNING && kvm_vmm_alive(sb.pid)) {
		if (access(pending, F_OK) != 0 && access(marker, F_OK) != 0) {
			/* Up, not hibernating, and its agent silent: say
			 * what the VMM is doing before the error. */
			struct sbx_buf d = SBX_BUF_INIT;

			kvm_vmm_diagnosis(r->id, &d);
			fprintf(stderr, "sbx: %s: the agent does not answer; "
			    "%s", r->id, d.buf ? d.buf : "\n");
			sbx_buf_release(&d);
			goto out;
		}
		while (kvm_vmm_alive(sb.pid) && (access(pending, F_OK) == 0 ||
		    access(marker, F_OK) == 0) && sbx_clock_ms() < deadline)
			usleep(50 * 1000);
		if (kvm_vmm_alive(sb.pid) && (access(pending, F_OK) == 0 ||
		    access(marker, F_OK) == 0))
			goto out;	/* still at it after two minutes */
	}
	sbx_sandbox_release(&sb);
	rc = kvm_wake(r->c, r->id, &sb, NULL) < 0 ? -1 : 0;
out:
	sbx_sandbox_release(&sb);
	free(pending);
	free(marker);
	return rc;
}

/* Opens an agent client for a running sandbox named by `query`. */
int
kvm_agent_for(struct sbx_conn *c, const char *query, struct sbx_agent *a,
    char id[SBX_SANDBOX_ID_SIZE], struct sbx_err *e)
{
	struct sbx_sandbox sb;
	char *sock, *spec;
	int rc;

	if ((rc = kvm_wake(c, query, &sb, e)) < 0) {
		sbx_sandbox_release(&sb);
		return rc;
	}
	if (id)
		memcpy(id, sb.id, SBX_SANDBOX_ID_SIZE);
	sock = kvm_runfile(sb.id, "vsock.sock");
	spec = xasprintf("vsock:%s", sock);
	rc = sbx_agent_init(a, spec, e);
	if (rc == 0) {
		struct revive *r = xcalloc(1, sizeof(*r));

		r->c = c;
		memcpy(r->id, sb.id, sizeof(r->id));
		a->revive = revive;
		a->revive_arg = r;
	}
	free(sock);
	free(spec);
	sbx_sandbox_release(&sb);
	return rc;
}

static int
term_winsize(void *cookie, unsigned *rows, unsigned *cols)
{
	const struct sbx_exec_opts *o = cookie;
	struct winsize ws;

	if (ioctl(o->stdout_fd, TIOCGWINSZ, &ws) < 0 || !ws.ws_row)
		return -1;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 0;
}

/*
 * The environment of one command: the sandbox's own (create --env and its
 * template's env, kvm_env_record), then the command's, which wins per key.
 */
static void
sandbox_env(struct sbx_conn *c, const char *id, const char *const *given,
    struct sbx_strvec *out)
{
	struct sbx_sandbox sb;
	json_t *v;
	size_t i;

	sbx_sandbox_init(&sb);
	if (sbx_sandbox_load(c->store, id, &sb, NULL) == 0)
		json_array_foreach(json_object_get(sb.extra, "env"), i, v)
			if (json_is_string(v))
				sbx_strvec_push(out, json_string_value(v));
	sbx_sandbox_release(&sb);
	for (i = 0; given && given[i]; i++)
		if (sbx_strvec_putenv(out, given[i]) < 0)
			sbx_strvec_push(out, given[i]);	/* the agent judges */
}

int
kvm_exec(struct sbx_conn *c, const char *query, const struct sbx_exec_opts *o,
    struct sbx_exec_result *r, struct sbx_err *e)
{
	struct sbx_agent a;
	struct sbx_agent_exec x;
	struct sbx_agent_status st;
	struct sbx_strvec env = SBX_STRVEC_INIT;
	char id[SBX_SANDBOX_ID_SIZE];
	int rc;

	memset(r, 0, sizeof(*r));
	if (kvm_agent_for(c, query, &a, id, e) < 0)
		return -1;
	sandbox_env(c, id, o->env, &env);
	sbx_agent_exec_init(&x);
	x.argv = o->argv;
	x.env = (const char *const *)env.v;
	x.cwd = o->cwd;
	x.user = o->user;
	x.pty = o->tty;
	x.rows = o->rows;
	x.cols = o->cols;
	x.background = o->background;
	x.stdin_fd = o->stdin_fd;
	x.stdout_fd = o->stdout_fd;
	x.stderr_fd = o->stderr_fd;
	x.resize_fd = o->tty_resize_fd;
	x.winsize = term_winsize;
	x.cookie = (void *)o;
	x.detach_byte = o->detach_byte;
	memset(&st, 0, sizeof(st));
	rc = sbx_agent_run(&a, &x, &st, e);
	sbx_agent_release(&a);
	sbx_strvec_clear(&env);
	if (rc < 0)
		return rc;
	r->pid = st.pid;
	r->detached = st.detached;
	r->exit_code = st.code;
	r->signal = st.sig;
	return 0;
}

/*
 * A copy whose agent connection dropped (SBX_ENET): when the sandbox's
 * VMM is gone, says so instead of the transport's words ("the source
 * cannot be rewound" meant nothing to a user whose sandbox had crashed).
 */
static int
copy_failed(struct sbx_conn *c, const char *query, int rc, const char *dir,
    const char *path, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_err e2;

	if (rc != SBX_ENET)
		return rc;
	sbx_err_clear(&e2);
	sbx_sandbox_init(&sb);
	if (sbx_backend_kvm.get(c, query, &sb, &e2) == 0 &&
	    sb.state != SBX_SB_RUNNING)
		rc = sbx_err_set(e, SBX_ENET, "sandbox '%s' stopped during the "
		    "copy %s '%s' (its state is now '%s'; `sbx logs %s` shows "
		    "its console)", sb.id, dir, path,
		    sbx_sandbox_state_name(sb.state), sb.id);
	sbx_sandbox_release(&sb);
	return rc;
}

int
kvm_file_put(struct sbx_conn *c, const char *query, int src_fd,
    const char *path, uint32_t mode, struct sbx_err *e)
{
	struct sbx_agent a;
	struct sbx_agent_put_opts po;
	int rc;

	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	sbx_agent_put_opts_init(&po);
	po.mode = mode;
	rc = sbx_agent_put_fd(&a, src_fd, 0, path, &po, e);
	sbx_agent_release(&a);
	return copy_failed(c, query, rc, "to", path, e);
}

int
kvm_file_get(struct sbx_conn *c, const char *query, const char *path,
    int dst_fd, struct sbx_err *e)
{
	struct sbx_agent a;
	int rc;

	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	rc = sbx_agent_get_fd(&a, path, dst_fd, NULL, NULL, NULL, e);
	sbx_agent_release(&a);
	return copy_failed(c, query, rc, "from", path, e);
}

static void
stat_from_agent(struct sbx_file_stat *out, const char *name,
    const struct sbx_agent_stat *st)
{
	memset(out, 0, sizeof(*out));
	out->name = xstrdup(name);
	switch (st->ftype) {
	case SBX_AGENT_FT_FILE: out->type = 'f'; break;
	case SBX_AGENT_FT_DIR: out->type = 'd'; break;
	case SBX_AGENT_FT_SYMLINK: out->type = 'l'; break;
	default: out->type = '?'; break;
	}
	out->mode = st->mode & 07777;
	out->size = st->size;
	out->mtime = st->mtime;
	out->link = st->target[0] ? xstrdup(st->target) : NULL;
}

int
kvm_file_stat(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat *out, struct sbx_err *e)
{
	struct sbx_agent a;
	struct sbx_agent_stat st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	rc = sbx_agent_stat(&a, path, &st, e);
	if (rc == 0)
		stat_from_agent(out, path, &st);
	sbx_agent_release(&a);
	return rc;
}

struct list_acc {
	struct sbx_file_stat *v;
	size_t n, alloc;
};

static int
list_one(void *cookie, const char *name, const struct sbx_agent_stat *st)
{
	struct list_acc *l = cookie;

	if (l->n == l->alloc) {
		l->alloc = l->alloc ? l->alloc * 2 : 16;
		l->v = xreallocarray(l->v, l->alloc, sizeof(*l->v));
	}
	stat_from_agent(&l->v[l->n++], name, st);
	return 0;
}

int
kvm_file_list(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat **out, size_t *n, struct sbx_err *e)
{
	struct sbx_agent a;
	struct list_acc l = { NULL, 0, 0 };
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	rc = sbx_agent_list(&a, path, list_one, &l, e);
	sbx_agent_release(&a);
	if (rc < 0) {
		for (i = 0; i < l.n; i++)
			sbx_file_stat_release(&l.v[i]);
		free(l.v);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

int
kvm_file_mkdir(struct sbx_conn *c, const char *query, const char *path,
    uint32_t mode, struct sbx_err *e)
{
	struct sbx_agent a;
	int rc;

	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	rc = sbx_agent_mkdir(&a, path, mode ? mode : 0755, 1, e);
	sbx_agent_release(&a);
	return rc;
}

int
kvm_file_rm(struct sbx_conn *c, const char *query, const char *path,
    int recursive, struct sbx_err *e)
{
	struct sbx_agent a;
	int rc;

	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	rc = sbx_agent_rm(&a, path, recursive, 0, e);
	sbx_agent_release(&a);
	return rc;
}

int
kvm_file_rename(struct sbx_conn *c, const char *query, const char *from,
    const char *to, struct sbx_err *e)
{
	struct sbx_agent a;
	int rc;

	if (kvm_agent_for(c, query, &a, NULL, e) < 0)
		return -1;
	rc = sbx_agent_rename(&a, from, to, e);
	sbx_agent_release(&a);
	return rc;
}
