/*
 * check_vmm_layer.c - the layered data disk (layer.c): reads through three
 * frozen layers and a top, partial-block writes copied up, freeze (top
 * alone and flattened) keeping every byte, raw images converted without
 * their holes or zero blocks, a top reopened after a flush, and every
 * damaged layer file or top map refused with a message naming the field.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "core/crc32c.h"
#include "core/err.h"
#include "kvm/vmm/layer.h"
#include "core/banned.h"

#define BLK 4096
#define NBLK 40
#define SIZE ((uint64_t)NBLK * BLK)

static char dir[256];
static uint8_t model[SIZE];

static char *
tpath(const char *name)
{
	static char p[8][512];
	static int i;

	i = (i + 1) % 8;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "%s", unit_tmpdir());
	memset(model, 0, sizeof(model));
}

/* Block `b` filled with a pattern from `tag` (never all zero). */
static void
fill(uint8_t *p, uint64_t b, char tag)
{
	size_t i;

	for (i = 0; i < BLK; i++)
		p[i] = (uint8_t)(tag + b * 3 + i % 251);
}

/*
 * A frozen layer `name` made from a sparse raw image holding blocks
 * blocks[0..n) (tag `tag`); the model gets them. Returns its path.
 */
static const char *
make_layer(const char *name, const uint64_t *blocks, size_t n, char tag)
{
	struct sbx_err e = { 0 };
	char raw[600];
	const char *out = tpath(name);
	uint8_t buf[BLK];
	size_t i;
	int fd;

	snprintf(raw, sizeof(raw), "%s.raw", out);
	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, SIZE), 0);
	for (i = 0; i < n; i++) {
		fill(buf, blocks[i], tag);
		ck_assert_int_eq(pwrite(fd, buf, BLK, blocks[i] * BLK), BLK);
		memcpy(model + blocks[i] * BLK, buf, BLK);
	}
	ck_assert_msg(layer_from_raw(fd, SIZE, out, &e) == 0, "%s", e.msg);
	close(fd);
	return out;
}

/* Reads the whole disk through odd-sized iovecs and compares. */
static void
check_model(struct layer_stack *s, const char *when)
{
	static uint8_t got[SIZE];
	struct iovec iov[4];
	uint64_t b;

	memset(got, 0x5a, sizeof(got));
	iov[0] = (struct iovec){ got, 512 };
	iov[1] = (struct iovec){ got + 512, 3 * 512 };
	iov[2] = (struct iovec){ got + 2048, 5 * BLK + 512 };
	iov[3] = (struct iovec){ got + 2048 + 5 * BLK + 512,
	    SIZE - (2048 + 5 * BLK + 512) };
	ck_assert_msg(layer_stack_rw(s, false, iov, 4, 0, SIZE) == 0,
	    "%s: read failed: %s", when, strerror(errno));
	for (b = 0; b < NBLK; b++)
		ck_assert_msg(!memcmp(got + b * BLK, model + b * BLK, BLK),
		    "%s: block %llu differs", when, (unsigned long long)b);
}

static void
write_bytes(struct layer_stack *s, uint64_t off, uint64_t len, char tag)
{
	uint8_t *p = malloc(len);
	struct iovec iov[2];
	uint64_t i, half = len / 1024 * 512;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(tag + i % 253);
	iov[0] = (struct iovec){ p, half };
	iov[1] = (struct iovec){ p + half, len - half };
	ck_assert_msg(layer_stack_rw(s, true, iov, 2, off, len) == 0,
	    "write of %llu bytes at %llu: %s", (unsigned long long)len,
	    (unsigned long long)off, strerror(errno));
	memcpy(model + off, p, len);
	free(p);
}

static struct layer_stack *
three_layers(const char **paths)
{
	static const uint64_t a[] = { 0, 1, 2, 3, 4, 5, 6, 7, 20 };
	static const uint64_t b[] = { 2, 3, 8 };
	static const uint64_t c[] = { 3, 5, 39 };
	struct sbx_err e = { 0 };
	struct layer_stack *s;

	paths[0] = make_layer("a", a, 9, 'A');
	paths[1] = make_layer("b", b, 3, 'B');
	paths[2] = make_layer("c", c, 3, 'C');
	s = layer_stack_open(tpath("top"), paths, 3, 0, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	return s;
}

START_TEST(test_crc)
{
	ck_assert_uint_eq(sbx_crc32c(0, "123456789", 9), 0xe3069283);
}
END_TEST

START_TEST(test_read_through)
{
	const char *paths[3];
	struct layer_stack *s = three_layers(paths);
	struct layer_stats st;

	check_model(s, "three layers");
	write_bytes(s, 5 * BLK, BLK, 'T');	/* over C's block 5 */
	write_bytes(s, 30 * BLK, 2 * BLK, 'U');	/* over nothing */
	check_model(s, "three layers and a top");
	layer_stack_stats(s, &st);
	ck_assert_uint_eq(st.top_blocks, 3);
	ck_assert_uint_eq(st.layers, 3);
	ck_assert_uint_eq(st.size, SIZE);
	ck_assert_uint_eq(st.writes, 2);
	ck_assert_uint_eq(st.reads, 2);
	layer_stack_free(s);
}
END_TEST

START_TEST(test_copy_up)
{
	const char *paths[3];
	struct layer_stack *s = three_layers(paths);

	write_bytes(s, BLK + 1024, 512, 'p');		/* inside A's block 1 */
	write_bytes(s, 3 * BLK + 3584, BLK + 1024, 'q');/* C 3 tail, A 4 head */
	write_bytes(s, 9 * BLK + 512, 3 * BLK, 'r');	/* zeros, partial ends */
	write_bytes(s, BLK + 2048, 512, 's');		/* block 1 again */
	check_model(s, "partial writes");
	layer_stack_free(s);
}
END_TEST

START_TEST(test_freeze)
{
	struct sbx_err e = { 0 };
	const char *paths[3], *f, *g;
	struct layer_stack *s = three_layers(paths);
	struct layer_stats st;
	struct layer *l;
	char mark[64];

	write_bytes(s, 2 * BLK + 512, 1024, 'x');
	write_bytes(s, 11 * BLK, 2 * BLK, 'y');
	snprintf(mark, sizeof(mark), "%s", layer_stack_mark(s));
	f = tpath("f");
	ck_assert_msg(layer_stack_freeze(s, f, false, &l, &e) == 0, "%s",
	    e.msg);
	ck_assert_uint_eq(layer_blocks(l), 3);
	ck_assert_str_eq(layer_stack_mark(s), mark);
	ck_assert_msg(layer_stack_commit(s, l, false, &e) == 0, "%s", e.msg);
	ck_assert_str_ne(layer_stack_mark(s), mark);
	layer_stack_stats(s, &st);
	ck_assert_uint_eq(st.top_blocks, 0);
	ck_assert_uint_eq(st.layers, 4);
	check_model(s, "after freezing the top");

	/* The frozen file alone, reopened, is the same chain. */
	{
		const char *chain[4] = { paths[0], paths[1], paths[2], f };
		struct layer_stack *s2 = layer_stack_open(tpath("top2"), chain,
		    4, SIZE, &e);

		ck_assert_msg(s2 != NULL, "%s", e.msg);
		check_model(s2, "the chain reopened");
		layer_stack_free(s2);
	}

	/* Flatten: one layer with the topmost copy of every block. */
	write_bytes(s, 0, BLK, 'z');
	g = tpath("g");
	ck_assert_msg(layer_stack_freeze(s, g, true, &l, &e) == 0, "%s",
	    e.msg);
	ck_assert_msg(layer_stack_commit(s, l, true, &e) == 0, "%s", e.msg);
	layer_stack_stats(s, &st);
	ck_assert_uint_eq(st.layers, 1);
	check_model(s, "after flattening");
	{
		struct layer_stack *s3 = layer_stack_open(tpath("top3"), &g, 1,
		    0, &e);

		ck_assert_msg(s3 != NULL, "%s", e.msg);
		check_model(s3, "the flattened layer alone");
		layer_stack_free(s3);
	}
	layer_stack_free(s);
}
END_TEST

START_TEST(test_from_raw)
{
	struct sbx_err e = { 0 };
	const char *raw = tpath("raw"), *out = tpath("raw.layer");
	uint8_t buf[BLK];
	struct layer *l;
	struct stat st;
	int fd;

	fd = open(raw, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, SIZE), 0);
	fill(buf, 7, 'R');
	ck_assert_int_eq(pwrite(fd, buf, BLK, 7 * BLK), BLK);
	ck_assert_int_eq(pwrite(fd, buf, 100, 33 * BLK + 1000), 100);
	memset(buf, 0, sizeof(buf));	/* allocated, but zero */
	ck_assert_int_eq(pwrite(fd, buf, BLK, 20 * BLK), BLK);
	ck_assert_msg(layer_from_raw(fd, SIZE, out, &e) == 0, "%s", e.msg);
	l = layer_open(out, &e);
	ck_assert_msg(l != NULL, "%s", e.msg);
	ck_assert_uint_eq(layer_blocks(l), 2);	/* 7 and 33 */
	ck_assert_uint_eq(layer_size(l), SIZE);
	layer_free(l);
	ck_assert_int_eq(stat(out, &st), 0);
	ck_assert_int_eq(st.st_size, 4096 + 4096 + 2 * BLK);
	ck_assert_int_lt(layer_from_raw(fd, SIZE - 512, out, &e), 0);
	ck_assert_msg(strstr(e.msg, "multiple of 4096"), "%s", e.msg);
	close(fd);
}
END_TEST

START_TEST(test_reopen)
{
	struct sbx_err e = { 0 };
	const char *top = tpath("t"), *map = tpath("t.map");
	struct layer_stack *s;

	s = layer_stack_open(top, NULL, 0, SIZE, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	ck_assert_int_eq(access(map, F_OK), 0);	/* an empty map at once */
	write_bytes(s, 3 * BLK + 512, 1024, 'a');
	write_bytes(s, 17 * BLK, BLK, 'b');
	ck_assert_msg(layer_stack_flush(s, &e) == 0, "%s", e.msg);
	layer_stack_free(s);
	s = layer_stack_open(top, NULL, 0, SIZE, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	check_model(s, "the top reopened");
	layer_stack_free(s);

	/* A top without its map is empty. */
	ck_assert_int_eq(unlink(map), 0);
	s = layer_stack_open(top, NULL, 0, SIZE, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	memset(model, 0, sizeof(model));
	check_model(s, "a top without a map");
	layer_stack_free(s);

	/* The wrong size for an existing map. */
	ck_assert_ptr_null(layer_stack_open(top, NULL, 0, 2 * SIZE, &e));
	ck_assert_msg(strstr(e.msg, "is for a disk of"), "%s", e.msg);
}
END_TEST

/* Copies `src` to `dst`, lets `edit` change it, tries to open it. */
static void
expect_bad(const char *src, const char *what, void (*edit)(uint8_t *,
    size_t *), const char *want)
{
	struct sbx_err e = { 0 };
	const char *dst = tpath("bad");
	static uint8_t buf[1 << 20];
	size_t len;
	int fd;

	fd = open(src, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	len = (size_t)read(fd, buf, sizeof(buf) - 2 * BLK);
	close(fd);
	edit(buf, &len);
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	ck_assert_msg(layer_open(dst, &e) == NULL, "%s: accepted", what);
	ck_assert_msg(strstr(e.msg, want) && strstr(e.msg, dst),
	    "%s: message '%s' lacks '%s' or the path", what, e.msg, want);
}

static void
rehdr(uint8_t *b)
{
	uint32_t c = sbx_crc32c(0, b, 44);

	memcpy(b + 44, &c, 4);
}

static void ed_magic(uint8_t *b, size_t *n) { b[0] = 'X'; }
static void ed_hcrc(uint8_t *b, size_t *n) { b[17] ^= 1; }
static void ed_version(uint8_t *b, size_t *n) { b[8] = 2; rehdr(b); }
static void ed_bsize(uint8_t *b, size_t *n) { b[25] = 0x20; rehdr(b); }
static void ed_dsize(uint8_t *b, size_t *n) { b[16] = 1; rehdr(b); }
static void ed_trunc(uint8_t *b, size_t *n) { *n -= BLK; }
static void ed_short(uint8_t *b, size_t *n) { *n = 100; }
static void ed_pad(uint8_t *b, size_t *n) { memset(b + *n, 0, 7); *n += 7; }
static void ed_bcrc(uint8_t *b, size_t *n) { b[BLK] ^= 0x80; }

static void
ed_count(uint8_t *b, size_t *n)
{
	uint64_t c;

	memcpy(&c, b + 32, 8);
	c++;
	memcpy(b + 32, &c, 8);
	rehdr(b);
	memset(b + *n, 1, BLK);
	*n += BLK;
}

START_TEST(test_bad_layers)
{
	static const uint64_t a[] = { 1, 2, 30 };
	char good[512];

	snprintf(good, sizeof(good), "%s", make_layer("good", a, 3, 'G'));

	expect_bad(good, "bad magic", ed_magic, "bad magic");
	expect_bad(good, "header crc", ed_hcrc, "header checksum mismatch");
	expect_bad(good, "version", ed_version, "format version 2");
	expect_bad(good, "block size", ed_bsize, "block size");
	expect_bad(good, "disk size", ed_dsize, "disk size");
	expect_bad(good, "truncated", ed_trunc, "truncated");
	expect_bad(good, "short", ed_short, "shorter than its 4096-byte");
	expect_bad(good, "padded", ed_pad, "padded");
	expect_bad(good, "bitmap crc", ed_bcrc, "bitmap checksum mismatch");
	expect_bad(good, "count", ed_count, "bitmap has 3 blocks, the header "
	    "says 4");
}
END_TEST

START_TEST(test_bad_stacks)
{
	struct sbx_err e = { 0 };
	static const uint64_t a[] = { 1 };
	const char *good = make_layer("l", a, 1, 'L'), *top = tpath("t");
	struct layer_stack *s;
	uint8_t buf[8];
	struct iovec iov = { buf, 8 };
	int fd;

	/* Layers of another size than asked for. */
	ck_assert_ptr_null(layer_stack_open(top, &good, 1, SIZE * 2, &e));
	ck_assert_msg(strstr(e.msg, "is a disk of"), "%s", e.msg);
	ck_assert_ptr_null(layer_stack_open(top, NULL, 0, 1000, &e));
	ck_assert_msg(strstr(e.msg, "multiple of 4096"), "%s", e.msg);
	ck_assert_ptr_null(layer_stack_open(top, NULL, 0, 0, &e));

	/* Requests outside the disk or not in sectors. */
	s = layer_stack_open(top, &good, 1, 0, &e);
	ck_assert_msg(s != NULL, "%s", e.msg);
	errno = 0;
	ck_assert_int_eq(layer_stack_rw(s, false, &iov, 1, SIZE, 512), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(layer_stack_rw(s, true, &iov, 1, 512, 8), -1);
	layer_stack_free(s);

	/* A damaged map is an error, not an empty top. */
	fd = open(tpath("t.map"), O_RDWR);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "\x01", 1, 40), 1);
	close(fd);
	ck_assert_ptr_null(layer_stack_open(top, &good, 1, 0, &e));
	ck_assert_msg(strstr(e.msg, "bitmap checksum mismatch") &&
	    strstr(e.msg, "t.map"), "%s", e.msg);
	fd = open(tpath("t.map"), O_RDWR);
	ck_assert_int_eq(pwrite(fd, "\x01", 1, 20), 1);
	close(fd);
	ck_assert_ptr_null(layer_stack_open(top, &good, 1, 0, &e));
	ck_assert_msg(strstr(e.msg, "header checksum mismatch"), "%s", e.msg);
	ck_assert_int_eq(truncate(tpath("t.map"), 20), 0);
	ck_assert_ptr_null(layer_stack_open(top, &good, 1, 0, &e));
	ck_assert_msg(strstr(e.msg, "truncated"), "%s", e.msg);
}
END_TEST

Suite *suite_vmm_layer(void)
{
	Suite *s = suite_create("vmm_layer");
	TCase *t = tcase_create("layer");

	tcase_add_checked_fixture(t, setup, NULL);
	tcase_add_test(t, test_crc);
	tcase_add_test(t, test_read_through);
	tcase_add_test(t, test_copy_up);
	tcase_add_test(t, test_freeze);
	tcase_add_test(t, test_from_raw);
	tcase_add_test(t, test_reopen);
	tcase_add_test(t, test_bad_layers);
	tcase_add_test(t, test_bad_stacks);
	suite_add_tcase(s, t);
	return s;
}
