/*
 * h-templates.c - GET /v1/templates and GET /v1/templates/{name}: the
 * templates a create request can name, read from the server's template
 * directories and builtins (src/template). Only names are looked up,
 * never paths, and server file paths are not shown.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "serve/serve-int.h"
#include "template/template.h"
#include "core/banned.h"

enum MHD_Result
h_templates_list(struct req *r)
{
	struct sbx_template_entry *v;
	struct sbx_template *t;
	json_t *arr = json_array(), *o;
	size_t n, i;

	sbx_template_list(r->srv->home, &v, &n);
	for (i = 0; i < n; i++) {
		t = NULL;
		o = json_pack("{s:s, s:s}", "name", v[i].name, "origin",
		    sbx_template_origin_name(v[i].origin));
		if (sbx_template_open(v[i].name, r->srv->home, &t, NULL,
		    NULL) == 0) {
			json_object_set_new(o, "description",
			    json_string(t->description ? t->description : ""));
			json_object_set_new(o, "valid", json_true());
		} else {
			json_object_set_new(o, "valid", json_false());
		}
		sbx_template_free(t);
		json_array_append_new(arr, o);
	}
	sbx_template_entries_free(v, n);
	return reply_json(r, 200, json_pack("{s:o}", "templates", arr));
}

enum MHD_Result
h_templates_get(struct req *r)
{
	enum sbx_template_origin origin;
	struct sbx_template *t = NULL;
	struct sbx_err e;
	json_t *o;

	sbx_err_clear(&e);
	if (!sbx_template_name_ok(r->arg))
		return reply_error(r, 400, "bad_request", "'%s' is not a "
		    "template name", r->arg);
	if (sbx_template_open(r->arg, r->srv->home, &t, &origin, &e) < 0)
		return reply_err(r, &e);
	o = sbx_template_json(t);
	sbx_template_free(t);
	json_object_del(o, "path");
	json_object_set_new(o, "name", json_string(r->arg));
	json_object_set_new(o, "origin",
	    json_string(sbx_template_origin_name(origin)));
	return reply_json(r, 200, o);
}
