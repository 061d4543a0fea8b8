/*
 * le.h - little-endian fields of sbx's binary formats, read and written
 * at any alignment. The formats are little endian and sbx runs on
 * little-endian hosts (x86-64), so these are copies.
 */
#ifndef SBX_CORE_LE_H
#define SBX_CORE_LE_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "sbx's binary formats assume a little-endian host"
#endif

static inline void
sbx_le_put32(void *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void
sbx_le_put64(void *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline uint32_t
sbx_le_get32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t
sbx_le_get64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

#endif
