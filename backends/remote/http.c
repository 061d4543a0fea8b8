/*
 * http.c - one request of the remote backend: libcurl options, request
 * and response bodies, retries with backoff, and errors in sbx words.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/serve.h"
#include "core/banned.h"

#define RETRIES 3
#define BACKOFF_MS 250
#define ERROR_BODY_MAX (64u << 10)
#define JSON_BODY_MAX (256u << 20)

char *
remote_path(struct sbx_conn *c, const char *query, const char *suffix)
{
	char *q = curl_easy_escape(c->h, query, 0);
	char *p = xasprintf("/v1/sandboxes/%s%s", q ? q : "", suffix);

	curl_free(q);
	return p;
}

void
remote_path_arg(struct sbx_conn *c, char **path, const char *key,
    const char *value)
{
	char *v = curl_easy_escape(c->h, value, 0);
	char *p = xasprintf("%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?',
	    key, v ? v : "");

	curl_free(v);
	free(*path);
	*path = p;
}

void
remote_req_release(struct remote_req *rq)
{
	free(rq->path);
	rq->path = NULL;
	sbx_buf_release(&rq->body);
}

int
remote_http_error(long status, const char *body, size_t len, const char *url,
    struct sbx_err *e)
{
	const char *code = NULL, *msg = NULL, *hint = NULL;
	json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
	int rc;

	if (j)
		json_unpack(j, "{s:{s?s, s?s, s?s}}", "error", "code", &code,
		    "message", &msg, "hint", &hint);
	rc = sbx_serve_code_from_name(code);
	if (status == 401) {
		rc = sbx_err_set(e, SBX_EPERM, "server rejected the token "
		    "(401): %s", msg ? msg : "unauthorized");
		sbx_err_hint(e, "set SBX_TOKEN to a token made with 'sbx token "
		    "create' on the server at %s", url);
	} else if (status == 403) {
		rc = sbx_err_set(e, SBX_EPERM, "server refused (403): %s",
		    msg ? msg : "forbidden");
	} else if (status >= 500 && status != 501) {
		if (!code)
			rc = status == 503 || status == 502 ? SBX_ENET :
			    status == 504 ? SBX_ETIMEDOUT : SBX_EFAIL;
		rc = sbx_err_set(e, rc, "sbx server at %s failed (%ld): %s",
		    url, status, msg ? msg : "no details");
	} else if (msg) {
		if (!code)
			rc = status == 404 ? SBX_ENOENT : status == 409 ?
			    SBX_EEXIST : SBX_EUSAGE;
		rc = sbx_err_set(e, rc, "%s", msg);
		if (hint)
			sbx_err_hint(e, "%s", hint);
	} else {
		rc = sbx_err_set(e, status == 404 ? SBX_ENOENT : SBX_EFAIL,
		    "sbx server at %s answered %ld without an error message "
		    "(is this an sbx server?)", url, status);
	}
	json_decref(j);
	return rc;
}

/* Network failure in sbx words; `midway`: after output had arrived. */
static int
net_error(struct sbx_conn *c, CURLcode cc, int midway, struct sbx_err *e)
{
	long oserr = 0;
	char why[256];

	curl_easy_getinfo(c->h, CURLINFO_OS_ERRNO, &oserr);
	if ((cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR ||
	    cc == CURLE_RECV_ERROR) && oserr) {
		snprintf(why, sizeof(why), "%s", strerror((int)oserr));
		why[0] = (char)tolower((unsigned char)why[0]);
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(why, sizeof(why), "timed out");
	} else {
		snprintf(why, sizeof(why), "%s", c->errbuf[0] ? c->errbuf :
		    curl_easy_strerror(cc));
	}
	sbx_err_set(e, cc == CURLE_OPERATION_TIMEDOUT ? SBX_ETIMEDOUT :
	    SBX_ENET, "%s sbx server at %s: %s", midway ? "lost the "
	    "connection to" : "cannot reach", c->shown, why);
	if (cc == CURLE_PEER_FAILED_VERIFICATION)
		sbx_err_hint(e, "for a self-signed server certificate, set "
		    "SBX_CACERT to its PEM file");
	return e ? e->code : SBX_ENET;
}

/* A request and the conn, so on_body can reach the handle. */
struct rq_ctx {
	struct remote_req rq;
	struct sbx_conn *c;
};

/* Response bytes: 2xx to the sink (if any), everything else buffered. */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *p)
{
	struct rq_ctx *x = p;
	struct remote_req *rq = &x->rq;
	size_t len = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->c->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && rq->sink) {
		rq->delivered = 1;
		rq->sink_rc = rq->sink->fn(rq->sink->ud, data, len,
		    &rq->sink_err);
		return rq->sink_rc < 0 ? 0 : len;
	}
	if (sbx_buf_add(&rq->body, data, len) < 0)
		return 0;
	return len;
}

/* Request body bytes for a PUT, read from the caller's fd. */
static size_t
on_upload(char *buf, size_t size, size_t nmemb, void *p)
{
	struct remote_req *rq = p;
	ssize_t n;

	do
		n = read(rq->upload_fd, buf, size * nmemb);
	while (n < 0 && errno == EINTR);
	return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

/* Whether a failed attempt may be repeated (see remote-int.h). */
static int
retryable(const struct remote_req *rq, CURLcode cc, long status)
{
	if (rq->delivered || !strcmp(rq->method, "POST"))
		return 0;
	if (cc != CURLE_OK)
		return cc == CURLE_COULDNT_CONNECT || cc == CURLE_SEND_ERROR ||
		    cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING;
	return status == 502 || status == 503 || status == 504;
}

/* One attempt: sets the options and runs the transfer. */
static CURLcode
attempt(struct sbx_conn *c, struct rq_ctx *x, char *jtext)
{
	struct remote_req *rq = &x->rq;
	struct curl_slist *hdr = NULL, *h;
	char *url = xasprintf("%s%s", c->base, rq->path);
	struct stat st;
	CURLcode cc;

	curl_easy_reset(c->h);
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c->h, CURLOPT_USERAGENT, "sbx/" PACKAGE_VERSION);
	curl_easy_setopt(c->h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (c->unix_path)
		curl_easy_setopt(c->h, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
	if (c->cainfo)
		curl_easy_setopt(c->h, CURLOPT_CAINFO, c->cainfo);
	for (h = c->auth; h; h = h->next)
		hdr = curl_slist_append(hdr, h->data);
	curl_easy_setopt(c->h, CURLOPT_CUSTOMREQUEST, rq->method);
	if (jtext) {
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, jtext);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(jtext));
	} else if (rq->upload_fd >= 0) {
		hdr = curl_slist_append(hdr,
		    "Content-Type: application/octet-stream");
		curl_easy_setopt(c->h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->h, CURLOPT_READFUNCTION, on_upload);
		curl_easy_setopt(c->h, CURLOPT_READDATA, rq);
		if (fstat(rq->upload_fd, &st) == 0 && S_ISREG(st.st_mode))
			curl_easy_setopt(c->h, CURLOPT_INFILESIZE_LARGE,
			    (curl_off_t)(st.st_size -
			    lseek(rq->upload_fd, 0, SEEK_CUR)));
		else
			hdr = curl_slist_append(hdr,
			    "Transfer-Encoding: chunked");
	} else if (!strcmp(rq->method, "POST")) {
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, x);
	cc = curl_easy_perform(c->h);
	rq->status = 0;
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &rq->status);
	curl_slist_free_all(hdr);
	free(url);
	return cc;
}

int
remote_perform(struct sbx_conn *c, struct remote_req *rq, struct sbx_err *e)
{
	struct rq_ctx x;
	struct timespec ts;
	char *jtext = rq->json ? json_dumps(rq->json, JSON_COMPACT) : NULL;
	off_t start = rq->upload_fd >= 0 ? lseek(rq->upload_fd, 0, SEEK_CUR)
	    : 0;
	CURLcode cc = CURLE_OK;
	int i, rc;

	sbx_buf_init(&rq->body, 0);
	rq->body.cap = rq->sink ? ERROR_BODY_MAX : JSON_BODY_MAX;
	sbx_err_clear(&rq->sink_err);
	x.c = c;
	for (i = 0;; i++) {
		sbx_buf_reset(&rq->body);
		x.rq = *rq;
		cc = attempt(c, &x, jtext);
		*rq = x.rq;
		if (i >= RETRIES || !retryable(rq, cc, rq->status))
			break;
		/* A streamed PUT body can be sent again only from a file. */
		if (rq->upload_fd >= 0 && lseek(rq->upload_fd, start,
		    SEEK_SET) < 0)
			break;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(BACKOFF_MS << i) * 1000000L;
		nanosleep(&ts, NULL);
	}
	free(jtext);
	if (rq->sink_rc < 0) {
		if (e)
			*e = rq->sink_err;
		return rq->sink_rc;
	}
	if (cc != CURLE_OK)
		return net_error(c, cc, rq->delivered, e);
	if (rq->status >= 200 && rq->status < 300)
		return 0;
	rc = remote_http_error(rq->status, rq->body.buf, rq->body.len,
	    c->shown, e);
	return rc;
}

int
remote_call(struct sbx_conn *c, const char *method, char *path, json_t *in,
    json_t **out, struct sbx_err *e)
{
	struct remote_req rq;
	json_error_t je;
	int rc;

	memset(&rq, 0, sizeof(rq));
	rq.method = method;
	rq.path = path;
	rq.json = in;
	rq.upload_fd = -1;
	if (out)
		*out = NULL;
	rc = remote_perform(c, &rq, e);
	if (rc == 0 && out) {
		*out = rq.body.len ? json_loadb(rq.body.buf, rq.body.len, 0,
		    &je) : json_object();
		if (!*out)
			rc = sbx_err_set(e, SBX_ENET, "sbx server at %s sent "
			    "malformed JSON: %s", c->shown, je.text);
	}
	remote_req_release(&rq);
	return rc;
}

int
remote_ndjson_feed(struct sbx_buf *line, const char *data, size_t len,
    int (*on_line)(void *arg, const char *line, size_t len,
    struct sbx_err *e), void *arg, const char *what, struct sbx_err *e)
{
	const char *nl;
	size_t n;
	int rc;

	while (len) {
		nl = memchr(data, '\n', len);
		n = nl ? (size_t)(nl - data) : len;
		if (sbx_buf_add(line, data, n) < 0)
			return sbx_err_set(e, SBX_ENET, "sbx server sent %s "
			    "longer than %zu bytes", what, line->cap);
		if (!nl)
			break;
		if (line->len) {
			rc = on_line(arg, line->buf, line->len, e);
			sbx_buf_reset(line);
			if (rc < 0)
				return rc;
		}
		data += n + 1;
		len -= n + 1;
	}
	return 0;
}
