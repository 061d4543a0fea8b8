/*
 * utf8.h - just enough UTF-8 for terminal output and JSON: decoding with
 * validation, display width of a code point, and repairing invalid text.
 * Independent of the C locale. All functions are reentrant.
 */
#ifndef SBX_CORE_UTF8_H
#define SBX_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

struct sbx_buf;

/*
 * Decodes one character at s[0..len). Returns the bytes it took (1-4)
 * and stores the code point, or returns -1 for an invalid, overlong,
 * surrogate or truncated sequence (then *cp is U+FFFD and 1 byte should
 * be skipped). len must be > 0.
 */
int sbx_utf8_decode(const char *s, size_t len, uint32_t *cp);

/* Columns a code point takes on a terminal: 0 (combining, zero-width),
 * 2 (East Asian wide, emoji) or 1. Control characters count as 1. */
int sbx_utf8_cpwidth(uint32_t cp);

/* Display width of a string (invalid bytes count 1 column each). */
size_t sbx_utf8_width(const char *s, size_t len);

/* Appends s[0..len) to b with each invalid byte replaced by U+FFFD. */
int sbx_utf8_add_valid(struct sbx_buf *b, const char *s, size_t len);

#endif
