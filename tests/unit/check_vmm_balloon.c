/*
 * check_vmm_balloon.c - the virtio-balloon device through the virtio-mmio
 * transport (no KVM needed): config space, inflate giving pages back
 * (their bytes read as zeroes afterwards), PFNs outside guest RAM and
 * short buffers ignored and counted, deflate, a malformed chain, and the
 * control op's checks.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "unit.h"
#include "core/err.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/virtio_balloon.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

#define QN 16
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define PFNS 0x4000ULL
#define DATA 0x10000ULL		/* pages the tests balloon */
#define MEM (1ULL << 20)	/* 256 pages */

static struct gmem m;
static uint16_t avail_idx[2];

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

/* Queue q's rings: 0x1000 apart per queue. */
static void
setup_queue(struct virtio_dev *d, unsigned q)
{
	wr(d, 0x30, q);
	wr(d, 0x38, QN);
	wr(d, 0x80, DESC + q * 0x400);
	wr(d, 0x90, AVAIL + q * 0x400);
	wr(d, 0xa0, USED + q * 0x400);
	wr(d, 0x44, 1);
}

static struct virtio_dev *
open_dev(void)
{
	struct sbx_err e = { 0 };
	struct virtio_dev *d = virtio_balloon_new(MEM, &e);

	ck_assert_msg(d != NULL, "%s", e.msg);
	ck_assert_int_eq(virtio_mmio_attach(d, 0, -1, &m, NULL, &e), 0);
	ck_assert_uint_eq(rd(d, 0x08), 5);
	wr(d, 0x70, 1 | 2);
	wr(d, 0x24, 1);
	wr(d, 0x20, 1);			/* VERSION_1 only */
	wr(d, 0x70, 1 | 2 | 8);
	setup_queue(d, 0);
	setup_queue(d, 1);
	wr(d, 0x70, 1 | 2 | 4 | 8);
	ck_assert_uint_eq(rd(d, 0x70), 15);
	avail_idx[0] = avail_idx[1] = 0;
	return d;
}

/*
 * Sends `len` bytes at PFNS (split over `nseg` descriptors) on queue q;
 * returns 0 when the device used the chain.
 */
static int
send_chain(struct virtio_dev *d, unsigned q, uint32_t len, unsigned nseg)
{
	uint64_t desc = DESC + q * 0x400, avail = AVAIL + q * 0x400;
	uint64_t used = USED + q * 0x400;
	uint32_t per = len / nseg, off = 0;
	uint16_t head = 0, idx;
	unsigned i;

	for (i = 0; i < nseg; i++) {
		struct desc ds = { PFNS + off, i + 1 == nseg ? len - off : per,
		    (uint16_t)(i + 1 < nseg ? 1 : 0), (uint16_t)(i + 1) };

		gmem_write(&m, desc + 16 * i, &ds, 16);
		off += per;
	}
	gmem_write(&m, avail + 4 + 2 * (avail_idx[q] % QN), &head, 2);
	avail_idx[q]++;
	gmem_write(&m, avail + 2, &avail_idx[q], 2);
	wr(d, 0x50, q);
	gmem_read(&m, used + 2, &idx, 2);
	return idx == avail_idx[q] ? 0 : -1;
}

static void
setup(void)
{
	ck_assert_int_eq(gmem_init(&m, MEM, NULL), 0);
}

static void
teardown(void)
{
	gmem_release(&m);
}

START_TEST(test_config)
{
	struct virtio_dev *d = open_dev();
	struct sbx_err e = { 0 };
	struct balloon_info bi;
	uint32_t gen = rd(d, 0xfc), v = 77;
	uint16_t half = 0x1234;

	ck_assert_uint_eq(rd(d, 0x100), 0);
	ck_assert_int_eq(virtio_balloon_set_target(d, 100, &e), 0);
	ck_assert_uint_eq(rd(d, 0x100), 100);
	ck_assert_uint_gt(rd(d, 0xfc), gen);	/* config change raised */
	ck_assert_uint_eq(rd(d, 0x60) & 2, 2);
	/* The driver writes actual; num_pages is not its to write. */
	virtio_mmio_write(d, 0x104, &v, 4);
	virtio_mmio_write(d, 0x100, &v, 4);
	ck_assert_uint_eq(rd(d, 0x104), 77);
	ck_assert_uint_eq(rd(d, 0x100), 100);
	virtio_mmio_write(d, 0x106, &half, 2);
	ck_assert_uint_eq(rd(d, 0x104), 0x1234004d);
	virtio_mmio_write(d, 0x1f0, &v, 4);	/* beyond the config */
	ck_assert_uint_eq(rd(d, 0x108), 0);
	/* A target larger than RAM is refused and changes nothing. */
	ck_assert_int_eq(virtio_balloon_set_target(d, MEM / 4096 + 1, &e),
	    SBX_EINVAL);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.num_pages, 100);
	/* A reset driver holds no pages; the target stays the host's. */
	wr(d, 0x70, 0);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.actual, 0);
	ck_assert_uint_eq(bi.num_pages, 100);
	virtio_mmio_detach(d);
}
END_TEST

START_TEST(test_inflate)
{
	struct virtio_dev *d = open_dev();
	struct balloon_info bi;
	uint32_t pfns[4];
	unsigned i;

	memset(m.host + DATA, 0xab, 4 * 4096);
	for (i = 0; i < 4; i++)
		pfns[i] = (uint32_t)(DATA / 4096) + i;
	gmem_write(&m, PFNS, pfns, sizeof(pfns));
	ck_assert_int_eq(send_chain(d, 0, sizeof(pfns), 2), 0);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.inflated, 4);
	ck_assert_uint_eq(bi.released, 4);
	ck_assert_uint_eq(bi.bad_pfns, 0);
	/* The pages went back to the host: anonymous RAM reads as zero. */
	for (i = 0; i < 4 * 4096; i++)
		ck_assert_msg(m.host[DATA + i] == 0, "byte %u of the ballooned "
		    "pages is still 0x%02x", i, m.host[DATA + i]);
	/* Deflate: accepted and counted; the host has nothing to do. */
	ck_assert_int_eq(send_chain(d, 1, sizeof(pfns), 1), 0);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.deflated, 4);
	ck_assert(!d->failed);
	virtio_mmio_detach(d);
}
END_TEST

START_TEST(test_bad_pfns)
{
	struct virtio_dev *d = open_dev();
	struct balloon_info bi;
	uint32_t pfns[5] = { 0xffffffffu, (uint32_t)(MEM / 4096),
	    (uint32_t)(DATA / 4096), 0x100000u /* 4 GiB: no high RAM */,
	    (uint32_t)(DATA / 4096) + 1 };

	memset(m.host + DATA, 0xcd, 2 * 4096);
	gmem_write(&m, PFNS, pfns, sizeof(pfns));
	ck_assert_int_eq(send_chain(d, 0, sizeof(pfns), 1), 0);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.bad_pfns, 3);
	ck_assert_uint_eq(bi.inflated, 2);
	ck_assert_uint_eq(m.host[DATA], 0);
	ck_assert_uint_eq(m.host[DATA + 4096], 0);
	/* A short buffer: the whole PFN in it counts, the 2-byte tail not. */
	memset(m.host + DATA + 2 * 4096, 0xee, 4096);
	pfns[0] = (uint32_t)(DATA / 4096) + 2;
	gmem_write(&m, PFNS, pfns, 4);
	ck_assert_int_eq(send_chain(d, 0, 6, 1), 0);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.inflated, 3);
	ck_assert_uint_eq(bi.bad_pfns, 4);
	ck_assert_uint_eq(m.host[DATA + 2 * 4096], 0);
	/* Shorter than one PFN, and empty: used, nothing released. */
	ck_assert_int_eq(send_chain(d, 0, 3, 1), 0);
	ck_assert_int_eq(send_chain(d, 1, 1, 1), 0);
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.inflated, 3);
	ck_assert_uint_eq(bi.bad_pfns, 6);
	ck_assert_uint_eq(bi.released, 3);
	/* Bad PFNs never fail the device: the queue keeps working. */
	ck_assert(!d->failed);
	virtio_mmio_detach(d);
}
END_TEST

START_TEST(test_malformed)
{
	struct virtio_dev *d = open_dev();
	struct desc ds = { MEM - 2, 8, 0, 0 };	/* crosses the end of RAM */
	uint16_t head = 0;
	struct balloon_info bi;

	gmem_write(&m, DESC, &ds, 16);
	gmem_write(&m, AVAIL + 4, &head, 2);
	avail_idx[0] = 1;
	gmem_write(&m, AVAIL + 2, &avail_idx[0], 2);
	wr(d, 0x50, 0);
	ck_assert(d->failed);
	ck_assert_uint_eq(rd(d, 0x70) & 64, 64);	/* NEEDS_RESET */
	virtio_balloon_info(d, &bi);
	ck_assert_uint_eq(bi.inflated + bi.released, 0);
	virtio_mmio_detach(d);
}
END_TEST

/* Sends a control request; returns the reply. */
static json_t *
control(struct vmm *vm, const char *text)
{
	json_t *req = json_loads(text, 0, NULL), *rep;

	ck_assert_ptr_nonnull(req);
	rep = virtio_balloon_control(vm, "balloon", req);
	json_decref(req);
	ck_assert_ptr_nonnull(rep);
	return rep;
}

START_TEST(test_control)
{
	struct vmm *vm = calloc(1, sizeof(*vm));
	struct sbx_err e = { 0 };
	const char *bad[] = { "{\"target\":\"1G\"}", "{\"target\":1.5}",
	    "{\"target\":-1}", "{\"target\":1048576}",
	    "{\"target\":999999999999}", NULL };
	json_t *rep;
	unsigned i;

	ck_assert_ptr_nonnull(vm);
	/* 128 MiB of RAM for the VM; the device never touches it here. */
	vm->mem.size = 128ULL << 20;
	ck_assert_ptr_null(virtio_balloon_control(vm, "stats", NULL));
	rep = control(vm, "{}");
	ck_assert(json_is_false(json_object_get(rep, "ok")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(rep,
	    "error")), "no balloon"));
	json_decref(rep);
	vm->vdev[0] = virtio_balloon_new(vm->mem.size, &e);
	vm->nvdev = 1;
	for (i = 0; bad[i]; i++) {
		rep = control(vm, bad[i]);
		ck_assert_msg(json_is_false(json_object_get(rep, "ok")),
		    "%s accepted", bad[i]);
		json_decref(rep);
	}
	rep = control(vm, "{\"target\":100663296}");	/* 96 MiB */
	ck_assert(json_is_true(json_object_get(rep, "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(rep,
	    "target_pages")), (32 << 20) / 4096);
	ck_assert_int_eq(json_integer_value(json_object_get(rep, "target")),
	    96 << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(rep, "actual")),
	    128 << 20);
	/* No driver ever set DRIVER_OK on this device. */
	ck_assert(json_is_false(json_object_get(rep, "driver")));
	json_decref(rep);
	virtio_mmio_detach(vm->vdev[0]);
	free(vm);
}
END_TEST

Suite *suite_vmm_balloon(void)
{
	Suite *s = suite_create("vmm_balloon");
	TCase *t = tcase_create("balloon");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_config);
	tcase_add_test(t, test_inflate);
	tcase_add_test(t, test_bad_pfns);
	tcase_add_test(t, test_malformed);
	tcase_add_test(t, test_control);
	suite_add_tcase(s, t);
	return s;
}
