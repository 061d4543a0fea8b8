/*
 * fuzz_virtq.c - libFuzzer target for the split-virtqueue parser and the
 * virtio-mmio transport (backends/kvm/vmm/virtq.c, virtio_mmio.c).
 *
 * Input layout: a 16-byte queue header {u16 num; u16 pad; u32 desc;
 * u32 avail; u32 used} (addresses taken modulo the guest RAM, so most
 * land inside it), then a script of transport register writes
 * {u8 reg/4; u32 value} until a 0xff byte, then bytes copied into the
 * start of guest RAM. The device pops every chain, reads and writes
 * through the chain helpers and pushes it back; malformed rings must end
 * in VIRTQ_EBAD / NEEDS_RESET, never in a crash or sanitizer report.
 *
 * Build and run: `make fuzz` (clang -fsanitize=fuzzer,address,undefined).
 */
#include <stdint.h>
#include <string.h>

#include "kvm/vmm/mem.h"
#include "kvm/vmm/virtio.h"
#include "kvm/vmm/virtq.h"

#define RAM (1u << 20)

static struct gmem mem;
static struct virtq_chain chain;

static void
fz_notify(struct virtio_dev *d, unsigned q)
{
	uint8_t buf[512];
	int n = 0;

	while (n++ < 64 && virtio_pop(d, q, &chain) == VIRTQ_OK) {
		uint64_t r = virtq_chain_read(&chain, 3, buf, sizeof(buf));

		virtq_chain_write(&chain, 1, buf, r);
		virtq_push(&d->vq[q], d->mem, chain.head, (uint32_t)r);
	}
	virtio_queue_notify_guest(d, q);
}

static void
fz_config(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	memset(data, 0x11, len);
}

static const struct virtio_dev_ops fz_ops = {
	.name = "fuzz", .device_id = 42, .num_queues = 2, .queue_max = 256,
	.features = 1ULL << 28, .config_read = fz_config,
	.queue_notify = fz_notify,
};

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_dev d;
	struct virtq q;
	const char *why;
	size_t i = 16;
	uint32_t v;
	int n;

	if (!mem.host && gmem_init(&mem, RAM, NULL) < 0)
		return 0;
	if (size < 16)
		return 0;
	memset(mem.host, 0, 64 << 10);

	/* Direct parser run on a queue set up from the header. */
	memset(&q, 0, sizeof(q));
	q.num_max = VIRTQ_MAX_SIZE;
	q.num = data[0] | data[1] << 8;
	q.desc = rd32(data + 4) % RAM;
	q.avail = rd32(data + 8) % RAM;
	q.used = rd32(data + 12) % RAM;

	/* Transport script, run against a fresh device. */
	virtio_dev_init(&d, &fz_ops, NULL);
	virtio_mmio_attach(&d, 0, -1, &mem, NULL, NULL);
	while (i + 5 <= size && data[i] != 0xff) {
		v = rd32(data + i + 1);
		if (data[i] & 0x80)
			virtio_mmio_read(&d, (data[i] & 0x7f) * 4, &v, 4);
		else
			virtio_mmio_write(&d, data[i] * 4, &v, 4);
		i += 5;
	}
	i++;
	if (i < size) {
		size_t n2 = size - i < (64u << 10) ? size - i : (64u << 10);

		memcpy(mem.host, data + i, n2);
	}
	v = 0;
	virtio_mmio_write(&d, 0x50, &v, 4);	/* notify queue 0 */
	virtio_mmio_detach(&d);

	if (virtq_check(&q, &mem, &why) == 0)
		for (n = 0; n < 300; n++) {
			int r = virtq_pop(&q, &mem, &chain, &why);

			if (r != VIRTQ_OK)
				break;
			virtq_push(&q, &mem, chain.head, chain.wlen);
		}
	return 0;
}
