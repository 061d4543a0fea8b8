/*
 * check_vmm_blk.c - virtio-blk requests through the virtio-mmio transport
 * on a temporary image: read, write, flush, get-id, out-of-range sectors,
 * the read-only option and malformed requests (no KVM needed).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "core/err.h"
#include "kvm/vmm/devices.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "core/banned.h"

#define QN 16
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define HDR 0x10000ULL
#define DATA 0x20000ULL
#define STATUS 0x30000ULL

static struct gmem m;
static char img[512];
static uint16_t avail_idx;

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void
wr(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_write(d, off, &v, 4);
}

static uint32_t
rd(struct virtio_dev *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(d, off, &v, 4);
	return v;
}

/* Makes a 64 KiB image of sector-numbered bytes; returns its path. */
static const char *
make_image(void)
{
	uint8_t sec[512];
	int fd, i;

	snprintf(img, sizeof(img), "%s/disk.img", unit_tmpdir());
	fd = open(img, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	for (i = 0; i < 128; i++) {
		memset(sec, i, sizeof(sec));
		ck_assert_int_eq(write(fd, sec, 512), 512);
	}
	close(fd);
	return img;
}

/* Attaches `d` and brings it to DRIVER_OK with FLUSH negotiated. */
static struct virtio_dev *
start_dev(struct virtio_dev *d)
{
	struct sbx_err e = { 0 };

	ck_assert_int_eq(virtio_mmio_attach(d, 0, -1, &m, NULL, &e), 0);
	wr(d, 0x70, 1 | 2);
	wr(d, 0x24, 0);
	wr(d, 0x20, 1u << 9);		/* FLUSH */
	wr(d, 0x24, 1);
	wr(d, 0x20, 1);			/* VERSION_1 */
	wr(d, 0x70, 1 | 2 | 8);
	wr(d, 0x30, 0);
	wr(d, 0x38, QN);
	wr(d, 0x80, DESC);
	wr(d, 0x90, AVAIL);
	wr(d, 0xa0, USED);
	wr(d, 0x44, 1);
	wr(d, 0x70, 1 | 2 | 4 | 8);
	ck_assert_uint_eq(rd(d, 0x70), 15);
	avail_idx = 0;
	return d;
}

static struct virtio_dev *
open_dev(bool ro)
{
	struct sbx_err e = { 0 };
	struct virtio_dev *d = virtio_blk_new(img, ro, &e);

	ck_assert_msg(d != NULL, "%s", e.msg);
	return start_dev(d);
}

/* Submits header + data + status as a 3-descriptor chain; returns status. */
static int
request(struct virtio_dev *d, uint32_t type, uint64_t sector, uint32_t len,
    bool data_write, uint32_t *used_len)
{
	uint32_t h[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
	struct desc ds[3] = {
		{ HDR, 16, 1, 1 },
		{ DATA, len, (uint16_t)(1 | (data_write ? 2 : 0)), 2 },
		{ STATUS, 1, 2, 0 },
	};
	uint16_t head = 0, idx;
	uint8_t st = 0xee;
	uint32_t used[2];

	gmem_write(&m, HDR, h, 16);
	if (len == 0) {
		ds[0].next = 2;
		gmem_write(&m, DESC + 32, &ds[2], 16);
		gmem_write(&m, DESC, &ds[0], 16);
	} else {
		gmem_write(&m, DESC, ds, sizeof(ds));
	}
	gmem_write(&m, STATUS, &st, 1);
	gmem_write(&m, AVAIL + 4 + 2 * (avail_idx % QN), &head, 2);
	avail_idx++;
	gmem_write(&m, AVAIL + 2, &avail_idx, 2);
	wr(d, 0x50, 0);
	gmem_read(&m, USED + 2, &idx, 2);
	if (idx != avail_idx)
		return -1;
	gmem_read(&m, USED + 4 + 8 * ((idx - 1) % QN), used, 8);
	*used_len = used[1];
	gmem_read(&m, STATUS, &st, 1);
	return st;
}

static void
setup(void)
{
	ck_assert_int_eq(gmem_init(&m, 1 << 20, NULL), 0);
	make_image();
}

static void
teardown(void)
{
	gmem_release(&m);
}

START_TEST(test_rw)
{
	struct virtio_dev *d = open_dev(false);
	uint8_t *data = m.host + DATA, cap[8];
	uint32_t ulen;
	int fd;
	char b;

	virtio_mmio_read(d, 0x100, cap, 8);
	ck_assert_uint_eq(cap[0], 128);			/* capacity */
	ck_assert_int_eq(request(d, 0, 5, 1024, true, &ulen), 0);
	ck_assert_uint_eq(ulen, 1025);
	ck_assert_uint_eq(data[0], 5);
	ck_assert_uint_eq(data[1023], 6);
	memset(data, 0xab, 512);
	ck_assert_int_eq(request(d, 1, 9, 512, false, &ulen), 0);
	ck_assert_int_eq(request(d, 4, 0, 0, false, &ulen), 0);	/* flush */
	fd = open(img, O_RDONLY);
	ck_assert_int_eq(pread(fd, &b, 1, 9 * 512 + 100), 1);
	ck_assert_uint_eq((uint8_t)b, 0xab);
	close(fd);
	ck_assert_int_eq(request(d, 8, 0, 20, true, &ulen), 0);	/* id */
	ck_assert_str_eq((char *)data, "sbx-vda");
	/* Past the end: IOERR, not a crash or a short read. */
	ck_assert_int_eq(request(d, 0, 127, 1024, true, &ulen), 1);
	ck_assert_int_eq(request(d, 0, 1ULL << 60, 512, true, &ulen), 1);
	ck_assert_int_eq(request(d, 77, 0, 0, false, &ulen), 2);	/* unsupp */
	ck_assert_uint_eq(rd(d, 0x70) & 64, 0);
	virtio_mmio_detach(d);
}
END_TEST

START_TEST(test_readonly)
{
	struct virtio_dev *d = open_dev(true);
	uint32_t ulen;

	wr(d, 0x14, 0);
	ck_assert(rd(d, 0x10) & 1u << 5);		/* F_RO offered */
	ck_assert_int_eq(request(d, 1, 0, 512, false, &ulen), 1);
	ck_assert_int_eq(request(d, 0, 0, 512, true, &ulen), 0);
	virtio_mmio_detach(d);
}
END_TEST

START_TEST(test_malformed)
{
	struct virtio_dev *d = open_dev(false);
	struct desc one = { HDR, 8, 0, 0 };	/* short header, no status */
	uint16_t head = 0;

	gmem_write(&m, DESC, &one, 16);
	gmem_write(&m, AVAIL + 4, &head, 2);
	avail_idx = 1;
	gmem_write(&m, AVAIL + 2, &avail_idx, 2);
	wr(d, 0x50, 0);
	ck_assert_uint_eq(rd(d, 0x70) & 64, 64);	/* NEEDS_RESET */
	ck_assert_uint_eq(rd(d, 0x60) & 2, 2);		/* config irq */
	virtio_mmio_detach(d);
}
END_TEST

START_TEST(test_bad_images)
{
	struct sbx_err e = { 0 };
	char path[600];
	int fd;

	ck_assert_ptr_null(virtio_blk_new("/nonexistent/disk", false, &e));
	ck_assert_msg(strstr(e.msg, "'/nonexistent/disk'"), "%s", e.msg);
	snprintf(path, sizeof(path), "%s/odd.img", unit_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	ck_assert_int_eq(write(fd, "abc", 3), 3);
	close(fd);
	ck_assert_ptr_null(virtio_blk_new(path, false, &e));
	ck_assert_msg(strstr(e.msg, "multiple of 512"), "%s", e.msg);
	ck_assert_ptr_null(virtio_blk_new("/tmp", true, &e));
	ck_assert_msg(strstr(e.msg, "not a regular file"), "%s", e.msg);
}
END_TEST

/* The data disk: a layer made of the image under a writable top. */
START_TEST(test_layers)
{
	struct sbx_err e = { 0 };
	char lpath[600], top[600];
	const char *chain[1] = { lpath };
	struct layer_stack *ls;
	struct virtio_dev *d;
	uint8_t *data = m.host + DATA, cap[8], buf[1024];
	struct iovec iov = { buf, sizeof(buf) };
	uint32_t ulen;
	int fd;

	snprintf(lpath, sizeof(lpath), "%s.layer", img);
	snprintf(top, sizeof(top), "%s.top", img);
	fd = open(img, O_RDONLY);
	ck_assert_msg(layer_from_raw(fd, 65536, lpath, &e) == 0, "%s", e.msg);
	close(fd);
	ls = layer_stack_open(top, chain, 1, 0, &e);
	ck_assert_msg(ls != NULL, "%s", e.msg);
	d = start_dev(virtio_blk_layers_new(ls, &e));
	wr(d, 0x14, 0);
	ck_assert(rd(d, 0x10) & 1u << 9);		/* F_FLUSH */
	ck_assert(!(rd(d, 0x10) & 1u << 5));		/* writable */
	virtio_mmio_read(d, 0x100, cap, 8);
	ck_assert_uint_eq(cap[0], 128);
	ck_assert_int_eq(request(d, 0, 5, 1024, true, &ulen), 0);
	ck_assert_uint_eq(data[0], 5);
	ck_assert_uint_eq(data[1023], 6);
	memset(data, 0xab, 512);
	ck_assert_int_eq(request(d, 1, 9, 512, false, &ulen), 0);
	ck_assert_int_eq(request(d, 4, 0, 0, false, &ulen), 0);	/* flush */
	ck_assert_int_eq(request(d, 0, 8, 1024, true, &ulen), 0);
	ck_assert_uint_eq(data[0], 8);			/* copied up */
	ck_assert_uint_eq(data[600], 0xab);
	ck_assert_int_eq(request(d, 8, 0, 20, true, &ulen), 0);
	ck_assert_str_eq((char *)data, "sbx-vdb");
	ck_assert_int_eq(request(d, 1, 127, 1024, false, &ulen), 1);
	virtio_mmio_detach(d);

	/* The flushed top reopens over the same layer. */
	ls = layer_stack_open(top, chain, 1, 0, &e);
	ck_assert_msg(ls != NULL, "%s", e.msg);
	ck_assert_int_eq(layer_stack_rw(ls, false, &iov, 1, 8 * 512, 1024), 0);
	ck_assert_uint_eq(buf[0], 8);
	ck_assert_uint_eq(buf[600], 0xab);
	layer_stack_free(ls);
	ck_assert_ptr_null(virtio_blk_layers_new(NULL, &e));
}
END_TEST

Suite *suite_vmm_blk(void)
{
	Suite *s = suite_create("vmm_blk");
	TCase *t = tcase_create("blk");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_rw);
	tcase_add_test(t, test_readonly);
	tcase_add_test(t, test_malformed);
	tcase_add_test(t, test_bad_images);
	tcase_add_test(t, test_layers);
	suite_add_tcase(s, t);
	return s;
}
