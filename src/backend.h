/*
 * backend.h - the operations every backend implements (DESIGN.md 8).
 *
 * `kvm` (the local backend: backends/kvm, drives sbx-vmm processes) and
 * `remote` (backends/remote: libcurl client of `sbx serve`) each export one
 * `const struct sbx_backend`. Every CLI command calls these ops and runs
 * unchanged on both. A NULL op means "not supported by backend 'name'":
 * callers use sbx_backend_unsupported() to say so.
 *
 * Sandboxes are described by `struct sbx_sandbox` (store/registry.h) in
 * both backends: the remote backend fills it from the server's JSON with
 * sbx_sandbox_from_json, so the JSON of the REST API and of sandbox.json
 * are the same schema.
 *
 * All ops return 0 or a negative SBX_E* code and fill `e`. They are
 * called from one thread per connection (`struct sbx_conn`). An op that
 * fills a `struct sbx_sandbox *out` initialises it itself, also when it
 * fails: the caller passes uninitialised storage and always releases it.
 */
#ifndef SBX_BACKEND_H
#define SBX_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "core/err.h"
#include "store/registry.h"

struct sbx_strvec;

/* Where a backend connects: the local store or a server. */
struct sbx_backend_cfg {
	const char *home;	/* $SBX_HOME (local backend; also remote's
				   client-side state) */
	const char *url;	/* remote: server base URL */
	const char *token;	/* remote: bearer token ($SBX_TOKEN) */
	int quiet;		/* no progress on stderr */
	int verbose;
};

/* An open backend; what it holds is the backend's business. */
struct sbx_conn;

struct sbx_create_opts {
	const char *template;	/* template name or path, NULL = default */
	const char *image;	/* image path (`--image`), overrides template */
	const char *snapshot;	/* create from this snapshot id (`--from`) */
	const char *name;	/* NULL = none */
	unsigned vcpus;		/* 0 = template/default */
	uint64_t memory;	/* bytes, 0 = template/default */
	uint64_t disk;		/* bytes, 0 = template/default */
	int64_t idle_timeout_ms; /* -1 = template/config default, 0 = never */
	const struct sbx_strvec *env;	/* KEY=VALUE for every exec, or NULL */
	/* Egress policy: CIDRs or domains (doc/networking.md), or NULL. */
	const struct sbx_strvec *allow, *deny;
	int no_network;		/* no network device at all */
	int boot_image;		/* boot the template's image even when it
				   has a built snapshot (sbx build) */
};

/* One command in a sandbox. Output goes to the fds given. */
struct sbx_exec_opts {
	const char *const *argv;	/* NULL-terminated, argv[0] required */
	const char *const *env;		/* KEY=VALUE, NULL-terminated or NULL */
	const char *cwd;		/* NULL = the sandbox's workdir */
	const char *user;		/* NULL = the sandbox's user */
	int stdin_fd;			/* -1 = no input (guest sees EOF) */
	int stdout_fd, stderr_fd;	/* host fds receiving output */
	int tty;			/* allocate a PTY (stderr merged) */
	unsigned rows, cols;		/* PTY size, 0 = 24x80 */
	int tty_resize_fd;		/* -1, or an fd whose readability
					   means "re-read the size of
					   stdout_fd's terminal" (SIGWINCH
					   self-pipe) */
	int detach_byte;		/* with tty: this input byte detaches
					   (0x1d = Ctrl-]), -1 = none */
	int background;			/* start and return at once: the
					   process keeps running; *status
					   is set to its guest pid */
	uint64_t timeout_ms;		/* 0 = none (never a default) */
};

/* What came back from a guest command. */
struct sbx_exec_result {
	int exit_code;		/* 0..255 when it exited */
	int signal;		/* the killing signal, or 0 */
	int detached;		/* the user detached a tty session */
	pid_t pid;		/* background: the guest pid */
};

/* A file or directory in a sandbox. */
struct sbx_file_stat {
	char *name;		/* base name (list) or path (stat); owned */
	int type;		/* 'f' file, 'd' dir, 'l' symlink, '?' other */
	uint32_t mode;		/* permission bits */
	uint64_t size;
	int64_t mtime;		/* seconds since the epoch */
	char *link;		/* symlink target or NULL; owned */
};

void sbx_file_stat_release(struct sbx_file_stat *st);

/* A snapshot, as `sbx log` lists it. */
struct sbx_snapshot_info {
	char id[65];		/* manifest object id (hex) */
	char parent[65];	/* "" for the first */
	int64_t time;		/* seconds since the epoch */
	char *message;		/* owned, may be "" */
	uint64_t added_bytes;	/* bytes this snapshot added to the store */
};

struct sbx_backend {
	const char *name;	/* "kvm", "remote" */

	int (*open)(const struct sbx_backend_cfg *cfg, struct sbx_conn **out,
	    struct sbx_err *e);
	void (*close)(struct sbx_conn *c);

	/* Lifecycle. `query` is an id, unique id prefix or name. */
	int (*create)(struct sbx_conn *c, const struct sbx_create_opts *o,
	    struct sbx_sandbox *out, struct sbx_err *e);
	/* All sandboxes, sorted by creation time; *out is malloc'd. */
	int (*list)(struct sbx_conn *c, struct sbx_sandbox **out, size_t *n,
	    struct sbx_err *e);
	int (*get)(struct sbx_conn *c, const char *query,
	    struct sbx_sandbox *out, struct sbx_err *e);
	int (*stop)(struct sbx_conn *c, const char *query, struct sbx_err *e);
	int (*start)(struct sbx_conn *c, const char *query, struct sbx_err *e);
	/* force: stop a running sandbox first. */
	int (*destroy)(struct sbx_conn *c, const char *query, int force,
	    struct sbx_err *e);

	/* Commands. Returns 0 when the command ran (whatever its status). */
	int (*exec)(struct sbx_conn *c, const char *query,
	    const struct sbx_exec_opts *o, struct sbx_exec_result *r,
	    struct sbx_err *e);

	/* Files. Paths in the guest are absolute. */
	int (*file_put)(struct sbx_conn *c, const char *query, int src_fd,
	    const char *path, uint32_t mode, struct sbx_err *e);
	int (*file_get)(struct sbx_conn *c, const char *query,
	    const char *path, int dst_fd, struct sbx_err *e);
	int (*file_stat)(struct sbx_conn *c, const char *query,
	    const char *path, struct sbx_file_stat *st, struct sbx_err *e);
	/* Entries of a directory (not . and ..); *out is malloc'd. */
	int (*file_list)(struct sbx_conn *c, const char *query,
	    const char *path, struct sbx_file_stat **out, size_t *n,
	    struct sbx_err *e);
	int (*file_mkdir)(struct sbx_conn *c, const char *query,
	    const char *path, uint32_t mode, struct sbx_err *e);
	int (*file_rm)(struct sbx_conn *c, const char *query,
	    const char *path, int recursive, struct sbx_err *e);
	int (*file_rename)(struct sbx_conn *c, const char *query,
	    const char *from, const char *to, struct sbx_err *e);

	/* Snapshots and forks. */
	int (*snapshot)(struct sbx_conn *c, const char *query,
	    const char *message, struct sbx_snapshot_info *out,
	    struct sbx_err *e);
	/* Newest first; *out is malloc'd. */
	int (*log)(struct sbx_conn *c, const char *query,
	    struct sbx_snapshot_info **out, size_t *n, struct sbx_err *e);
	/* Appends the new sandboxes' ids to `ids`. */
	int (*fork)(struct sbx_conn *c, const char *query, unsigned count,
	    struct sbx_strvec *ids, struct sbx_err *e);
	int (*hibernate)(struct sbx_conn *c, const char *query,
	    struct sbx_err *e);
	int (*resume)(struct sbx_conn *c, const char *query,
	    struct sbx_err *e);
	int (*resize)(struct sbx_conn *c, const char *query, unsigned vcpus,
	    uint64_t memory, struct sbx_err *e);

	/* Live figures: {"vcpus": [...], "rss": N, "pss": N, ...}. */
	int (*stats)(struct sbx_conn *c, const char *query, json_t **out,
	    struct sbx_err *e);
	/* Console log; follow: keep reading until interrupted. */
	int (*logs)(struct sbx_conn *c, const char *query, int dst_fd,
	    int follow, struct sbx_err *e);
	/* Exposes guest `guest_port` on host `addr:host_port` (0 = pick). */
	int (*port)(struct sbx_conn *c, const char *query, unsigned guest_port,
	    const char *addr, unsigned host_port, unsigned *bound_port,
	    struct sbx_err *e);
	/*
	 * Closes the forwards of `guest_port` made by `port`: all of them,
	 * or with `addr` (NULL: any) and `host_port` (0: any) only those.
	 * The number closed goes to *closed; none matching is SBX_ENOENT.
	 */
	int (*port_close)(struct sbx_conn *c, const char *query,
	    unsigned guest_port, const char *addr, unsigned host_port,
	    unsigned *closed, struct sbx_err *e);
	/*
	 * Opens a TCP connection to `guest_port` in the sandbox, resuming a
	 * hibernated one first; *fd is a connected stream socket the caller
	 * owns. The HTTP proxy of `sbx serve` uses it (doc/networking.md).
	 */
	int (*port_connect)(struct sbx_conn *c, const char *query,
	    unsigned guest_port, int *fd, struct sbx_err *e);
};

/* The backends, NULL-terminated: kvm first. */
extern const struct sbx_backend *const sbx_backends[];

/* Records "'<op>' is not supported by backend '<name>'" and returns it. */
int sbx_backend_unsupported(const struct sbx_backend *b, const char *op,
    struct sbx_err *e);

#endif
