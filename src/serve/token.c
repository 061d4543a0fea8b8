/*
 * token.c - creating, listing, revoking and verifying API tokens
 * (format and storage in token.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "serve/token.h"
#include "store/fsutil.h"
#include "core/banned.h"

#define KEY_LEN 32
#define HASH_LEN 32
#define NAME_MAX_LEN 64
#define TOKENS_FILE_MAX (16u << 20)

static const char *const scope_names[] = { "none", "read", "write", "admin" };

/* One stored record: the public info plus the keyed hash. */
struct rec {
	struct sbx_token_info info;
	unsigned char hash[HASH_LEN];
};

struct sbx_token_db {
	pthread_mutex_t lock;
	char *home;
	unsigned char key[KEY_LEN];
	struct rec *recs;
	size_t nrecs;
	struct stat seen;	/* tokens.json as last loaded */
	int loaded;
};

void
sbx_token_info_release(struct sbx_token_info *ti)
{
	if (!ti)
		return;
	free(ti->name);
	ti->name = NULL;
}

void
sbx_token_info_free_array(struct sbx_token_info *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sbx_token_info_release(&v[i]);
	free(v);
}

static void
recs_free(struct rec *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sbx_token_info_release(&r[i].info);
	free(r);
}

const char *
sbx_token_scope_name(int scope)
{
	if (scope < 0 || scope > SBX_SCOPE_ADMIN)
		return "none";
	return scope_names[scope];
}

int
sbx_token_scope_parse(const char *s, int *scope, struct sbx_err *e)
{
	int i;

	for (i = SBX_SCOPE_READ; i <= SBX_SCOPE_ADMIN; i++)
		if (!strcmp(s, scope_names[i])) {
			*scope = i;
			return 0;
		}
	return sbx_err_set(e, SBX_EUSAGE, "unknown token scope '%s' "
	    "(expected read, write or admin)", s);
}

/* Makes $home and $home/serve (0700); returns the latter (free it). */
static char *
serve_dir(const char *home, struct sbx_err *e)
{
	char *dir;

	if (sbx_fs_mkdir(home, 0700, e) < 0)
		return NULL;
	dir = xasprintf("%s/serve", home);
	if (sbx_fs_mkdir(dir, 0700, e) < 0) {
		free(dir);
		return NULL;
	}
	return dir;
}

/* Reads exactly KEY_LEN bytes of the key file. */
static int
key_read(const char *path, unsigned char *key, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	int r;

	b.cap = KEY_LEN + 1;
	r = sbx_buf_read_file(&b, path, e);
	if (r == 0 && b.len != KEY_LEN)
		r = sbx_err_set(e, SBX_ECORRUPT, "server key '%s' is %zu "
		    "bytes, not %d", path, b.len, KEY_LEN);
	if (r == 0)
		memcpy(key, b.buf, KEY_LEN);
	sodium_memzero(b.buf, b.len);
	sbx_buf_release(&b);
	return r;
}

/*
 * Loads $home/serve/key, creating it (0600) if missing. Creation links a
 * complete temporary file into place, so racing creators agree on one key.
 */
static int
key_load(const char *dir, unsigned char *key, struct sbx_err *e)
{
	char *path = xasprintf("%s/key", dir), *tmp = NULL;
	unsigned char fresh[KEY_LEN];
	int fd = -1, r;

	if (access(path, F_OK) == 0)
		goto read;
	tmp = xasprintf("%s/.key-XXXXXX", dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = sbx_err_sys(e, "cannot create a temporary file in '%s'",
		    dir);
		goto out;
	}
	randombytes_buf(fresh, sizeof(fresh));
	r = fchmod(fd, 0600) < 0 ? sbx_err_sys(e, "cannot chmod '%s'", tmp)
	    : 0;
	if (r == 0)
		r = sbx_fs_write_all(fd, fresh, sizeof(fresh), tmp, e);
	sodium_memzero(fresh, sizeof(fresh));
	if (r == 0 && fsync(fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", tmp);
	close(fd);
	if (r == 0 && link(tmp, path) < 0 && errno != EEXIST)
		r = sbx_err_sys(e, "cannot create server key '%s'", path);
	unlink(tmp);
	if (r == 0)
		r = sbx_fs_fsync_dir(dir, e);
	if (r < 0)
		goto out;
read:
	r = key_read(path, key, e);
out:
	free(tmp);
	free(path);
	return r;
}

/* Parses tokens.json text into records. */
static int
recs_parse(const char *text, size_t len, const char *where,
    struct rec **out, size_t *n, struct sbx_err *e)
{
	json_error_t je;
	json_t *root, *arr, *t;
	struct rec *v = NULL;
	size_t i, cnt = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (len == 0)
		return 0;
	root = json_loadb(text, len, 0, &je);
	if (!root)
		return sbx_err_set(e, SBX_ECORRUPT, "%s:%d:%d: %s", where,
		    je.line, je.column, je.text);
	arr = json_object_get(root, "tokens");
	if (!json_is_array(arr)) {
		json_decref(root);
		return sbx_err_set(e, SBX_ECORRUPT, "%s: 'tokens' must be an "
		    "array", where);
	}
	v = xcalloc(json_array_size(arr) + 1, sizeof(*v));
	json_array_foreach(arr, i, t) {
		const char *id = NULL, *name = NULL, *scope = NULL, *hash = NULL;
		json_int_t created = 0, expires = 0, revoked = 0;
		struct rec *rc = &v[cnt];
		size_t hl = 0;

		if (json_unpack(t, "{s:s, s?s, s:s, s:I, s?I, s?I, s:s}",
		    "id", &id, "name", &name, "scope", &scope,
		    "created", &created, "expires", &expires,
		    "revoked", &revoked, "hash", &hash) < 0 ||
		    strlen(id) != SBX_TOKEN_ID_LEN ||
		    sbx_token_scope_parse(scope, &rc->info.scope, NULL) < 0 ||
		    sodium_hex2bin(rc->hash, HASH_LEN, hash, strlen(hash),
		    NULL, &hl, NULL) < 0 || hl != HASH_LEN) {
			r = sbx_err_set(e, SBX_ECORRUPT, "%s: token #%zu is "
			    "malformed", where, i + 1);
			break;
		}
		memcpy(rc->info.id, id, SBX_TOKEN_ID_LEN + 1);
		rc->info.name = xstrdup(name ? name : "");
		rc->info.created = created;
		rc->info.expires = expires;
		rc->info.revoked = revoked;
		cnt++;
	}
	json_decref(root);
	if (r < 0) {
		recs_free(v, cnt);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* Reads and parses $dir/tokens.json (missing = no tokens). */
static int
recs_load(const char *dir, struct rec **out, size_t *n, struct stat *st,
    struct sbx_err *e)
{
	char *path = xasprintf("%s/tokens.json", dir);
	struct sbx_buf b = SBX_BUF_INIT;
	int r = 0;

	*out = NULL;
	*n = 0;
	if (st)
		memset(st, 0, sizeof(*st));
	b.cap = TOKENS_FILE_MAX;
	if (access(path, F_OK) == 0) {
		if (st && stat(path, st) < 0)
			r = sbx_err_sys(e, "cannot stat '%s'", path);
		if (r == 0)
			r = sbx_buf_read_file(&b, path, e);
		if (r == 0)
			r = recs_parse(b.buf, b.len, path, out, n, e);
	} else if (errno != ENOENT) {
		r = sbx_err_sys(e, "cannot access '%s'", path);
	}
	sbx_buf_release(&b);
	free(path);
	return r;
}

/* Writes records to $dir/tokens.json atomically (0600). */
static int
recs_save(const char *dir, const struct rec *v, size_t n, struct sbx_err *e)
{
	char *path = xasprintf("%s/tokens.json", dir), *text;
	json_t *root = json_object(), *arr = json_array();
	char hex[HASH_LEN * 2 + 1];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		sodium_bin2hex(hex, sizeof(hex), v[i].hash, HASH_LEN);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, "
		    "s:I, s:I, s:s}", "id", v[i].info.id, "name",
		    v[i].info.name ? v[i].info.name : "", "scope",
		    sbx_token_scope_name(v[i].info.scope), "created",
		    (json_int_t)v[i].info.created, "expires",
		    (json_int_t)v[i].info.expires, "revoked",
		    (json_int_t)v[i].info.revoked, "hash", hex));
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "tokens", arr);
	text = json_dumps(root, JSON_INDENT(2));
	json_decref(root);
	r = sbx_fs_write_atomic(path, NULL, text, strlen(text), 0600, e);
	free(text);
	free(path);
	return r;
}

/* Takes the tokens.lock flock of `dir`; returns the fd. */
static int
lock_take(const char *dir, struct sbx_err *e)
{
	char *path = xasprintf("%s/tokens.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		sbx_err_sys(e, "cannot open '%s'", path);
	} else if (flock(fd, LOCK_EX) < 0) {
		sbx_err_sys(e, "cannot lock '%s'", path);
		close(fd);
		fd = -1;
	}
	free(path);
	return fd < 0 ? SBX_EIO : fd;
}

/* Token names: at most NAME_MAX_LEN bytes, no control characters. */
static int
name_check(const char *name, struct sbx_err *e)
{
	const unsigned char *p;

	if (strlen(name) > NAME_MAX_LEN)
		return sbx_err_set(e, SBX_EUSAGE, "token name '%.20s...' is "
		    "longer than %d characters", name, NAME_MAX_LEN);
	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return sbx_err_set(e, SBX_EUSAGE, "token name has a "
			    "control character at offset %zu",
			    (size_t)(p - (const unsigned char *)name));
	return 0;
}

int
sbx_token_create(const char *home, int scope, int64_t now, int64_t ttl_s,
    const char *name, char **token_out, struct sbx_token_info *info,
    struct sbx_err *e)
{
	unsigned char key[KEY_LEN], idraw[SBX_TOKEN_ID_LEN / 2];
	unsigned char secret[SBX_TOKEN_SECRET_LEN];
	char b64[sodium_base64_ENCODED_LEN(SBX_TOKEN_SECRET_LEN,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	struct rec *v = NULL, *nr;
	size_t n = 0;
	char *dir;
	int fd, r;

	*token_out = NULL;
	if (scope < SBX_SCOPE_READ || scope > SBX_SCOPE_ADMIN)
		return sbx_err_set(e, SBX_EUSAGE, "invalid token scope %d",
		    scope);
	if (ttl_s < 0)
		return sbx_err_set(e, SBX_EUSAGE, "token lifetime must not "
		    "be negative");
	if (name && name_check(name, e) < 0)
		return SBX_EUSAGE;
	if (sodium_init() < 0)
		return sbx_err_set(e, SBX_EFAIL, "cannot initialise libsodium");
	dir = serve_dir(home, e);
	if (!dir)
		return e ? e->code : SBX_EIO;
	r = key_load(dir, key, e);
	fd = r < 0 ? r : lock_take(dir, e);
	if (fd < 0) {
		free(dir);
		sodium_memzero(key, sizeof(key));
		return fd;
	}
	r = recs_load(dir, &v, &n, NULL, e);
	if (r < 0)
		goto out;
	v = xreallocarray(v, n + 1, sizeof(*v));
	nr = &v[n];
	memset(nr, 0, sizeof(*nr));
	randombytes_buf(idraw, sizeof(idraw));
	sodium_bin2hex(nr->info.id, sizeof(nr->info.id), idraw,
	    sizeof(idraw));
	nr->info.name = xstrdup(name ? name : "");
	nr->info.scope = scope;
	nr->info.created = now;
	nr->info.expires = ttl_s ? now + ttl_s : 0;
	randombytes_buf(secret, sizeof(secret));
	crypto_generichash(nr->hash, HASH_LEN, secret, sizeof(secret), key,
	    KEY_LEN);
	sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n++;
	r = recs_save(dir, v, n, e);
	if (r == 0) {
		*token_out = xasprintf("sbx_%s_%s", nr->info.id, b64);
		if (info) {
			*info = nr->info;
			info->name = xstrdup(nr->info.name);
		}
	}
out:
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(key, sizeof(key));
	recs_free(v, n);
	close(fd);
	free(dir);
	return r;
}

int
sbx_token_list(const char *home, struct sbx_token_info **out, size_t *n,
    struct sbx_err *e)
{
	char *dir = xasprintf("%s/serve", home);
	struct rec *v;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	r = recs_load(dir, &v, n, NULL, e);
	free(dir);
	if (r < 0)
		return r;
	*out = xcalloc(*n + 1, sizeof(**out));
	for (i = 0; i < *n; i++)
		(*out)[i] = v[i].info;	/* names move to the caller */
	free(v);
	return 0;
}

int
sbx_token_revoke(const char *home, const char *id, int64_t now,
    struct sbx_err *e)
{
	struct rec *v = NULL;
	size_t n = 0, i;
	char *dir;
	int fd, r;

	dir = serve_dir(home, e);
	if (!dir)
		return e ? e->code : SBX_EIO;
	fd = lock_take(dir, e);
	if (fd < 0) {
		free(dir);
		return fd;
	}
	r = recs_load(dir, &v, &n, NULL, e);
	for (i = 0; r == 0 && i < n; i++)
		if (!strcmp(v[i].info.id, id))
			break;
	if (r == 0 && i == n)
		r = sbx_err_set(e, SBX_ENOENT, "no token '%s'", id);
	if (r == 0 && !v[i].info.revoked) {
		v[i].info.revoked = now > 0 ? now : 1;
		r = recs_save(dir, v, n, e);
	}
	recs_free(v, n);
	close(fd);
	free(dir);
	return r;
}

int
sbx_token_db_open(const char *home, struct sbx_token_db **out,
    struct sbx_err *e)
{
	struct sbx_token_db *db;
	char *dir;
	int r;

	*out = NULL;
	if (sodium_init() < 0)
		return sbx_err_set(e, SBX_EFAIL, "cannot initialise libsodium");
	dir = serve_dir(home, e);
	if (!dir)
		return e ? e->code : SBX_EIO;
	db = xcalloc(1, sizeof(*db));
	pthread_mutex_init(&db->lock, NULL);
	db->home = dir;
	r = key_load(dir, db->key, e);
	if (r < 0) {
		sbx_token_db_close(db);
		return r;
	}
	*out = db;
	return 0;
}

void
sbx_token_db_close(struct sbx_token_db *db)
{
	if (!db)
		return;
	recs_free(db->recs, db->nrecs);
	sodium_memzero(db->key, sizeof(db->key));
	pthread_mutex_destroy(&db->lock);
	free(db->home);
	free(db);
}

/* Re-reads tokens.json when its identity, size or mtime changed. */
static int
db_refresh(struct sbx_token_db *db, struct sbx_err *e)
{
	char *path = xasprintf("%s/tokens.json", db->home);
	struct stat st;
	struct rec *v;
	size_t n;
	int r;

	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	free(path);
	if (db->loaded && st.st_ino == db->seen.st_ino &&
	    st.st_size == db->seen.st_size &&
	    st.st_mtim.tv_sec == db->seen.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == db->seen.st_mtim.tv_nsec)
		return 0;
	r = recs_load(db->home, &v, &n, &st, e);
	if (r < 0)
		return r;
	recs_free(db->recs, db->nrecs);
	db->recs = v;
	db->nrecs = n;
	db->seen = st;
	db->loaded = 1;
	return 0;
}

/* Splits "sbx_<id>_<secret>"; 0 or -1 when malformed. */
static int
token_split(const char *token, char *id, unsigned char *secret)
{
	size_t len = strlen(token), bl = 0;
	const char *sec;
	size_t i;

	if (len < 4 + SBX_TOKEN_ID_LEN + 2 || strncmp(token, "sbx_", 4) ||
	    token[4 + SBX_TOKEN_ID_LEN] != '_')
		return -1;
	for (i = 0; i < SBX_TOKEN_ID_LEN; i++) {
		char c = token[4 + i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		id[i] = c;
	}
	id[SBX_TOKEN_ID_LEN] = '\0';
	sec = token + 4 + SBX_TOKEN_ID_LEN + 1;
	if (sodium_base642bin(secret, SBX_TOKEN_SECRET_LEN, sec, strlen(sec),
	    NULL, &bl, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0 ||
	    bl != SBX_TOKEN_SECRET_LEN)
		return -1;
	return 0;
}

int
sbx_token_db_verify(struct sbx_token_db *db, const char *token, int64_t now,
    char *id_out, struct sbx_err *e)
{
	unsigned char secret[SBX_TOKEN_SECRET_LEN], hash[HASH_LEN];
	char id[SBX_TOKEN_ID_LEN + 1];
	const struct rec *rc = NULL;
	size_t i;
	int r;

	if (!token || token_split(token, id, secret) < 0)
		return sbx_err_set(e, SBX_EPERM, "malformed token");
	crypto_generichash(hash, HASH_LEN, secret, sizeof(secret), db->key,
	    KEY_LEN);
	sodium_memzero(secret, sizeof(secret));
	pthread_mutex_lock(&db->lock);
	r = db_refresh(db, e);
	if (r < 0) {
		pthread_mutex_unlock(&db->lock);
		return r;
	}
	for (i = 0; i < db->nrecs; i++)
		if (!strcmp(db->recs[i].info.id, id)) {
			rc = &db->recs[i];
			break;
		}
	if (!rc || sodium_memcmp(rc->hash, hash, HASH_LEN) != 0)
		r = sbx_err_set(e, SBX_EPERM, "unknown token");
	else if (rc->info.revoked)
		r = sbx_err_set(e, SBX_EPERM, "token '%s' was revoked", id);
	else if (rc->info.expires && now >= rc->info.expires)
		r = sbx_err_set(e, SBX_EPERM, "token '%s' has expired", id);
	else
		r = rc->info.scope;
	pthread_mutex_unlock(&db->lock);
	if (r > 0 && id_out)
		memcpy(id_out, id, sizeof(id));
	return r;
}
