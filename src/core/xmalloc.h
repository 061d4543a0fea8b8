/*
 * xmalloc.h - allocation that never returns NULL.
 *
 * On exhaustion these print "sbx: out of memory (N bytes)" to stderr and
 * abort(); callers never check for NULL. Multiplications are overflow
 * checked.
 */
#ifndef SBX_CORE_XMALLOC_H
#define SBX_CORE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* xreallocarray: realloc to nmemb*size bytes, aborting on overflow. */
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
