/*
 * view.h - the curses dashboard of `sbx top` over the model in top.h.
 *
 * Runs on the controlling terminal (stdin/stdout must be terminals) until
 * the user quits. Every action is a backend op, so the dashboard works
 * with the local and the remote backend alike; a NULL op is reported in
 * the status line. Called from the main thread only (curses, signals).
 */
#ifndef SBX_TUI_VIEW_H
#define SBX_TUI_VIEW_H

#include <stdint.h>

#include "backend.h"
#include "core/err.h"

struct tui_view_cfg {
	const struct sbx_backend *backend;
	struct sbx_conn *conn;
	uint64_t interval_ms;	/* refresh period, > 0 */
	/* Global options passed on to `sbx shell` (NULL = not given). */
	const char *home;
	const char *remote;
};

/*
 * Runs the dashboard. Returns 0 when the user quit, or SBX_EUSAGE when
 * there is no usable terminal (the message says why).
 */
int tui_view_run(const struct tui_view_cfg *cfg, struct sbx_err *e);

#endif
