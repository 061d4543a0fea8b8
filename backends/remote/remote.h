/*
 * remote.h - the remote backend: a libcurl client of the REST API of
 * `sbx serve` (doc/api.md). The dispatcher selects it for `--remote URL`
 * or $SBX_REMOTE, with the token from $SBX_TOKEN (cfg->token).
 */
#ifndef SBX_REMOTE_REMOTE_H
#define SBX_REMOTE_REMOTE_H

#include "backend.h"

extern const struct sbx_backend sbx_backend_remote;

/* A template build on the server (build.c, doc/api.md). */
struct sbx_remote_build {
	const char *template;	/* file to upload, or a server template */
	int upload;		/* 1: `template` is a local file: pack it and
				   the files it refers to and upload them */
	int no_cache, image_only;
	/*
	 * Called for each build event (`ev` borrowed; `line` is its JSON
	 * text as sent), including the final "done" or "error"; 0 or an
	 * SBX_E code that stops the build's output.
	 */
	int (*on_event)(void *arg, json_t *ev, const char *line, size_t len,
	    struct sbx_err *e);
	void *arg;
};

/*
 * Builds on the server behind `c` (a connection of sbx_backend_remote),
 * handing the streamed events to o->on_event. Files the template refers
 * to must be relative paths inside its directory (SBX_EUSAGE otherwise,
 * before anything is sent). Returns 0 after a "done" event, else the
 * server's error (its code, message and hint) or a network error.
 */
int sbx_remote_build(struct sbx_conn *c, const struct sbx_remote_build *o,
    struct sbx_err *e);

/*
 * The server's templates (templates.c): `name` NULL, the listing (an
 * array as sbx_template_catalog makes, without server paths); else that
 * template (sbx_template_json's object, with "origin"). *out is the
 * caller's.
 */
int sbx_remote_templates(struct sbx_conn *c, const char *name, json_t **out,
    struct sbx_err *e);

#endif
