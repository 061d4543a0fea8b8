/* unit.h - shared helpers for Check unit tests. */
#ifndef SBX_TESTS_UNIT_H
#define SBX_TESTS_UNIT_H

#include <check.h>

/*
 * Makes a fresh temporary directory for a test and returns its path
 * (static storage, valid until the next call).
 */
const char *unit_tmpdir(void);

struct unit_suite {
	const char *name;
	Suite *(*make)(void);
};

#endif
