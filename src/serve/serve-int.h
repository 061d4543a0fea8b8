/*
 * serve-int.h - internals shared by the server's files: http.c (the
 * libmicrohttpd glue), route.c (routing, auth, meta, tokens), h-*.c (one
 * file of handlers per resource) and stream.c (worker-thread streams).
 *
 * Threads: libmicrohttpd runs each connection in its own thread; a
 * `struct req` belongs to that thread for its whole life. Streams run the
 * backend op in a worker thread and hand bytes back through pipes.
 */
#ifndef SBX_SERVE_SERVE_INT_H
#define SBX_SERVE_SERVE_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "backend.h"
#include "core/buf.h"
#include "core/err.h"
#include "serve/serve.h"
#include "serve/token.h"

struct sbx_server {
	struct MHD_Daemon *d;
	const struct sbx_backend *backend;
	struct sbx_backend_cfg bcfg;	/* strings owned below */
	char *home, *url, *token, *unix_path, *base_url;
	char *tls_cert, *tls_key;	/* PEM text, kept while serving */
	struct sbx_token_db *tokens;
	int log_requests;
	unsigned timeout_s;		/* idle connection timeout */
	unsigned tunnel_idle_ms;	/* idle upgraded connection, 0 never */
	int stopping;			/* set (atomically) by stop: streams
					   end so connection threads exit */
	int lfd;			/* listening socket */
	int upgraded;			/* spliced connections (h-proxy.c),
					   atomically */
	int building;			/* a template build runs (h-build.c),
					   atomically */
};

struct req;

/* How a route takes its request body. */
enum body_kind {
	BODY_NONE,	/* any body is refused with 413 */
	BODY_JSON,	/* buffered up to SBX_SERVE_JSON_MAX, then parsed */
	BODY_EXEC,	/* JSON up to SBX_SERVE_EXEC_MAX */
	BODY_STREAM,	/* handed to route->stream as it arrives */
	BODY_PROXY,	/* like BODY_STREAM, any method (port proxy) */
};

struct route {
	const char *method;
	const char *pattern;	/* "/v1/sandboxes/ * /exec" without spaces */
	int scope;		/* least token scope allowed */
	enum body_kind body;
	const char *op;		/* backend op it needs, or NULL */
	enum MHD_Result (*fn)(struct req *r);
	/* BODY_STREAM: called once before the body (begin), per chunk,
	 * and with len 0 at the end (then fn answers). */
	int (*stream)(struct req *r, const char *data, size_t len);
	/* method "*": any method; scope is raised to write for methods
	 * other than GET and HEAD. prefix: the pattern may be followed by
	 * "/anything". */
	int prefix;
	/* Called after authentication, before any body; may answer. */
	enum MHD_Result (*begin)(struct req *r);
};

struct upload;
struct proxy;
struct build_upload;

struct req {
	struct sbx_server *srv;
	struct MHD_Connection *mc;
	const char *method;
	char *url;
	char *raw_uri;		/* as the client sent it, with the query */
	const struct route *route;
	char *arg;		/* the {id} path segment, or NULL */
	int scope;
	char token_id[SBX_TOKEN_ID_LEN + 1];
	struct sbx_buf body;
	int too_big;		/* body went past the cap */
	int answered;		/* a response was queued */
	unsigned status;
	struct sbx_conn *conn;	/* backend connection, opened lazily */
	struct upload *up;	/* BODY_STREAM state */
	struct proxy *px;	/* BODY_PROXY state (h-proxy.c) */
	struct build_upload *bu; /* POST /v1/templates/build body (h-build.c) */
	uint64_t start_ns;
};

/* ---- http.c --------------------------------------------------------- */

/* Queues `body` (stolen) as JSON with `status`. */
enum MHD_Result reply_json(struct req *r, unsigned status, json_t *body);
/* Queues an empty response (204 and the like). */
enum MHD_Result reply_empty(struct req *r, unsigned status);
/* Queues {"error": {"code": name, "message": msg}} with `status`. */
enum MHD_Result reply_error(struct req *r, unsigned status,
    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Queues the error in `e` with the status its code maps to. */
enum MHD_Result reply_err(struct req *r, const struct sbx_err *e);
/* Queues an already-made response. */
enum MHD_Result reply_response(struct req *r, unsigned status,
    struct MHD_Response *resp);
/* A query argument, or NULL. */
const char *req_query(struct req *r, const char *key);
/* Parses the buffered body as a JSON object (400 answered on failure). */
json_t *req_json(struct req *r);
/* Like req_json, but an empty body is {}. */
json_t *req_json_opt(struct req *r);
/* The backend connection for this request (error in e). */
struct sbx_conn *req_conn(struct req *r, struct sbx_err *e);
/* A boolean query argument ("1", "true", "yes"), default `def`. */
int req_query_bool(struct req *r, const char *key, int def);

/* ---- route.c -------------------------------------------------------- */

/* The route for method + url; sets r->arg; 404/405 status otherwise. */
const struct route *route_find(const char *method, const char *url,
    char **arg, unsigned *status);
/* Checks the Authorization header; answers 401/403 itself (returns -1). */
int route_auth(struct req *r);

/* ---- handlers: h-sandbox.c, h-files.c, h-exec.c, h-templates.c -------- */

enum MHD_Result h_meta(struct req *r);
enum MHD_Result h_tokens_list(struct req *r);
enum MHD_Result h_tokens_create(struct req *r);
enum MHD_Result h_tokens_revoke(struct req *r);

enum MHD_Result h_templates_list(struct req *r);
enum MHD_Result h_templates_get(struct req *r);

/* h-build.c: template builds streamed as NDJSON events. */
enum MHD_Result h_build_begin(struct req *r);
int h_build_body(struct req *r, const char *data, size_t len);
enum MHD_Result h_build_upload(struct req *r);
enum MHD_Result h_build_name(struct req *r);
void build_upload_free(struct build_upload *bu);


enum MHD_Result h_sb_create(struct req *r);
enum MHD_Result h_sb_list(struct req *r);
enum MHD_Result h_sb_get(struct req *r);
enum MHD_Result h_sb_destroy(struct req *r);
enum MHD_Result h_sb_stop(struct req *r);
enum MHD_Result h_sb_start(struct req *r);
enum MHD_Result h_sb_hibernate(struct req *r);
enum MHD_Result h_sb_resume(struct req *r);
enum MHD_Result h_sb_resize(struct req *r);
enum MHD_Result h_sb_fork(struct req *r);
enum MHD_Result h_sb_snapshot(struct req *r);
enum MHD_Result h_sb_log(struct req *r);
enum MHD_Result h_sb_stats(struct req *r);
enum MHD_Result h_sb_port(struct req *r);
enum MHD_Result h_sb_port_close(struct req *r);

enum MHD_Result h_file_get(struct req *r);
enum MHD_Result h_file_put(struct req *r);
int h_file_put_stream(struct req *r, const char *data, size_t len);
enum MHD_Result h_file_stat(struct req *r);
enum MHD_Result h_file_list(struct req *r);
enum MHD_Result h_file_mkdir(struct req *r);
enum MHD_Result h_file_rm(struct req *r);
enum MHD_Result h_file_rename(struct req *r);
void upload_free(struct upload *up);

enum MHD_Result h_proxy_begin(struct req *r);
enum MHD_Result h_tunnel_begin(struct req *r);
int h_proxy_body(struct req *r, const char *data, size_t len);
enum MHD_Result h_proxy(struct req *r);
void proxy_free(struct proxy *px);

enum MHD_Result h_exec(struct req *r);
/* h-exec-tty.c: 1 if the request asks for "Upgrade: sbx-exec". */
int exec_wants_upgrade(struct req *r);
/* The interactive exec of `x` (taken over, `x` is left empty). */
enum MHD_Result h_exec_upgrade(struct req *r, struct sbx_serve_exec_req *x);
enum MHD_Result h_logs(struct req *r);

/* ---- stream.c --------------------------------------------------------- */

/*
 * A backend op running in a worker thread that writes to pipes; the
 * response reads them. `run` gets the write ends (out, err; err is -1 for
 * raw streams) and returns 0 or an SBX_E code filling `e`. ndjson: frame
 * output as {"stdout"|"stderr": base64} lines, send {"keepalive": true}
 * when the op has been silent for a third of the connection timeout (so
 * a quiet command outlives it), and finish with `finish`'s frame; raw:
 * copy the bytes of `out`.
 */
struct stream;
typedef int (*stream_run_fn)(struct stream *s, void *arg, int out_fd,
    int err_fd, struct sbx_err *e);
typedef json_t *(*stream_finish_fn)(void *arg);

/*
 * Starts the worker and answers: an error status when the op fails before
 * writing anything, else 200 with the stream as the body. Takes over
 * r->conn and `arg` (freed with arg_free).
 */
enum MHD_Result stream_reply(struct req *r, int ndjson, const char *ctype,
    stream_run_fn run, stream_finish_fn finish, void *arg,
    void (*arg_free)(void *));
/* The backend connection a stream's worker uses. */
struct sbx_conn *stream_conn(struct stream *s);
const struct sbx_backend *stream_backend(struct stream *s);

/* Closes *fd if open and sets it to -1 (stream.c). */
void serve_fd_close(int *fd);

#endif
