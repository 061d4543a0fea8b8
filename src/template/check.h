/*
 * check.h - value checks shared by the template parser (internal to
 * src/template). Each returns 1 when the string is acceptable.
 */
#ifndef SBX_TEMPLATE_CHECK_H
#define SBX_TEMPLATE_CHECK_H

#include <stddef.h>

/* Edit distance between `a` and `b` (Levenshtein), capped at 100. */
size_t tpl_edit_distance(const char *a, const char *b);
/* The entry of NULL-terminated `known` nearest to `s`, or NULL when none
 * is close enough to be a plausible typo. */
const char *tpl_suggest(const char *s, const char *const *known);

/* "KEY" of an environment variable: [A-Za-z_][A-Za-z0-9_]*. */
int tpl_env_name_ok(const char *s);
/* A user or group: a name like "root" or "app-user", or a numeric id. */
int tpl_user_ok(const char *s);
/* "user" or "user:group" (each a name or a number). */
int tpl_owner_ok(const char *s);
/* Debian suite ("bookworm", "stable", "12"). */
int tpl_suite_ok(const char *s);
/* Debian package name, optionally "=version". */
int tpl_package_ok(const char *s);
/* Egress rule: IPv4/IPv6 address or CIDR, or a domain ("*.x.org"). */
int tpl_net_rule_ok(const char *s);
/* Octal permission bits "0644", "755", "0o755" into *mode (<= 07777). */
int tpl_mode_parse(const char *s, unsigned *mode);

/* The known keys of each mapping in the schema (parse.c), for tests and
 * documentation checks; ends with keys == NULL. `where` is NULL for the
 * top level. */
struct tpl_keyset {
	const char *where;
	const char *const *keys;
};
extern const struct tpl_keyset tpl_schema[];

/*
 * Cleans a path lexically, as Go's filepath.Clean does: repeated '/'
 * and "." segments go, "x/.." pairs cancel ("/.." stays "/"), and a
 * trailing '/' is kept when the input had one. Returns a new string.
 */
char *tpl_path_clean(const char *path);

#endif
