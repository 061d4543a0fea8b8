/*
 * parse.c - the template schema: YAML tree (node.h) to struct
 * sbx_template, with every check and default. The schema is documented
 * in doc/sbx-template.5; keep the two in step.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/parse.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "template/check.h"
#include "template/node.h"
#include "template/template.h"
#include "core/banned.h"

struct pctx {
	const char *path;	/* for messages */
	char *dir;		/* absolute anchor for relative paths, or "" */
	struct sbx_err *e;
};

static int
perr(struct pctx *p, const struct tnode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records "PATH:LINE:COL: message" at node `n`; returns SBX_EINVAL. */
static int
perr(struct pctx *p, const struct tnode *n, const char *fmt, ...)
{
	char msg[SBX_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sbx_err_set(p->e, SBX_EINVAL, "%s:%d:%d: %s", p->path,
	    n ? n->line : 1, n ? n->col : 1, msg);
}

/* Reports an unknown key, suggesting the nearest known one. */
static int
unknown_key(struct pctx *p, const struct tnode *k, const char *where,
    const char *const *known)
{
	struct sbx_buf list = SBX_BUF_INIT;
	const char *near = tpl_suggest(k->value, known);
	char in[80] = "";
	size_t i;
	int rc;

	if (where)
		snprintf(in, sizeof(in), " in '%s'", where);
	if (near)
		return perr(p, k, "unknown key '%s'%s (did you mean '%s'?)",
		    k->value, in, near);
	/* A nested key written at the top level: say where it goes. */
	for (i = 1; !where && tpl_schema[i].keys; i++) {
		const char *const *kk;

		for (kk = tpl_schema[i].keys; *kk; kk++)
			if (!strcmp(*kk, k->value))
				return perr(p, k, "unknown key '%s' (it belongs "
				    "in '%s')", k->value, tpl_schema[i].where);
	}
	for (i = 0; known[i]; i++)
		sbx_buf_addf(&list, "%s%s", i == 0 ? "" :
		    known[i + 1] ? ", " : " or ", known[i]);
	rc = perr(p, k, "unknown key '%s'%s (expected %s)", k->value, in,
	    list.buf);
	sbx_buf_release(&list);
	return rc;
}

static int
want_type(struct pctx *p, const char *label, const struct tnode *v,
    enum tnode_type type)
{
	static const char *const names[] = { "a string", "a list",
	    "a mapping" };

	if (tnode_is_null(v))
		return perr(p, v, "'%s' has no value", label);
	if (v->type != type)
		return perr(p, v, "'%s' must be %s, not %s", label,
		    names[type], tnode_kind(v));
	return 0;
}

/* A non-empty string without NUL bytes. */
static int
want_str(struct pctx *p, const char *label, const struct tnode *v,
    char **out)
{
	int rc = want_type(p, label, v, TN_SCALAR);

	if (rc < 0)
		return rc;
	if (v->len == 0)
		return perr(p, v, "'%s' is empty", label);
	if (strlen(v->value) != v->len)
		return perr(p, v, "'%s' contains a NUL byte", label);
	free(*out);
	*out = xstrdup(v->value);
	return 0;
}

/* An absolute path in the guest. */
static int
want_guest_path(struct pctx *p, const char *label, const struct tnode *v,
    char **out)
{
	int rc = want_str(p, label, v, out);

	if (rc < 0)
		return rc;
	if ((*out)[0] != '/')
		return perr(p, v, "'%s' must be an absolute path, not '%s'",
		    label, *out);
	return 0;
}

/* A host path, anchored at the template's directory when relative. */
static int
want_host_path(struct pctx *p, const char *label, const struct tnode *v,
    char **out)
{
	int rc = want_str(p, label, v, out);
	char *abs;

	if (rc < 0)
		return rc;
	if ((*out)[0] == '/' || !p->dir[0])
		abs = tpl_path_clean(*out);
	else {
		char *joined = xasprintf("%s/%s", p->dir, *out);

		abs = tpl_path_clean(joined);
		free(joined);
	}
	free(*out);
	*out = abs;
	return 0;
}

static int
want_int(struct pctx *p, const char *label, const struct tnode *v,
    long long min, long long max, long long *out)
{
	int rc = want_type(p, label, v, TN_SCALAR);

	if (rc < 0)
		return rc;
	if (sbx_parse_int(v->value, LLONG_MIN, LLONG_MAX, out, NULL) < 0)
		return perr(p, v, "'%s' must be an integer, not '%s'", label,
		    v->value);
	if (*out < min || *out > max)
		return perr(p, v, "'%s' must be from %lld to %lld, not %s",
		    label, min, max, v->value);
	return 0;
}

static int
want_size(struct pctx *p, const char *label, const struct tnode *v,
    uint64_t min, uint64_t max, uint64_t *out)
{
	char lo[32], hi[32];
	int rc = want_type(p, label, v, TN_SCALAR);

	if (rc < 0)
		return rc;
	if (sbx_parse_size(v->value, 0, UINT64_MAX, out, NULL) < 0)
		return perr(p, v, "'%s' must be a size like 512M or 2G, "
		    "not '%s'", label, v->value);
	if (*out < min || *out > max) {
		sbx_format_size(min, lo, sizeof(lo));
		sbx_format_size(max, hi, sizeof(hi));
		return perr(p, v, "'%s' must be from %s to %s, not %s", label,
		    lo, hi, v->value);
	}
	return 0;
}

static int
want_duration(struct pctx *p, const char *label, const struct tnode *v,
    uint64_t min_ms, uint64_t max_ms, uint64_t *out)
{
	char lo[32], hi[32];
	int rc = want_type(p, label, v, TN_SCALAR);

	if (rc < 0)
		return rc;
	if (sbx_parse_duration(v->value, 0, UINT64_MAX, out, NULL) < 0)
		return perr(p, v, "'%s' must be a duration like 30s or 5m, "
		    "not '%s'", label, v->value);
	if (*out < min_ms || *out > max_ms) {
		sbx_format_duration(min_ms, lo, sizeof(lo));
		sbx_format_duration(max_ms, hi, sizeof(hi));
		return perr(p, v, "'%s' must be from %s to %s, not %s", label,
		    lo, hi, v->value);
	}
	return 0;
}

/* A list of strings each accepted by `ok` (NULL = any). */
static int
want_str_list(struct pctx *p, const char *label, const struct tnode *v,
    int (*ok)(const char *), const char *what, struct sbx_strvec *out)
{
	size_t i;
	int rc = want_type(p, label, v, TN_SEQ);

	for (i = 0; rc == 0 && i < v->n; i++) {
		char *s = NULL;

		rc = want_str(p, label, v->items[i], &s);
		if (rc == 0 && ok && !ok(s))
			rc = perr(p, v->items[i], "'%s' entry '%s' is not %s",
			    label, s, what);
		if (rc == 0)
			sbx_strvec_push(out, s);
		free(s);
	}
	return rc;
}

/* A mapping of environment variables into "KEY=value" strings. */
static int
want_env(struct pctx *p, const char *label, const struct tnode *v,
    struct sbx_strvec *out)
{
	size_t i;
	int rc = want_type(p, label, v, TN_MAP);

	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];
		char *s = NULL, lbl[160];

		if (!tpl_env_name_ok(k->value) || strlen(k->value) != k->len)
			return perr(p, k, "invalid environment variable name "
			    "'%s' in '%s'", k->value, label);
		snprintf(lbl, sizeof(lbl), "%s.%s", label, k->value);
		if (tnode_is_null(val))
			return perr(p, val, "'%s' has no value (use \"\" for "
			    "an empty one)", lbl);
		rc = want_type(p, lbl, val, TN_SCALAR);
		if (rc == 0 && strlen(val->value) != val->len)
			rc = perr(p, val, "'%s' contains a NUL byte", lbl);
		if (rc == 0) {
			s = xasprintf("%s=%s", k->value, val->value);
			sbx_strvec_push(out, s);
			free(s);
		}
	}
	return rc;
}

static int
want_user(struct pctx *p, const char *label, const struct tnode *v,
    char **out)
{
	int rc = want_str(p, label, v, out);

	if (rc == 0 && !tpl_user_ok(*out))
		rc = perr(p, v, "'%s' must be a user name or uid, not '%s'",
		    label, *out);
	return rc;
}

static const char *const from_keys[] = { "debian", "packages", "tar", "oci",
	"template", NULL };

static int
parse_from(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	const struct tnode *kind_key = NULL, *pkgs_key = NULL;
	size_t i;
	int rc = want_type(p, "from", v, TN_MAP);

	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];
		const char *kn = k->value;
		enum sbx_template_from kind = 0;

		if (!strcmp(kn, "packages")) {
			pkgs_key = k;
			rc = want_str_list(p, "from.packages", val,
			    tpl_package_ok, "a Debian package name",
			    &t->from.packages);
			continue;
		}
		if (!strcmp(kn, "debian"))
			kind = SBX_FROM_DEBIAN;
		else if (!strcmp(kn, "tar"))
			kind = SBX_FROM_TAR;
		else if (!strcmp(kn, "oci"))
			kind = SBX_FROM_OCI;
		else if (!strcmp(kn, "template"))
			kind = SBX_FROM_TEMPLATE;
		else
			return unknown_key(p, k, "from", from_keys);
		if (kind_key)
			return perr(p, k, "'from' has both '%s' and '%s' "
			    "(use exactly one)", kind_key->value, kn);
		kind_key = k;
		t->from.kind = kind;
		t->from.line = val->line;
		t->from.col = val->col;
		switch (kind) {
		case SBX_FROM_DEBIAN:
			rc = want_str(p, "from.debian", val, &t->from.suite);
			if (rc == 0 && !tpl_suite_ok(t->from.suite))
				rc = perr(p, val, "'from.debian' must be a "
				    "Debian suite like bookworm, not '%s'",
				    t->from.suite);
			break;
		case SBX_FROM_TAR:
			rc = want_host_path(p, "from.tar", val, &t->from.path);
			break;
		case SBX_FROM_OCI:
			rc = want_host_path(p, "from.oci", val, &t->from.path);
			break;
		case SBX_FROM_TEMPLATE:
			rc = want_str(p, "from.template", val,
			    &t->from.template);
			if (rc == 0 && !sbx_template_name_ok(t->from.template))
				rc = perr(p, val, "'from.template' must be a "
				    "template name, not '%s'",
				    t->from.template);
			break;
		}
	}
	if (rc < 0)
		return rc;
	if (!kind_key)
		return perr(p, v, "'from' needs one of 'debian', 'tar', 'oci' "
		    "or 'template'");
	if (pkgs_key && t->from.kind != SBX_FROM_DEBIAN)
		return perr(p, pkgs_key, "'from.packages' needs 'from.debian'"
		    " (with 'from.%s', install packages in a 'run' step)",
		    kind_key->value);
	return 0;
}

static const char *const file_keys[] = { "src", "dst", "mode", "owner",
	NULL };

static int
parse_file(struct pctx *p, struct sbx_template_file *f, const struct tnode *v)
{
	size_t i;
	int rc = want_type(p, "files", v, TN_MAP);

	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];

		if (!strcmp(k->value, "src")) {
			rc = want_host_path(p, "files.src", val, &f->src);
			f->line = val->line;
			f->col = val->col;
		} else if (!strcmp(k->value, "dst")) {
			rc = want_guest_path(p, "files.dst", val, &f->dst);
		} else if (!strcmp(k->value, "mode")) {
			char *s = NULL;

			rc = want_str(p, "files.mode", val, &s);
			if (rc == 0 && !tpl_mode_parse(s, &f->mode))
				rc = perr(p, val, "'files.mode' must be an "
				    "octal mode like 0644, not '%s'", s);
			f->has_mode = 1;
			free(s);
		} else if (!strcmp(k->value, "owner")) {
			rc = want_str(p, "files.owner", val, &f->owner);
			if (rc == 0 && !tpl_owner_ok(f->owner))
				rc = perr(p, val, "'files.owner' must be USER "
				    "or USER:GROUP, not '%s'", f->owner);
		} else {
			return unknown_key(p, k, "files", file_keys);
		}
	}
	if (rc == 0 && !f->src)
		rc = perr(p, v, "'files' entry needs 'src'");
	if (rc == 0 && !f->dst)
		rc = perr(p, v, "'files' entry needs 'dst'");
	return rc;
}

static int
parse_files(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	size_t i;
	int rc = want_type(p, "files", v, TN_SEQ);

	if (rc < 0)
		return rc;
	t->files = xcalloc(v->n ? v->n : 1, sizeof(*t->files));
	for (i = 0; rc == 0 && i < v->n; i++) {
		t->nfiles++;
		rc = parse_file(p, &t->files[i], v->items[i]);
	}
	return rc;
}

static const char *const step_keys[] = { "command", "workdir", "user", "env",
	NULL };

static int
parse_step(struct pctx *p, struct sbx_template_step *s, const struct tnode *v)
{
	size_t i;
	int rc = 0;

	sbx_strvec_init(&s->env);
	if (v->type == TN_SCALAR)
		return want_str(p, "run", v, &s->command);
	if (v->type != TN_MAP || tnode_is_null(v))
		return perr(p, v, "'run' step must be a command or a mapping, "
		    "not %s", tnode_kind(v));
	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];

		if (!strcmp(k->value, "command"))
			rc = want_str(p, "run.command", val, &s->command);
		else if (!strcmp(k->value, "workdir"))
			rc = want_guest_path(p, "run.workdir", val,
			    &s->workdir);
		else if (!strcmp(k->value, "user"))
			rc = want_user(p, "run.user", val, &s->user);
		else if (!strcmp(k->value, "env"))
			rc = want_env(p, "run.env", val, &s->env);
		else
			return unknown_key(p, k, "run", step_keys);
	}
	if (rc == 0 && !s->command)
		rc = perr(p, v, "'run' step needs 'command'");
	return rc;
}

static int
parse_run(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	size_t i;
	int rc = want_type(p, "run", v, TN_SEQ);

	if (rc < 0)
		return rc;
	t->run = xcalloc(v->n ? v->n : 1, sizeof(*t->run));
	for (i = 0; rc == 0 && i < v->n; i++) {
		t->nrun++;
		rc = parse_step(p, &t->run[i], v->items[i]);
	}
	return rc;
}

static const char *const ready_keys[] = { "port", "file", "command", "delay",
	"timeout", NULL };

static int
parse_ready(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	const struct tnode *kind_key = NULL;
	size_t i;
	int rc = want_type(p, "ready", v, TN_MAP);
	long long port;

	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];
		const char *kn = k->value;

		if (!strcmp(kn, "timeout")) {
			rc = want_duration(p, "ready.timeout", val, 1000,
			    24ULL * 3600 * 1000, &t->ready.timeout_ms);
			continue;
		}
		if (strcmp(kn, "port") && strcmp(kn, "file") &&
		    strcmp(kn, "command") && strcmp(kn, "delay"))
			return unknown_key(p, k, "ready", ready_keys);
		if (kind_key)
			return perr(p, k, "'ready' has both '%s' and '%s' "
			    "(use exactly one)", kind_key->value, kn);
		kind_key = k;
		if (!strcmp(kn, "port")) {
			t->ready.kind = SBX_READY_PORT;
			rc = want_int(p, "ready.port", val, 1, 65535, &port);
			t->ready.port = (unsigned)port;
		} else if (!strcmp(kn, "file")) {
			t->ready.kind = SBX_READY_FILE;
			rc = want_guest_path(p, "ready.file", val,
			    &t->ready.file);
		} else if (!strcmp(kn, "command")) {
			t->ready.kind = SBX_READY_COMMAND;
			rc = want_str(p, "ready.command", val,
			    &t->ready.command);
		} else {
			t->ready.kind = SBX_READY_DELAY;
			rc = want_duration(p, "ready.delay", val, 0,
			    3600ULL * 1000, &t->ready.delay_ms);
		}
	}
	if (rc == 0 && !kind_key)
		rc = perr(p, v, "'ready' needs one of 'port', 'file', "
		    "'command' or 'delay'");
	return rc;
}

static const char *const res_keys[] = { "vcpus", "memory", "disk", NULL };

static int
parse_resources(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	size_t i;
	int rc = want_type(p, "resources", v, TN_MAP);
	long long n;

	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];

		if (!strcmp(k->value, "vcpus")) {
			rc = want_int(p, "resources.vcpus", val,
			    SBX_TEMPLATE_MIN_VCPUS, SBX_TEMPLATE_MAX_VCPUS, &n);
			t->resources.vcpus = (unsigned)n;
		} else if (!strcmp(k->value, "memory")) {
			rc = want_size(p, "resources.memory", val,
			    SBX_TEMPLATE_MIN_MEMORY, SBX_TEMPLATE_MAX_MEMORY,
			    &t->resources.memory);
		} else if (!strcmp(k->value, "disk")) {
			rc = want_size(p, "resources.disk", val,
			    SBX_TEMPLATE_MIN_DISK, SBX_TEMPLATE_MAX_DISK,
			    &t->resources.disk);
		} else {
			return unknown_key(p, k, "resources", res_keys);
		}
	}
	return rc;
}

static int
parse_ports(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	unsigned char seen[65536 / 8];
	size_t i;
	int rc = want_type(p, "ports", v, TN_SEQ);
	long long port;

	if (rc < 0)
		return rc;
	memset(seen, 0, sizeof(seen));
	t->ports = xcalloc(v->n ? v->n : 1, sizeof(*t->ports));
	for (i = 0; i < v->n; i++) {
		if ((rc = want_int(p, "ports", v->items[i], 1, 65535,
		    &port)) < 0)
			return rc;
		if (seen[port / 8] & (1u << (port % 8)))
			return perr(p, v->items[i], "duplicate port %lld in "
			    "'ports'", port);
		seen[port / 8] |= (unsigned char)(1u << (port % 8));
		t->ports[t->nports++] = (unsigned)port;
	}
	return 0;
}

static const char *const net_keys[] = { "allow", "deny", NULL };

static int
parse_network(struct pctx *p, struct sbx_template *t, const struct tnode *v)
{
	static const char what[] = "a CIDR (like 10.0.0.0/8) or a domain "
	    "(like example.com)";
	size_t i;
	int rc = want_type(p, "network", v, TN_MAP);

	for (i = 0; rc == 0 && i < v->n; i += 2) {
		const struct tnode *k = v->items[i], *val = v->items[i + 1];

		if (!strcmp(k->value, "allow"))
			rc = want_str_list(p, "network.allow", val,
			    tpl_net_rule_ok, what, &t->net_allow);
		else if (!strcmp(k->value, "deny"))
			rc = want_str_list(p, "network.deny", val,
			    tpl_net_rule_ok, what, &t->net_deny);
		else
			return unknown_key(p, k, "network", net_keys);
	}
	return rc;
}

static const char *const top_keys[] = { "name", "description", "from",
	"files", "env", "workdir", "user", "run", "start", "ready",
	"resources", "idle_timeout", "ports", "kernel", "network", NULL };

const struct tpl_keyset tpl_schema[] = {
	{ NULL, top_keys },
	{ "from", from_keys },
	{ "files", file_keys },
	{ "run", step_keys },
	{ "ready", ready_keys },
	{ "resources", res_keys },
	{ "network", net_keys },
	{ NULL, NULL },
};

/* Dispatches one top-level key. */
static int
parse_top_key(struct pctx *p, struct sbx_template *t, const struct tnode *k,
    const struct tnode *v)
{
	const char *kn = k->value;
	int rc;

	if (!strcmp(kn, "name")) {
		if ((rc = want_str(p, "name", v, &t->name)) < 0)
			return rc;
		if (!sbx_template_name_ok(t->name))
			return perr(p, v, "invalid template name '%s' (use "
			    "letters, digits, '.', '_' and '-')", t->name);
		return 0;
	}
	if (!strcmp(kn, "description"))
		return want_str(p, "description", v, &t->description);
	if (!strcmp(kn, "from"))
		return parse_from(p, t, v);
	if (!strcmp(kn, "files"))
		return parse_files(p, t, v);
	if (!strcmp(kn, "env"))
		return want_env(p, "env", v, &t->env);
	if (!strcmp(kn, "workdir"))
		return want_guest_path(p, "workdir", v, &t->workdir);
	if (!strcmp(kn, "user"))
		return want_user(p, "user", v, &t->user);
	if (!strcmp(kn, "run"))
		return parse_run(p, t, v);
	if (!strcmp(kn, "start"))
		return want_str(p, "start", v, &t->start);
	if (!strcmp(kn, "ready"))
		return parse_ready(p, t, v);
	if (!strcmp(kn, "resources"))
		return parse_resources(p, t, v);
	if (!strcmp(kn, "idle_timeout")) {
		if (v->type == TN_SCALAR && !strcmp(v->value, "never")) {
			t->idle_timeout_ms = 0;
			return 0;
		}
		if ((rc = want_duration(p, "idle_timeout", v, 0,
		    30ULL * 24 * 3600 * 1000, &t->idle_timeout_ms)) < 0)
			return rc;
		if (t->idle_timeout_ms > 0 && t->idle_timeout_ms < 1000)
			return perr(p, v, "'idle_timeout' must be 0 (never) "
			    "or at least 1s, not %s", v->value);
		return 0;
	}
	if (!strcmp(kn, "ports"))
		return parse_ports(p, t, v);
	if (!strcmp(kn, "kernel")) {
		t->kernel_line = v->line;
		t->kernel_col = v->col;
		return want_host_path(p, "kernel", v, &t->kernel);
	}
	if (!strcmp(kn, "network"))
		return parse_network(p, t, v);
	return unknown_key(p, k, NULL, top_keys);
}

/* The name a template gets from its file: "dir/base.yaml" -> "base". */
static char *
name_from_path(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t n;

	base = base ? base + 1 : path;
	n = strlen(base);
	/* "<stdin>" names the template "stdin". */
	if (n > 2 && base[0] == '<' && base[n - 1] == '>')
		return xstrndup(base + 1, n - 2);
	if (n > 5 && !strcmp(base + n - 5, ".yaml"))
		n -= 5;
	else if (n > 4 && !strcmp(base + n - 4, ".yml"))
		n -= 4;
	return xstrndup(base, n);
}

/* Makes the anchor directory for relative paths absolute. */
static char *
anchor_dir(const char *path, const char *dir)
{
	char *d, *real, cwd[PATH_MAX];
	const char *slash;

	if (dir)
		d = xstrdup(dir);
	else if ((slash = strrchr(path, '/')))
		d = slash == path ? xstrdup("/") :
		    xstrndup(path, (size_t)(slash - path));
	else
		d = xstrdup(".");
	if (!d[0])
		return d;
	real = realpath(d, NULL);
	if (real) {
		free(d);
		return real;
	}
	if (d[0] != '/' && getcwd(cwd, sizeof(cwd))) {
		real = xasprintf("%s/%s", cwd, d);
		free(d);
		return real;
	}
	return d;
}

static void
set_defaults(struct sbx_template *t)
{
	t->resources.vcpus = SBX_TEMPLATE_DEF_VCPUS;
	t->resources.memory = SBX_TEMPLATE_DEF_MEMORY;
	t->resources.disk = SBX_TEMPLATE_DEF_DISK;
	t->idle_timeout_ms = SBX_TEMPLATE_DEF_IDLE_MS;
	t->ready.timeout_ms = SBX_TEMPLATE_DEF_READY_TIMEOUT_MS;
	sbx_strvec_init(&t->from.packages);
	sbx_strvec_init(&t->env);
	sbx_strvec_init(&t->net_allow);
	sbx_strvec_init(&t->net_deny);
}

static int
parse_root(struct pctx *p, struct sbx_template *t, const struct tnode *root)
{
	const struct tnode *from = NULL, *parent = NULL;
	size_t i;
	int rc;

	if (!root)
		return sbx_err_set(p->e, SBX_EINVAL, "%s:1:1: empty template "
		    "(it needs at least 'from')", p->path);
	if (root->type != TN_MAP || tnode_is_null(root))
		return perr(p, root, "a template must be a mapping of keys, "
		    "not %s", tnode_kind(root));
	for (i = 0; i < root->n; i += 2) {
		if (!strcmp(root->items[i]->value, "from"))
			from = root->items[i + 1];
		if ((rc = parse_top_key(p, t, root->items[i],
		    root->items[i + 1])) < 0)
			return rc;
	}
	if (!from)
		return perr(p, root, "missing required key 'from'");
	if (!t->name) {
		t->name = name_from_path(p->path);
		if (!sbx_template_name_ok(t->name))
			return perr(p, root, "cannot use '%s' as the template "
			    "name (add a 'name' key)", t->name);
	}
	if (t->from.kind == SBX_FROM_TEMPLATE &&
	    !strcmp(t->from.template, t->name)) {
		for (i = 0; i < from->n; i += 2)
			if (!strcmp(from->items[i]->value, "template"))
				parent = from->items[i + 1];
		return perr(p, parent, "template '%s' cannot be built from "
		    "itself", t->name);
	}
	return 0;
}

int
sbx_template_parse(const char *text, size_t len, const char *path,
    const char *dir, struct sbx_template **out, struct sbx_err *e)
{
	struct pctx p = { path, NULL, e };
	struct sbx_template *t;
	struct tnode *root;
	int rc;

	*out = NULL;
	if (len > SBX_TEMPLATE_MAX_SIZE)
		return sbx_err_set(e, SBX_EINVAL, "%s: template larger than "
		    "the 1 MiB limit", path);
	if ((rc = tpl_yaml_load(text, len, path, &root, e)) < 0)
		return rc;
	t = xcalloc(1, sizeof(*t));
	t->path = xstrdup(path);
	set_defaults(t);
	p.dir = anchor_dir(path, dir);
	rc = parse_root(&p, t, root);
	free(p.dir);
	tnode_free(root);
	if (rc < 0) {
		sbx_template_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int
sbx_template_load(const char *path, struct sbx_template **out,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err tmp;
	int rc;

	*out = NULL;
	b.cap = SBX_TEMPLATE_MAX_SIZE;
	sbx_err_clear(&tmp);
	rc = sbx_buf_read_file(&b, path, &tmp);
	if (rc < 0) {
		if (rc == SBX_EINVAL)
			rc = sbx_err_set(e, SBX_EINVAL, "%s: template larger "
			    "than the 1 MiB limit", path);
		else if (tmp.sys_errno)
			rc = sbx_err_set(e, rc, "%s: cannot read template: %s",
			    path, strerror(tmp.sys_errno));
		else
			rc = sbx_err_set(e, rc, "%s", tmp.msg);
		if (e)
			e->sys_errno = tmp.sys_errno;
		sbx_buf_release(&b);
		return rc;
	}
	rc = sbx_template_parse(b.buf, b.len, path, NULL, out, e);
	sbx_buf_release(&b);
	return rc;
}

/* Fails unless `path` exists (any type: tarballs, dirs, images). */
static int
path_exists(const struct sbx_template *t, const char *label,
    const char *path, int line, int col, struct sbx_err *e)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 0;
	return sbx_err_set(e, errno == ENOENT ? SBX_ENOENT : SBX_EIO,
	    "%s:%d:%d: '%s' '%s': %s", t->path, line, col, label, path,
	    strerror(errno));
}

int
sbx_template_check_paths(const struct sbx_template *t, struct sbx_err *e)
{
	size_t i;
	int rc;

	if ((t->from.kind == SBX_FROM_TAR || t->from.kind == SBX_FROM_OCI) &&
	    (rc = path_exists(t, t->from.kind == SBX_FROM_TAR ? "from.tar" :
	    "from.oci", t->from.path, t->from.line, t->from.col, e)) < 0)
		return rc;
	for (i = 0; i < t->nfiles; i++)
		if ((rc = path_exists(t, "files.src", t->files[i].src,
		    t->files[i].line, t->files[i].col, e)) < 0)
			return rc;
	if (t->kernel && (rc = path_exists(t, "kernel", t->kernel,
	    t->kernel_line, t->kernel_col, e)) < 0)
		return rc;
	return 0;
}

void
sbx_template_free(struct sbx_template *t)
{
	size_t i;

	if (!t)
		return;
	free(t->path);
	free(t->name);
	free(t->description);
	free(t->from.suite);
	sbx_strvec_clear(&t->from.packages);
	free(t->from.path);
	free(t->from.template);
	for (i = 0; i < t->nfiles; i++) {
		free(t->files[i].src);
		free(t->files[i].dst);
		free(t->files[i].owner);
	}
	free(t->files);
	sbx_strvec_clear(&t->env);
	free(t->workdir);
	free(t->user);
	for (i = 0; i < t->nrun; i++) {
		free(t->run[i].command);
		free(t->run[i].workdir);
		free(t->run[i].user);
		sbx_strvec_clear(&t->run[i].env);
	}
	free(t->run);
	free(t->start);
	free(t->ready.file);
	free(t->ready.command);
	free(t->ports);
	free(t->kernel);
	sbx_strvec_clear(&t->net_allow);
	sbx_strvec_clear(&t->net_deny);
	free(t);
}
