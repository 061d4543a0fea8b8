/*
 * delta.c - writing, checking and applying page deltas (delta.h).
 *
 * File layout (little endian, doc/snapshot-format.md "Page deltas"):
 * a 40-byte header - magic[8], version u32, header size u32, RAM size
 * u64, page count u64, CRC32C u32 of everything after the header,
 * CRC32C u32 of header bytes 0..35 - then `count` u64 RAM offsets
 * (strictly increasing, page-aligned, below the RAM size), then `count`
 * 4 KiB pages in index order. The file is exactly that long.
 *
 * The file comes from the store and is read by the VMM at restore, so
 * every field is checked before it is used and sizes are computed so
 * that they cannot overflow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/err.h"
#include "core/le.h"
#include "core/xmalloc.h"
#include "kvm/vmm/delta.h"
#include "core/banned.h"

/* Pages read per read(2) when applying. */
#define APPLY_BATCH 256

static int
pwrite_all(int fd, const void *p, size_t len, uint64_t off,
    struct sbx_err *e)
{
	const uint8_t *s = p;

	while (len) {
		ssize_t w = pwrite(fd, s, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return sbx_err_sys(e, "cannot write the page delta");
		s += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Reads exactly `len` bytes at `off`; a short file is an error. */
static int
pread_all(int fd, void *p, size_t len, uint64_t off, const char *what,
    struct sbx_err *e)
{
	uint8_t *d = p;

	while (len) {
		ssize_t r = pread(fd, d, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return sbx_err_sys(e, "cannot read '%s'", what);
		if (r == 0)
			return sbx_err_set(e, SBX_ECORRUPT, "page delta '%s' "
			    "is truncated (end of file at byte %llu)", what,
			    (unsigned long long)off);
		d += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int64_t
delta_write(int fd, const uint8_t *ram, uint64_t ram_size,
    const uint64_t *offs, size_t n, struct sbx_err *e)
{
	uint8_t hdr[DELTA_HDR_SIZE], *idx;
	uint64_t pos, i;
	uint32_t crc;

	for (i = 0; i < n; i++)
		if (offs[i] % DELTA_PAGE || offs[i] >= ram_size ||
		    (i && offs[i] <= offs[i - 1]))
			return sbx_err_set(e, SBX_EINVAL, "page delta entry %llu "
			    "(offset 0x%llx) is not a page of RAM above the one "
			    "before", (unsigned long long)i,
			    (unsigned long long)offs[i]);
	idx = xmalloc(n ? n * 8 : 1);
	for (i = 0; i < n; i++)
		sbx_le_put64(idx + i * 8, offs[i]);
	crc = sbx_crc32c(0, idx, n * 8);
	pos = DELTA_HDR_SIZE;
	if (pwrite_all(fd, idx, n * 8, pos, e) < 0) {
		free(idx);
		return -1;
	}
	free(idx);
	pos += n * 8;
	/* Runs of adjacent pages go out in one write. */
	for (i = 0; i < n;) {
		uint64_t j = i + 1, len;

		while (j < n && offs[j] == offs[j - 1] + DELTA_PAGE)
			j++;
		len = (j - i) * DELTA_PAGE;
		crc = sbx_crc32c(crc, ram + offs[i], len);
		if (pwrite_all(fd, ram + offs[i], len, pos, e) < 0)
			return -1;
		pos += len;
		i = j;
	}
	memcpy(hdr, DELTA_MAGIC, 8);
	sbx_le_put32(hdr + 8, DELTA_VERSION);
	sbx_le_put32(hdr + 12, DELTA_HDR_SIZE);
	sbx_le_put64(hdr + 16, ram_size);
	sbx_le_put64(hdr + 24, n);
	sbx_le_put32(hdr + 32, crc);
	sbx_le_put32(hdr + 36, sbx_crc32c(0, hdr, 36));
	if (pwrite_all(fd, hdr, sizeof(hdr), 0, e) < 0)
		return -1;
	if (ftruncate(fd, (off_t)pos) < 0)
		return sbx_err_sys(e, "cannot size the page delta");
	return (int64_t)pos;
}

int64_t
delta_apply(int fd, uint8_t *ram, uint64_t ram_size, const char *what,
    struct sbx_err *e)
{
	uint8_t hdr[DELTA_HDR_SIZE], *idx = NULL, *buf = NULL;
	uint64_t n, i, fsize, *offs = NULL;
	uint32_t crc;
	struct stat st;
	int64_t r = -1;

	if (fstat(fd, &st) < 0)
		return sbx_err_sys(e, "cannot stat '%s'", what);
	if (!S_ISREG(st.st_mode))
		return sbx_err_set(e, SBX_ECORRUPT, "page delta '%s' is not a "
		    "regular file", what);
	fsize = (uint64_t)st.st_size;
	if (fsize < DELTA_HDR_SIZE)
		return sbx_err_set(e, SBX_ECORRUPT, "page delta '%s' is "
		    "truncated (%llu bytes, the header alone is %d)", what,
		    (unsigned long long)fsize, DELTA_HDR_SIZE);
	if (pread_all(fd, hdr, sizeof(hdr), 0, what, e) < 0)
		return -1;
	if (memcmp(hdr, DELTA_MAGIC, 8) != 0)
		return sbx_err_set(e, SBX_ECORRUPT, "'%s' is not an sbx page "
		    "delta (bad magic)", what);
	if (sbx_le_get32(hdr + 36) != sbx_crc32c(0, hdr, 36))
		return sbx_err_set(e, SBX_ECORRUPT, "page delta '%s': header "
		    "checksum mismatch", what);
	if (sbx_le_get32(hdr + 8) != DELTA_VERSION ||
	    sbx_le_get32(hdr + 12) != DELTA_HDR_SIZE)
		return sbx_err_set(e, SBX_ENOTSUP, "page delta '%s' has format "
		    "version %u, this sbx-vmm reads version %d", what,
		    sbx_le_get32(hdr + 8), DELTA_VERSION);
	if (sbx_le_get64(hdr + 16) != ram_size)
		return sbx_err_set(e, SBX_ECORRUPT, "page delta '%s' is for "
		    "%llu bytes of RAM, this VM has %llu", what,
		    (unsigned long long)sbx_le_get64(hdr + 16),
		    (unsigned long long)ram_size);
	n = sbx_le_get64(hdr + 24);
	/* n is bounded by the file before it is multiplied. */
	if (n > (fsize - DELTA_HDR_SIZE) / DELTA_PAGE_COST ||
	    DELTA_HDR_SIZE + n * DELTA_PAGE_COST != fsize)
		return sbx_err_set(e, SBX_ECORRUPT, "page delta '%s' has %llu "
		    "bytes, its header says %llu pages (truncated or padded)",
		    what, (unsigned long long)fsize, (unsigned long long)n);
	idx = xmalloc(n ? n * 8 : 1);
	offs = xmalloc(n ? n * 8 : 8);
	if (pread_all(fd, idx, n * 8, DELTA_HDR_SIZE, what, e) < 0)
		goto out;
	crc = sbx_crc32c(0, idx, n * 8);
	for (i = 0; i < n; i++) {
		offs[i] = sbx_le_get64(idx + i * 8);
		if (offs[i] % DELTA_PAGE || offs[i] >= ram_size ||
		    (i && offs[i] <= offs[i - 1])) {
			sbx_err_set(e, SBX_ECORRUPT, "page delta '%s': entry "
			    "%llu (offset 0x%llx) is not a page of RAM above "
			    "the entry before", what, (unsigned long long)i,
			    (unsigned long long)offs[i]);
			goto out;
		}
	}
	buf = xmalloc(APPLY_BATCH * DELTA_PAGE);
	for (i = 0; i < n;) {
		uint64_t k = n - i < APPLY_BATCH ? n - i : APPLY_BATCH, j;

		if (pread_all(fd, buf, k * DELTA_PAGE, DELTA_HDR_SIZE + n * 8 +
		    i * DELTA_PAGE, what, e) < 0)
			goto out;
		crc = sbx_crc32c(crc, buf, k * DELTA_PAGE);
		for (j = 0; j < k; j++)
			memcpy(ram + offs[i + j], buf + j * DELTA_PAGE,
			    DELTA_PAGE);
		i += k;
	}
	if (crc != sbx_le_get32(hdr + 32)) {
		sbx_err_set(e, SBX_ECORRUPT, "page delta '%s': checksum "
		    "mismatch (the delta is corrupted)", what);
		goto out;
	}
	r = (int64_t)n;
out:
	free(buf);
	free(idx);
	free(offs);
	return r;
}
