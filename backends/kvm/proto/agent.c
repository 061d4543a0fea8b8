/*
 * agent.c - encoder, decoder and frame I/O of the agent protocol.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kvm/proto/agent.h"
#include "core/banned.h"

static void
le16_put(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
le32_put(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static void
le64_put(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint16_t
le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64_get(const uint8_t *p)
{
	return (uint64_t)le32_get(p) | (uint64_t)le32_get(p + 4) << 32;
}

void
sbx_agent_hdr_encode(uint8_t out[SBX_AGENT_HDR_SIZE], uint8_t type,
    uint16_t flags, uint32_t len)
{
	out[0] = SBX_AGENT_VERSION;
	out[1] = type;
	le16_put(out + 2, flags);
	le32_put(out + 4, len);
}

int
sbx_agent_hdr_decode(const uint8_t in[SBX_AGENT_HDR_SIZE],
    struct sbx_agent_hdr *h, const char **why)
{
	h->version = in[0];
	h->type = in[1];
	h->flags = le16_get(in + 2);
	h->len = le32_get(in + 4);
	if (h->version != SBX_AGENT_VERSION) {
		*why = "unsupported protocol version";
		return -EPROTO;
	}
	if (h->len > SBX_AGENT_MAX_PAYLOAD) {
		*why = "frame longer than the protocol maximum";
		return -EPROTO;
	}
	return 0;
}

void
sbx_agent_enc_init(struct sbx_agent_enc *e, void *buf, size_t cap)
{
	e->buf = buf;
	e->len = 0;
	e->cap = cap;
	e->overflow = 0;
}

void
sbx_agent_put_bytes(struct sbx_agent_enc *e, uint16_t tag, const void *v,
    size_t len)
{
	if (e->overflow || len > UINT32_MAX || e->cap - e->len < 6 ||
	    e->cap - e->len - 6 < len) {
		e->overflow = 1;
		return;
	}
	le16_put(e->buf + e->len, tag);
	le32_put(e->buf + e->len + 2, (uint32_t)len);
	if (len)
		memcpy(e->buf + e->len + 6, v, len);
	e->len += 6 + len;
}

void
sbx_agent_put_str(struct sbx_agent_enc *e, uint16_t tag, const char *s)
{
	sbx_agent_put_bytes(e, tag, s, strlen(s));
}

void
sbx_agent_put_u32(struct sbx_agent_enc *e, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	le32_put(b, v);
	sbx_agent_put_bytes(e, tag, b, 4);
}

void
sbx_agent_put_u64(struct sbx_agent_enc *e, uint16_t tag, uint64_t v)
{
	uint8_t b[8];

	le64_put(b, v);
	sbx_agent_put_bytes(e, tag, b, 8);
}

void
sbx_agent_put_i64(struct sbx_agent_enc *e, uint16_t tag, int64_t v)
{
	sbx_agent_put_u64(e, tag, (uint64_t)v);
}

/* Field tables: where each string / u32 / u64 tag lives in the message. */
static char **
str_field(struct sbx_agent_msg *m, int tag)
{
	switch (tag) {
	case SBX_AGENT_T_CWD: return &m->cwd;
	case SBX_AGENT_T_USER: return &m->user;
	case SBX_AGENT_T_PATH: return &m->path;
	case SBX_AGENT_T_PATH2: return &m->path2;
	case SBX_AGENT_T_MESSAGE: return &m->message;
	case SBX_AGENT_T_NAME: return &m->name;
	case SBX_AGENT_T_LOG: return &m->log;
	case SBX_AGENT_T_TARGET: return &m->target;
	}
	return NULL;
}

static uint32_t *
u32_field(struct sbx_agent_msg *m, int tag)
{
	switch (tag) {
	case SBX_AGENT_T_ROWS: return &m->rows;
	case SBX_AGENT_T_COLS: return &m->cols;
	case SBX_AGENT_T_PID: return &m->pid;
	case SBX_AGENT_T_SIGNAL: return &m->sig;
	case SBX_AGENT_T_CODE: return &m->code;
	case SBX_AGENT_T_MODE: return &m->mode;
	case SBX_AGENT_T_UID: return &m->uid;
	case SBX_AGENT_T_GID: return &m->gid;
	case SBX_AGENT_T_FTYPE: return &m->ftype;
	case SBX_AGENT_T_VERSION: return &m->version;
	case SBX_AGENT_T_ERRNO: return &m->err;
	case SBX_AGENT_T_NSEC: return &m->nsec;
	}
	return NULL;
}

static uint64_t *
u64_field(struct sbx_agent_msg *m, int tag)
{
	switch (tag) {
	case SBX_AGENT_T_SIZE: return &m->size;
	case SBX_AGENT_T_OFFSET: return &m->offset;
	case SBX_AGENT_T_UPTIME: return &m->uptime;
	case SBX_AGENT_T_MTIME: return (uint64_t *)&m->mtime;
	case SBX_AGENT_T_SEC: return (uint64_t *)&m->sec;
	}
	return NULL;
}

int
sbx_agent_msg_encode(const struct sbx_agent_msg *cm, struct sbx_agent_enc *e)
{
	struct sbx_agent_msg *m = (struct sbx_agent_msg *)cm;
	size_t i;
	int tag;

	if (SBX_AGENT_HAS(m, SBX_AGENT_T_ID))
		sbx_agent_put_bytes(e, SBX_AGENT_T_ID, m->id, SBX_AGENT_ID_LEN);
	for (i = 0; i < m->argc; i++)
		sbx_agent_put_str(e, SBX_AGENT_T_ARG, m->argv[i]);
	for (i = 0; i < m->envc; i++)
		sbx_agent_put_str(e, SBX_AGENT_T_ENV, m->env[i]);
	if (SBX_AGENT_HAS(m, SBX_AGENT_T_DATA))
		sbx_agent_put_bytes(e, SBX_AGENT_T_DATA, m->data, m->datalen);
	for (tag = 1; tag < 32; tag++) {
		char **s;
		uint32_t *u;
		uint64_t *q;

		if (!SBX_AGENT_HAS(m, tag))
			continue;
		if ((s = str_field(m, tag)) && *s)
			sbx_agent_put_str(e, tag, *s);
		else if ((u = u32_field(m, tag)))
			sbx_agent_put_u32(e, tag, *u);
		else if ((q = u64_field(m, tag)))
			sbx_agent_put_u64(e, tag, *q);
	}
	return e->overflow ? -EMSGSIZE : 0;
}

void
sbx_agent_msg_init(struct sbx_agent_msg *m, uint8_t type, uint16_t flags)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->flags = flags;
}

void
sbx_agent_msg_free(struct sbx_agent_msg *m)
{
	size_t i;
	int tag;

	for (i = 0; i < m->argc; i++)
		free(m->argv[i]);
	free(m->argv);
	for (i = 0; i < m->envc; i++)
		free(m->env[i]);
	free(m->env);
	for (tag = 1; tag < 32; tag++) {
		char **s = str_field(m, tag);

		if (s)
			free(*s);
	}
	free(m->data);
	sbx_agent_msg_init(m, m->type, m->flags);
}

/* Copies a TLV string value, refusing NUL bytes; NULL on bad input. */
static char *
dup_str(const uint8_t *v, size_t len)
{
	char *s;

	if (memchr(v, '\0', len))
		return NULL;
	s = malloc(len + 1);
	if (!s)
		abort();
	memcpy(s, v, len);
	s[len] = '\0';
	return s;
}

/* Appends to a NULL-terminated array of strings (argv or env). */
static void
vec_push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(**v));

	if (!nv)
		abort();
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
}

void
sbx_agent_msg_set(struct sbx_agent_msg *m, int tag, const char *s)
{
	char **f = str_field(m, tag);
	char *c;

	if (!f)
		abort();
	c = dup_str((const uint8_t *)s, strlen(s));
	free(*f);
	*f = c;
	m->have |= 1u << tag;
}

void
sbx_agent_msg_push(struct sbx_agent_msg *m, int tag, const char *s)
{
	char *c = dup_str((const uint8_t *)s, strlen(s));

	if (tag == SBX_AGENT_T_ARG)
		vec_push(&m->argv, &m->argc, c);
	else if (tag == SBX_AGENT_T_ENV)
		vec_push(&m->env, &m->envc, c);
	else
		abort();
	m->have |= 1u << tag;
}

/* Decodes one record into `m`; 0 or -EPROTO with *why. */
static int
decode_tlv(struct sbx_agent_msg *m, uint16_t tag, const uint8_t *v,
    uint32_t len, const char **why)
{
	char **s;
	uint32_t *u;
	uint64_t *q;
	char *c;

	if (tag >= 32)
		return 0;		/* unknown: skipped for compatibility */
	if (tag != SBX_AGENT_T_ARG && tag != SBX_AGENT_T_ENV &&
	    SBX_AGENT_HAS(m, tag)) {
		*why = "duplicate field";
		return -EPROTO;
	}
	if (tag == SBX_AGENT_T_ID) {
		if (len != SBX_AGENT_ID_LEN) {
			*why = "request id is not 16 bytes";
			return -EPROTO;
		}
		memcpy(m->id, v, len);
	} else if (tag == SBX_AGENT_T_ARG || tag == SBX_AGENT_T_ENV) {
		size_t n = tag == SBX_AGENT_T_ARG ? m->argc : m->envc;

		if (n >= SBX_AGENT_MAX_ARGS) {
			*why = "too many arguments or environment entries";
			return -EPROTO;
		}
		if (len > SBX_AGENT_MAX_STR || !(c = dup_str(v, len))) {
			*why = "argument or environment entry too long or "
			    "holding a NUL byte";
			return -EPROTO;
		}
		if (tag == SBX_AGENT_T_ENV && !strchr(c, '=')) {
			free(c);
			*why = "environment entry without '='";
			return -EPROTO;
		}
		if (tag == SBX_AGENT_T_ARG)
			vec_push(&m->argv, &m->argc, c);
		else
			vec_push(&m->env, &m->envc, c);
	} else if (tag == SBX_AGENT_T_DATA) {
		if (len > SBX_AGENT_MAX_ENTROPY) {
			*why = "data field too long";
			return -EPROTO;
		}
		m->data = malloc(len ? len : 1);
		if (!m->data)
			abort();
		memcpy(m->data, v, len);
		m->datalen = len;
	} else if ((s = str_field(m, tag))) {
		if (len > SBX_AGENT_MAX_PATH || !(*s = dup_str(v, len))) {
			*why = "string field too long or holding a NUL byte";
			return -EPROTO;
		}
	} else if ((u = u32_field(m, tag))) {
		if (len != 4) {
			*why = "32-bit field of the wrong size";
			return -EPROTO;
		}
		*u = le32_get(v);
	} else if ((q = u64_field(m, tag))) {
		if (len != 8) {
			*why = "64-bit field of the wrong size";
			return -EPROTO;
		}
		*q = le64_get(v);
	} else {
		return 0;
	}
	m->have |= 1u << tag;
	return 0;
}

int
sbx_agent_msg_decode(uint8_t type, uint16_t flags, const uint8_t *p,
    size_t len, struct sbx_agent_msg *m, const char **why)
{
	size_t off = 0;
	int r;

	sbx_agent_msg_init(m, type, flags);
	if (sbx_agent_type_is_data(type)) {
		*why = "data frame where a control frame was expected";
		return -EPROTO;
	}
	while (off < len) {
		uint16_t tag;
		uint32_t vlen;

		if (len - off < 6) {
			*why = "truncated field header";
			goto bad;
		}
		tag = le16_get(p + off);
		vlen = le32_get(p + off + 2);
		off += 6;
		if (vlen > len - off) {
			*why = "field longer than its frame";
			goto bad;
		}
		if ((r = decode_tlv(m, tag, p + off, vlen, why)) < 0)
			goto bad;
		off += vlen;
	}
	if (sbx_agent_msg_check(m, why) < 0)
		goto bad;
	return 0;
bad:
	sbx_agent_msg_free(m);
	return -EPROTO;
}

#define NEED(tag, what) do { \
	if (!SBX_AGENT_HAS(m, tag)) { *why = what; return -EPROTO; } \
} while (0)

/* Absolute, NUL-free path without empty name (checked by the caller). */
static int
path_ok(const char *p)
{
	return p && p[0] == '/';
}

int
sbx_agent_msg_check(const struct sbx_agent_msg *m, const char **why)
{
	switch (m->type) {
	case SBX_AGENT_EXEC:
		NEED(SBX_AGENT_T_ID, "exec without a request id");
		if (m->argc == 0 && !(m->flags & SBX_AGENT_F_PTY)) {
			*why = "exec without a command";
			return -EPROTO;
		}
		if (m->cwd && !path_ok(m->cwd)) {
			*why = "working directory is not an absolute path";
			return -EPROTO;
		}
		if (m->log && !path_ok(m->log)) {
			*why = "log file is not an absolute path";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_KILL:
		if (!SBX_AGENT_HAS(m, SBX_AGENT_T_ID) &&
		    !SBX_AGENT_HAS(m, SBX_AGENT_T_PID)) {
			*why = "kill without an exec id or pid";
			return -EPROTO;
		}
		/* fall through */
	case SBX_AGENT_SIGNAL:
		NEED(SBX_AGENT_T_SIGNAL, "signal number missing");
		if (m->sig == 0 || m->sig > 64) {
			*why = "signal number out of range";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_RENAME:
		if (!path_ok(m->path2)) {
			*why = "rename target is not an absolute path";
			return -EPROTO;
		}
		/* fall through */
	case SBX_AGENT_PUT:
	case SBX_AGENT_GET:
	case SBX_AGENT_STAT:
	case SBX_AGENT_LIST:
	case SBX_AGENT_MKDIR:
	case SBX_AGENT_RM:
	case SBX_AGENT_FREEZE:
	case SBX_AGENT_THAW:
		if (!path_ok(m->path)) {
			*why = "path missing or not absolute";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_SET_CLOCK:
		NEED(SBX_AGENT_T_SEC, "clock without seconds");
		if (m->nsec >= 1000000000u) {
			*why = "nanoseconds out of range";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_ENTROPY:
		NEED(SBX_AGENT_T_DATA, "entropy request without data");
		break;
	case SBX_AGENT_HOSTNAME:
		if (!m->name || !m->name[0] || strlen(m->name) > 64) {
			*why = "hostname missing or longer than 64 bytes";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_WINSIZE:
		NEED(SBX_AGENT_T_ROWS, "window size without rows");
		NEED(SBX_AGENT_T_COLS, "window size without columns");
		if (m->rows > 65535 || m->cols > 65535) {
			*why = "window size out of range";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_EXIT:
		if (!SBX_AGENT_HAS(m, SBX_AGENT_T_CODE) &&
		    !SBX_AGENT_HAS(m, SBX_AGENT_T_SIGNAL)) {
			*why = "exit without a code or signal";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_STARTED:
		NEED(SBX_AGENT_T_PID, "started without a pid");
		break;
	case SBX_AGENT_ERROR:
		NEED(SBX_AGENT_T_ERRNO, "error without an errno");
		break;
	case SBX_AGENT_ENTRY:
		if (!m->name || !m->name[0] || strchr(m->name, '/')) {
			*why = "directory entry without a valid name";
			return -EPROTO;
		}
		break;
	case SBX_AGENT_PING:
	case SBX_AGENT_SYNC:
	case SBX_AGENT_STDIN_EOF:
	case SBX_AGENT_END:
	case SBX_AGENT_OK:
		break;
	default:
		*why = "unknown frame type";
		return -EPROTO;
	}
	return 0;
}

int
sbx_agent_type_is_data(uint8_t t)
{
	return t == SBX_AGENT_STDIN || t == SBX_AGENT_STDOUT ||
	    t == SBX_AGENT_STDERR || t == SBX_AGENT_DATA;
}

const char *
sbx_agent_type_name(uint8_t t)
{
	static const struct { uint8_t t; const char *name; } names[] = {
		{ SBX_AGENT_PING, "ping" }, { SBX_AGENT_EXEC, "exec" },
		{ SBX_AGENT_KILL, "kill" }, { SBX_AGENT_PUT, "put" },
		{ SBX_AGENT_GET, "get" }, { SBX_AGENT_STAT, "stat" },
		{ SBX_AGENT_LIST, "list" }, { SBX_AGENT_MKDIR, "mkdir" },
		{ SBX_AGENT_RM, "rm" }, { SBX_AGENT_RENAME, "rename" },
		{ SBX_AGENT_SET_CLOCK, "set-clock" },
		{ SBX_AGENT_ENTROPY, "entropy" },
		{ SBX_AGENT_HOSTNAME, "hostname" }, { SBX_AGENT_SYNC, "sync" },
		{ SBX_AGENT_FREEZE, "freeze" }, { SBX_AGENT_THAW, "thaw" },
		{ SBX_AGENT_STDIN, "stdin" }, { SBX_AGENT_STDIN_EOF, "stdin-eof" },
		{ SBX_AGENT_WINSIZE, "winsize" }, { SBX_AGENT_SIGNAL, "signal" },
		{ SBX_AGENT_STDOUT, "stdout" }, { SBX_AGENT_STDERR, "stderr" },
		{ SBX_AGENT_EXIT, "exit" }, { SBX_AGENT_STARTED, "started" },
		{ SBX_AGENT_DATA, "data" }, { SBX_AGENT_END, "end" },
		{ SBX_AGENT_ENTRY, "entry" }, { SBX_AGENT_OK, "ok" },
		{ SBX_AGENT_ERROR, "error" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].t == t)
			return names[i].name;
	return "unknown";
}

int
sbx_agent_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int sock = 1;

	while (len) {
		ssize_t n = sock ? send(fd, p, len, MSG_NOSIGNAL) :
		    write(fd, p, len);

		if (n < 0 && errno == ENOTSOCK && sock) {
			sock = 0;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sbx_agent_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sbx_agent_write_frame(int fd, uint8_t type, uint16_t flags,
    const void *payload, size_t len)
{
	uint8_t hdr[SBX_AGENT_HDR_SIZE];
	int r;

	if (len > SBX_AGENT_MAX_PAYLOAD)
		return -EMSGSIZE;
	sbx_agent_hdr_encode(hdr, type, flags, (uint32_t)len);
	if (len && len <= 4096) {
		uint8_t tmp[SBX_AGENT_HDR_SIZE + 4096];

		memcpy(tmp, hdr, sizeof(hdr));
		memcpy(tmp + sizeof(hdr), payload, len);
		return sbx_agent_write_full(fd, tmp, sizeof(hdr) + len);
	}
	if ((r = sbx_agent_write_full(fd, hdr, sizeof(hdr))) < 0)
		return r;
	return len ? sbx_agent_write_full(fd, payload, len) : 0;
}

int
sbx_agent_write_msg(int fd, const struct sbx_agent_msg *m)
{
	struct sbx_agent_enc e;
	uint8_t small[4096];
	uint8_t *buf = small;
	int r;

	sbx_agent_enc_init(&e, small, sizeof(small));
	if (sbx_agent_msg_encode(m, &e) < 0) {
		buf = malloc(SBX_AGENT_MAX_PAYLOAD);
		if (!buf)
			abort();
		sbx_agent_enc_init(&e, buf, SBX_AGENT_MAX_PAYLOAD);
		if ((r = sbx_agent_msg_encode(m, &e)) < 0) {
			free(buf);
			return r;
		}
	}
	r = sbx_agent_write_frame(fd, m->type, m->flags, e.buf, e.len);
	if (buf != small)
		free(buf);
	return r;
}

int
sbx_agent_read_frame(int fd, struct sbx_agent_hdr *h, uint8_t *buf,
    const char **why)
{
	uint8_t hdr[SBX_AGENT_HDR_SIZE];
	ssize_t n;
	int r;

	do
		n = read(fd, hdr, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 1;
	if ((r = sbx_agent_read_full(fd, hdr + 1, sizeof(hdr) - 1)) < 0) {
		*why = "connection closed inside a frame header";
		return r == -EPIPE ? -EPROTO : r;
	}
	if ((r = sbx_agent_hdr_decode(hdr, h, why)) < 0)
		return r;
	if (h->len && (r = sbx_agent_read_full(fd, buf, h->len)) < 0) {
		*why = "connection closed inside a frame";
		return r == -EPIPE ? -EPROTO : r;
	}
	return 0;
}
