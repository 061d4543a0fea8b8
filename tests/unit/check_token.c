/* check_token.c - API tokens: create, verify, scopes, expiry, revoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "serve/token.h"
#include "core/banned.h"

#define NOW 1800000000

START_TEST(test_create_verify)
{
	const char *home = unit_tmpdir();
	struct sbx_token_info ti;
	struct sbx_token_db *db;
	struct sbx_err e;
	char *tok, id[SBX_TOKEN_ID_LEN + 1], path[512];
	struct stat st;
	struct sbx_buf b = SBX_BUF_INIT;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_token_create(home, SBX_SCOPE_WRITE, NOW, 0, "ci",
	    &tok, &ti, &e) == 0, "create: %s", e.msg);
	ck_assert_msg(!strncmp(tok, "sbx_", 4) && strlen(tok) == 4 + 16 + 1 +
	    43, "token '%s' has the documented shape", tok);
	ck_assert_str_eq(ti.name, "ci");
	ck_assert_int_eq(ti.scope, SBX_SCOPE_WRITE);
	ck_assert_int_eq(sbx_token_db_open(home, &db, &e), 0);
	ck_assert_int_eq(sbx_token_db_verify(db, tok, NOW + 5, id, &e),
	    SBX_SCOPE_WRITE);
	ck_assert_str_eq(id, ti.id);
	/* The secret is never stored; the key and the file are private. */
	snprintf(path, sizeof(path), "%s/serve/tokens.json", home);
	ck_assert_int_eq(sbx_buf_read_file(&b, path, &e), 0);
	ck_assert_msg(!strstr(b.buf, tok + 4 + 17),
	    "tokens.json holds the secret of '%s'", tok);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/serve/key", home);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, 32);
	sbx_buf_release(&b);
	sbx_token_info_release(&ti);
	sbx_token_db_close(db);
	free(tok);
}
END_TEST

START_TEST(test_bad_tokens)
{
	char *home = strdup(unit_tmpdir());
	static const char *const bad[] = { "", "sbx_", "Bearer x",
	    "sbx_0123456789abcdef_", "sbx_0123456789ABCDEF_"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "sbx_0123456789abcdef_!!!" };
	struct sbx_token_db *db;
	struct sbx_err e;
	char *tok, *forged;
	size_t i, n;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_token_create(home, SBX_SCOPE_ADMIN, NOW, 0, NULL,
	    &tok, NULL, &e), 0);
	ck_assert_int_eq(sbx_token_db_open(home, &db, &e), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(sbx_token_db_verify(db, bad[i], NOW, NULL, &e) ==
		    SBX_EPERM, "token '%s' accepted", bad[i]);
	/* Same id, one secret character changed. */
	forged = strdup(tok);
	n = strlen(forged);
	forged[n - 2] = forged[n - 2] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(sbx_token_db_verify(db, forged, NOW, NULL, &e),
	    SBX_EPERM);
	ck_assert_str_eq(e.msg, "unknown token");
	/* A token made under another server key does not verify here. */
	free(forged);
	sbx_token_db_close(db);
	free(tok);
	ck_assert_int_eq(sbx_token_create(unit_tmpdir(), SBX_SCOPE_ADMIN, NOW,
	    0, NULL, &tok, NULL, &e), 0);
	ck_assert_int_eq(sbx_token_db_open(home, &db, &e), 0);
	ck_assert_int_eq(sbx_token_db_verify(db, tok, NOW, NULL, &e),
	    SBX_EPERM);
	sbx_token_db_close(db);
	free(tok);
	free(home);
}
END_TEST

START_TEST(test_expiry_and_revoke)
{
	const char *home = unit_tmpdir();
	struct sbx_token_info ti, *v;
	struct sbx_token_db *db;
	struct sbx_err e;
	char *tok, *tok2;
	size_t n;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_token_create(home, SBX_SCOPE_READ, NOW, 60, "t",
	    &tok, &ti, &e), 0);
	ck_assert_int_eq(ti.expires, NOW + 60);
	ck_assert_int_eq(sbx_token_db_open(home, &db, &e), 0);
	ck_assert_int_eq(sbx_token_db_verify(db, tok, NOW + 59, NULL, &e),
	    SBX_SCOPE_READ);
	ck_assert_int_eq(sbx_token_db_verify(db, tok, NOW + 60, NULL, &e),
	    SBX_EPERM);
	ck_assert_msg(strstr(e.msg, "expired"), "message '%s'", e.msg);
	/* Revocation by another process is seen without reopening. */
	ck_assert_int_eq(sbx_token_create(home, SBX_SCOPE_ADMIN, NOW, 0, NULL,
	    &tok2, NULL, &e), 0);
	ck_assert_int_eq(sbx_token_db_verify(db, tok2, NOW, NULL, &e),
	    SBX_SCOPE_ADMIN);
	ck_assert_int_eq(sbx_token_revoke(home, ti.id, NOW, &e), 0);
	ck_assert_int_eq(sbx_token_revoke(home, "0000000000000000", NOW, &e),
	    SBX_ENOENT);
	ck_assert_int_eq(sbx_token_db_verify(db, tok, NOW + 1, NULL, &e),
	    SBX_EPERM);
	ck_assert_msg(strstr(e.msg, "revoked"), "message '%s'", e.msg);
	ck_assert_int_eq(sbx_token_db_verify(db, tok2, NOW, NULL, &e),
	    SBX_SCOPE_ADMIN);
	ck_assert_int_eq(sbx_token_list(home, &v, &n, &e), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(v[0].id, ti.id);
	ck_assert_int_eq(v[0].revoked, NOW);
	ck_assert_int_eq(v[1].revoked, 0);
	sbx_token_info_free_array(v, n);
	sbx_token_info_release(&ti);
	sbx_token_db_close(db);
	free(tok);
	free(tok2);
}
END_TEST

START_TEST(test_scopes)
{
	struct sbx_err e;
	int s = 0;

	ck_assert_int_eq(sbx_token_scope_parse("read", &s, &e), 0);
	ck_assert_int_eq(s, SBX_SCOPE_READ);
	ck_assert_int_eq(sbx_token_scope_parse("admin", &s, &e), 0);
	ck_assert_int_eq(s, SBX_SCOPE_ADMIN);
	ck_assert_int_eq(sbx_token_scope_parse("root", &s, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "'root'"), "message '%s'", e.msg);
	ck_assert(SBX_SCOPE_READ < SBX_SCOPE_WRITE);
	ck_assert(SBX_SCOPE_WRITE < SBX_SCOPE_ADMIN);
	ck_assert_str_eq(sbx_token_scope_name(SBX_SCOPE_WRITE), "write");
}
END_TEST

START_TEST(test_corrupt_file)
{
	const char *home = unit_tmpdir();
	struct sbx_token_info *v;
	struct sbx_err e;
	char path[512];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/serve", home);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/serve/tokens.json", home);
	f = fopen(path, "w");
	fputs("{\"tokens\": [\n{\"id\": 5}]}", f);
	fclose(f);
	ck_assert_int_eq(sbx_token_list(home, &v, &n, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, "token #1"), "message '%s'", e.msg);
	f = fopen(path, "w");
	fputs("{\"tokens\": [", f);
	fclose(f);
	ck_assert_int_eq(sbx_token_list(home, &v, &n, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, "tokens.json:1:"), "message '%s'", e.msg);
}
END_TEST

Suite *suite_token(void)
{
	Suite *s = suite_create("token");
	TCase *tc = tcase_create("token");

	tcase_add_test(tc, test_create_verify);
	tcase_add_test(tc, test_bad_tokens);
	tcase_add_test(tc, test_expiry_and_revoke);
	tcase_add_test(tc, test_scopes);
	tcase_add_test(tc, test_corrupt_file);
	suite_add_tcase(s, tc);
	return s;
}
