/*
 * catalog.h - the listing behind `sbx templates ls` and GET /v1/templates:
 * every template a name reaches (sbx_template_list), parsed, with what
 * `sbx build` left of it in the store, plus the templates only the store
 * knows (built from a file or an upload).
 */
#ifndef SBX_TEMPLATE_CATALOG_H
#define SBX_TEMPLATE_CATALOG_H

#include <jansson.h>

/*
 * A JSON array, sorted by name then store-only entries, of objects
 *   {"name", "description" (its first line, "" if none), "origin"
 *    ("path", "user", "shipped", "builtin" or "store"), "path" (file,
 *    build source, or null), "valid", "error" (only when not valid),
 *    "built": {"snapshot", "time", "bytes"} or null}; "bytes" is what the
 *    template's snapshots (the ready one and its build steps') hold in the
 *    store, not counting the image.
 * The store under `home` is only read, and only when it exists. A
 * template that does not parse is listed with valid false and the
 * parser's message.
 */
json_t *sbx_template_catalog(const char *home);

#endif
