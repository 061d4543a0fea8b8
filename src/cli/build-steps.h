/*
 * build-steps.h - the VM stage of `sbx build` (build-steps.c).
 */
#ifndef SBX_CLI_BUILD_STEPS_H
#define SBX_CLI_BUILD_STEPS_H

#include <jansson.h>

#include "store/store.h"

struct sbx_ctx;
struct sbx_err;
struct sbx_template;

/* Where a template's `start` command writes its output in the guest. */
#define SBX_BUILD_START_LOG "/var/log/sbx-start.log"

/*
 * Boots image `image_hex` (refs/images/<t->name>) in a sandbox, runs t's
 * steps, start and ready check, snapshots the sandbox, removes it and
 * points refs/templates/<t->name> at a template manifest naming the
 * snapshot (whose id goes to `snap`). Reuses the last build when the
 * image and template are unchanged, unless `no_cache`.
 */
int sbx_build_steps(struct sbx_ctx *ctx, const struct sbx_template *t,
    const char *image_hex, int no_cache, char snap[SBX_OID_HEXLEN + 1],
    struct sbx_err *e);

/*
 * With --json, prints build event `ev` as one line of JSON on stdout
 * ({"event": "image" | "boot" | "restore" | "step" | "step_done" |
 * "start" | "wait_ready" | "snapshot" | "up_to_date" | "done", ...});
 * drops the reference either way.
 */
void sbx_build_event(struct sbx_ctx *ctx, json_t *ev);

#endif
