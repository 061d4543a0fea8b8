/*
 * object.c - object ids and the objects/ directory: put, read, verify,
 * iterate.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "store/fsutil.h"
#include "store/store-int.h"
#include "core/banned.h"

#define COPY_CHUNK (1024 * 1024)

static const char hexdigits[] = "0123456789abcdef";

void
sbx_oid_to_hex(const struct sbx_oid *id, char *out)
{
	int i;

	for (i = 0; i < SBX_OID_RAWLEN; i++) {
		out[2 * i] = hexdigits[id->hash[i] >> 4];
		out[2 * i + 1] = hexdigits[id->hash[i] & 15];
	}
	out[SBX_OID_HEXLEN] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
sbx_oid_is_hex(const char *s)
{
	int i;

	for (i = 0; i < SBX_OID_HEXLEN; i++)
		if (hexval(s[i]) < 0)
			return 0;
	return s[SBX_OID_HEXLEN] == '\0';
}

int
sbx_oid_from_hex(const char *hex, struct sbx_oid *out, struct sbx_err *e)
{
	int i;

	if (!sbx_oid_is_hex(hex))
		return sbx_err_set(e, SBX_EINVAL, "bad object id '%.80s': "
		    "expected 64 lowercase hex digits", hex);
	for (i = 0; i < SBX_OID_RAWLEN; i++)
		out->hash[i] = (unsigned char)(hexval(hex[2 * i]) << 4 |
		    hexval(hex[2 * i + 1]));
	return 0;
}

int
sbx_oid_cmp(const struct sbx_oid *a, const struct sbx_oid *b)
{
	return memcmp(a->hash, b->hash, SBX_OID_RAWLEN);
}

void
sbx_hasher_init(struct sbx_hasher *h)
{
	crypto_generichash_init(&h->st, NULL, 0, SBX_OID_RAWLEN);
}

void
sbx_hasher_update(struct sbx_hasher *h, const void *data, size_t len)
{
	crypto_generichash_update(&h->st, data, len);
}

void
sbx_hasher_final(struct sbx_hasher *h, struct sbx_oid *out)
{
	crypto_generichash_final(&h->st, out->hash, SBX_OID_RAWLEN);
}

void
sbx_oid_hash(const void *data, size_t len, struct sbx_oid *out)
{
	crypto_generichash(out->hash, SBX_OID_RAWLEN, data, len, NULL, 0);
}

char *
store_fanout_path(const struct sbx_store *s, const struct sbx_oid *id)
{
	char hex[SBX_OID_HEXLEN + 1];

	sbx_oid_to_hex(id, hex);
	return xasprintf("%s/objects/%.2s", s->home, hex);
}

char *
sbx_store_object_path(const struct sbx_store *s, const struct sbx_oid *id)
{
	char hex[SBX_OID_HEXLEN + 1];

	sbx_oid_to_hex(id, hex);
	return xasprintf("%s/objects/%.2s/%s", s->home, hex, hex + 2);
}

/*
 * Gives the finished, fsync'd temporary file `tmp` its object name without
 * replacing an existing object, removes `tmp` and fsyncs the directory.
 */
static int
store_install(struct sbx_store *s, const char *tmp, const struct sbx_oid *id,
    int *exdev, struct sbx_err *e)
{
	char *dir = store_fanout_path(s, id);
	char *dst = sbx_store_object_path(s, id);
	int r;

	r = sbx_fs_mkdir(dir, 0700, e);
	if (r < 0)
		goto out;
	if (link(tmp, dst) == 0 || errno == EEXIST) {
		unlink(tmp);
	} else if (errno == EXDEV) {
		if (exdev)
			*exdev = 1;
		r = sbx_err_sys(e, "cannot link '%s' to '%s'", tmp, dst);
		goto out;
	} else if (rename(tmp, dst) < 0) {
		r = sbx_err_sys(e, "cannot rename '%s' to '%s'", tmp, dst);
		goto out;
	}
	r = sbx_fs_fsync_dir(dir, e);
out:
	free(dir);
	free(dst);
	return r;
}

/* Copies fd to a new tmp/ file, hashing; installs it as an object. */
static int
store_copy_in(struct sbx_store *s, int fd, const char *what,
    struct sbx_oid *id, uint64_t *size, struct sbx_err *e)
{
	struct sbx_hasher h;
	struct sbx_oid oid;
	uint64_t total = 0;
	char *tmp = NULL, *chunk;
	int tfd, r;

	r = sbx_store_write_begin(s, e);
	if (r < 0)
		return r;
	r = sbx_store_tmpfile(s, "obj", &tmp, &tfd, e);
	if (r < 0)
		return r;
	chunk = xmalloc(COPY_CHUNK);
	sbx_hasher_init(&h);
	for (;;) {
		ssize_t n = read(fd, chunk, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = sbx_err_sys(e, "cannot read '%s'", what);
			break;
		}
		if (n == 0)
			break;
		sbx_hasher_update(&h, chunk, (size_t)n);
		r = sbx_fs_write_all(tfd, chunk, (size_t)n, tmp, e);
		if (r < 0)
			break;
		total += (uint64_t)n;
	}
	free(chunk);
	if (r == 0 && fchmod(tfd, 0444) < 0)
		r = sbx_err_sys(e, "cannot chmod '%s'", tmp);
	if (r == 0 && fsync(tfd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", tmp);
	if (close(tfd) < 0 && r == 0)
		r = sbx_err_sys(e, "cannot close '%s'", tmp);
	if (r == 0) {
		sbx_hasher_final(&h, &oid);
		r = store_install(s, tmp, &oid, NULL, e);
	}
	if (r < 0) {
		unlink(tmp);
	} else {
		if (id)
			*id = oid;
		if (size)
			*size = total;
	}
	free(tmp);
	return r;
}

int
sbx_store_put_fd(struct sbx_store *s, int fd, struct sbx_oid *id,
    uint64_t *size, struct sbx_err *e)
{
	return store_copy_in(s, fd, "input", id, size, e);
}

int
sbx_store_put_file(struct sbx_store *s, const char *path, struct sbx_oid *id,
    uint64_t *size, struct sbx_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	r = store_copy_in(s, fd, path, id, size, e);
	close(fd);
	return r;
}

int
sbx_store_put_buf(struct sbx_store *s, const void *data, size_t len,
    struct sbx_oid *id, struct sbx_err *e)
{
	struct sbx_oid oid;
	char *tmp;
	int fd, r;

	r = sbx_store_write_begin(s, e);
	if (r < 0)
		return r;
	sbx_oid_hash(data, len, &oid);
	if (id)
		*id = oid;
	if (sbx_store_object_exists(s, &oid))
		return 0;
	r = sbx_store_tmpfile(s, "obj", &tmp, &fd, e);
	if (r < 0)
		return r;
	r = sbx_fs_write_all(fd, data, len, tmp, e);
	if (r == 0 && fchmod(fd, 0444) < 0)
		r = sbx_err_sys(e, "cannot chmod '%s'", tmp);
	if (r == 0 && fsync(fd) < 0)
		r = sbx_err_sys(e, "cannot fsync '%s'", tmp);
	if (close(fd) < 0 && r == 0)
		r = sbx_err_sys(e, "cannot close '%s'", tmp);
	if (r == 0)
		r = store_install(s, tmp, &oid, NULL, e);
	if (r < 0)
		unlink(tmp);
	free(tmp);
	return r;
}

/* Hashes everything readable from fd. */
static int
hash_fd(int fd, const char *what, struct sbx_oid *out, uint64_t *size,
    struct sbx_err *e)
{
	struct sbx_hasher h;
	uint64_t total = 0;
	char *chunk = xmalloc(COPY_CHUNK);
	int r = 0;

	sbx_hasher_init(&h);
	for (;;) {
		ssize_t n = read(fd, chunk, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = sbx_err_sys(e, "cannot read '%s'", what);
			break;
		}
		if (n == 0)
			break;
		sbx_hasher_update(&h, chunk, (size_t)n);
		total += (uint64_t)n;
	}
	free(chunk);
	sbx_hasher_final(&h, out);
	if (size)
		*size = total;
	return r;
}

int
sbx_store_hash_path(const char *path, struct sbx_oid *id, struct sbx_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;

	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	r = hash_fd(fd, path, id, NULL, e);
	close(fd);
	return r;
}

int
sbx_store_put_path(struct sbx_store *s, const char *path,
    const struct sbx_oid *known, struct sbx_oid *id, struct sbx_err *e)
{
	struct sbx_oid oid, got;
	struct stat st;
	int fd, r, exdev = 0;

	r = sbx_store_write_begin(s, e);
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sbx_err_sys(e, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return sbx_err_set(e, SBX_EINVAL,
		    "'%s' is not a regular file", path);
	}
	if (known)
		oid = *known;
	else if ((r = hash_fd(fd, path, &oid, NULL, e)) < 0)
		goto fail;
	if (fchmod(fd, 0444) < 0) {
		r = sbx_err_sys(e, "cannot chmod '%s'", path);
		goto fail;
	}
	if (fsync(fd) < 0) {
		r = sbx_err_sys(e, "cannot fsync '%s'", path);
		goto fail;
	}
	r = store_install(s, path, &oid, &exdev, e);
	if (r < 0 && exdev) {
		/* Another file system: copy, then drop the source. */
		if (lseek(fd, 0, SEEK_SET) < 0) {
			r = sbx_err_sys(e, "cannot seek '%s'", path);
			goto fail;
		}
		r = store_copy_in(s, fd, path, &got, NULL, e);
		if (r == 0 && sbx_oid_cmp(&got, &oid)) {
			/* The caller's id was wrong; keep what was stored
			 * under its true name (it may be in use). */
			r = sbx_err_set(e, SBX_ECORRUPT, "'%s' does not have "
			    "the id given for it", path);
		}
		if (r == 0)
			unlink(path);
	}
	if (r == 0 && id)
		*id = oid;
fail:
	close(fd);
	return r;
}

int
sbx_store_object_exists(struct sbx_store *s, const struct sbx_oid *id)
{
	char *p = sbx_store_object_path(s, id);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* The error for a missing object. */
static int
missing(const struct sbx_oid *id, struct sbx_err *e)
{
	char hex[SBX_OID_HEXLEN + 1];

	sbx_oid_to_hex(id, hex);
	return sbx_err_set(e, SBX_ENOENT, "object '%s' not found in the "
	    "store", hex);
}

int
sbx_store_object_open(struct sbx_store *s, const struct sbx_oid *id,
    int *fd, struct sbx_err *e)
{
	char *p = sbx_store_object_path(s, id);
	int r = 0;

	*fd = open(p, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		r = errno == ENOENT ? missing(id, e) :
		    sbx_err_sys(e, "cannot open object '%s'", p);
	free(p);
	return r;
}

int
sbx_store_object_size(struct sbx_store *s, const struct sbx_oid *id,
    uint64_t *size, struct sbx_err *e)
{
	char *p = sbx_store_object_path(s, id);
	struct stat st;
	int r = 0;

	if (stat(p, &st) < 0)
		r = errno == ENOENT ? missing(id, e) :
		    sbx_err_sys(e, "cannot stat object '%s'", p);
	else
		*size = (uint64_t)st.st_size;
	free(p);
	return r;
}

int
sbx_store_object_read(struct sbx_store *s, const struct sbx_oid *id,
    struct sbx_buf *b, struct sbx_err *e)
{
	ssize_t n;
	int fd, r;

	r = sbx_store_object_open(s, id, &fd, e);
	if (r < 0)
		return r;
	n = sbx_buf_read_fd(b, fd, e);
	close(fd);
	if (n < 0) {
		char hex[SBX_OID_HEXLEN + 1];

		sbx_oid_to_hex(id, hex);
		sbx_err_prefix(e, "object '%s'", hex);
		return (int)n;
	}
	return 0;
}

int
sbx_store_object_verify(struct sbx_store *s, const struct sbx_oid *id,
    struct sbx_err *e)
{
	struct sbx_oid got;
	char *p;
	int fd, r;

	r = sbx_store_object_open(s, id, &fd, e);
	if (r < 0)
		return r;
	p = sbx_store_object_path(s, id);
	r = hash_fd(fd, p, &got, NULL, e);
	close(fd);
	if (r == 0 && sbx_oid_cmp(&got, id)) {
		char hex[SBX_OID_HEXLEN + 1];

		sbx_oid_to_hex(id, hex);
		r = sbx_err_set(e, SBX_ECORRUPT, "object '%s' is corrupt: its "
		    "content does not match its name ('%s')", hex, p);
		sbx_err_hint(e, "remove the file; whatever refers to it must "
		    "be rebuilt");
	}
	free(p);
	return r;
}

int
sbx_store_object_remove(struct sbx_store *s, const struct sbx_oid *id,
    struct sbx_err *e)
{
	char *p = sbx_store_object_path(s, id);
	int r = 0;

	if (unlink(p) < 0 && errno != ENOENT)
		r = sbx_err_sys(e, "cannot remove object '%s'", p);
	free(p);
	return r;
}

/* 1 if `name` is exactly n lowercase hex digits. */
static int
is_hex_name(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (hexval(name[i]) < 0)
			return 0;
	return name[n] == '\0';
}

/* Walks one fan-out directory objects/<prefix>. */
static int
foreach_in_dir(struct sbx_store *s, const char *prefix, sbx_object_fn fn,
    void *arg, struct sbx_err *e)
{
	char *dir = xasprintf("%s/objects/%s", s->home, prefix);
	char hex[SBX_OID_HEXLEN + 1];
	struct sbx_oid id;
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d) {
		r = errno == ENOENT ? 0 :
		    sbx_err_sys(e, "cannot read directory '%s'", dir);
		free(dir);
		return r;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_hex_name(de->d_name, SBX_OID_HEXLEN - 2))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		memcpy(hex, prefix, 2);
		memcpy(hex + 2, de->d_name, SBX_OID_HEXLEN - 2);
		hex[SBX_OID_HEXLEN] = '\0';
		sbx_oid_from_hex(hex, &id, NULL);
		r = fn(&id, (uint64_t)st.st_size, arg);
		if (r)
			break;
	}
	closedir(d);
	free(dir);
	return r;
}

int
sbx_store_foreach_object(struct sbx_store *s, sbx_object_fn fn, void *arg,
    struct sbx_err *e)
{
	char *dir = xasprintf("%s/objects", s->home);
	struct dirent *de;
	DIR *d = opendir(dir);
	int r = 0;

	if (!d) {
		r = sbx_err_sys(e, "cannot read directory '%s'", dir);
		free(dir);
		return r;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_hex_name(de->d_name, 2))
			continue;
		r = foreach_in_dir(s, de->d_name, fn, arg, e);
		if (r)
			break;
	}
	closedir(d);
	free(dir);
	return r;
}

struct verify_walk {
	struct sbx_store *s;
	sbx_verify_fn bad;
	void *arg;
	size_t nbad;
	struct sbx_err last;
};

/* foreach callback: verify one object, report it when bad. */
static int
verify_one(const struct sbx_oid *id, uint64_t size, void *arg)
{
	struct verify_walk *w = arg;
	struct sbx_err err;

	(void)size;
	sbx_err_clear(&err);
	if (sbx_store_object_verify(w->s, id, &err) < 0) {
		w->nbad++;
		w->last = err;
		if (w->bad)
			w->bad(id, &err, w->arg);
	}
	return 0;
}

int
sbx_store_verify(struct sbx_store *s, sbx_verify_fn bad, void *arg,
    size_t *nbad, struct sbx_err *e)
{
	struct verify_walk w;
	int r;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.bad = bad;
	w.arg = arg;
	r = sbx_store_foreach_object(s, verify_one, &w, e);
	if (nbad)
		*nbad = w.nbad;
	if (r)
		return r;
	if (w.nbad) {
		if (e) {
			*e = w.last;
			if (w.nbad > 1)
				sbx_err_prefix(e, "%zu corrupt objects; last",
				    w.nbad);
		}
		return SBX_ECORRUPT;
	}
	return 0;
}

int
sbx_store_object_resolve(struct sbx_store *s, const char *query,
    struct sbx_oid *id, struct sbx_err *e)
{
	char want[SBX_OID_HEXLEN + 1], hex[SBX_OID_HEXLEN + 1], *dir;
	const char *q = query;
	struct dirent *de;
	size_t len, i, n = 0;
	DIR *d;

	if (!strncmp(q, "sha:", 4))
		q += 4;
	len = strlen(q);
	if (len < SBX_OID_PREFIX_MIN || len > SBX_OID_HEXLEN)
		return sbx_err_set(e, SBX_EUSAGE, "object id '%.80s' must have "
		    "%d to %d hex digits", query, SBX_OID_PREFIX_MIN,
		    SBX_OID_HEXLEN);
	for (i = 0; i < len; i++) {
		char c = q[i];

		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (hexval(c) < 0)
			return sbx_err_set(e, SBX_EUSAGE, "object id '%.80s' "
			    "is not hexadecimal", query);
		want[i] = c;
	}
	want[len] = '\0';
	dir = xasprintf("%s/objects/%.2s", s->home, want);
	d = opendir(dir);
	free(dir);
	while (d && (de = readdir(d)) != NULL) {
		if (!is_hex_name(de->d_name, SBX_OID_HEXLEN - 2) ||
		    strncmp(de->d_name, want + 2, len - 2))
			continue;
		if (n++ == 0) {
			memcpy(hex, want, 2);
			memcpy(hex + 2, de->d_name, SBX_OID_HEXLEN - 1);
			continue;
		}
		sbx_err_set(e, SBX_EUSAGE, "object id '%s' is ambiguous: "
		    "'%.12s...' and '%.2s%.10s...' both match", query, hex,
		    want, de->d_name);
		closedir(d);
		return SBX_EUSAGE;
	}
	if (d)
		closedir(d);
	if (n == 0)
		return sbx_err_set(e, SBX_ENOENT, "no object '%s' in the store",
		    query);
	return sbx_oid_from_hex(hex, id, e);
}
