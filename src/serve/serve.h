/*
 * serve.h - `sbx serve`: the REST API server (doc/api.md).
 *
 * libmicrohttpd runs the HTTP side with one thread per connection (so
 * handlers may block in backend ops); JSON is jansson; every request needs
 * a bearer token (serve/token.h). Each endpoint maps onto one op of the
 * backend the server fronts (`const struct sbx_backend *`); a NULL op
 * answers 501. Each request opens its own backend connection (backend.h:
 * one thread per struct sbx_conn) and closes it when it completes.
 */
#ifndef SBX_SERVE_SERVE_H
#define SBX_SERVE_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "backend.h"
#include "core/strvec.h"
#include "core/err.h"

#define SBX_SERVE_JSON_MAX (1u << 20)		/* JSON request bodies */
#define SBX_SERVE_EXEC_MAX (16u << 20)		/* exec request (stdin) */
#define SBX_SERVE_HEADER_MAX (32u << 10)	/* headers + URL */
#define SBX_SERVE_PATH_MAX 4096			/* guest file paths */
#define SBX_SERVE_BUILD_MAX (1ull << 30)	/* build context upload */
#define SBX_SERVE_BUILD_UNPACKED (4ull << 30)	/* ... once unpacked */
#define SBX_SERVE_BUILD_ENTRIES 100000		/* ... entries in it */

struct sbx_serve_cfg {
	const char *listen;	/* "ADDR:PORT" (port 0 = pick), or NULL */
	const char *unix_path;	/* unix socket path, or NULL */
	const char *home;	/* $SBX_HOME: tokens live in serve/ */
	const struct sbx_backend *backend;
	struct sbx_backend_cfg bcfg;	/* how each request opens it */
	unsigned max_conns;	/* 0 = 256 */
	unsigned timeout_s;	/* idle/slow client timeout, 0 = 30 */
	unsigned tunnel_idle_ms;	/* idle WebSocket/tunnel, 0 = never */
	const char *tls_cert;	/* PEM certificate chain file: HTTPS */
	const char *tls_key;	/* PEM private key file (with tls_cert) */
	int log_requests;	/* one line per request on stderr */
};

struct sbx_server;

/*
 * Binds, loads the token database and starts serving in background
 * threads. Strings in cfg are copied. Returns 0 or SBX_EIO/SBX_EUSAGE.
 */
int sbx_serve_start(const struct sbx_serve_cfg *cfg, struct sbx_server **out,
    struct sbx_err *e);
/* The URL the server answers on ("http://127.0.0.1:7777", "unix:PATH"). */
const char *sbx_serve_url(const struct sbx_server *s);
/* Stops accepting, waits for connections to finish, frees `s`. */
void sbx_serve_stop(struct sbx_server *s);

/* ---- pure helpers (request.c), exported for the unit tests ---------- */

/* The HTTP status for a negative SBX_E* code (400, 404, 409, ...). */
unsigned sbx_serve_http_status(int code);
/* The SBX_E* code for an error code name ("not_found" → SBX_ENOENT). */
int sbx_serve_code_from_name(const char *name);

/*
 * Normalises an absolute guest path: collapses "//" and "/./", drops a
 * trailing "/". Refuses (SBX_EUSAGE naming the problem) relative paths,
 * ".." components, control characters and paths past
 * SBX_SERVE_PATH_MAX. Returns a new string in *out (free it).
 */
int sbx_serve_path_normalise(const char *in, char **out, struct sbx_err *e);

/* An exec request body decoded (request.c). Owned strings. */
struct sbx_serve_exec_req {
	char **argv;		/* NULL-terminated */
	char **env;		/* NULL-terminated or NULL */
	char *cwd, *user;	/* NULL = default */
	int tty;
	unsigned rows, cols;
	int background;
	uint64_t timeout_ms;
	unsigned char *stdin_data;	/* decoded "stdin", or NULL */
	size_t stdin_len;
};

/* Decodes {argv, env, cwd, user, tty, rows, cols, background, timeout_ms,
 * stdin (base64)}; errors name the field. */
int sbx_serve_exec_parse(json_t *j, struct sbx_serve_exec_req *out,
    struct sbx_err *e);
void sbx_serve_exec_req_release(struct sbx_serve_exec_req *x);

/* What a decoded create request's lists live in (init with {0}). */
struct sbx_serve_create_bufs {
	struct sbx_strvec env, allow, deny;
};
void sbx_serve_create_bufs_clear(struct sbx_serve_create_bufs *b);

/*
 * Decodes a create request {template, image, snapshot, name, vcpus,
 * memory, disk, idle_timeout_ms, env, allow, deny, no_network} into `o`;
 * strings point into `j`, lists into `b`.
 */
int sbx_serve_create_parse(json_t *j, struct sbx_create_opts *o,
    struct sbx_serve_create_bufs *b, struct sbx_err *e);

/* Parses "ADDR:PORT" / "[V6]:PORT" into host (malloc'd) and port. */
int sbx_serve_listen_parse(const char *s, char **host, unsigned *port,
    struct sbx_err *e);

/* ---- untar.c: build contexts uploaded to POST /v1/templates/build ---- */

struct sbx_untar_limits {
	uint64_t max_bytes;	/* file data unpacked, in all */
	uint64_t max_entries;
};

/*
 * Unpacks tar file `tar` (any compression libarchive reads) into the
 * existing directory `root`. Refuses (SBX_EUSAGE, naming the entry)
 * absolute names, "..", device nodes, fifos and sockets, symbolic links
 * whose target leaves the root, hard links to anything but a regular
 * file unpacked before, writing through a symbolic link, and going past
 * the limits. The caller removes `root` on failure.
 */
int sbx_untar_safe(const char *tar, const char *root,
    const struct sbx_untar_limits *lim, struct sbx_err *e);

#endif
