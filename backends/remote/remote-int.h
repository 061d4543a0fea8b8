/*
 * remote-int.h - internals of the remote backend (`sbx_backend_remote`): a
 * libcurl client of the REST API that `sbx serve` answers (doc/api.md).
 *
 * One CURL easy handle per struct sbx_conn, so connections are reused
 * between calls of one conn; a conn is used by one thread at a time
 * (backend.h). Calls retry with backoff only when they are idempotent
 * (GET, PUT, DELETE) and the failure is a connection error or a 502, 503
 * or 504, and only while nothing has been handed to the caller yet.
 */
#ifndef SBX_REMOTE_REMOTE_INT_H
#define SBX_REMOTE_REMOTE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "backend.h"
#include "core/buf.h"
#include "core/err.h"
#include "remote/remote.h"

struct sbx_conn {
	CURL *h;
	char *base;		/* "http://host:port" without a final '/' */
	char *shown;		/* the URL as the user gave it */
	char *unix_path;	/* "unix:PATH" URLs, else NULL */
	char *cainfo;		/* $SBX_CACERT: CA bundle for https */
	struct curl_slist *auth;	/* the Authorization header */
	char errbuf[CURL_ERROR_SIZE];
};

/* Where a response body goes. */
struct remote_sink {
	/* Called with body bytes of a 2xx response; 0 or an SBX_E code. */
	int (*fn)(void *ud, const char *data, size_t len, struct sbx_err *e);
	void *ud;
};

struct remote_req {
	const char *method;	/* "GET", "POST", ... */
	char *path;		/* "/v1/..." with query, escaped; owned */
	json_t *json;		/* request body (borrowed), or NULL */
	int upload_fd;		/* PUT body read from this fd, or -1 */
	const struct remote_sink *sink;	/* NULL = buffer into `body` */
	/* results */
	long status;
	struct sbx_buf body;	/* 2xx body when sink is NULL; error body */
	int delivered;		/* the sink got bytes (no retry then) */
	int sink_rc;
	struct sbx_err sink_err;
};

/* ---- http.c ----------------------------------------------------------- */

/* "/v1/sandboxes/<escaped query><suffix>" as a new string. */
char *remote_path(struct sbx_conn *c, const char *query, const char *suffix);
/* Appends "?key=value" or "&key=value" (value escaped) to *path. */
void remote_path_arg(struct sbx_conn *c, char **path, const char *key,
    const char *value);
/*
 * Performs `rq` with retries; on success (2xx) returns 0. HTTP errors
 * become the server's {"error"} as an sbx_err; network errors say
 * "cannot reach sbx server at URL: ...". Call remote_req_release after.
 */
int remote_perform(struct sbx_conn *c, struct remote_req *rq,
    struct sbx_err *e);
void remote_req_release(struct remote_req *rq);
/* A JSON call: body `in` (may be NULL), 2xx JSON into *out (may be NULL). */
int remote_call(struct sbx_conn *c, const char *method, char *path,
    json_t *in, json_t **out, struct sbx_err *e);
/*
 * Turns an error response (status, body) from `url` into `e`; exported
 * for the unit tests.
 */
int remote_http_error(long status, const char *body, size_t len,
    const char *url, struct sbx_err *e);

/* ---- exec.c ----------------------------------------------------------- */

/* NDJSON exec frames parsed as they arrive (exported for tests). */
struct remote_frames {
	struct sbx_buf line;
	int out_fd, err_fd;
	struct sbx_exec_result *res;
	int got_end;		/* an exit/started/error frame was seen */
	int rc;			/* an error frame's code */
	struct sbx_err err;
};

void remote_frames_init(struct remote_frames *f, int out_fd, int err_fd,
    struct sbx_exec_result *res);
void remote_frames_release(struct remote_frames *f);
/* Feeds bytes; 0, or an SBX_E code for a malformed frame or write error. */
int remote_frames_feed(struct remote_frames *f, const char *data, size_t len,
    struct sbx_err *e);

int remote_exec(struct sbx_conn *c, const char *query,
    const struct sbx_exec_opts *o, struct sbx_exec_result *r,
    struct sbx_err *e);
int remote_logs(struct sbx_conn *c, const char *query, int dst_fd,
    int follow, struct sbx_err *e);
/* The exec request's JSON (without stdin). */
json_t *remote_exec_json(const struct sbx_exec_opts *o);

/* ---- exec-tty.c -------------------------------------------------------- */

/* An interactive exec (o->tty) over "Upgrade: sbx-exec" (doc/api.md). */
int remote_exec_tty(struct sbx_conn *c, const char *query,
    const struct sbx_exec_opts *o, struct sbx_exec_result *r,
    struct sbx_err *e);

/* ---- tunnel.c ---------------------------------------------------------- */

int remote_port_connect(struct sbx_conn *c, const char *query,
    unsigned guest_port, int *fd, struct sbx_err *e);
/*
 * Opens a new connection to the server (CONNECT_ONLY), sends `method
 * path` with "Connection: Upgrade", "Upgrade: proto", the token and the
 * JSON body `json` (may be NULL) and reads the answer's head: 0 with the
 * handle in *h (curl_easy_cleanup it) and its socket in *s after a 101;
 * any other answer is the server's error in `e`.
 */
int remote_upgrade(struct sbx_conn *c, const char *method, const char *path,
    const char *proto, const char *json, CURL **h, curl_socket_t *s,
    struct sbx_err *e);
/* Sends all of buf on an upgraded connection; 0, or -1 (lost, 30 s). */
int remote_upgraded_send(CURL *h, curl_socket_t s, const void *buf,
    size_t len);

/* ---- files.c ---------------------------------------------------------- */

int remote_file_put(struct sbx_conn *c, const char *query, int src_fd,
    const char *path, uint32_t mode, struct sbx_err *e);
int remote_file_get(struct sbx_conn *c, const char *query, const char *path,
    int dst_fd, struct sbx_err *e);
int remote_file_stat(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat *st, struct sbx_err *e);
int remote_file_list(struct sbx_conn *c, const char *query, const char *path,
    struct sbx_file_stat **out, size_t *n, struct sbx_err *e);
int remote_file_mkdir(struct sbx_conn *c, const char *query,
    const char *path, uint32_t mode, struct sbx_err *e);
int remote_file_rm(struct sbx_conn *c, const char *query, const char *path,
    int recursive, struct sbx_err *e);
int remote_file_rename(struct sbx_conn *c, const char *query,
    const char *from, const char *to, struct sbx_err *e);

/*
 * Splits NDJSON arriving in pieces: appends to `line` (its cap bounds a
 * line: longer is an SBX_ENET error naming `what`) and calls on_line for
 * each complete non-empty line; 0 or the first error.
 */
int remote_ndjson_feed(struct sbx_buf *line, const char *data, size_t len,
    int (*on_line)(void *arg, const char *line, size_t len,
    struct sbx_err *e), void *arg, const char *what, struct sbx_err *e);

#endif
