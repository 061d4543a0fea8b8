/*
 * runner.c - runs every unit suite. With arguments, runs only the suites
 * whose names (without "suite_") are given: `check_sbx buf store`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/fsutil.h"
#include "unit.h"
#include "suites.h"

/*
 * The run's own directory under $TMPDIR: every unit_tmpdir() is made in
 * it, and it goes when the run ends (SBX_UNIT_KEEP=1 keeps it), so runs
 * do not leave their trees in /tmp.
 */
static char run_dir[200];

const char *
unit_tmpdir(void)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/t-XXXXXX", run_dir);
	if (!mkdtemp(path)) {
		perror("mkdtemp");
		abort();
	}
	return path;
}

static void
run_dir_make(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(run_dir, sizeof(run_dir), "%s/sbx-unit-XXXXXX",
	    base && *base ? base : "/tmp");
	if (!mkdtemp(run_dir)) {
		perror("mkdtemp");
		exit(1);
	}
}

static void
run_dir_remove(void)
{
	const char *keep = getenv("SBX_UNIT_KEEP");
	struct sbx_err e;

	if (keep && !strcmp(keep, "1")) {
		fprintf(stderr, "check_sbx: kept %s\n", run_dir);
		return;
	}
	if (sbx_fs_remove_tree(run_dir, &e) < 0)
		fprintf(stderr, "check_sbx: %s\n", e.msg);
}

static int
wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return 1;
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], name))
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	SRunner *sr = NULL;
	size_t i;
	int failed;

	for (i = 0; unit_suites[i].name; i++) {
		Suite *s;

		if (!wanted(unit_suites[i].name, argc, argv))
			continue;
		s = unit_suites[i].make();
		if (!sr)
			sr = srunner_create(s);
		else
			srunner_add_suite(sr, s);
	}
	if (!sr) {
		fprintf(stderr, "check_sbx: no suite matched\n");
		return 1;
	}
	run_dir_make();
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	run_dir_remove();
	return failed ? 1 : 0;
}
