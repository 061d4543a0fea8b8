/*
 * check_machine.c - `sbx machine` state (src/machine/machine.h): parse,
 * dump/load round trip, malformed files, liveness and the default remote.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "core/xmalloc.h"
#include "machine/machine.h"
#include "store/fsutil.h"
#include "core/banned.h"

static void
fill(struct sbx_machine_state *st, const char *dir)
{
	memset(st, 0, sizeof(*st));
	st->pid = 4242;
	st->url = xstrdup("http://127.0.0.1:7780");
	st->token_file = xasprintf("%s/token", dir);
	st->token_id = xstrdup("0c13fe85b676d344");
	st->memory_mb = 4096;
	st->cpus = 2;
	snprintf(st->accel, sizeof(st->accel), "tcg");
	st->started = 1764190000;
}

START_TEST(test_round_trip)
{
	const char *dir = unit_tmpdir();
	struct sbx_machine_state a, b;
	struct sbx_err e;
	struct stat sb;
	char *path = xasprintf("%s/state.json", dir);

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_machine_state_load(dir, &b, &e), 0);
	fill(&a, dir);
	ck_assert_int_eq(sbx_machine_state_save(dir, &a, &e), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(sbx_machine_state_load(dir, &b, &e), 1);
	ck_assert_int_eq(b.pid, 4242);
	ck_assert_str_eq(b.url, a.url);
	ck_assert_str_eq(b.token_file, a.token_file);
	ck_assert_str_eq(b.token_id, a.token_id);
	ck_assert_int_eq(b.memory_mb, 4096);
	ck_assert_int_eq(b.cpus, 2);
	ck_assert_str_eq(b.accel, "tcg");
	ck_assert_int_eq(b.started, 1764190000);
	/* pid 4242 with a command line that does not name dir: not ours. */
	ck_assert_int_eq(sbx_machine_alive(&b, dir), 0);
	sbx_machine_state_release(&a);
	sbx_machine_state_release(&b);
	free(path);
}
END_TEST

static const char *const bad[] = {
	"",
	"[]",
	"{\"pid\": 1}",
	"{\"pid\": 0, \"url\": \"http://x\", \"token_file\": \"/t\", "
	    "\"token_id\": \"i\", \"memory_mb\": 4096, \"cpus\": 2, "
	    "\"accel\": \"tcg\", \"started\": 1}",
	"{\"pid\": 1, \"url\": \"ftp://x\", \"token_file\": \"/t\", "
	    "\"token_id\": \"i\", \"memory_mb\": 4096, \"cpus\": 2, "
	    "\"accel\": \"tcg\", \"started\": 1}",
	"{\"pid\": 1, \"url\": \"http://x\", \"token_file\": \"/t\", "
	    "\"token_id\": \"i\", \"memory_mb\": 4096, \"cpus\": 2, "
	    "\"accel\": \"hvf\", \"started\": 1}",
	"{\"pid\": 1, \"url\": \"http://x\", \"token_file\": \"\", "
	    "\"token_id\": \"i\", \"memory_mb\": 4096, \"cpus\": 2, "
	    "\"accel\": \"kvm\", \"started\": 1}",
	"{\"pid\": 1, \"url\": \"http://x\", \"token_file\": \"/t\", "
	    "\"token_id\": \"i\", \"memory_mb\": \"4G\", \"cpus\": 2, "
	    "\"accel\": \"kvm\", \"started\": 1}",
	"{\"pid\": 1, \"url\": \"http://x\", \"token_file\": \"/t\", "
	    "\"token_id\": \"i\", \"memory_mb\": 4096, \"cpus\": 0, "
	    "\"accel\": \"kvm\", \"started\": 1}",
};

START_TEST(test_bad_state)
{
	struct sbx_machine_state st;
	struct sbx_err e;
	const char *s = bad[_i];

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_machine_state_parse(s, strlen(s), &st, &e),
	    SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, "machine state"), "message: %s", e.msg);
	ck_assert_ptr_null(st.url);
}
END_TEST

START_TEST(test_remote)
{
	const char *home = unit_tmpdir();
	struct sbx_machine_state st;
	struct sbx_err e;
	char *dir = sbx_machine_dir(home), *url = NULL, *tok = NULL;
	char *path;
	FILE *f;

	sbx_err_clear(&e);
	/* No machine: no remote. */
	ck_assert_int_eq(sbx_machine_remote(home, &url, &tok), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	fill(&st, dir);
	/* This process stands in for QEMU: its command line names dir? */
	st.pid = (long)getpid();
	ck_assert_int_eq(sbx_machine_state_save(dir, &st, &e), 0);
	ck_assert_int_eq(sbx_fs_write_atomic(st.token_file, NULL, "tok\n", 4,
	    0600, &e), 0);
	/* Our command line does not name dir: stale, so no remote. */
	ck_assert_int_eq(sbx_machine_alive(&st, dir), 0);
	ck_assert_int_eq(sbx_machine_remote(home, &url, &tok), 0);
	/* A damaged state file is no remote either (and no crash). */
	path = xasprintf("%s/state.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{not json", f);
	fclose(f);
	ck_assert_int_eq(sbx_machine_remote(home, &url, &tok), 0);
	ck_assert_int_lt(sbx_machine_state_load(dir, &st,
	    &e), 0);
	ck_assert_ptr_null(url);
	ck_assert_ptr_null(tok);
	sbx_machine_state_release(&st);
	free(path);
	free(dir);
}
END_TEST

Suite *suite_machine(void)
{
	Suite *s = suite_create("machine");
	TCase *tc = tcase_create("machine");

	tcase_add_test(tc, test_round_trip);
	tcase_add_loop_test(tc, test_bad_state, 0,
	    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_remote);
	suite_add_tcase(s, tc);
	return s;
}
