/*
 * registry.h - the sandbox registry: $SBX_HOME/sandboxes/<id>/.
 *
 * Each sandbox has a directory holding sandbox.json (below), a `lock`
 * file, and whatever files its backend keeps there (the writable top disk
 * layer, logs). sandbox.json is replaced atomically (temp + fsync + rename
 * + directory fsync), so readers never need a lock and always see a whole
 * old or new record.
 *
 * Ids are "sb-" + 12 characters of lowercase RFC 4648 base32
 * ("a-z2-7"), 60 random bits from libsodium's randombytes_buf.
 *
 * sandbox.json, schema version 1 (keys in this order; optional keys are
 * left out when empty/zero; unknown keys are an error, put your data in
 * "extra"):
 *
 *   {
 *     "version": 1,                           required
 *     "id": "sb-abcdefgh2345",                required, = directory name
 *     "name": "web",                          optional, unique, ref-name
 *                                             rules, must not start "sb-"
 *     "state": "running",                     required: creating, running,
 *                                             paused, hibernated, stopped,
 *                                             error
 *     "template": "python",                   optional, template name
 *     "image": "<64 hex>",                    optional, image object id
 *     "spec": {"vcpus": 2, "memory": 536870912, "disk": 4294967296},
 *                                             required, memory/disk bytes
 *     "head": "<64 hex>",                     optional, newest snapshot
 *                                             manifest object id
 *     "parent": "sb-...",                     optional, the sandbox this
 *                                             one was forked from
 *     "created": "2026-01-02T03:04:05Z",      required, UTC
 *     "updated": "2026-01-02T03:04:05Z",      required, UTC, set by save
 *     "ports": [{"host": 8080, "guest": 80, "proto": "tcp"}], optional
 *     "pid": 1234,                            optional, its sbx-vmm
 *     "extra": {...}                          optional, free for backends
 *   }
 *
 * gc treats every sandbox.json as a root and walks it like a manifest
 * (manifest.h): "image" and "head" are in the list of id-valued keys, and
 * any "sha:<hex>" string inside "extra" (for instance a disk layer chain)
 * keeps that object alive. Objects referenced from elsewhere in the
 * sandbox directory are NOT seen by gc: reference them from sandbox.json.
 *
 * Locking: state changes take the per-sandbox lock (sbx_sandbox_lock,
 * exclusive flock on sandboxes/<id>/lock) around load → change → save.
 * Creating a sandbox or renaming one takes sandboxes/.lock to keep names
 * unique. Writes take the store lock shared while they run (store.h).
 */
#ifndef SBX_STORE_REGISTRY_H
#define SBX_STORE_REGISTRY_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "store/store.h"

struct sbx_strvec;

#define SBX_SANDBOX_ID_LEN 15			/* "sb-" + 12 */
#define SBX_SANDBOX_ID_SIZE (SBX_SANDBOX_ID_LEN + 1)
#define SBX_SANDBOX_PREFIX_MIN 4		/* shortest id prefix accepted */
#define SBX_SANDBOX_SCHEMA 1

enum sbx_sandbox_state {
	SBX_SB_CREATING = 0,
	SBX_SB_RUNNING,
	SBX_SB_PAUSED,
	SBX_SB_HIBERNATED,
	SBX_SB_STOPPED,
	SBX_SB_ERROR,
};

struct sbx_sandbox_port {
	unsigned host;		/* 1..65535 */
	unsigned guest;		/* 1..65535 */
	char proto[4];		/* "tcp" or "udp" */
};

struct sbx_sandbox {
	char id[SBX_SANDBOX_ID_SIZE];
	char *name;			/* NULL = none */
	enum sbx_sandbox_state state;
	char *template;			/* NULL = none */
	char image[SBX_OID_HEXLEN + 1];	/* "" = none */
	struct {
		unsigned vcpus;
		uint64_t memory;	/* bytes */
		uint64_t disk;		/* bytes */
	} spec;
	char head[SBX_OID_HEXLEN + 1];	/* "" = none */
	char parent[SBX_SANDBOX_ID_SIZE]; /* "" = none */
	time_t created, updated;
	struct sbx_sandbox_port *ports;	/* nports entries, malloc'd */
	size_t nports;
	pid_t pid;			/* 0 = none */
	json_t *extra;			/* always a JSON object; owned */
};

/* Zeroes `sb` with an empty "extra" object and state "creating". */
void sbx_sandbox_init(struct sbx_sandbox *sb);
/* Frees what `sb` owns; it can be init'd again. */
void sbx_sandbox_release(struct sbx_sandbox *sb);
/* Sets sb->name (copied; NULL clears). */
void sbx_sandbox_set_name(struct sbx_sandbox *sb, const char *name);
void sbx_sandbox_set_template(struct sbx_sandbox *sb, const char *tmpl);
/* Appends a port mapping. */
void sbx_sandbox_add_port(struct sbx_sandbox *sb, unsigned host,
    unsigned guest, const char *proto);

const char *sbx_sandbox_state_name(enum sbx_sandbox_state st);
/* Parses a state name; SBX_EINVAL lists the valid names. */
int sbx_sandbox_state_parse(const char *name, enum sbx_sandbox_state *out,
    struct sbx_err *e);

/* Writes a new random id into out. */
void sbx_sandbox_id_new(char out[SBX_SANDBOX_ID_SIZE]);
/* 1 if `s` is a well-formed sandbox id. */
int sbx_sandbox_id_valid(const char *s);
/* Validates a sandbox name (ref-name rules, not "sb-..."). */
int sbx_sandbox_name_check(const char *name, struct sbx_err *e);

/* The record as a new JSON object (caller json_decref's it). */
json_t *sbx_sandbox_to_json(const struct sbx_sandbox *sb);
/*
 * Fills `sb` (init'd by this call; release it even on failure) from `j`.
 * Errors are SBX_ECORRUPT "<where>: <problem>", naming the field.
 */
int sbx_sandbox_from_json(json_t *j, struct sbx_sandbox *sb,
    const char *where, struct sbx_err *e);

/* sandboxes/<id> as a newly allocated path. */
char *sbx_sandbox_dir(const struct sbx_store *s, const char *id);

/*
 * Registers a new sandbox: gives it a fresh id if sb->id is "", checks
 * that its name is valid and unused, sets created/updated, makes its
 * directory and writes sandbox.json. SBX_EEXIST for a taken name or id.
 */
int sbx_sandbox_create(struct sbx_store *s, struct sbx_sandbox *sb,
    struct sbx_err *e);
/*
 * Reads sandboxes/<id>/sandbox.json into `sb` (init'd by this call;
 * release it). SBX_ENOENT "no sandbox 'id'"; SBX_ECORRUPT naming the path
 * and, for bad JSON, line and column.
 */
int sbx_sandbox_load(struct sbx_store *s, const char *id,
    struct sbx_sandbox *sb, struct sbx_err *e);
/* Reads sandbox.json as raw JSON (for gc); same errors as load. */
int sbx_sandbox_load_json(struct sbx_store *s, const char *id, json_t **out,
    struct sbx_err *e);
/*
 * Replaces the sandbox.json of an existing sandbox with `sb`, setting
 * sb->updated to now. The caller holds the sandbox's lock. The name is
 * not checked for uniqueness: change names with sbx_sandbox_rename.
 */
int sbx_sandbox_save(struct sbx_store *s, struct sbx_sandbox *sb,
    struct sbx_err *e);
/* Gives the sandbox (lock held) a new unique name (NULL removes it). */
int sbx_sandbox_rename(struct sbx_store *s, struct sbx_sandbox *sb,
    const char *name, struct sbx_err *e);
/*
 * Removes the sandbox's directory: it is first renamed into tmp/ (so the
 * sandbox disappears atomically), then deleted. The caller holds its lock
 * and has stopped its VMM. SBX_ENOENT if it does not exist.
 */
int sbx_sandbox_remove(struct sbx_store *s, const char *id,
    struct sbx_err *e);
/* Appends the ids of all sandboxes, sorted, to `ids`. */
int sbx_sandbox_list(struct sbx_store *s, struct sbx_strvec *ids,
    struct sbx_err *e);

/*
 * Finds the sandbox a user means by `query`: its id, its name, a unique
 * prefix (>= 4 characters) of its id, with or without "sb-". Writes the
 * id to `id`. SBX_ENOENT "no sandbox 'q'", SBX_EUSAGE for an ambiguous
 * prefix or a prefix that is too short (the message names candidates).
 */
int sbx_sandbox_resolve(struct sbx_store *s, const char *query,
    char id[SBX_SANDBOX_ID_SIZE], struct sbx_err *e);

/* A held per-sandbox lock. */
struct sbx_sandbox_lock;
/*
 * Takes the exclusive lock of sandbox `id`, waiting up to timeout_ms.
 * SBX_EBUSY "sandbox 'id' is busy" on timeout, SBX_ENOENT if there is no
 * such sandbox. Release with sbx_sandbox_unlock (also on process exit).
 */
int sbx_sandbox_lock(struct sbx_store *s, const char *id, unsigned timeout_ms,
    struct sbx_sandbox_lock **out, struct sbx_err *e);
void sbx_sandbox_unlock(struct sbx_sandbox_lock *l);

#endif
