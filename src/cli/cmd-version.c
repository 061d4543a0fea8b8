/*
 * cmd-version.c - `sbx version [--json]`.
 */
#include <stdio.h>

#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <yaml.h>

#include "cli/cmd.h"
#include "core/banned.h"

static int
version_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	json_t *o;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	if (!ctx->json) {
		printf("sbx %s\n", PACKAGE_VERSION);
		return 0;
	}
	o = json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:s}}",
	    "name", PACKAGE_NAME, "version", PACKAGE_VERSION,
	    "libraries",
	    "libarchive", archive_version_details(),
	    "libcurl", curl_version_info(CURLVERSION_NOW)->version,
	    "jansson", JANSSON_VERSION,
	    "libsodium", sodium_version_string(),
	    "libyaml", yaml_get_version_string());
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
	return 0;
}

const struct sbx_cmd cmd_version = {
	.name = "version",
	.summary = "print the version of sbx",
	.usage = "[--json]",
	.exec = version_exec,
};
