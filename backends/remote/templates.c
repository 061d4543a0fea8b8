/*
 * templates.c - the server's templates: GET /v1/templates and
 * GET /v1/templates/{name} (remote.h).
 */
#include <stdlib.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "remote/remote.h"
#include "template/template.h"
#include "core/banned.h"

int
sbx_remote_templates(struct sbx_conn *c, const char *name, json_t **out,
    struct sbx_err *e)
{
	json_t *res = NULL, *arr;

	*out = NULL;
	if (name && !sbx_template_name_ok(name))
		return sbx_err_set(e, SBX_EUSAGE, "'%s' is not a template "
		    "name (the server's templates are named, not files)",
		    name);
	if (remote_call(c, "GET", name ? xasprintf("/v1/templates/%s", name) :
	    xstrdup("/v1/templates"), NULL, &res, e) < 0)
		return -1;
	if (name) {
		if (!json_is_object(res) || !json_is_string(json_object_get(res,
		    "name"))) {
			json_decref(res);
			return sbx_err_set(e, SBX_ENET, "the server's answer "
			    "for template '%s' has no name", name);
		}
		*out = res;
		return 0;
	}
	arr = json_object_get(res, "templates");
	if (!json_is_array(arr)) {
		json_decref(res);
		return sbx_err_set(e, SBX_ENET, "the server's answer has no "
		    "\"templates\" list");
	}
	*out = json_incref(arr);
	json_decref(res);
	return 0;
}
