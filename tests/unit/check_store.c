/*
 * check_store.c - the object store: ids, puts (buffer, stream, move),
 * reads, verify, iteration, manifests and gc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "store/gc.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "store/registry.h"
#include "store/store.h"
#include "core/banned.h"

/* BLAKE2b-256 test vectors (RFC 7693 parameters, 32-byte digest). */
#define HASH_EMPTY \
	"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"
#define HASH_ABC \
	"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"

static struct sbx_oid put(struct sbx_store *s, const char *text);

static struct sbx_store *
open_store(const char **homep)
{
	struct sbx_store *s;
	struct sbx_err e;
	const char *home = unit_tmpdir();

	sbx_err_clear(&e);
	ck_assert_msg(sbx_store_open(home, &s, &e) == 0,
	    "open '%s': %s", home, e.msg);
	if (homep)
		*homep = home;
	return s;
}

/* Number of entries in a directory, without . and .. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_msg(d != NULL, "cannot open '%s'", dir);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

START_TEST(test_oid_vectors)
{
	struct sbx_oid id, back;
	char hex[SBX_OID_HEXLEN + 1];
	struct sbx_err e;

	sbx_oid_hash("", 0, &id);
	sbx_oid_to_hex(&id, hex);
	ck_assert_str_eq(hex, HASH_EMPTY);
	sbx_oid_hash("abc", 3, &id);
	sbx_oid_to_hex(&id, hex);
	ck_assert_str_eq(hex, HASH_ABC);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_oid_from_hex(HASH_ABC, &back, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&id, &back), 0);
	{
		struct sbx_hasher h;

		sbx_hasher_init(&h);
		sbx_hasher_update(&h, "a", 1);
		sbx_hasher_update(&h, "bc", 2);
		sbx_hasher_final(&h, &back);
		ck_assert_int_eq(sbx_oid_cmp(&id, &back), 0);
	}
}
END_TEST

static const char *const bad_hex[] = {
	"", "abc",
	"BDDD813C634239723171EF3FEE98579B94964E3BB1CB3E427262C8C068D52319",
	"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d5231",
	"bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d523190",
	"gddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319",
	" bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d5231",
};

START_TEST(test_oid_bad_hex)
{
	struct sbx_oid id;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_oid_from_hex(bad_hex[_i], &id, &e) == SBX_EINVAL,
	    "'%s' accepted as an object id", bad_hex[_i]);
	ck_assert_msg(strstr(e.msg, "bad object id") != NULL, "msg: %s",
	    e.msg);
	ck_assert(!sbx_oid_is_hex(bad_hex[_i]));
}
END_TEST

START_TEST(test_open_layout)
{
	static const char *const dirs[] = { "objects", "refs/templates",
	    "refs/snapshots", "sandboxes", "tmp" };
	struct sbx_store *s;
	struct sbx_err e;
	const char *home;
	struct stat st;
	char path[512];
	size_t i;

	s = open_store(&home);
	ck_assert_str_eq(sbx_store_home(s), home);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", home, dirs[i]);
		ck_assert_msg(stat(path, &st) == 0 && S_ISDIR(st.st_mode),
		    "'%s' missing after open", path);
	}
	snprintf(path, sizeof(path), "%s/lock", home);
	ck_assert(access(path, F_OK) == 0);
	sbx_store_close(s);
	/* Opening again works; a home below a file does not. */
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_store_open(home, &s, &e), 0);
	sbx_store_close(s);
	snprintf(path, sizeof(path), "%s/lock/sub", home);
	ck_assert(sbx_store_open(path, &s, &e) < 0);
	ck_assert(s == NULL);
	ck_assert_msg(strstr(e.msg, path) != NULL, "msg: %s", e.msg);
	ck_assert_int_eq(sbx_store_open("", &s, &e), SBX_EUSAGE);
}
END_TEST

START_TEST(test_open_format)
{
	struct sbx_store *s;
	struct sbx_err e;
	char path[512], buf[16];
	const char *base = unit_tmpdir();
	ssize_t n;
	int fd;

	/* Missing parents are created. */
	snprintf(path, sizeof(path), "%s/a/b/home", base);
	sbx_err_clear(&e);
	ck_assert_msg(sbx_store_open(path, &s, &e) == 0, "%s", e.msg);
	sbx_store_close(s);
	snprintf(path, sizeof(path), "%s/a/b/home/format", base);
	fd = open(path, O_RDONLY);
	ck_assert(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_eq(n, 2);
	buf[n] = '\0';
	ck_assert_str_eq(buf, "1\n");
	/* A store from a future sbx is refused, naming the format. */
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert(write(fd, "7\n", 2) == 2);
	close(fd);
	snprintf(path, sizeof(path), "%s/a/b/home", base);
	ck_assert_int_eq(sbx_store_open(path, &s, &e), SBX_ENOTSUP);
	ck_assert_msg(strstr(e.msg, "format '7'"), "%s", e.msg);
}
END_TEST

START_TEST(test_put_buf)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_buf b = SBX_BUF_INIT;
	char hex[SBX_OID_HEXLEN + 1], *p, want[512];
	struct sbx_oid id, id2;
	struct sbx_err e;
	struct stat st;
	uint64_t size;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_store_put_buf(s, "abc", 3, &id, &e), 0);
	sbx_oid_to_hex(&id, hex);
	ck_assert_str_eq(hex, HASH_ABC);
	ck_assert(sbx_store_object_exists(s, &id));
	p = sbx_store_object_path(s, &id);
	snprintf(want, sizeof(want), "%s/objects/bd/%s", sbx_store_home(s),
	    HASH_ABC + 2);
	ck_assert_str_eq(p, want);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_msg((st.st_mode & 0777) == 0444, "mode %o",
	    st.st_mode & 0777);
	free(p);
	ck_assert_int_eq(sbx_store_object_size(s, &id, &size, &e), 0);
	ck_assert_int_eq(size, 3);
	ck_assert_int_eq(sbx_store_object_read(s, &id, &b, &e), 0);
	ck_assert_str_eq(b.buf, "abc");
	ck_assert_int_eq(sbx_store_object_verify(s, &id, &e), 0);
	/* Idempotent. */
	ck_assert_int_eq(sbx_store_put_buf(s, "abc", 3, &id2, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&id, &id2), 0);
	/* The empty object is an object too. */
	ck_assert_int_eq(sbx_store_put_buf(s, "", 0, &id2, &e), 0);
	sbx_oid_to_hex(&id2, hex);
	ck_assert_str_eq(hex, HASH_EMPTY);
	/* Nothing is left in tmp/. */
	p = sbx_store_path(s, "tmp");
	ck_assert_int_eq(count_entries(p), 0);
	free(p);
	sbx_buf_release(&b);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_put_stream)
{
	struct sbx_store *s = open_store(NULL);
	size_t len = 3 * 1024 * 1024 + 17, i;
	char *data = xmalloc(len), path[512], *tmp;
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_oid want, id;
	struct sbx_err e;
	uint64_t size = 0;
	int fd;

	for (i = 0; i < len; i++)
		data[i] = (char)(i * 7 + i / 4096);
	sbx_oid_hash(data, len, &want);
	snprintf(path, sizeof(path), "%s/input", sbx_store_home(s));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert(fd >= 0);
	ck_assert(write(fd, data, len) == (ssize_t)len);
	close(fd);

	sbx_err_clear(&e);
	fd = open(path, O_RDONLY);
	ck_assert_int_eq(sbx_store_put_fd(s, fd, &id, &size, &e), 0);
	close(fd);
	ck_assert_int_eq(sbx_oid_cmp(&id, &want), 0);
	ck_assert_int_eq(size, len);
	ck_assert_int_eq(sbx_store_object_read(s, &id, &b, &e), 0);
	ck_assert(b.len == len && !memcmp(b.buf, data, len));
	/* put_file of the same content: same id, input untouched. */
	ck_assert_int_eq(sbx_store_put_file(s, path, &id, &size, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&id, &want), 0);
	ck_assert(access(path, F_OK) == 0);
	ck_assert_int_eq(sbx_store_put_file(s, "/nonexistent/x", &id, NULL,
	    &e), SBX_EIO);
	ck_assert_msg(strstr(e.msg, "/nonexistent/x") != NULL, "%s", e.msg);
	tmp = sbx_store_path(s, "tmp");
	ck_assert_int_eq(count_entries(tmp), 0);
	free(tmp);
	sbx_buf_release(&b);
	free(data);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_put_path)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_oid want, id, other;
	struct sbx_err e;
	char *path, *tmp;
	int fd;

	sbx_err_clear(&e);
	/* Hashed by the store. */
	ck_assert_int_eq(sbx_store_tmpfile(s, "mem", &path, &fd, &e), 0);
	ck_assert(strstr(path, "/tmp/mem-") != NULL);
	ck_assert(write(fd, "memory image", 12) == 12);
	close(fd);
	sbx_oid_hash("memory image", 12, &want);
	ck_assert_int_eq(sbx_store_put_path(s, path, NULL, &id, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&id, &want), 0);
	ck_assert_msg(access(path, F_OK) < 0, "'%s' still there", path);
	ck_assert_int_eq(sbx_store_object_verify(s, &id, &e), 0);
	free(path);
	/* Hashed by the caller; the object exists already. */
	ck_assert_int_eq(sbx_store_tmpfile(s, "mem", &path, &fd, &e), 0);
	ck_assert(write(fd, "memory image", 12) == 12);
	close(fd);
	ck_assert_int_eq(sbx_store_put_path(s, path, &want, &other, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&other, &want), 0);
	ck_assert(access(path, F_OK) < 0);
	free(path);
	/* Bad tag, missing file. */
	ck_assert_int_eq(sbx_store_tmpfile(s, "../x", &path, &fd, &e),
	    SBX_EINVAL);
	ck_assert(path == NULL && fd == -1);
	ck_assert_int_eq(sbx_store_put_path(s, "/nonexistent/y", NULL, &id,
	    &e), SBX_EIO);
	tmp = sbx_store_path(s, "tmp");
	ck_assert_int_eq(count_entries(tmp), 0);
	free(tmp);
	sbx_store_close(s);
}
END_TEST

/* put_path from another file system copies, then removes the source. */
START_TEST(test_put_path_other_fs)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_oid want, id;
	struct stat a, b;
	struct sbx_err e;
	char path[] = "/dev/shm/sbx-unit-XXXXXX";
	int fd;

	if (stat("/dev/shm", &a) < 0 || stat(sbx_store_home(s), &b) < 0 ||
	    a.st_dev == b.st_dev) {
		/* No second file system to move from on this host. */
		sbx_store_close(s);
		return;
	}
	fd = mkstemp(path);
	ck_assert(fd >= 0);
	ck_assert(write(fd, "elsewhere", 9) == 9);
	close(fd);
	sbx_oid_hash("elsewhere", 9, &want);
	sbx_err_clear(&e);
	ck_assert_msg(sbx_store_put_path(s, path, NULL, &id, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(sbx_oid_cmp(&id, &want), 0);
	ck_assert(access(path, F_OK) < 0);
	ck_assert_int_eq(sbx_store_object_verify(s, &id, &e), 0);
	/* A wrong id from the caller is caught while copying. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert(fd >= 0);
	ck_assert(write(fd, "other", 5) == 5);
	close(fd);
	sbx_oid_hash("not other", 9, &want);
	ck_assert_int_eq(sbx_store_put_path(s, path, &want, &id, &e),
	    SBX_ECORRUPT);
	ck_assert(!sbx_store_object_exists(s, &want));
	ck_assert(access(path, F_OK) == 0);
	unlink(path);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_resolve)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_oid abc, got;
	char q[80];
	struct sbx_err e;
	int i;

	sbx_err_clear(&e);
	abc = put(s, "abc");	/* bddd813c... */
	ck_assert_int_eq(sbx_store_object_resolve(s, HASH_ABC, &got, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&got, &abc), 0);
	ck_assert_int_eq(sbx_store_object_resolve(s, "bddd", &got, &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&got, &abc), 0);
	ck_assert_int_eq(sbx_store_object_resolve(s, "sha:BDDD813C", &got,
	    &e), 0);
	ck_assert_int_eq(sbx_oid_cmp(&got, &abc), 0);
	ck_assert_int_eq(sbx_store_object_resolve(s, "bdd", &got, &e),
	    SBX_EUSAGE);
	ck_assert_int_eq(sbx_store_object_resolve(s, "bddx", &got, &e),
	    SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "not hexadecimal"), "%s", e.msg);
	ck_assert_int_eq(sbx_store_object_resolve(s, "0000", &got, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no object '0000' in the store");
	/* Find two objects sharing their first four digits. */
	for (i = 0; i < 200000; i++) {
		struct sbx_oid a;
		char hex[SBX_OID_HEXLEN + 1];

		snprintf(q, sizeof(q), "x%d", i);
		sbx_oid_hash(q, strlen(q), &a);
		sbx_oid_to_hex(&a, hex);
		if (!strncmp(hex, "bddd", 4))
			break;
	}
	ck_assert(i < 200000);
	put(s, q);
	ck_assert_int_eq(sbx_store_object_resolve(s, "bddd", &got, &e),
	    SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "ambiguous"), "%s", e.msg);
	ck_assert_int_eq(sbx_store_object_resolve(s, "bddd813c", &got, &e),
	    0);
	ck_assert_int_eq(sbx_oid_cmp(&got, &abc), 0);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_missing_object)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_oid id;
	struct sbx_err e;
	uint64_t size;
	int fd;

	sbx_oid_hash("never stored", 12, &id);
	sbx_err_clear(&e);
	ck_assert(!sbx_store_object_exists(s, &id));
	ck_assert_int_eq(sbx_store_object_open(s, &id, &fd, &e), SBX_ENOENT);
	ck_assert_msg(strstr(e.msg, "not found") != NULL, "%s", e.msg);
	ck_assert_int_eq(sbx_store_object_size(s, &id, &size, &e),
	    SBX_ENOENT);
	ck_assert_int_eq(sbx_store_object_read(s, &id, &b, &e), SBX_ENOENT);
	ck_assert_int_eq(sbx_store_object_verify(s, &id, &e), SBX_ENOENT);
	ck_assert_int_eq(sbx_store_object_remove(s, &id, &e), 0);
	sbx_buf_release(&b);
	sbx_store_close(s);
}
END_TEST

struct bad_list {
	int n;
	char hex[SBX_OID_HEXLEN + 1];
};

static void
on_bad(const struct sbx_oid *id, const struct sbx_err *err, void *arg)
{
	struct bad_list *l = arg;

	ck_assert_int_eq(err->code, SBX_ECORRUPT);
	sbx_oid_to_hex(id, l->hex);
	l->n++;
}

START_TEST(test_verify_corrupt)
{
	struct sbx_store *s = open_store(NULL);
	struct bad_list bl = { 0, "" };
	char hex[SBX_OID_HEXLEN + 1], *p;
	struct sbx_oid a, b;
	struct sbx_err e;
	size_t nbad = 99;
	int fd;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_store_put_buf(s, "good", 4, &a, &e), 0);
	ck_assert_int_eq(sbx_store_put_buf(s, "soon bad", 8, &b, &e), 0);
	ck_assert_int_eq(sbx_store_verify(s, NULL, NULL, &nbad, &e), 0);
	ck_assert_int_eq(nbad, 0);
	/* Flip the content of b behind the store's back. */
	p = sbx_store_object_path(s, &b);
	ck_assert_int_eq(chmod(p, 0644), 0);
	fd = open(p, O_WRONLY);
	ck_assert(fd >= 0);
	ck_assert(write(fd, "X", 1) == 1);
	close(fd);
	ck_assert_int_eq(sbx_store_object_verify(s, &a, &e), 0);
	ck_assert_int_eq(sbx_store_object_verify(s, &b, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, "corrupt") && strstr(e.msg, p),
	    "message should name the path: %s", e.msg);
	ck_assert_int_eq(sbx_store_verify(s, on_bad, &bl, &nbad, &e),
	    SBX_ECORRUPT);
	ck_assert_int_eq(nbad, 1);
	ck_assert_int_eq(bl.n, 1);
	sbx_oid_to_hex(&b, hex);
	ck_assert_str_eq(bl.hex, hex);
	free(p);
	sbx_store_close(s);
}
END_TEST

static int
count_cb(const struct sbx_oid *id, uint64_t size, void *arg)
{
	uint64_t *tot = arg;

	(void)id;
	tot[0]++;
	tot[1] += size;
	return 0;
}

static int
stop_cb(const struct sbx_oid *id, uint64_t size, void *arg)
{
	(void)id;
	(void)size;
	(void)arg;
	return 42;
}

START_TEST(test_foreach)
{
	struct sbx_store *s = open_store(NULL);
	uint64_t tot[2] = { 0, 0 };
	struct sbx_err e;
	char *p;
	int i, fd;

	sbx_err_clear(&e);
	for (i = 0; i < 20; i++) {
		char buf[32];

		snprintf(buf, sizeof(buf), "object %d", i);
		ck_assert_int_eq(sbx_store_put_buf(s, buf, strlen(buf), NULL,
		    &e), 0);
	}
	/* Junk in objects/ is not an object. */
	p = sbx_store_path(s, "objects/zz");
	ck_assert_int_eq(mkdir(p, 0700), 0);
	free(p);
	p = sbx_store_path(s, "objects/README");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	close(fd);
	free(p);
	ck_assert_int_eq(sbx_store_foreach_object(s, count_cb, tot, &e), 0);
	ck_assert_int_eq(tot[0], 20);
	ck_assert_int_eq(tot[1], 10 * 8 + 10 * 9);
	ck_assert_int_eq(sbx_store_foreach_object(s, stop_cb, NULL, &e), 42);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_manifest)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_oid id, blob;
	struct sbx_err e;
	char *text;
	json_t *m, *back;

	sbx_err_clear(&e);
	m = json_pack("{s:i,s:s,s:{s:[i,i]}}", "zeta", 1, "alpha", "x",
	    "mid", "list", 1, 2);
	text = sbx_manifest_canonical(m);
	ck_assert_str_eq(text, "{\"alpha\":\"x\",\"mid\":{\"list\":[1,2]},"
	    "\"zeta\":1}");
	ck_assert_int_eq(sbx_manifest_put(s, m, &id, &e), 0);
	{
		struct sbx_oid want;

		sbx_oid_hash(text, strlen(text), &want);
		ck_assert_int_eq(sbx_oid_cmp(&id, &want), 0);
	}
	free(text);
	ck_assert_int_eq(sbx_manifest_load(s, &id, &back, &e), 0);
	ck_assert(json_equal(m, back));
	json_decref(back);
	json_decref(m);
	/* Not a manifest: a blob, an array, a missing object. */
	ck_assert_int_eq(sbx_store_put_buf(s, "{not json", 9, &blob, &e), 0);
	ck_assert_int_eq(sbx_manifest_load(s, &blob, &back, &e),
	    SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, "not a JSON manifest: line 1"),
	    "%s", e.msg);
	ck_assert_int_eq(sbx_store_put_buf(s, "[1]", 3, &blob, &e), 0);
	ck_assert_int_eq(sbx_manifest_load(s, &blob, &back, &e),
	    SBX_ECORRUPT);
	sbx_oid_hash("absent", 6, &blob);
	ck_assert_int_eq(sbx_manifest_load(s, &blob, &back, &e), SBX_ENOENT);
	m = json_array();
	ck_assert_int_eq(sbx_manifest_put(s, m, &id, &e), SBX_EINVAL);
	json_decref(m);
	sbx_store_close(s);
}
END_TEST

struct walk_seen {
	int n;
	char hex[8][SBX_OID_HEXLEN + 1];
};

static int
walk_cb(const struct sbx_oid *id, void *arg)
{
	struct walk_seen *w = arg;

	ck_assert(w->n < 8);
	sbx_oid_to_hex(id, w->hex[w->n++]);
	return 0;
}

START_TEST(test_manifest_walk)
{
	char a[SBX_OID_HEXLEN + 1], b[SBX_OID_HEXLEN + 1];
	char c[SBX_OID_HEXLEN + 1], d[SBX_OID_HEXLEN + 1];
	char ref[SBX_MANIFEST_REF_SIZE];
	struct walk_seen w;
	struct sbx_oid ia, ib, ic, id;
	json_t *m;

	sbx_oid_hash("a", 1, &ia);
	sbx_oid_hash("b", 1, &ib);
	sbx_oid_hash("c", 1, &ic);
	sbx_oid_hash("d", 1, &id);
	sbx_oid_to_hex(&ia, a);
	sbx_oid_to_hex(&ib, b);
	sbx_oid_to_hex(&ic, c);
	sbx_oid_to_hex(&id, d);
	sbx_manifest_ref_str(&ia, ref);
	ck_assert(!strncmp(ref, "sha:", 4) && !strcmp(ref + 4, a));
	/*
	 * a: "sha:" anywhere; b: bare hex under "parent"; c, d: bare hex in
	 * an array under "layers"; bare hex under other keys and malformed
	 * refs are not references.
	 */
	m = json_pack("{s:{s:[s]},s:s,s:[s,{s:s}],s:s,s:s,s:s,s:i}",
	    "deep", "x", ref,
	    "parent", b,
	    "layers", c, "object", d,
	    "comment", a,
	    "broken", "sha:1234",
	    "upper", "sha:BDDD813C634239723171EF3FEE98579B94964E3BB1CB3E427262C8C068D52319",
	    "n", 5);
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(sbx_manifest_walk(m, walk_cb, &w), 0);
	ck_assert_int_eq(w.n, 4);
	{
		int i, seen_a = 0, seen_b = 0, seen_c = 0, seen_d = 0;

		for (i = 0; i < w.n; i++) {
			seen_a += !strcmp(w.hex[i], a);
			seen_b += !strcmp(w.hex[i], b);
			seen_c += !strcmp(w.hex[i], c);
			seen_d += !strcmp(w.hex[i], d);
		}
		ck_assert(seen_a == 1 && seen_b == 1 && seen_c == 1 &&
		    seen_d == 1);
	}
	ck_assert(sbx_manifest_parse_ref(ref, &ib) && !sbx_oid_cmp(&ia, &ib));
	ck_assert(!sbx_manifest_parse_ref(a, &ib));
	json_decref(m);
}
END_TEST

/* Stores `text` and returns its id. */
static struct sbx_oid
put(struct sbx_store *s, const char *text)
{
	struct sbx_oid id;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_store_put_buf(s, text, strlen(text), &id, &e) == 0,
	    "put: %s", e.msg);
	return id;
}

/* A snapshot-like manifest with a memory blob and an optional parent. */
static struct sbx_oid
put_snapshot(struct sbx_store *s, const char *mem, const struct sbx_oid *par)
{
	struct sbx_oid memid = put(s, mem), id;
	char hex[SBX_OID_HEXLEN + 1];
	struct sbx_err e;
	json_t *m;

	m = json_pack("{s:o,s:s}", "memory", sbx_manifest_ref_json(&memid),
	    "message", mem);
	if (par) {
		sbx_oid_to_hex(par, hex);
		json_object_set_new(m, "parent", json_string(hex));
	}
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_manifest_put(s, m, &id, &e), 0);
	json_decref(m);
	return id;
}

START_TEST(test_gc)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_oid garbage, img, snap1, snap2, orphan_snap, extra_layer;
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct sbx_sandbox sb;
	struct timespec old[2];
	struct sbx_err e;
	char *fresh, *stale;
	int fd;

	sbx_err_clear(&e);
	garbage = put(s, "garbage");
	img = put(s, "image bytes");
	extra_layer = put(s, "layer in extra");
	snap1 = put_snapshot(s, "memory one", NULL);
	snap2 = put_snapshot(s, "memory two", &snap1);
	orphan_snap = put_snapshot(s, "orphan memory", NULL);
	(void)orphan_snap;
	/* Roots: a ref to snap2 (reaching snap1 by parent), a sandbox. */
	ck_assert_int_eq(sbx_ref_write(s, "snapshots", "keep", &snap2, &e), 0);
	sbx_sandbox_init(&sb);
	sbx_oid_to_hex(&img, sb.image);
	json_object_set_new(sb.extra, "layers",
	    json_pack("[o]", sbx_manifest_ref_json(&extra_layer)));
	ck_assert_int_eq(sbx_sandbox_create(s, &sb, &e), 0);
	sbx_sandbox_release(&sb);
	/* tmp/: one stale file, one fresh. */
	ck_assert_int_eq(sbx_store_tmpfile(s, "stale", &stale, &fd, &e), 0);
	ck_assert(write(fd, "12345", 5) == 5);
	close(fd);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 7200;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	ck_assert_int_eq(utimensat(AT_FDCWD, stale, old, 0), 0);
	ck_assert_int_eq(sbx_store_tmpfile(s, "fresh", &fresh, &fd, &e), 0);
	close(fd);
	sbx_store_write_done(s);

	/* Dry run: reports, removes nothing. 9 objects in all. */
	sbx_gc_opts_init(&o);
	o.dry_run = 1;
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), 0);
	ck_assert_int_eq(st.objects_removed, 3);	/* garbage, orphan+mem */
	ck_assert_int_eq(st.objects_kept, 6);
	ck_assert_int_eq(st.tmp_removed, 1);
	ck_assert_int_eq(st.tmp_bytes_removed, 5);
	ck_assert_int_eq(st.roots, 2);
	ck_assert(sbx_store_object_exists(s, &garbage));
	ck_assert(access(stale, F_OK) == 0);

	o.dry_run = 0;
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), 0);
	ck_assert_int_eq(st.objects_removed, 3);
	ck_assert(st.bytes_removed > 0);
	ck_assert(!sbx_store_object_exists(s, &garbage));
	ck_assert(!sbx_store_object_exists(s, &orphan_snap));
	ck_assert(sbx_store_object_exists(s, &img));
	ck_assert(sbx_store_object_exists(s, &extra_layer));
	ck_assert(sbx_store_object_exists(s, &snap1));
	ck_assert(sbx_store_object_exists(s, &snap2));
	ck_assert_msg(access(stale, F_OK) < 0, "stale tmp file kept");
	ck_assert_msg(access(fresh, F_OK) == 0, "fresh tmp file removed");
	/* Everything left is consistent; a second gc removes nothing. */
	ck_assert_int_eq(sbx_store_verify(s, NULL, NULL, NULL, &e), 0);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), 0);
	ck_assert_int_eq(st.objects_removed, 0);
	ck_assert_int_eq(st.objects_kept, 6);
	/* Dropping the ref frees the snapshot chain. */
	ck_assert_int_eq(sbx_ref_delete(s, "snapshots", "keep", &e), 0);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), 0);
	ck_assert_int_eq(st.objects_removed, 4);
	ck_assert_int_eq(st.objects_kept, 2);	/* the sandbox's two */
	free(stale);
	free(fresh);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_gc_refuses_corrupt_roots)
{
	struct sbx_store *s = open_store(NULL);
	struct sbx_oid garbage = put(s, "garbage");
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct sbx_sandbox sb;
	struct sbx_err e;
	char *p;
	int fd;

	sbx_err_clear(&e);
	sbx_gc_opts_init(&o);
	/* A ref that does not hold an id. */
	p = sbx_store_path(s, "refs/templates/bad");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	ck_assert(write(fd, "nonsense\n", 9) == 9);
	close(fd);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, p) != NULL, "%s", e.msg);
	ck_assert(sbx_store_object_exists(s, &garbage));
	unlink(p);
	free(p);
	/* A sandbox.json that does not parse. */
	sbx_sandbox_init(&sb);
	ck_assert_int_eq(sbx_sandbox_create(s, &sb, &e), 0);
	p = xasprintf("%s/sandboxes/%s/sandbox.json", sbx_store_home(s),
	    sb.id);
	fd = open(p, O_WRONLY | O_TRUNC);
	ck_assert(write(fd, "{\"id\":", 6) == 6);
	close(fd);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, p) != NULL, "%s", e.msg);
	ck_assert(e.hint[0]);
	ck_assert(sbx_store_object_exists(s, &garbage));
	free(p);
	sbx_sandbox_release(&sb);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_gc_waits_for_writers)
{
	struct sbx_store *s = open_store(NULL), *writer;
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct sbx_oid id;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_store_open(sbx_store_home(s), &writer, &e), 0);
	/* The writer stored an object but has not referenced it yet. */
	id = put(writer, "in flight");
	sbx_store_set_lock_timeout(s, 100);
	sbx_gc_opts_init(&o);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), SBX_EBUSY);
	ck_assert_msg(strstr(e.msg, "busy") != NULL, "%s", e.msg);
	ck_assert(sbx_store_object_exists(s, &id));
	/* Two writers share the lock. */
	put(s, "another writer");
	sbx_store_write_done(s);
	/* Once referenced and done, gc runs and keeps it. */
	ck_assert_int_eq(sbx_ref_write(writer, "templates", "t", &id, &e), 0);
	sbx_store_write_done(writer);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), 0);
	ck_assert(sbx_store_object_exists(s, &id));
	ck_assert_int_eq(st.objects_removed, 1);
	/* While gc would hold it, writers wait and then fail. */
	ck_assert_int_eq(sbx_store_lock_exclusive(s, &e), 0);
	sbx_store_set_lock_timeout(writer, 50);
	ck_assert_int_eq(sbx_store_put_buf(writer, "x", 1, NULL, &e),
	    SBX_EBUSY);
	ck_assert_msg(strstr(e.msg, "gc") != NULL, "%s", e.msg);
	sbx_store_write_done(s);
	ck_assert_int_eq(sbx_store_put_buf(writer, "x", 1, NULL, &e), 0);
	sbx_store_close(writer);
	sbx_store_close(s);
}
END_TEST

/* Writing only references does not keep gc out afterwards. */
START_TEST(test_ref_writes_not_sticky)
{
	struct sbx_store *s = open_store(NULL), *writer;
	struct sbx_gc_opts o;
	struct sbx_gc_stats st;
	struct sbx_sandbox sb;
	struct sbx_oid id;
	struct sbx_err e;

	sbx_err_clear(&e);
	id = put(s, "kept");
	sbx_store_write_done(s);
	sbx_store_set_lock_timeout(s, 100);
	ck_assert_int_eq(sbx_store_open(sbx_store_home(s), &writer, &e), 0);
	ck_assert_int_eq(sbx_ref_write(writer, "templates", "t", &id, &e), 0);
	sbx_sandbox_init(&sb);
	ck_assert_int_eq(sbx_sandbox_create(writer, &sb, &e), 0);
	sb.state = SBX_SB_RUNNING;
	ck_assert_int_eq(sbx_sandbox_save(writer, &sb, &e), 0);
	sbx_gc_opts_init(&o);
	ck_assert_msg(sbx_gc(s, &o, &st, &e) == 0, "%s", e.msg);
	ck_assert(sbx_store_object_exists(s, &id));
	/* After a put, the same calls keep the sticky hold. */
	put(writer, "unreferenced yet");
	ck_assert_int_eq(sbx_sandbox_save(writer, &sb, &e), 0);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), SBX_EBUSY);
	sbx_store_write_done(writer);
	ck_assert_int_eq(sbx_gc(s, &o, &st, &e), 0);
	ck_assert_int_eq(st.objects_removed, 1);
	sbx_sandbox_release(&sb);
	sbx_store_close(writer);
	sbx_store_close(s);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *suite_store(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_oid_vectors);
	tcase_add_loop_test(tc, test_oid_bad_hex, 0, N(bad_hex));
	tcase_add_test(tc, test_open_layout);
	tcase_add_test(tc, test_open_format);
	tcase_add_test(tc, test_put_buf);
	tcase_add_test(tc, test_put_stream);
	tcase_add_test(tc, test_put_path);
	tcase_add_test(tc, test_put_path_other_fs);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_missing_object);
	tcase_add_test(tc, test_verify_corrupt);
	tcase_add_test(tc, test_foreach);
	tcase_add_test(tc, test_manifest);
	tcase_add_test(tc, test_manifest_walk);
	tcase_add_test(tc, test_gc);
	tcase_add_test(tc, test_gc_refuses_corrupt_roots);
	tcase_add_test(tc, test_gc_waits_for_writers);
	tcase_add_test(tc, test_ref_writes_not_sticky);
	suite_add_tcase(s, tc);
	return s;
}
