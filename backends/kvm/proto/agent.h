/*
 * agent.h - the sbx agent wire protocol, shared by the host (agent-client)
 * and the guest (sbx-agent). doc/agent-protocol.md is the prose version.
 *
 * One connection carries one request. Everything on the wire is a frame:
 *
 *	u8 version (SBX_AGENT_VERSION) | u8 type | le16 flags | le32 length
 *	followed by `length` bytes of payload (at most SBX_AGENT_MAX_PAYLOAD)
 *
 * Control frames (requests, OK, ERROR, STARTED, EXIT, WINSIZE, ENTRY, END)
 * carry a sequence of TLV records: le16 tag | le32 length | value. Integers
 * are little-endian of fixed width (u32: 4 bytes, u64/i64: 8 bytes);
 * strings carry no NUL byte and no terminator. Data frames (STDIN, STDOUT,
 * STDERR, DATA) carry raw bytes.
 *
 * This module has no dependency on src/core: the guest binaries are static
 * and link only this file. Functions return 0 (or a count) on success and a
 * negative errno value on failure; decoders also set `*why` to a static
 * string naming the problem. Nothing here keeps global state: every
 * function may be called from any thread.
 */
#ifndef SBX_KVM_PROTO_AGENT_H
#define SBX_KVM_PROTO_AGENT_H

#include <stddef.h>
#include <stdint.h>

#define SBX_AGENT_VERSION 1
#define SBX_AGENT_VSOCK_PORT 1024
#define SBX_AGENT_HDR_SIZE 8
#define SBX_AGENT_MAX_PAYLOAD (1u << 20)
#define SBX_AGENT_CHUNK (64u * 1024)	/* data frames are at most this */
#define SBX_AGENT_ID_LEN 16
#define SBX_AGENT_MAX_ARGS 4096		/* argv and env entries each */
#define SBX_AGENT_MAX_STR 65536		/* one argument or env entry */
#define SBX_AGENT_MAX_PATH 4096
#define SBX_AGENT_MAX_ENTROPY 4096

enum sbx_agent_type {
	/* requests: the first frame of a connection, client to agent */
	SBX_AGENT_PING = 0x01,
	SBX_AGENT_EXEC = 0x02,
	SBX_AGENT_KILL = 0x03,
	SBX_AGENT_PUT = 0x04,
	SBX_AGENT_GET = 0x05,
	SBX_AGENT_STAT = 0x06,
	SBX_AGENT_LIST = 0x07,
	SBX_AGENT_MKDIR = 0x08,
	SBX_AGENT_RM = 0x09,
	SBX_AGENT_RENAME = 0x0a,
	SBX_AGENT_SET_CLOCK = 0x0b,
	SBX_AGENT_ENTROPY = 0x0c,
	SBX_AGENT_HOSTNAME = 0x0d,
	SBX_AGENT_SYNC = 0x0e,
	SBX_AGENT_FREEZE = 0x0f,
	SBX_AGENT_THAW = 0x10,
	/* exec streams, client to agent */
	SBX_AGENT_STDIN = 0x40,		/* raw bytes */
	SBX_AGENT_STDIN_EOF = 0x41,	/* empty */
	SBX_AGENT_WINSIZE = 0x42,	/* ROWS, COLS */
	SBX_AGENT_SIGNAL = 0x43,	/* SIGNAL: to the process group */
	/* exec streams, agent to client */
	SBX_AGENT_STDOUT = 0x50,	/* raw bytes (the PTY, with a PTY) */
	SBX_AGENT_STDERR = 0x51,	/* raw bytes */
	SBX_AGENT_EXIT = 0x52,		/* CODE or SIGNAL */
	SBX_AGENT_STARTED = 0x53,	/* PID; flags REATTACHED */
	/* file streams, either direction */
	SBX_AGENT_DATA = 0x60,		/* raw bytes */
	SBX_AGENT_END = 0x61,		/* SIZE: total bytes sent */
	SBX_AGENT_ENTRY = 0x62,		/* one LIST entry: NAME + stat fields */
	/* replies */
	SBX_AGENT_OK = 0x70,
	SBX_AGENT_ERROR = 0x71,		/* ERRNO, MESSAGE */
};

/* Frame flags; their meaning depends on the frame type. */
enum sbx_agent_flag {
	SBX_AGENT_F_PTY = 1 << 0,	/* EXEC: run on a new PTY */
	SBX_AGENT_F_BACKGROUND = 1 << 1, /* EXEC: reply STARTED and detach */
	SBX_AGENT_F_STDIN = 1 << 2,	/* EXEC: client sends STDIN frames */
	SBX_AGENT_F_PARENTS = 1 << 0,	/* PUT, MKDIR: create parents */
	SBX_AGENT_F_RECURSIVE = 1 << 0,	/* RM */
	SBX_AGENT_F_FORCE = 1 << 1,	/* RM: a missing path is success */
	SBX_AGENT_F_GROUP = 1 << 0,	/* KILL: signal the process group */
	SBX_AGENT_F_REATTACHED = 1 << 0, /* STARTED: a retry found the job */
};

enum sbx_agent_tag {
	SBX_AGENT_T_ID = 1,		/* 16 bytes: request id (retries) */
	SBX_AGENT_T_ARG = 2,		/* string, repeated: argv */
	SBX_AGENT_T_ENV = 3,		/* string "K=V", repeated */
	SBX_AGENT_T_CWD = 4,
	SBX_AGENT_T_USER = 5,		/* user name or numeric uid */
	SBX_AGENT_T_ROWS = 6,		/* u32 */
	SBX_AGENT_T_COLS = 7,		/* u32 */
	SBX_AGENT_T_PID = 8,		/* u32 */
	SBX_AGENT_T_SIGNAL = 9,		/* u32 */
	SBX_AGENT_T_CODE = 10,		/* u32 exit code */
	SBX_AGENT_T_PATH = 11,
	SBX_AGENT_T_PATH2 = 12,		/* RENAME target */
	SBX_AGENT_T_MODE = 13,		/* u32: permission bits (+ type) */
	SBX_AGENT_T_UID = 14,		/* u32 */
	SBX_AGENT_T_GID = 15,		/* u32 */
	SBX_AGENT_T_SIZE = 16,		/* u64 */
	SBX_AGENT_T_MTIME = 17,		/* i64 seconds */
	SBX_AGENT_T_FTYPE = 18,		/* u32 enum sbx_agent_ftype */
	SBX_AGENT_T_OFFSET = 19,	/* u64 */
	SBX_AGENT_T_VERSION = 20,	/* u32 */
	SBX_AGENT_T_ERRNO = 21,		/* u32 Linux errno */
	SBX_AGENT_T_MESSAGE = 22,	/* string */
	SBX_AGENT_T_SEC = 23,		/* i64 */
	SBX_AGENT_T_NSEC = 24,		/* u32 < 1e9 */
	SBX_AGENT_T_DATA = 25,		/* bytes: entropy */
	SBX_AGENT_T_NAME = 26,		/* hostname, LIST entry name */
	SBX_AGENT_T_LOG = 27,		/* background exec output file */
	SBX_AGENT_T_UPTIME = 28,	/* u64 milliseconds */
	SBX_AGENT_T_TARGET = 29,	/* symlink target (STAT, ENTRY) */
};

enum sbx_agent_ftype {
	SBX_AGENT_FT_OTHER = 0,
	SBX_AGENT_FT_FILE = 1,
	SBX_AGENT_FT_DIR = 2,
	SBX_AGENT_FT_SYMLINK = 3,
};

struct sbx_agent_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t len;
};

/*
 * A decoded control frame. Strings and arrays are owned by the struct and
 * freed by sbx_agent_msg_free; absent strings are NULL. `have` has one bit
 * per tag that was present (1u << tag).
 */
struct sbx_agent_msg {
	uint8_t type;
	uint16_t flags;
	uint32_t have;
	uint8_t id[SBX_AGENT_ID_LEN];
	char **argv;			/* NULL-terminated; argc entries */
	size_t argc;
	char **env;			/* NULL-terminated; envc entries */
	size_t envc;
	char *cwd, *user, *path, *path2, *message, *name, *log, *target;
	uint32_t rows, cols, pid, sig, code, mode, uid, gid, ftype;
	uint32_t version, err, nsec;
	uint64_t size, offset, uptime;
	int64_t mtime, sec;
	uint8_t *data;
	size_t datalen;
};

#define SBX_AGENT_HAS(m, tag) (((m)->have >> (tag)) & 1u)

/* A write cursor over a caller-supplied payload buffer. */
struct sbx_agent_enc {
	uint8_t *buf;
	size_t len, cap;
	int overflow;		/* set when a put did not fit; sticky */
};

/* Header of 8 bytes <-> struct. decode fails on a wrong version or a
 * length above SBX_AGENT_MAX_PAYLOAD (-EPROTO). */
void sbx_agent_hdr_encode(uint8_t out[SBX_AGENT_HDR_SIZE], uint8_t type,
    uint16_t flags, uint32_t len);
int sbx_agent_hdr_decode(const uint8_t in[SBX_AGENT_HDR_SIZE],
    struct sbx_agent_hdr *h, const char **why);

void sbx_agent_enc_init(struct sbx_agent_enc *e, void *buf, size_t cap);
void sbx_agent_put_bytes(struct sbx_agent_enc *e, uint16_t tag,
    const void *v, size_t len);
void sbx_agent_put_str(struct sbx_agent_enc *e, uint16_t tag, const char *s);
void sbx_agent_put_u32(struct sbx_agent_enc *e, uint16_t tag, uint32_t v);
void sbx_agent_put_u64(struct sbx_agent_enc *e, uint16_t tag, uint64_t v);
void sbx_agent_put_i64(struct sbx_agent_enc *e, uint16_t tag, int64_t v);

/*
 * Encodes every field of `m` that `m->have` marks (argv/env entries are
 * written when argc/envc are non-zero) into `e`. Returns 0, or -EMSGSIZE
 * when the payload does not fit.
 */
int sbx_agent_msg_encode(const struct sbx_agent_msg *m,
    struct sbx_agent_enc *e);

/*
 * Decodes the TLV payload of a control frame of type `type` into `m`
 * (which it initialises). Checks every length, rejects truncated records,
 * wrong integer widths, NUL bytes in strings, over-long strings and
 * duplicate single-valued tags, skips unknown tags, then checks that the
 * fields the type requires are present (sbx_agent_msg_check). On failure
 * `m` holds nothing and `*why` names the problem. -EPROTO on bad input.
 */
int sbx_agent_msg_decode(uint8_t type, uint16_t flags, const uint8_t *p,
    size_t len, struct sbx_agent_msg *m, const char **why);
int sbx_agent_msg_check(const struct sbx_agent_msg *m, const char **why);
void sbx_agent_msg_init(struct sbx_agent_msg *m, uint8_t type, uint16_t flags);
void sbx_agent_msg_free(struct sbx_agent_msg *m);

/* Setters for the owned fields of a message being built (copies `s`). */
void sbx_agent_msg_set(struct sbx_agent_msg *m, int tag, const char *s);
void sbx_agent_msg_push(struct sbx_agent_msg *m, int tag, const char *s);

/* Whether frame type `t` carries raw bytes rather than TLV records. */
int sbx_agent_type_is_data(uint8_t t);
/* Name of a frame type ("exec", "stdout", ...) or "unknown". */
const char *sbx_agent_type_name(uint8_t t);

/*
 * Writes one frame (header + payload) to `fd`, retrying short writes and
 * EINTR; uses MSG_NOSIGNAL on sockets. Returns 0 or -errno.
 */
int sbx_agent_write_frame(int fd, uint8_t type, uint16_t flags,
    const void *payload, size_t len);
/* Encodes `m` into a temporary buffer and writes it as one frame. */
int sbx_agent_write_msg(int fd, const struct sbx_agent_msg *m);

/*
 * Reads one frame: the header into `h` and the payload into `buf` (which
 * must hold SBX_AGENT_MAX_PAYLOAD bytes). Returns 0, 1 on a clean EOF
 * before the first header byte, -EPROTO on a bad header or a truncated
 * frame (with `*why`), or -errno.
 */
int sbx_agent_read_frame(int fd, struct sbx_agent_hdr *h, uint8_t *buf,
    const char **why);

/* Full read/write of `len` bytes, EINTR retried; 0, -EPIPE on EOF or -errno. */
int sbx_agent_read_full(int fd, void *buf, size_t len);
int sbx_agent_write_full(int fd, const void *buf, size_t len);

#endif
