/*
 * h-templates.c - GET /v1/templates and GET /v1/templates/{name}: the
 * templates a create request can name, read from the server's template
 * directories, builtins and store (src/template/catalog.h). Only names
 * are looked up, never paths, and server file paths are not shown.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "serve/serve-int.h"
#include "template/catalog.h"
#include "template/template.h"
#include "core/banned.h"

enum MHD_Result
h_templates_list(struct req *r)
{
	json_t *arr = sbx_template_catalog(r->srv->home), *o;
	size_t i;

	/* Server file paths, and parser messages that name them, stay here. */
	json_array_foreach(arr, i, o) {
		json_object_del(o, "path");
		json_object_del(o, "error");
	}
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
	if (!o) {
		sbx_template_free(t);
		return reply_error(r, 500, "failed", "template '%s' cannot be "
		    "sent as JSON (a value is not UTF-8)", r->arg);
	}
	{
		/* The parent chain, as `sbx templates show` prints it. */
		struct sbx_template **chain;
		size_t n, i;

		if (sbx_template_parents(t, r->srv->home, &chain, &n,
		    NULL) == 0) {
			json_t *a = json_array();

			for (i = 0; i < n; i++)
				json_array_append_new(a,
				    json_string(chain[i]->name));
			json_object_set_new(o, "parents", a);
			sbx_template_chain_free(chain, n);
		}
	}
	sbx_template_free(t);
	json_object_del(o, "path");
	json_object_set_new(o, "name", json_string(r->arg));
	json_object_set_new(o, "origin",
	    json_string(sbx_template_origin_name(origin)));
	return reply_json(r, 200, o);
}
