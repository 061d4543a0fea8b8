/*
 * http.c - the libmicrohttpd glue: listening sockets, the per-request
 * state machine (route, auth, body with caps, answer), replies and
 * request helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "core/clock.h"
#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "core/banned.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

enum MHD_Result
reply_response(struct req *r, unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (r->answered) {
		MHD_destroy_response(resp);
		return MHD_YES;
	}
	ret = MHD_queue_response(r->mc, status, resp);
	MHD_destroy_response(resp);
	if (ret == MHD_YES) {
		r->answered = 1;
		r->status = status;
	}
	return ret;
}

enum MHD_Result
reply_json(struct req *r, unsigned status, json_t *body)
{
	struct MHD_Response *resp;
	char *text = json_dumps(body, JSON_COMPACT);
	size_t len;

	json_decref(body);
	if (!text)
		text = xstrdup("{}");
	len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	resp = MHD_create_response_from_buffer(len, text,
	    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	    "application/json");
	return reply_response(r, status, resp);
}

enum MHD_Result
reply_empty(struct req *r, unsigned status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "",
	    MHD_RESPMEM_PERSISTENT);

	return reply_response(r, status, resp);
}

enum MHD_Result
reply_error(struct req *r, unsigned status, const char *code,
    const char *fmt, ...)
{
	char msg[SBX_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(r, status, json_pack("{s:{s:s,s:s}}", "error",
	    "code", code, "message", msg));
}

enum MHD_Result
reply_err(struct req *r, const struct sbx_err *e)
{
	json_t *o;
	int code = e->code ? e->code : SBX_EFAIL;

	o = json_pack("{s:{s:s,s:s}}", "error", "code",
	    sbx_errcode_name(code), "message",
	    e->msg[0] ? e->msg : "unknown error");
	if (e->hint[0])
		json_object_set_new(json_object_get(o, "error"), "hint",
		    json_string(e->hint));
	return reply_json(r, sbx_serve_http_status(code), o);
}

const char *
req_query(struct req *r, const char *key)
{
	return MHD_lookup_connection_value(r->mc, MHD_GET_ARGUMENT_KIND, key);
}

int
req_query_bool(struct req *r, const char *key, int def)
{
	const char *v = req_query(r, key);

	if (!v)
		return def;
	return !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") ||
	    !*v;
}

json_t *
req_json(struct req *r)
{
	json_error_t je;
	json_t *j;

	if (!r->body.len) {
		reply_error(r, 400, "bad_request", "request body is empty "
		    "(expected a JSON object)");
		return NULL;
	}
	j = json_loadb(r->body.buf, r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		reply_error(r, 400, "bad_request", "malformed JSON at line %d, "
		    "column %d: %s", je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		reply_error(r, 400, "bad_request", "request body must be a "
		    "JSON object");
		return NULL;
	}
	return j;
}

json_t *
req_json_opt(struct req *r)
{
	if (!r->body.len)
		return json_object();
	return req_json(r);
}

struct sbx_conn *
req_conn(struct req *r, struct sbx_err *e)
{
	if (!r->conn && r->srv->backend->open(&r->srv->bcfg, &r->conn, e) < 0)
		r->conn = NULL;
	return r->conn;
}

/* The cap on the body of a route, 0 = no buffering. */
static size_t
body_cap(const struct route *rt)
{
	switch (rt->body) {
	case BODY_JSON:
		return SBX_SERVE_JSON_MAX;
	case BODY_EXEC:
		return SBX_SERVE_EXEC_MAX;
	default:
		return 0;
	}
}

/* Answers 413 naming the route's body limit. */
static enum MHD_Result
too_large(struct req *r)
{
	return reply_error(r, 413, "too_large", "request body is larger "
	    "than %zu bytes", body_cap(r->route));
}

/* First call for a request: route, authenticate, check Content-Length. */
static enum MHD_Result
req_begin(struct req *r)
{
	const char *cl;
	unsigned status;
	unsigned long long n;
	char *end;

	r->route = route_find(r->method, r->url, &r->arg, &status);
	if (!r->route)
		return reply_error(r, status, status == 405 ?
		    "method_not_allowed" : "not_found", status == 405 ?
		    "method %s is not allowed on '%s'" : "no endpoint %s '%s'",
		    r->method, r->url);
	if (route_auth(r) < 0)
		return MHD_YES;
	cl = MHD_lookup_connection_value(r->mc, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && body_cap(r->route)) {
		errno = 0;
		n = strtoull(cl, &end, 10);
		if (!errno && !*end && n > body_cap(r->route))
			return too_large(r);
	}
	if (body_cap(r->route))
		r->body.cap = body_cap(r->route);
	if (r->route->begin)
		return r->route->begin(r);
	return MHD_YES;
}

/*
 * libmicrohttpd's access handler, called several times per request: first
 * (route, auth), once per piece of body, then once more to answer.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *mc, const char *url,
    const char *method, const char *version, const char *data,
    size_t *data_size, void **con_cls)
{
	struct req *r = *con_cls;

	(void)version;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		r->start_ns = now_ns();
		*con_cls = r;
	}
	if (!r->method) {
		r->srv = cls;
		r->mc = mc;
		r->method = method;
		r->url = xstrdup(url);
		sbx_buf_init(&r->body, 0);
		return req_begin(r);
	}
	if (*data_size) {
		size_t len = *data_size;

		*data_size = 0;
		if (r->answered || r->too_big)
			return MHD_YES;
		switch (r->route->body) {
		case BODY_JSON:
		case BODY_EXEC:
			if (sbx_buf_add(&r->body, data, len) < 0) {
				r->too_big = 1;
				too_large(r);
			}
			break;
		case BODY_STREAM:
		case BODY_PROXY:
			r->route->stream(r, data, len);
			break;
		case BODY_NONE:
			break;
		}
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (r->too_big)
		return too_large(r);
	if (r->route->body == BODY_STREAM)
		r->route->stream(r, NULL, 0);
	return r->route->fn(r);
}

/* Frees a request's state, logging one line for it unless -q. */
static void
on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
	struct sbx_server *srv = cls;
	struct req *r = *con_cls;

	(void)mc;
	if (!r)
		return;
	if (srv->log_requests && r->method)
		fprintf(stderr, "%s %s %u %.1fms%s%s\n", r->method, r->url,
		    r->answered ? r->status : 0,
		    (double)(now_ns() - r->start_ns) / 1e6,
		    r->token_id[0] ? " token=" : "", r->token_id);
	(void)why;
	if (r->up)
		upload_free(r->up);
	proxy_free(r->px);
	build_upload_free(r->bu);
	free(r->raw_uri);
	if (r->conn)
		srv->backend->close(r->conn);
	sbx_buf_release(&r->body);
	free(r->arg);
	free(r->url);
	free(r);
	*con_cls = NULL;
}

/*
 * Keeps the request URI as sent (libmicrohttpd decodes the one it hands
 * on_request): the port proxy forwards it unchanged.
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct req *r = xcalloc(1, sizeof(*r));

	(void)cls;
	(void)mc;
	r->raw_uri = xstrdup(uri ? uri : "");
	r->start_ns = now_ns();
	return r;
}

/* libmicrohttpd's own messages, shown with request logging. */
static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct sbx_server *srv = cls;

	if (!srv->log_requests)
		return;
	fputs("sbx serve: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* A bound, listening TCP socket for "ADDR:PORT"; sets srv->base_url. */
static int
listen_tcp(struct sbx_server *srv, const char *spec, struct sbx_err *e)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char *host, portstr[8], hbuf[NI_MAXHOST], pbuf[NI_MAXSERV];
	unsigned port;
	int fd, one = 1, rc;

	if (sbx_serve_listen_parse(spec, &host, &port, e) < 0)
		return SBX_EUSAGE;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc) {
		sbx_err_set(e, SBX_EUSAGE, "bad listen address '%s': %s "
		    "(give a numeric address such as 127.0.0.1)", spec,
		    gai_strerror(rc));
		free(host);
		return SBX_EUSAGE;
	}
	free(host);
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return sbx_err_sys(e, "cannot create a socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, 128) < 0) {
		sbx_err_sys(e, "cannot listen on '%s'", spec);
		freeaddrinfo(ai);
		close(fd);
		return SBX_EIO;
	}
	freeaddrinfo(ai);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf,
	    sizeof(pbuf), NI_NUMERICHOST | NI_NUMERICSERV);
	srv->base_url = xasprintf(ss.ss_family == AF_INET6 ?
	    "http://[%s]:%s" : "http://%s:%s", hbuf, pbuf);
	return fd;
}

/* A listening unix socket at `path` (0600), replacing a stale one. */
static int
listen_unix(struct sbx_server *srv, const char *path, struct sbx_err *e)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return sbx_err_set(e, SBX_EUSAGE, "unix socket path '%s' is "
		    "too long", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sbx_err_set(e, SBX_EEXIST, "'%s' exists and is "
			    "not a socket", path);
		unlink(path);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sbx_err_sys(e, "cannot create a socket");
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 128) < 0) {
		umask(old);
		sbx_err_sys(e, "cannot listen on '%s'", path);
		close(fd);
		return SBX_EIO;
	}
	umask(old);
	srv->unix_path = xstrdup(path);
	srv->base_url = xasprintf("unix:%s", path);
	return fd;
}

/* Reads the PEM certificate and key; the URL becomes https. */
static int
tls_load(struct sbx_server *srv, const struct sbx_serve_cfg *cfg,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *u;

	if (!cfg->tls_cert || !cfg->tls_key)
		return sbx_err_set(e, SBX_EUSAGE, "HTTPS needs both a "
		    "certificate and a key");
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return sbx_err_set(e, SBX_ENOTSUP, "this libmicrohttpd has no "
		    "TLS support");
	b.cap = 1u << 20;
	if (sbx_buf_read_file(&b, cfg->tls_cert, e) < 0)
		return SBX_EIO;
	srv->tls_cert = sbx_buf_detach(&b, NULL);
	b.cap = 1u << 20;
	if (sbx_buf_read_file(&b, cfg->tls_key, e) < 0)
		return SBX_EIO;
	srv->tls_key = sbx_buf_detach(&b, NULL);
	if (!strstr(srv->tls_cert, "-----BEGIN"))
		return sbx_err_set(e, SBX_EUSAGE, "'%s' is not a PEM "
		    "certificate", cfg->tls_cert);
	if (!strstr(srv->tls_key, "-----BEGIN"))
		return sbx_err_set(e, SBX_EUSAGE, "'%s' is not a PEM private "
		    "key", cfg->tls_key);
	if (srv->base_url && !strncmp(srv->base_url, "http://", 7)) {
		u = xasprintf("https://%s", srv->base_url + 7);
		free(srv->base_url);
		srv->base_url = u;
	}
	return 0;
}

int
sbx_serve_start(const struct sbx_serve_cfg *cfg, struct sbx_server **out,
    struct sbx_err *e)
{
	struct MHD_OptionItem tls[3] = {
		{ MHD_OPTION_END, 0, NULL }, { MHD_OPTION_END, 0, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	struct sbx_server *srv;
	unsigned flags;
	int fd, r;

	*out = NULL;
	if (!cfg->backend || !cfg->backend->open || !cfg->backend->close)
		return sbx_err_set(e, SBX_ENOTSUP, "no backend to serve");
	signal(SIGPIPE, SIG_IGN);
	srv = xcalloc(1, sizeof(*srv));
	srv->lfd = -1;
	srv->backend = cfg->backend;
	srv->bcfg = cfg->bcfg;
	srv->home = xstrdup(cfg->home);
	srv->bcfg.home = srv->home;
	if (cfg->bcfg.url)
		srv->bcfg.url = srv->url = xstrdup(cfg->bcfg.url);
	if (cfg->bcfg.token)
		srv->bcfg.token = srv->token = xstrdup(cfg->bcfg.token);
	srv->log_requests = cfg->log_requests;
	srv->timeout_s = cfg->timeout_s ? cfg->timeout_s : 30;
	srv->tunnel_idle_ms = cfg->tunnel_idle_ms;
	r = sbx_token_db_open(cfg->home, &srv->tokens, e);
	if (r < 0)
		goto fail;
	fd = cfg->unix_path ? listen_unix(srv, cfg->unix_path, e) :
	    listen_tcp(srv, cfg->listen ? cfg->listen : "127.0.0.1:7777", e);
	if (fd < 0) {
		r = fd;
		goto fail;
	}
	srv->lfd = fd;
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD |
	    MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (MHD_is_feature_supported(MHD_FEATURE_UPGRADE) == MHD_YES)
		flags |= MHD_ALLOW_UPGRADE;
	if (cfg->tls_cert || cfg->tls_key) {
		r = tls_load(srv, cfg, e);
		if (r < 0)
			goto fail;
		flags |= MHD_USE_TLS;
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0,
		    srv->tls_key };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0,
		    srv->tls_cert };
	}
	srv->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
	    MHD_OPTION_ARRAY, tls,
	    MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
	    MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)(cfg->max_conns ? cfg->max_conns : 256),
	    MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SBX_SERVE_HEADER_MAX,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
	    MHD_OPTION_END);
	if (!srv->d) {
		r = sbx_err_set(e, SBX_EIO, "cannot start the HTTP server on "
		    "'%s'", srv->base_url);
		goto fail;
	}
	srv->lfd = -1;		/* the daemon closes it when stopped */
	*out = srv;
	return 0;
fail:
	sbx_serve_stop(srv);
	return r;
}

const char *
sbx_serve_url(const struct sbx_server *s)
{
	return s->base_url;
}

void
sbx_serve_stop(struct sbx_server *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->stopping, 1, __ATOMIC_SEQ_CST);
	{
		/* Spliced connections notice `stopping` within 250 ms. */
		uint64_t end = sbx_clock_ms() + 3000;

		while (__atomic_load_n(&s->upgraded, __ATOMIC_SEQ_CST) &&
		    sbx_clock_ms() < end)
			usleep(20000);
	}
	if (s->d)
		MHD_stop_daemon(s->d);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->unix_path)
		unlink(s->unix_path);
	sbx_token_db_close(s->tokens);
	free(s->home);
	free(s->url);
	free(s->token);
	free(s->unix_path);
	free(s->base_url);
	if (s->tls_key)
		sodium_memzero(s->tls_key, strlen(s->tls_key));
	free(s->tls_key);
	free(s->tls_cert);
	free(s);
}
