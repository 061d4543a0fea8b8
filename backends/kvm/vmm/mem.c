/*
 * mem.c - guest RAM mapping and the bounds-checked accessor (mem.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "kvm/vmm/mem.h"
#include "core/banned.h"

int
gmem_init(struct gmem *m, uint64_t size, struct sbx_err *e)
{
	void *p;
	size_t words;

	memset(m, 0, sizeof(*m));
	size = (size + GMEM_PAGE - 1) & ~(GMEM_PAGE - 1);
	if (size < (1ULL << 20))
		return sbx_err_set(e, SBX_EINVAL,
		    "guest memory %llu bytes is too small (minimum 1M)",
		    (unsigned long long)size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return sbx_err_sys(e, "cannot map %llu bytes of guest memory",
		    (unsigned long long)size);
	/* Huge pages make guest faults and fork cheaper; advisory only. */
	(void)madvise(p, size, MADV_HUGEPAGE);
	m->host = p;
	m->size = size;
	m->low = size < GMEM_HOLE_START ? size : GMEM_HOLE_START;
	m->high = size - m->low;
	words = (size / GMEM_PAGE + 63) / 64;
	m->dirty = xcalloc(words, sizeof(uint64_t));
	return 0;
}

void
gmem_release(struct gmem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	free(m->dirty);
	memset(m, 0, sizeof(*m));
}

/* Host offset of [gpa, gpa+len) or UINT64_MAX if not inside one region. */
static uint64_t
gmem_off(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	if (gpa < m->low) {
		if (len > m->low - gpa)
			return UINT64_MAX;
		return gpa;
	}
	if (gpa >= GMEM_HIGH_START && gpa - GMEM_HIGH_START < m->high) {
		if (len > m->high - (gpa - GMEM_HIGH_START))
			return UINT64_MAX;
		return gpa - GMEM_HIGH_START + m->low;
	}
	if (len == 0 && (gpa == m->low ||
	    (m->high && gpa == GMEM_HIGH_START + m->high)))
		return gpa == m->low ? m->low : m->size;
	return UINT64_MAX;
}

bool
gmem_valid(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	return gmem_off(m, gpa, len) != UINT64_MAX;
}

void *
gmem_ptr(const struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t off = gmem_off(m, gpa, len);

	return off == UINT64_MAX ? NULL : m->host + off;
}

void
gmem_mark_dirty(struct gmem *m, uint64_t gpa, uint64_t len)
{
	uint64_t off = gmem_off(m, gpa, len), p, last;

	if (off == UINT64_MAX || len == 0)
		return;
	last = (off + len - 1) / GMEM_PAGE;
	for (p = off / GMEM_PAGE; p <= last; p++)
		__atomic_fetch_or(&m->dirty[p / 64], 1ULL << (p % 64),
		    __ATOMIC_RELAXED);
}

void *
gmem_ptr_w(struct gmem *m, uint64_t gpa, uint64_t len)
{
	void *p = gmem_ptr(m, gpa, len);

	if (p)
		gmem_mark_dirty(m, gpa, len);
	return p;
}

int
gmem_read(const struct gmem *m, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = gmem_ptr(m, gpa, len);

	if (!p)
		return -1;
	memcpy(dst, p, len);
	return 0;
}

int
gmem_write(struct gmem *m, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = gmem_ptr_w(m, gpa, len);

	if (!p)
		return -1;
	memcpy(p, src, len);
	return 0;
}

size_t
gmem_dirty_words(const struct gmem *m)
{
	return (m->size / GMEM_PAGE + 63) / 64;
}

void
gmem_dirty_take(struct gmem *m, uint64_t *out)
{
	size_t i, n = gmem_dirty_words(m);

	for (i = 0; i < n; i++)
		out[i] = __atomic_exchange_n(&m->dirty[i], 0, __ATOMIC_RELAXED);
}

/* FNV-1a style over 64-bit words, four lanes so the multiplies overlap. */
static uint64_t
hash_range(const uint8_t *p, uint64_t len)
{
	const uint64_t prime = 0x100000001b3ULL;
	uint64_t h[4] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL,
	    0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL }, w;
	uint64_t i;

	for (i = 0; i + 32 <= len; i += 32) {
		memcpy(&w, p + i, 8);
		h[0] = (h[0] ^ w) * prime;
		memcpy(&w, p + i + 8, 8);
		h[1] = (h[1] ^ w) * prime;
		memcpy(&w, p + i + 16, 8);
		h[2] = (h[2] ^ w) * prime;
		memcpy(&w, p + i + 24, 8);
		h[3] = (h[3] ^ w) * prime;
	}
	for (; i < len; i++)
		h[0] = (h[0] ^ p[i]) * prime;
	return ((h[0] * prime ^ h[1]) * prime ^ h[2]) * prime ^ h[3];
}

void
gmem_hash_text(const struct gmem *m, char *out)
{
	uint64_t part = (m->size / 8) & ~(GMEM_PAGE - 1), r[8], all = 0;
	size_t n = 0;
	int i;

	for (i = 0; i < 8; i++) {
		uint64_t off = part * (uint64_t)i;
		uint64_t len = i == 7 ? m->size - off : part;

		r[i] = hash_range(m->host + off, len);
		all = (all ^ r[i]) * 0x100000001b3ULL;
	}
	n += (size_t)snprintf(out, GMEM_HASH_TEXT, "%016llx",
	    (unsigned long long)all);
	for (i = 0; i < 8 && n < GMEM_HASH_TEXT; i++)
		n += (size_t)snprintf(out + n, GMEM_HASH_TEXT - n, " %08llx",
		    (unsigned long long)(r[i] >> 32));
}
