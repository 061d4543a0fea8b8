/*
 * delta.h - page deltas of guest RAM (delta.c, doc/snapshot-format.md
 * "Page deltas"): the 4 KiB pages a diff snapshot changed, with an index
 * of their RAM offsets, applied over the parent's memory at restore.
 */
#ifndef SBX_VMM_DELTA_H
#define SBX_VMM_DELTA_H

#include <stddef.h>
#include <stdint.h>

struct sbx_err;

#define DELTA_MAGIC "SBXDLTA\x01"
#define DELTA_VERSION 1
#define DELTA_HDR_SIZE 40
#define DELTA_PAGE 4096ULL
/* Bytes one page costs in a delta file: its index entry and its data. */
#define DELTA_PAGE_COST (8 + DELTA_PAGE)

/*
 * Writes a delta of `ram` (`ram_size` bytes) to `fd` from file offset 0:
 * the `n` pages at RAM offsets `offs` (page-aligned, strictly increasing,
 * inside RAM: checked). Returns the bytes written, or a negative SBX_E
 * code with `e` set.
 */
int64_t delta_write(int fd, const uint8_t *ram, uint64_t ram_size,
    const uint64_t *offs, size_t n, struct sbx_err *e);

/*
 * Verifies the delta file `fd` (named `what` in errors) against RAM of
 * `ram_size` bytes - header, size, checksums, every index entry
 * page-aligned, inside RAM and above the one before - and copies its
 * pages into `ram` at their offsets. The index is checked before any
 * page is copied; the page data checksum only once all are (a restore
 * that fails it is abandoned). Returns the pages applied or a negative
 * SBX_E code.
 */
int64_t delta_apply(int fd, uint8_t *ram, uint64_t ram_size,
    const char *what, struct sbx_err *e);

#endif
