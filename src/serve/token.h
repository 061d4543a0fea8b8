/*
 * token.h - API tokens for `sbx serve` (`sbx token create|ls|revoke`).
 *
 * A token is "sbx_<id>_<secret>": <id> is 16 lowercase hex characters
 * (8 random bytes, not secret, names the token in `ls` and `revoke`),
 * <secret> is 32 random bytes from libsodium in unpadded base64url. The
 * secret is shown once, by create; the server keeps only
 *
 *   BLAKE2b-256(key = the server key, message = the 32 secret bytes)
 *
 * in $SBX_HOME/serve/tokens.json (0600, replaced atomically under the
 * flock of $SBX_HOME/serve/tokens.lock). The server key is 32 random bytes
 * in $SBX_HOME/serve/key, created 0600 on first use. Hashes are compared
 * with sodium_memcmp (constant time).
 *
 * tokens.json:
 *   {"version": 1, "tokens": [{"id": "...", "name": "ci", "scope": "write",
 *     "created": 1767000000, "expires": 0, "revoked": 0,
 *     "hash": "<64 hex>"}]}
 * times are seconds since the epoch; expires/revoked 0 = never/not.
 *
 * Scopes are ordered read < write < admin: a token may do what its scope
 * and every lower scope allow.
 */
#ifndef SBX_SERVE_TOKEN_H
#define SBX_SERVE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum sbx_token_scope {
	SBX_SCOPE_NONE = 0,
	SBX_SCOPE_READ = 1,
	SBX_SCOPE_WRITE = 2,
	SBX_SCOPE_ADMIN = 3,
};

#define SBX_TOKEN_ID_LEN 16
#define SBX_TOKEN_SECRET_LEN 32

struct sbx_token_info {
	char id[SBX_TOKEN_ID_LEN + 1];
	char *name;		/* owned, "" when none */
	int scope;		/* enum sbx_token_scope */
	int64_t created;
	int64_t expires;	/* 0 = never */
	int64_t revoked;	/* 0 = not revoked */
};

void sbx_token_info_release(struct sbx_token_info *ti);
void sbx_token_info_free_array(struct sbx_token_info *v, size_t n);

/* "read", "write", "admin" ("none" for 0). */
const char *sbx_token_scope_name(int scope);
/* SBX_EUSAGE naming the valid scopes for anything else. */
int sbx_token_scope_parse(const char *s, int *scope, struct sbx_err *e);

/*
 * Creates a token with `scope`, valid for `ttl_s` seconds from `now`
 * (0 = forever), named `name` (NULL = none; at most 64 printable
 * characters). *token_out is the full token (free() it); `info` (may be
 * NULL) receives the record (release it).
 */
int sbx_token_create(const char *home, int scope, int64_t now, int64_t ttl_s,
    const char *name, char **token_out, struct sbx_token_info *info,
    struct sbx_err *e);
/* All tokens, oldest first; *out is malloc'd (free with _free_array). */
int sbx_token_list(const char *home, struct sbx_token_info **out, size_t *n,
    struct sbx_err *e);
/* Marks token `id` revoked at `now`. SBX_ENOENT "no token 'id'". */
int sbx_token_revoke(const char *home, const char *id, int64_t now,
    struct sbx_err *e);

/*
 * The server's view: tokens.json is re-read when it changes on disk, so
 * `sbx token revoke` takes effect on a running server at the next
 * request. Thread-safe (a mutex inside).
 */
struct sbx_token_db;

int sbx_token_db_open(const char *home, struct sbx_token_db **out,
    struct sbx_err *e);
void sbx_token_db_close(struct sbx_token_db *db);
/*
 * Checks `token` at time `now`. Returns its scope (> 0), or SBX_EPERM
 * with a message saying why (malformed, unknown, revoked, expired).
 * `id` (may be NULL, SBX_TOKEN_ID_LEN + 1 bytes) receives the token id.
 */
int sbx_token_db_verify(struct sbx_token_db *db, const char *token,
    int64_t now, char *id, struct sbx_err *e);

#endif
