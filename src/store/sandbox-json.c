/*
 * sandbox-json.c - struct sbx_sandbox <-> sandbox.json (schema in
 * registry.h).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "store/refs.h"
#include "store/registry.h"
#include "core/banned.h"

static const char *const state_names[] = {
	[SBX_SB_CREATING] = "creating",
	[SBX_SB_RUNNING] = "running",
	[SBX_SB_PAUSED] = "paused",
	[SBX_SB_HIBERNATED] = "hibernated",
	[SBX_SB_STOPPED] = "stopped",
	[SBX_SB_ERROR] = "error",
};

#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

void
sbx_sandbox_init(struct sbx_sandbox *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->state = SBX_SB_CREATING;
	sb->extra = json_object();
}

void
sbx_sandbox_release(struct sbx_sandbox *sb)
{
	free(sb->name);
	free(sb->template);
	free(sb->ports);
	json_decref(sb->extra);
	memset(sb, 0, sizeof(*sb));
}

void
sbx_sandbox_set_name(struct sbx_sandbox *sb, const char *name)
{
	free(sb->name);
	sb->name = name ? xstrdup(name) : NULL;
}

void
sbx_sandbox_set_template(struct sbx_sandbox *sb, const char *tmpl)
{
	free(sb->template);
	sb->template = tmpl ? xstrdup(tmpl) : NULL;
}

void
sbx_sandbox_add_port(struct sbx_sandbox *sb, unsigned host, unsigned guest,
    const char *proto)
{
	struct sbx_sandbox_port *p;

	sb->ports = xreallocarray(sb->ports, sb->nports + 1,
	    sizeof(*sb->ports));
	p = &sb->ports[sb->nports++];
	p->host = host;
	p->guest = guest;
	snprintf(p->proto, sizeof(p->proto), "%s", proto ? proto : "tcp");
}

const char *
sbx_sandbox_state_name(enum sbx_sandbox_state st)
{
	if ((size_t)st < NSTATES)
		return state_names[st];
	return "error";
}

int
sbx_sandbox_state_parse(const char *name, enum sbx_sandbox_state *out,
    struct sbx_err *e)
{
	size_t i;

	for (i = 0; i < NSTATES; i++)
		if (!strcmp(name, state_names[i])) {
			*out = (enum sbx_sandbox_state)i;
			return 0;
		}
	return sbx_err_set(e, SBX_EINVAL, "unknown sandbox state '%s' "
	    "(expected creating, running, paused, hibernated, stopped or "
	    "error)", name);
}

/* RFC 3339 UTC form of t into buf (at least 21 bytes). */
static void
format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Parses the exact form format_time writes. */
static int
parse_time(const char *s, time_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -1;
	*out = timegm(&tm);
	return 0;
}

json_t *
sbx_sandbox_to_json(const struct sbx_sandbox *sb)
{
	json_t *j = json_object(), *spec, *ports;
	char t[32];
	size_t i;

	json_object_set_new(j, "version", json_integer(SBX_SANDBOX_SCHEMA));
	json_object_set_new(j, "id", json_string(sb->id));
	if (sb->name)
		json_object_set_new(j, "name", json_string(sb->name));
	json_object_set_new(j, "state",
	    json_string(sbx_sandbox_state_name(sb->state)));
	if (sb->template)
		json_object_set_new(j, "template", json_string(sb->template));
	if (sb->image[0])
		json_object_set_new(j, "image", json_string(sb->image));
	spec = json_object();
	json_object_set_new(spec, "vcpus", json_integer(sb->spec.vcpus));
	json_object_set_new(spec, "memory",
	    json_integer((json_int_t)sb->spec.memory));
	json_object_set_new(spec, "disk",
	    json_integer((json_int_t)sb->spec.disk));
	json_object_set_new(j, "spec", spec);
	if (sb->head[0])
		json_object_set_new(j, "head", json_string(sb->head));
	if (sb->parent[0])
		json_object_set_new(j, "parent", json_string(sb->parent));
	format_time(sb->created, t, sizeof(t));
	json_object_set_new(j, "created", json_string(t));
	format_time(sb->updated, t, sizeof(t));
	json_object_set_new(j, "updated", json_string(t));
	if (sb->nports) {
		ports = json_array();
		for (i = 0; i < sb->nports; i++)
			json_array_append_new(ports, json_pack(
			    "{s:i, s:i, s:s}", "host", (int)sb->ports[i].host,
			    "guest", (int)sb->ports[i].guest,
			    "proto", sb->ports[i].proto));
		json_object_set_new(j, "ports", ports);
	}
	if (sb->pid > 0)
		json_object_set_new(j, "pid", json_integer(sb->pid));
	if (sb->extra && json_object_size(sb->extra))
		json_object_set(j, "extra", sb->extra);
	return j;
}

/* Integer field `key` of object `o` in [min, max]; missing is OK if opt. */
static int
get_int(json_t *o, const char *key, const char *field, json_int_t min,
    json_int_t max, int optional, json_int_t *out, const char *where,
    struct sbx_err *e)
{
	json_t *v = json_object_get(o, key);

	if (!v) {
		if (optional) {
			*out = 0;
			return 0;
		}
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field '%s' is "
		    "missing", where, field);
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field '%s' must be "
		    "an integer from %lld to %lld", where, field,
		    (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* String field `key`; NULL in *out when missing and optional. */
static int
get_str(json_t *o, const char *key, int optional, const char **out,
    const char *where, struct sbx_err *e)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v) {
		if (optional)
			return 0;
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field '%s' is "
		    "missing", where, key);
	}
	if (!json_is_string(v))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field '%s' must be "
		    "a string", where, key);
	*out = json_string_value(v);
	return 0;
}

static const char *const known_keys[] = {
	"version", "id", "name", "state", "template", "image", "spec",
	"head", "parent", "created", "updated", "ports", "pid", "extra",
	NULL,
};

/* Checks for keys outside the schema. */
static int
check_keys(json_t *j, const char *where, struct sbx_err *e)
{
	const char *key;
	json_t *v;
	int i;

	json_object_foreach(j, key, v) {
		for (i = 0; known_keys[i]; i++)
			if (!strcmp(key, known_keys[i]))
				break;
		if (!known_keys[i])
			return sbx_err_set(e, SBX_ECORRUPT, "%s: unknown field "
			    "'%s' (backends keep their data in 'extra')",
			    where, key);
	}
	return 0;
}

/* Reads "spec". */
static int
spec_from_json(json_t *j, struct sbx_sandbox *sb, const char *where,
    struct sbx_err *e)
{
	json_t *spec = json_object_get(j, "spec");
	json_int_t v;

	if (!json_is_object(spec))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'spec' must be "
		    "an object", where);
	if (get_int(spec, "vcpus", "spec.vcpus", 0, 1024, 0, &v, where,
	    e) < 0)
		return SBX_ECORRUPT;
	sb->spec.vcpus = (unsigned)v;
	if (get_int(spec, "memory", "spec.memory", 0, INT64_MAX, 0, &v,
	    where, e) < 0)
		return SBX_ECORRUPT;
	sb->spec.memory = (uint64_t)v;
	if (get_int(spec, "disk", "spec.disk", 0, INT64_MAX, 0, &v, where,
	    e) < 0)
		return SBX_ECORRUPT;
	sb->spec.disk = (uint64_t)v;
	return 0;
}

/* Reads "ports". */
static int
ports_from_json(json_t *j, struct sbx_sandbox *sb, const char *where,
    struct sbx_err *e)
{
	json_t *ports = json_object_get(j, "ports"), *p;
	json_int_t host, guest;
	const char *proto;
	char field[48];
	size_t i;

	if (!ports)
		return 0;
	if (!json_is_array(ports))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'ports' must be "
		    "an array", where);
	json_array_foreach(ports, i, p) {
		snprintf(field, sizeof(field), "ports[%zu]", i);
		if (!json_is_object(p))
			return sbx_err_set(e, SBX_ECORRUPT, "%s: field '%s' "
			    "must be an object", where, field);
		snprintf(field, sizeof(field), "ports[%zu].host", i);
		if (get_int(p, "host", field, 1, 65535, 0, &host, where,
		    e) < 0)
			return SBX_ECORRUPT;
		snprintf(field, sizeof(field), "ports[%zu].guest", i);
		if (get_int(p, "guest", field, 1, 65535, 0, &guest, where,
		    e) < 0)
			return SBX_ECORRUPT;
		if (get_str(p, "proto", 1, &proto, where, e) < 0)
			return SBX_ECORRUPT;
		if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp"))
			return sbx_err_set(e, SBX_ECORRUPT, "%s: field "
			    "'ports[%zu].proto' must be \"tcp\" or \"udp\"",
			    where, i);
		sbx_sandbox_add_port(sb, (unsigned)host, (unsigned)guest,
		    proto);
	}
	return 0;
}

/* Reads an optional object-id field into a 65-byte buffer. */
static int
oid_field(json_t *j, const char *key, char *out, const char *where,
    struct sbx_err *e)
{
	const char *s;

	if (get_str(j, key, 1, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (!s)
		return 0;
	if (!sbx_oid_is_hex(s))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field '%s' is not an "
		    "object id (64 lowercase hex digits)", where, key);
	memcpy(out, s, SBX_OID_HEXLEN + 1);
	return 0;
}

int
sbx_sandbox_from_json(json_t *j, struct sbx_sandbox *sb, const char *where,
    struct sbx_err *e)
{
	const char *s;
	json_int_t v;
	json_t *x;

	sbx_sandbox_init(sb);
	if (!json_is_object(j))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: not a JSON object",
		    where);
	if (check_keys(j, where, e) < 0)
		return SBX_ECORRUPT;
	if (get_int(j, "version", "version", 0, INT32_MAX, 0, &v, where,
	    e) < 0)
		return SBX_ECORRUPT;
	if (v != SBX_SANDBOX_SCHEMA)
		return sbx_err_set(e, SBX_ECORRUPT, "%s: schema version %lld "
		    "is not supported (this sbx reads version %d)", where,
		    (long long)v, SBX_SANDBOX_SCHEMA);
	if (get_str(j, "id", 0, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (!sbx_sandbox_id_valid(s))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'id' is not a "
		    "sandbox id ('sb-' and 12 of a-z, 2-7)", where);
	memcpy(sb->id, s, SBX_SANDBOX_ID_SIZE);
	if (get_str(j, "name", 1, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (s && sbx_sandbox_name_check(s, e) < 0) {
		sbx_err_prefix(e, "%s", where);
		if (e)
			e->code = SBX_ECORRUPT;
		return SBX_ECORRUPT;
	}
	sbx_sandbox_set_name(sb, s);
	if (get_str(j, "state", 0, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (sbx_sandbox_state_parse(s, &sb->state, e) < 0) {
		sbx_err_prefix(e, "%s", where);
		if (e)
			e->code = SBX_ECORRUPT;
		return SBX_ECORRUPT;
	}
	if (get_str(j, "template", 1, &s, where, e) < 0)
		return SBX_ECORRUPT;
	sbx_sandbox_set_template(sb, s);
	if (oid_field(j, "image", sb->image, where, e) < 0 ||
	    oid_field(j, "head", sb->head, where, e) < 0 ||
	    spec_from_json(j, sb, where, e) < 0)
		return SBX_ECORRUPT;
	if (get_str(j, "parent", 1, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (s && !sbx_sandbox_id_valid(s))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'parent' is not "
		    "a sandbox id", where);
	if (s)
		memcpy(sb->parent, s, SBX_SANDBOX_ID_SIZE);
	if (get_str(j, "created", 0, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (parse_time(s, &sb->created) < 0)
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'created' is not "
		    "a UTC time like 2026-01-02T03:04:05Z", where);
	if (get_str(j, "updated", 0, &s, where, e) < 0)
		return SBX_ECORRUPT;
	if (parse_time(s, &sb->updated) < 0)
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'updated' is not "
		    "a UTC time like 2026-01-02T03:04:05Z", where);
	if (ports_from_json(j, sb, where, e) < 0)
		return SBX_ECORRUPT;
	if (get_int(j, "pid", "pid", 0, INT32_MAX, 1, &v, where, e) < 0)
		return SBX_ECORRUPT;
	sb->pid = (pid_t)v;
	x = json_object_get(j, "extra");
	if (x && !json_is_object(x))
		return sbx_err_set(e, SBX_ECORRUPT, "%s: field 'extra' must be "
		    "an object", where);
	if (x) {
		json_decref(sb->extra);
		sb->extra = json_deep_copy(x);
	}
	return 0;
}
