/*
 * stream.c - streaming responses: a backend op (exec, file get, logs)
 * runs in a worker thread writing into pipes; the connection's thread
 * polls the pipes and hands the bytes to libmicrohttpd as a chunked body,
 * raw or framed as NDJSON ({"stdout": base64}, {"stderr": base64}, then
 * one final frame).
 *
 * Lifetime: the stream is shared by the worker and the response and
 * freed by whichever lets go last, so a client that disconnects while a
 * command still runs does not block its connection thread: the pipes'
 * read ends close, the op's next write fails with EPIPE, and the worker
 * cleans up when the op returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/xmalloc.h"
#include "serve/serve-int.h"
#include "core/banned.h"

#define CHUNK (48 * 1024)	/* bytes read per frame (multiple of 3) */
#define PEEK_MS 2000		/* wait this long for the op to fail */

struct stream {
	pthread_mutex_t mu;
	int refs;
	const struct sbx_backend *b;
	struct sbx_conn *conn;
	stream_run_fn run;
	stream_finish_fn finish;
	void *arg;
	void (*arg_free)(void *);
	int ndjson;
	int rfd[2];		/* read ends (out, err), -1 when closed */
	int wfd[2];		/* the worker's write ends */
	int donefd[2];		/* worker writes one byte when it returns */
	int done;		/* worker returned (rc, err valid) */
	int rc;
	struct sbx_err err;
	struct sbx_buf out;	/* bytes ready for the client */
	size_t off;
	uint64_t data_bytes;	/* output produced before the end */
	int ended;		/* final frame queued / raw stream over */
	unsigned hb_ms;		/* keepalive after this much silence */
	const int *stopping;	/* the server is shutting down */
	uint64_t last_out;	/* monotonic ms of the last bytes queued */
	pthread_t th;
};

struct sbx_conn *
stream_conn(struct stream *s)
{
	return s->conn;
}

const struct sbx_backend *
stream_backend(struct stream *s)
{
	return s->b;
}

void
serve_fd_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Drops one reference; the last one frees everything. */
static void
stream_unref(struct stream *s)
{
	int last;

	pthread_mutex_lock(&s->mu);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->mu);
	if (!last)
		return;
	serve_fd_close(&s->rfd[0]);
	serve_fd_close(&s->rfd[1]);
	serve_fd_close(&s->donefd[0]);
	serve_fd_close(&s->donefd[1]);
	if (s->conn)
		s->b->close(s->conn);
	if (s->arg_free)
		s->arg_free(s->arg);
	sbx_buf_release(&s->out);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* The worker thread: runs the op, closes its pipe ends, says it is done. */
static void *
worker(void *p)
{
	struct stream *s = p;
	char x = 1;

	s->rc = s->run(s, s->arg, s->wfd[0], s->wfd[1], &s->err);
	serve_fd_close(&s->wfd[0]);
	serve_fd_close(&s->wfd[1]);
	pthread_mutex_lock(&s->mu);
	s->done = 1;
	if (s->donefd[1] >= 0 && write(s->donefd[1], &x, 1) < 0)
		x = 0;
	pthread_mutex_unlock(&s->mu);
	stream_unref(s);
	return NULL;
}

/* Appends what was read from pipe `which` to the output. */
static void
emit(struct stream *s, int which, const char *data, size_t len)
{
	char *b64;
	size_t bl;

	s->data_bytes += len;
	if (!s->ndjson) {
		sbx_buf_add(&s->out, data, len);
		return;
	}
	bl = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = xmalloc(bl);
	sodium_bin2base64(b64, bl, (const unsigned char *)data, len,
	    sodium_base64_VARIANT_ORIGINAL);
	sbx_buf_addf(&s->out, "{\"%s\":\"%s\"}\n",
	    which ? "stderr" : "stdout", b64);
	free(b64);
}

/* Reads what pipe `which` has; closes it at EOF. */
static void
drain(struct stream *s, int which, int nonblock)
{
	char buf[CHUNK];
	ssize_t n;

	if (nonblock)
		fcntl(s->rfd[which], F_SETFL, O_NONBLOCK);
	do {
		n = read(s->rfd[which], buf, sizeof(buf));
		if (n > 0)
			emit(s, which, buf, (size_t)n);
	} while ((n > 0 && nonblock) || (n < 0 && errno == EINTR));
	if (n == 0 || (n < 0 && errno != EAGAIN))
		serve_fd_close(&s->rfd[which]);
}

/* Queues the last frame once the worker is done and the pipes are dry. */
static void
finish(struct stream *s)
{
	json_t *f;
	char *text;

	s->ended = 1;
	if (!s->ndjson)
		return;
	if (s->rc < 0)
		f = json_pack("{s:{s:s,s:s}}", "error", "code",
		    sbx_errcode_name(s->rc), "message",
		    s->err.msg[0] ? s->err.msg : "failed");
	else
		f = s->finish ? s->finish(s->arg) : json_object();
	text = json_dumps(f, JSON_COMPACT);
	json_decref(f);
	sbx_buf_addf(&s->out, "%s\n", text ? text : "{}");
	free(text);
}

/* Waits up to `ms` for output or the end, moving it into s->out. */
static void
pump(struct stream *s, int ms)
{
	struct pollfd pf[3];
	int i, n = 0, who[3];

	if (s->ended)
		return;
	for (i = 0; i < 2; i++)
		if (s->rfd[i] >= 0) {
			pf[n].fd = s->rfd[i];
			pf[n].events = POLLIN;
			who[n++] = i;
		}
	if (!s->done && s->donefd[0] >= 0) {
		pf[n].fd = s->donefd[0];
		pf[n].events = POLLIN;
		who[n++] = 2;
	}
	if (n && poll(pf, (nfds_t)n, ms) < 0)
		return;
	for (i = 0; i < n; i++) {
		if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (who[i] == 2)
			s->done = 1;	/* the worker set it too, under mu */
		else
			drain(s, who[i], 0);
	}
	if (!s->done)
		return;
	/* A child of the op may still hold a write end: take what is
	 * there now and stop. */
	for (i = 0; i < 2; i++)
		if (s->rfd[i] >= 0) {
			drain(s, i, 1);
			serve_fd_close(&s->rfd[i]);
		}
	finish(s);
}

/*
 * libmicrohttpd asks for the next body bytes: blocks (this connection's
 * own thread) until there are some, a keepalive is due, or the end.
 */
static ssize_t
reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n;

	(void)pos;
	while (s->out.len == s->off) {
		if (s->ended)
			return !s->ndjson && s->rc < 0 ?
			    MHD_CONTENT_READER_END_WITH_ERROR :
			    MHD_CONTENT_READER_END_OF_STREAM;
		if (__atomic_load_n(s->stopping, __ATOMIC_SEQ_CST))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		pump(s, (int)(s->hb_ms < 1000 ? s->hb_ms : 1000));
		if (s->out.len == s->off && s->ndjson &&
		    sbx_clock_ms() - s->last_out >= s->hb_ms)
			sbx_buf_addstr(&s->out, "{\"keepalive\":true}\n");
	}
	s->last_out = sbx_clock_ms();
	n = s->out.len - s->off;
	if (n > max)
		n = max;
	memcpy(buf, s->out.buf + s->off, n);
	s->off += n;
	if (s->off == s->out.len) {
		sbx_buf_reset(&s->out);
		s->off = 0;
	}
	return (ssize_t)n;
}

/* The response is gone (sent or client lost): let the worker finish. */
static void
reader_free(void *cls)
{
	struct stream *s = cls;

	serve_fd_close(&s->rfd[0]);
	serve_fd_close(&s->rfd[1]);
	stream_unref(s);
}

/* Makes a pipe pair with CLOEXEC; -1 on failure. */
static int
pipe_cloexec(int *rfd, int *wfd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*rfd = p[0];
	*wfd = p[1];
	return 0;
}

enum MHD_Result
stream_reply(struct req *r, int ndjson, const char *ctype,
    stream_run_fn run, stream_finish_fn fin, void *arg,
    void (*arg_free)(void *))
{
	struct MHD_Response *resp;
	struct stream *s = xcalloc(1, sizeof(*s));
	uint64_t waited = 0;
	struct sbx_err e;

	pthread_mutex_init(&s->mu, NULL);
	s->refs = 1;
	s->b = r->srv->backend;
	s->conn = r->conn;
	r->conn = NULL;
	s->run = run;
	s->finish = fin;
	s->arg = arg;
	s->arg_free = arg_free;
	s->ndjson = ndjson;
	s->rfd[0] = s->rfd[1] = s->wfd[0] = s->wfd[1] = -1;
	s->donefd[0] = s->donefd[1] = -1;
	sbx_buf_init(&s->out, 0);
	sbx_err_clear(&s->err);
	s->stopping = &r->srv->stopping;
	s->hb_ms = r->srv->timeout_s * 1000 / 3;
	if (s->hb_ms < 100)
		s->hb_ms = 100;
	if (pipe_cloexec(&s->rfd[0], &s->wfd[0]) < 0 ||
	    (ndjson && pipe_cloexec(&s->rfd[1], &s->wfd[1]) < 0) ||
	    pipe_cloexec(&s->donefd[0], &s->donefd[1]) < 0) {
		sbx_err_sys(&e, "cannot make a pipe");
		serve_fd_close(&s->wfd[0]);
		serve_fd_close(&s->wfd[1]);
		stream_unref(s);
		return reply_err(r, &e);
	}
	s->refs = 2;
	if (pthread_create(&s->th, NULL, worker, s) != 0) {
		s->refs = 1;
		serve_fd_close(&s->wfd[0]);
		serve_fd_close(&s->wfd[1]);
		stream_unref(s);
		return reply_error(r, 503, "busy", "cannot start a thread");
	}
	pthread_detach(s->th);
	/* Let an op that fails at once (no such sandbox) answer 4xx. */
	while (!s->ended && s->data_bytes == 0 && waited < PEEK_MS &&
	    waited < s->hb_ms) {
		pump(s, 100);
		waited += 100;
	}
	if (s->ended && s->rc < 0 && s->data_bytes == 0) {
		e = s->err;
		if (!e.code)
			e.code = s->rc;
		reader_free(s);
		return reply_err(r, &e);
	}
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
	    reader, s, reader_free);
	if (!resp) {
		reader_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	s->last_out = sbx_clock_ms();
	return reply_response(r, 200, resp);
}
