/*
 * ops-port.c - the kvm backend's networking: egress policy records, port
 * forwards through sbx-vmm's control socket (net.h).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "kvm/kvm.h"
#include "kvm/net.h"
#include "kvm/spawn.h"
#include "kvm/vmm/net_policy.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/sock.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "core/banned.h"

#define PORT_TIMEOUT_MS 10000

/* Adds rules of one kind to `arr` after checking them. */
static int
record_rules(json_t *arr, const struct sbx_strvec *v, bool allow,
    struct sbx_err *e)
{
	char *text = NULL;
	size_t i;
	int r = 0;

	for (i = 0; v && i < v->nr && r == 0; i++) {
		r = net_policy_text_add(&text, v->v[i], allow, e);
		if (r == 0)
			json_array_append_new(arr, json_string(v->v[i]));
	}
	free(text);
	if (r < 0)
		sbx_err_prefix(e, "option '--%s'", allow ? "allow" : "deny");
	return r;
}

int
kvm_net_record(struct sbx_sandbox *sb, const struct sbx_create_opts *o,
    struct sbx_err *e)
{
	json_t *net = json_pack("{s:b, s:[], s:[], s:[]}", "enabled",
	    !o->no_network, "allow", "deny", "forwards");

	if (o->no_network && ((o->allow && o->allow->nr) ||
	    (o->deny && o->deny->nr))) {
		json_decref(net);
		return sbx_err_set(e, SBX_EUSAGE, "'--no-network' cannot be "
		    "combined with '--allow' or '--deny'");
	}
	if (record_rules(json_object_get(net, "allow"), o->allow, true,
	    e) < 0 || record_rules(json_object_get(net, "deny"), o->deny,
	    false, e) < 0) {
		json_decref(net);
		return SBX_EUSAGE;
	}
	json_object_set_new(sb->extra, "network", net);
	return 0;
}

/* Appends the rules of `v` not yet in `arr`, each checked first. */
static int
extend_rules(json_t *arr, const struct sbx_strvec *v, bool allow,
    struct sbx_err *e)
{
	struct sbx_strvec fresh = SBX_STRVEC_INIT;
	json_t *r;
	size_t i, j;
	int rc;

	for (i = 0; v && i < v->nr; i++) {
		int seen = 0;

		json_array_foreach(arr, j, r)
			seen |= json_is_string(r) &&
			    !strcmp(json_string_value(r), v->v[i]);
		if (!seen)
			sbx_strvec_push(&fresh, v->v[i]);
	}
	rc = record_rules(arr, &fresh, allow, e);
	sbx_strvec_clear(&fresh);
	return rc;
}

int
kvm_net_extend(struct sbx_sandbox *sb, const struct sbx_create_opts *o,
    struct sbx_err *e)
{
	json_t *net = json_object_get(sb->extra, "network");
	int has_rules = (o->allow && o->allow->nr) || (o->deny && o->deny->nr);
	int enabled = json_is_object(net) &&
	    !json_is_false(json_object_get(net, "enabled"));

	if (o->no_network && enabled)
		return sbx_err_set(e, SBX_EUSAGE, "'--no-network' cannot take "
		    "the network device out of a snapshot's machine");
	if (!has_rules)
		return 0;
	if (!enabled)
		return sbx_err_set(e, SBX_EUSAGE, "the snapshot's machine has "
		    "no network device: '--allow' and '--deny' do not apply");
	if (!json_is_array(json_object_get(net, "allow")))
		json_object_set_new(net, "allow", json_array());
	if (!json_is_array(json_object_get(net, "deny")))
		json_object_set_new(net, "deny", json_array());
	if (extend_rules(json_object_get(net, "allow"), o->allow, true,
	    e) < 0 || extend_rules(json_object_get(net, "deny"), o->deny,
	    false, e) < 0)
		return SBX_EUSAGE;
	return 0;
}

char *
kvm_net_policy(const struct sbx_sandbox *sb)
{
	json_t *net = json_object_get(sb->extra, "network"), *r;
	char *text = xstrdup("");
	struct sbx_err ignore;
	size_t i;

	if (json_is_false(json_object_get(net, "enabled"))) {
		free(text);
		return NULL;
	}
	json_array_foreach(json_object_get(net, "allow"), i, r)
		if (json_is_string(r))
			net_policy_text_add(&text, json_string_value(r), true,
			    &ignore);
	json_array_foreach(json_object_get(net, "deny"), i, r)
		if (json_is_string(r))
			net_policy_text_add(&text, json_string_value(r), false,
			    &ignore);
	return text;
}

/* Asks the VMM for one forward; the bound port or -1. */
static long
forward(const char *id, const char *addr, unsigned host_port,
    unsigned guest, struct sbx_err *e)
{
	json_t *rep = kvm_ctl_request(id, json_pack("{s:s, s:i, s:s, s:i}", "op",
	    "port", "guest", (int)guest, "host", addr, "host_port",
	    (int)host_port), PORT_TIMEOUT_MS, e);
	long bound;

	if (!rep)
		return -1;
	bound = (long)json_integer_value(json_object_get(rep, "host_port"));
	json_decref(rep);
	if (bound < 1 || bound > 65535) {
		sbx_err_set(e, SBX_EIO, "the VMM of '%s' reported no port", id);
		return -1;
	}
	return bound;
}

/* Rebuilds sb->ports from extra.network.forwards. */
static void
ports_from_forwards(struct sbx_sandbox *sb, json_t *fw)
{
	json_t *f;
	size_t i;

	free(sb->ports);
	sb->ports = NULL;
	sb->nports = 0;
	json_array_foreach(fw, i, f)
		sbx_sandbox_add_port(sb, (unsigned)json_integer_value(
		    json_object_get(f, "host_port")), (unsigned)
		    json_integer_value(json_object_get(f, "guest")), "tcp");
}

int
kvm_ports_apply(struct sbx_sandbox *sb)
{
	json_t *net = json_object_get(sb->extra, "network");
	json_t *fw = json_object_get(net, "forwards"), *keep, *f;
	struct sbx_err ignore;
	size_t i;
	int n = 0;

	if (!json_is_array(fw) || json_array_size(fw) == 0)
		return 0;
	keep = json_array();
	json_array_foreach(fw, i, f) {
		const char *host = json_string_value(json_object_get(f,
		    "host"));
		json_int_t hp = json_integer_value(json_object_get(f,
		    "host_port"));
		json_int_t g = json_integer_value(json_object_get(f, "guest"));

		sbx_err_clear(&ignore);
		if (!host || hp < 1 || hp > 65535 || g < 1 || g > 65535 ||
		    forward(sb->id, host, (unsigned)hp, (unsigned)g,
		    &ignore) < 0)
			continue;
		json_array_append(keep, f);
		n++;
	}
	json_object_set_new(net, "forwards", keep);
	ports_from_forwards(sb, keep);
	return n;
}

/*
 * Resolves `query` into `id`, takes the sandbox's lock into *lk (the
 * caller unlocks it, also on failure) and loads it, refreshed, into *sb.
 */
static int
load_locked(struct sbx_conn *c, const char *query,
    char id[SBX_SANDBOX_ID_SIZE], struct sbx_sandbox *sb,
    struct sbx_sandbox_lock **lk, struct sbx_err *e)
{
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0 ||
	    sbx_sandbox_lock(c->store, id, 30000, lk, e) < 0)
		return -1;
	sbx_sandbox_release(sb);
	if (sbx_sandbox_load(c->store, id, sb, e) < 0 ||
	    kvm_refresh(c, sb, e) < 0)
		return -1;
	return 0;
}

int
kvm_port(struct sbx_conn *c, const char *query, unsigned guest_port,
    const char *addr, unsigned host_port, unsigned *bound,
    struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk = NULL;
	char id[SBX_SANDBOX_ID_SIZE];
	json_t *net, *fw;
	long p;
	int rc = -1;

	sbx_sandbox_init(&sb);
	if (!addr)
		addr = "127.0.0.1";
	if (guest_port < 1 || guest_port > 65535 || host_port > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "ports must be in 1..65535");
	if (load_locked(c, query, id, &sb, &lk, e) < 0)
		goto out;
	if (sb.state != SBX_SB_RUNNING || !kvm_vmm_alive(sb.pid)) {
		sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s; ports are "
		    "forwarded to running sandboxes", id,
		    sbx_sandbox_state_name(sb.state));
		goto out;
	}
	net = json_object_get(sb.extra, "network");
	if (json_is_false(json_object_get(net, "enabled"))) {
		sbx_err_set(e, SBX_EUSAGE, "sandbox '%s' was created with "
		    "--no-network", id);
		goto out;
	}
	if ((p = forward(id, addr, host_port, guest_port, e)) < 0)
		goto out;
	if (!json_is_object(net)) {
		net = json_pack("{s:b, s:[], s:[]}", "enabled", 1, "allow",
		    "deny");
		json_object_set_new(sb.extra, "network", net);
	}
	fw = json_object_get(net, "forwards");
	if (!json_is_array(fw)) {
		fw = json_array();
		json_object_set_new(net, "forwards", fw);
	}
	json_array_append_new(fw, json_pack("{s:s, s:i, s:i}", "host", addr,
	    "host_port", (int)p, "guest", (int)guest_port));
	sbx_sandbox_add_port(&sb, (unsigned)p, guest_port, "tcp");
	if (sbx_sandbox_save(c->store, &sb, e) < 0)
		goto out;
	*bound = (unsigned)p;
	rc = 0;
out:
	if (lk)
		sbx_sandbox_unlock(lk);
	sbx_sandbox_release(&sb);
	return rc;
}

/* Whether forward `f` is one `kvm_port_close` was asked to close. */
static int
forward_matches(json_t *f, unsigned guest, const char *addr,
    unsigned host_port)
{
	const char *h = json_string_value(json_object_get(f, "host"));

	return json_integer_value(json_object_get(f, "guest")) == guest &&
	    (!addr || (h && !strcmp(h, addr))) && (!host_port ||
	    json_integer_value(json_object_get(f, "host_port")) == host_port);
}

int
kvm_port_close(struct sbx_conn *c, const char *query, unsigned guest_port,
    const char *addr, unsigned host_port, unsigned *closed,
    struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk = NULL;
	char id[SBX_SANDBOX_ID_SIZE];
	json_t *fw, *keep, *f, *rep;
	int running, failed = 0, rc = -1;	/* failed: an SBX_E code */
	unsigned n = 0, matched = 0;
	size_t i;

	sbx_sandbox_init(&sb);
	*closed = 0;
	if (guest_port < 1 || guest_port > 65535 || host_port > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "ports must be in 1..65535");
	if (load_locked(c, query, id, &sb, &lk, e) < 0)
		goto out;
	/*
	 * A running VMM stops listening; a stopped or hibernated sandbox
	 * only loses the record, so the port is not set up again when it
	 * starts or resumes.
	 */
	running = sb.state == SBX_SB_RUNNING && kvm_vmm_alive(sb.pid);
	fw = json_object_get(json_object_get(sb.extra, "network"),
	    "forwards");
	keep = json_array();
	json_array_foreach(fw, i, f) {
		struct sbx_err ce;

		if (!forward_matches(f, guest_port, addr, host_port)) {
			json_array_append(keep, f);
			continue;
		}
		matched++;
		sbx_err_clear(&ce);
		rep = !running ? NULL : kvm_ctl_request(id, json_pack("{s:s, "
		    "s:s, s:I}", "op", "unport", "host", json_string_value(
		    json_object_get(f, "host")), "host_port",
		    json_integer_value(json_object_get(f, "host_port"))),
		    PORT_TIMEOUT_MS, &ce);
		/*
		 * A refusal means the VMM does not hold that forward (it was
		 * started since, or could not bind it again): closed all the
		 * same. A VMM that does not answer keeps it, and says so.
		 */
		if (running && !rep && !strstr(ce.msg, " refused: ")) {
			json_array_append(keep, f);
			if (!failed && e)
				*e = ce;
			if (!failed)
				failed = ce.code ? ce.code : SBX_EIO;
			continue;
		}
		json_decref(rep);
		n++;
	}
	if (matched == 0) {
		json_decref(keep);
		sbx_err_set(e, SBX_ENOENT, "sandbox '%s' has no forward of "
		    "guest port %u%s", id, guest_port, addr || host_port ?
		    " on that host address and port" : "");
		goto out;
	}
	json_object_set_new(json_object_get(sb.extra, "network"), "forwards",
	    keep);
	ports_from_forwards(&sb, keep);
	if (n && sbx_sandbox_save(c->store, &sb, failed ? NULL : e) < 0 &&
	    !failed)
		goto out;
	*closed = n;
	rc = failed;
out:
	if (lk)
		sbx_sandbox_unlock(lk);
	sbx_sandbox_release(&sb);
	return rc;
}

/* Serialises setting up proxy forwards within this process. */
static pthread_mutex_t fwd_mu = PTHREAD_MUTEX_INITIALIZER;

/* A connection to the unix socket `path`, or -1 with errno. */
static int
unix_connect(const char *path)
{
	int fd = sbx_unix_connect(path);

	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

/*
 * Loopback forwards of sbx-vmm processes older than unix forwards, by
 * VMM pid and guest port (under fwd_mu), so each is asked once.
 */
static struct {
	pid_t pid;
	unsigned guest, host;
} old_fwd[64];

/* A TCP connection to 127.0.0.1:port, or -1 with errno. */
static int
loopback_connect(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd, saved;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
kvm_port_connect(struct sbx_conn *c, const char *query, unsigned guest_port,
    int *fd, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	char name[32], *path = NULL;
	json_t *rep;
	size_t i;
	int rc;

	*fd = -1;
	if (guest_port < 1 || guest_port > 65535)
		return sbx_err_set(e, SBX_EUSAGE, "port %u is not in 1..65535",
		    guest_port);
	if ((rc = kvm_wake(c, query, &sb, e)) < 0)
		goto out;
	if (json_is_false(json_object_get(json_object_get(sb.extra,
	    "network"), "enabled"))) {
		rc = sbx_err_set(e, SBX_EUSAGE, "sandbox '%s' was created with "
		    "--no-network", sb.id);
		goto out;
	}
	snprintf(name, sizeof(name), "port-%u.sock", guest_port);
	path = kvm_runfile(sb.id, name);
	pthread_mutex_lock(&fwd_mu);
	*fd = unix_connect(path);
	for (i = 0; *fd < 0 && i < sizeof(old_fwd) / sizeof(old_fwd[0]); i++)
		if (old_fwd[i].pid == sb.pid && old_fwd[i].guest == guest_port)
			*fd = loopback_connect(old_fwd[i].host);
	/*
	 * None yet, or one left by an earlier VMM process of this sandbox
	 * (nobody listens: ECONNREFUSED): ask the running VMM for one.
	 */
	if (*fd < 0) {
		rep = kvm_ctl_request(sb.id, json_pack("{s:s, s:i, s:s}", "op",
		    "port", "guest", (int)guest_port, "unix", path),
		    PORT_TIMEOUT_MS, e);
		errno = 0;
		if (rep && json_object_get(rep, "unix")) {
			*fd = unix_connect(path);
		} else if (rep) {
			/*
			 * An sbx-vmm older than unix forwards (still running
			 * across an upgrade) ignores "unix" and makes a
			 * loopback forward: use that, as sbx did then.
			 */
			json_int_t hp = json_integer_value(json_object_get(rep,
			    "host_port"));

			if (hp > 0 && hp < 65536) {
				i = (size_t)guest_port % (sizeof(old_fwd) /
				    sizeof(old_fwd[0]));
				old_fwd[i].pid = sb.pid;
				old_fwd[i].guest = guest_port;
				old_fwd[i].host = (unsigned)hp;
				*fd = loopback_connect((unsigned)hp);
			}
		}
		json_decref(rep);
	}
	pthread_mutex_unlock(&fwd_mu);
	if (*fd < 0) {
		rc = errno ? sbx_err_sys(e, "cannot connect to port %u of "
		    "sandbox '%s'", guest_port, sb.id) :
		    (e && e->code ? e->code : sbx_err_set(e, SBX_EIO,
		    "the VMM of '%s' reported no port", sb.id));
		goto out;
	}
	rc = 0;
out:
	free(path);
	sbx_sandbox_release(&sb);
	return rc;
}
