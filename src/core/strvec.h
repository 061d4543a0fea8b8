/*
 * strvec.h - NULL-terminated vector of owned strings, for argv and env.
 *
 * `v` is never NULL after init (it points at an empty vector) and
 * v[nr] == NULL always holds, so `v` can be passed to execve directly.
 */
#ifndef SBX_CORE_STRVEC_H
#define SBX_CORE_STRVEC_H

#include <stddef.h>

struct sbx_strvec {
	char **v;
	size_t nr;
	size_t alloc;
};

#define SBX_STRVEC_INIT { sbx_strvec_empty, 0, 0 }
extern char *sbx_strvec_empty[];

void sbx_strvec_init(struct sbx_strvec *sv);
void sbx_strvec_clear(struct sbx_strvec *sv);
/* Pushes a copy of `s`; returns the copy. */
const char *sbx_strvec_push(struct sbx_strvec *sv, const char *s);
const char *sbx_strvec_pushf(struct sbx_strvec *sv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Pushes each argument up to a terminating NULL. */
void sbx_strvec_pushl(struct sbx_strvec *sv, ...) __attribute__((sentinel));
/* Pushes every string of a NULL-terminated array. */
void sbx_strvec_pushv(struct sbx_strvec *sv, const char *const *items);
void sbx_strvec_pop(struct sbx_strvec *sv);
/*
 * Sets "KEY=value" in an environment vector, replacing an existing KEY.
 */
void sbx_strvec_setenv(struct sbx_strvec *sv, const char *key,
    const char *value);
/*
 * sbx_strvec_setenv from one "KEY=value" string; -1 (vector unchanged)
 * when it has no '=' or an empty KEY.
 */
int sbx_strvec_putenv(struct sbx_strvec *sv, const char *kv);
/* Returns the value of KEY in an environment vector, or NULL. */
const char *sbx_strvec_getenv(const struct sbx_strvec *sv, const char *key);
/* Hands the array to the caller; the vector becomes empty. */
char **sbx_strvec_detach(struct sbx_strvec *sv);

#endif
