/*
 * check_vmm_virtq.c - split virtqueue parsing and the virtio-mmio
 * transport on malformed input (no KVM needed).
 */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/virtq.h"
#include "core/banned.h"

#define QN 8
#define DESC 0x1000ULL
#define AVAIL 0x2000ULL
#define USED 0x3000ULL
#define BUF 0x10000ULL

static struct gmem m;
static struct virtq q;

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static void
setup(void)
{
	ck_assert_int_eq(gmem_init(&m, 2 << 20, NULL), 0);
	memset(&q, 0, sizeof(q));
	q.num_max = VIRTQ_MAX_SIZE;
	virtq_reset(&q);
	q.num = QN;
	q.desc = DESC;
	q.avail = AVAIL;
	q.used = USED;
}

static void
teardown(void)
{
	gmem_release(&m);
}

static void
put_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	struct desc d = { addr, len, flags, next };

	ck_assert_int_eq(gmem_write(&m, DESC + 16 * i, &d, sizeof(d)), 0);
}

/* Makes chain `head` available as the next avail entry. */
static void
offer(uint16_t head)
{
	uint16_t idx;

	gmem_read(&m, AVAIL + 2, &idx, 2);
	gmem_write(&m, AVAIL + 4 + 2 * (idx % QN), &head, 2);
	idx++;
	gmem_write(&m, AVAIL + 2, &idx, 2);
}

static int
pop(const char **why)
{
	static struct virtq_chain c;

	return virtq_pop(&q, &m, &c, why);
}

START_TEST(test_good_chain)
{
	static struct virtq_chain c;
	const char *why = NULL;
	char out[8];
	uint32_t used[2];
	uint16_t uidx;

	ck_assert_int_eq(virtq_check(&q, &m, &why), 0);
	gmem_write(&m, BUF, "hello", 5);
	put_desc(0, BUF, 5, 1, 3);
	put_desc(3, BUF + 0x100, 16, 2, 0);
	ck_assert_int_eq(virtq_pop(&q, &m, &c, &why), VIRTQ_EMPTY);
	offer(0);
	ck_assert_int_eq(virtq_pop(&q, &m, &c, &why), VIRTQ_OK);
	ck_assert_uint_eq(c.nseg, 2);
	ck_assert_uint_eq(c.nread, 1);
	ck_assert_uint_eq(c.rlen, 5);
	ck_assert_uint_eq(c.wlen, 16);
	ck_assert_uint_eq(virtq_chain_read(&c, 1, out, 8), 4);
	ck_assert(memcmp(out, "ello", 4) == 0);
	ck_assert_uint_eq(virtq_chain_write(&c, 10, "abcdefgh", 8), 6);
	ck_assert_int_eq(virtq_push(&q, &m, c.head, 6), 0);
	gmem_read(&m, USED + 2, &uidx, 2);
	ck_assert_uint_eq(uidx, 1);
	gmem_read(&m, USED + 4, used, 8);
	ck_assert_uint_eq(used[0], 0);
	ck_assert_uint_eq(used[1], 6);
	ck_assert(virtq_want_irq(&q, &m));
	ck_assert_int_eq(virtq_pop(&q, &m, &c, &why), VIRTQ_EMPTY);
}
END_TEST

START_TEST(test_loop)
{
	const char *why = NULL;

	put_desc(0, BUF, 4, 1, 1);
	put_desc(1, BUF, 4, 1, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
	ck_assert_msg(why && strstr(why, "loop"), "why: %s", why);
}
END_TEST

START_TEST(test_out_of_ram)
{
	const char *why = NULL;

	put_desc(0, (2 << 20) - 4, 8, 0, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
	ck_assert_msg(why && strstr(why, "outside"), "why: %s", why);
}
END_TEST

START_TEST(test_wraparound_addr)
{
	const char *why = NULL;

	put_desc(0, UINT64_MAX - 2, 16, 2, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
}
END_TEST

START_TEST(test_bad_next)
{
	const char *why = NULL;

	put_desc(0, BUF, 4, 1, QN);
	offer(0);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
}
END_TEST

START_TEST(test_bad_head)
{
	const char *why = NULL;

	offer(QN + 3);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
}
END_TEST

START_TEST(test_read_after_write)
{
	const char *why = NULL;

	put_desc(0, BUF, 4, 2 | 1, 1);
	put_desc(1, BUF, 4, 0, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
}
END_TEST

START_TEST(test_indirect)
{
	const char *why = NULL;

	put_desc(0, BUF, 32, 4, 0);
	offer(0);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
}
END_TEST

START_TEST(test_avail_jump)
{
	const char *why = NULL;
	uint16_t idx = QN + 1;

	gmem_write(&m, AVAIL + 2, &idx, 2);
	ck_assert_int_eq(pop(&why), VIRTQ_EBAD);
}
END_TEST

START_TEST(test_check_rejects)
{
	const char *why = NULL;

	q.num = 6;
	ck_assert_int_eq(virtq_check(&q, &m, &why), -1);
	q.num = QN;
	q.used = (2 << 20) - 8;
	ck_assert_int_eq(virtq_check(&q, &m, &why), -1);
	q.used = USED + 2;
	ck_assert_int_eq(virtq_check(&q, &m, &why), -1);
}
END_TEST

START_TEST(test_high_region)
{
	struct gmem big;

	/* 3 GiB + 4 MiB of address space: 4 MiB land above 4 GiB. */
	ck_assert_int_eq(gmem_init(&big, GMEM_HOLE_START + (4 << 20), NULL),
	    0);
	ck_assert_uint_eq(big.high, 4 << 20);
	ck_assert(gmem_ptr(&big, GMEM_HOLE_START - 4, 4) != NULL);
	ck_assert(gmem_ptr(&big, GMEM_HOLE_START - 4, 8) == NULL);
	ck_assert(gmem_ptr(&big, GMEM_HOLE_START, 1) == NULL);
	ck_assert(gmem_ptr(&big, GMEM_HIGH_START, 4 << 20) ==
	    big.host + GMEM_HOLE_START);
	ck_assert(gmem_ptr(&big, GMEM_HIGH_START + 1, 4 << 20) == NULL);
	gmem_release(&big);
}
END_TEST

START_TEST(test_dirty_bitmap)
{
	uint64_t bits[8];

	ck_assert_uint_eq(gmem_dirty_words(&m), 8);
	gmem_dirty_take(&m, bits);
	ck_assert_ptr_nonnull(gmem_ptr_w(&m, 3 * 4096 + 4000, 200));
	gmem_dirty_take(&m, bits);
	ck_assert_uint_eq(bits[0], (1 << 3) | (1 << 4));
	gmem_dirty_take(&m, bits);
	ck_assert_uint_eq(bits[0], 0);
}
END_TEST

/* A device that counts notifications, for transport tests. */
static int notified;

static void
dummy_notify(struct virtio_dev *d, unsigned q_)
{
	static struct virtq_chain c;

	notified++;
	while (virtio_pop(d, q_, &c) == VIRTQ_OK)
		virtq_push(&d->vq[q_], d->mem, c.head, 0);
	virtio_queue_notify_guest(d, q_);
}

static const struct virtio_dev_ops dummy_ops = {
	.name = "dummy", .device_id = 99, .num_queues = 1, .queue_max = 16,
	.queue_notify = dummy_notify,
};

static uint32_t
rd(struct virtio_dev *d, uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(d, off, &v, 4);
	return v;
}

static void
wr(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_write(d, off, &v, 4);
}

/* Drives the driver side of the handshake up to DRIVER_OK. */
static void
bring_up(struct virtio_dev *d, uint64_t desc)
{
	wr(d, 0x70, 0);
	wr(d, 0x70, 1 | 2);
	wr(d, 0x24, 1);
	wr(d, 0x20, 1);		/* VERSION_1 */
	wr(d, 0x70, 1 | 2 | 8);
	ck_assert_uint_eq(rd(d, 0x70) & 8, 8);
	wr(d, 0x30, 0);
	wr(d, 0x38, QN);
	wr(d, 0x80, (uint32_t)desc);
	wr(d, 0x84, desc >> 32);
	wr(d, 0x90, AVAIL);
	wr(d, 0xa0, USED);
	wr(d, 0x44, 1);
	wr(d, 0x70, 1 | 2 | 8 | 4);
}

START_TEST(test_transport)
{
	struct virtio_dev d;

	virtio_dev_init(&d, &dummy_ops, NULL);
	ck_assert_int_eq(virtio_mmio_attach(&d, 0, -1, &m, NULL, NULL), 0);
	ck_assert_uint_eq(rd(&d, 0), 0x74726976);
	ck_assert_uint_eq(rd(&d, 4), 2);
	ck_assert_uint_eq(rd(&d, 8), 99);
	wr(&d, 0x14, 1);
	ck_assert_uint_eq(rd(&d, 0x10), 1);	/* VERSION_1 offered */
	/* A driver without VERSION_1 is refused at FEATURES_OK. */
	wr(&d, 0x70, 1 | 2);
	wr(&d, 0x70, 1 | 2 | 8);
	ck_assert_uint_eq(rd(&d, 0x70) & 8, 0);

	bring_up(&d, DESC);
	ck_assert_uint_eq(rd(&d, 0x70), 15);
	notified = 0;
	put_desc(0, BUF, 4, 0, 0);
	offer(0);
	wr(&d, 0x50, 0);
	ck_assert_int_eq(notified, 1);
	ck_assert_uint_eq(rd(&d, 0x60) & 1, 1);
	wr(&d, 0x64, 1);
	ck_assert_uint_eq(rd(&d, 0x60), 0);

	/* A looping chain: NEEDS_RESET, config interrupt, queue ignored. */
	put_desc(1, BUF, 4, 1, 1);
	offer(1);
	wr(&d, 0x50, 0);
	ck_assert_uint_eq(rd(&d, 0x70) & 64, 64);
	ck_assert_uint_eq(rd(&d, 0x60) & 2, 2);
	wr(&d, 0x50, 0);
	ck_assert_int_eq(notified, 2);		/* no longer dispatched */
	/* Reset and redo the handshake: the device works again. */
	memset(m.host + AVAIL, 0, 0x3000);
	bring_up(&d, DESC);
	ck_assert_uint_eq(rd(&d, 0x70), 15);
	virtio_mmio_detach(&d);
}
END_TEST

START_TEST(test_transport_bad_queue)
{
	struct virtio_dev d;

	virtio_dev_init(&d, &dummy_ops, NULL);
	virtio_mmio_attach(&d, 0, -1, &m, NULL, NULL);
	bring_up(&d, 0x7fffffff000ULL);	/* descriptor table not in RAM */
	ck_assert_uint_eq(rd(&d, 0x70) & 64, 64);
	ck_assert_uint_eq(rd(&d, 0x44), 0);
	/* Out-of-range queue selector and notify value are harmless. */
	wr(&d, 0x30, 7);
	ck_assert_uint_eq(rd(&d, 0x34), 0);
	wr(&d, 0x50, 12345);
	virtio_mmio_detach(&d);
}
END_TEST

Suite *suite_vmm_virtq(void)
{
	Suite *s = suite_create("vmm_virtq");
	TCase *t = tcase_create("virtq");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, test_good_chain);
	tcase_add_test(t, test_loop);
	tcase_add_test(t, test_out_of_ram);
	tcase_add_test(t, test_wraparound_addr);
	tcase_add_test(t, test_bad_next);
	tcase_add_test(t, test_bad_head);
	tcase_add_test(t, test_read_after_write);
	tcase_add_test(t, test_indirect);
	tcase_add_test(t, test_avail_jump);
	tcase_add_test(t, test_check_rejects);
	tcase_add_test(t, test_high_region);
	tcase_add_test(t, test_dirty_bitmap);
	tcase_add_test(t, test_transport);
	tcase_add_test(t, test_transport_bad_queue);
	suite_add_tcase(s, t);
	return s;
}
