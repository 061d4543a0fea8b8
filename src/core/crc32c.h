/*
 * crc32c.h - CRC32C (Castagnoli), the checksum of sbx's binary formats:
 * snapshot state files, page deltas, disk layers and their maps
 * (doc/snapshot-format.md).
 */
#ifndef SBX_CORE_CRC32C_H
#define SBX_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC32C of `len` bytes at `p`, continuing from `crc` (0 to start):
 * sbx_crc32c(0, "123456789", 9) == 0xe3069283. Thread-safe.
 */
uint32_t sbx_crc32c(uint32_t crc, const void *p, size_t len);

#endif
