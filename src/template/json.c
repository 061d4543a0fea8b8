/*
 * json.c - a template as JSON, for `sbx templates show --json` and the
 * REST API. Key names follow the YAML schema (doc/sbx-template.5).
 */
#include <string.h>

#include <jansson.h>

#include "core/json.h"
#include "core/strvec.h"
#include "template/template.h"
#include "core/banned.h"

/* {"KEY": "value", ...} from "KEY=value" strings. */
static json_t *
env_json(const struct sbx_strvec *env)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < env->nr; i++) {
		const char *eq = strchr(env->v[i], '=');
		char key[256];
		size_t n = eq ? (size_t)(eq - env->v[i]) : strlen(env->v[i]);

		if (n >= sizeof(key))
			n = sizeof(key) - 1;
		memcpy(key, env->v[i], n);
		key[n] = '\0';
		json_object_set_new(o, key, json_string(eq ? eq + 1 : ""));
	}
	return o;
}


/* A string or JSON null. */
static json_t *
str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
from_json(const struct sbx_template *t)
{
	switch (t->from.kind) {
	case SBX_FROM_DEBIAN:
		return json_pack("{s:s, s:o}", "debian", t->from.suite,
		    "packages", sbx_json_strvec(&t->from.packages));
	case SBX_FROM_TAR:
		return json_pack("{s:s}", "tar", t->from.path);
	case SBX_FROM_OCI:
		return json_pack("{s:s}", "oci", t->from.path);
	case SBX_FROM_TEMPLATE:
		return json_pack("{s:s}", "template", t->from.template);
	}
	return json_object();
}

static json_t *
ready_json(const struct sbx_template *t)
{
	json_t *o = json_pack("{s:I}", "timeout_ms",
	    (json_int_t)t->ready.timeout_ms);

	switch (t->ready.kind) {
	case SBX_READY_NONE:
		break;
	case SBX_READY_PORT:
		json_object_set_new(o, "port", json_integer(t->ready.port));
		break;
	case SBX_READY_FILE:
		json_object_set_new(o, "file", json_string(t->ready.file));
		break;
	case SBX_READY_COMMAND:
		json_object_set_new(o, "command",
		    json_string(t->ready.command));
		break;
	case SBX_READY_DELAY:
		json_object_set_new(o, "delay_ms",
		    json_integer((json_int_t)t->ready.delay_ms));
		break;
	}
	return o;
}

json_t *
sbx_template_json(const struct sbx_template *t)
{
	unsigned char hash[SBX_TEMPLATE_HASH_LEN];
	char hex[SBX_TEMPLATE_HASH_HEX];
	json_t *o, *files, *run, *ports;
	size_t i;

	sbx_template_hash(t, hash, hex);
	files = json_array();
	for (i = 0; i < t->nfiles; i++) {
		const struct sbx_template_file *f = &t->files[i];
		json_t *e = json_pack("{s:s, s:s, s:o}", "src", f->src,
		    "dst", f->dst, "owner", str_or_null(f->owner));

		if (f->has_mode)
			json_object_set_new(e, "mode",
			    json_integer(f->mode));
		json_array_append_new(files, e);
	}
	run = json_array();
	for (i = 0; i < t->nrun; i++) {
		const struct sbx_template_step *s = &t->run[i];

		json_array_append_new(run, json_pack("{s:s, s:o, s:o, s:o}",
		    "command", s->command, "workdir", str_or_null(s->workdir),
		    "user", str_or_null(s->user), "env", env_json(&s->env)));
	}
	ports = json_array();
	for (i = 0; i < t->nports; i++)
		json_array_append_new(ports, json_integer(t->ports[i]));
	o = json_pack("{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "name", t->name,
	    "description", str_or_null(t->description),
	    "path", t->path,
	    "hash", hex,
	    "from", from_json(t),
	    "files", files,
	    "env", env_json(&t->env),
	    "workdir", str_or_null(t->workdir),
	    "user", str_or_null(t->user),
	    "run", run);
	json_object_set_new(o, "start", str_or_null(t->start));
	json_object_set_new(o, "ready", ready_json(t));
	json_object_set_new(o, "resources", json_pack("{s:i, s:I, s:I}",
	    "vcpus", (int)t->resources.vcpus,
	    "memory", (json_int_t)t->resources.memory,
	    "disk", (json_int_t)t->resources.disk));
	json_object_set_new(o, "idle_timeout_ms",
	    json_integer((json_int_t)t->idle_timeout_ms));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "kernel", str_or_null(t->kernel));
	json_object_set_new(o, "network", json_pack("{s:o, s:o}",
	    "allow", sbx_json_strvec(&t->net_allow),
	    "deny", sbx_json_strvec(&t->net_deny)));
	return o;
}

json_t *
sbx_template_sandbox_json(const struct sbx_template *t)
{
	return json_pack("{s:i, s:I, s:I, s:I, s:o, s:o, s:o}",
	    "vcpus", (int)t->resources.vcpus,
	    "memory", (json_int_t)t->resources.memory,
	    "disk", (json_int_t)t->resources.disk,
	    "idle_timeout_ms", (json_int_t)t->idle_timeout_ms,
	    "allow", sbx_json_strvec(&t->net_allow),
	    "deny", sbx_json_strvec(&t->net_deny),
	    "env", sbx_json_strvec(&t->env));
}
