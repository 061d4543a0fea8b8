/*
 * check_serve.c - the server's request decoding: guest path
 * normalisation (traversal refused), exec and create bodies, listen
 * addresses, error codes to HTTP statuses.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "unit.h"
#include "backend.h"
#include "core/err.h"
#include "core/strvec.h"
#include "serve/serve.h"
#include "core/banned.h"

static const struct {
	const char *in, *want;
} good_paths[] = {
	{ "/", "/" }, { "/a", "/a" }, { "/a/", "/a" }, { "//a//b", "/a/b" },
	{ "/a/./b/.", "/a/b" }, { "/./", "/" }, { "/a..b/..c", "/a..b/..c" },
	{ "/.hidden", "/.hidden" }, { "/a b/c", "/a b/c" },
};

START_TEST(test_path_good)
{
	struct sbx_err e;
	char *out;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_serve_path_normalise(good_paths[_i].in, &out, &e) ==
	    0, "path '%s' refused: %s", good_paths[_i].in, e.msg);
	ck_assert_msg(!strcmp(out, good_paths[_i].want), "path '%s' -> '%s', "
	    "want '%s'", good_paths[_i].in, out, good_paths[_i].want);
	free(out);
}
END_TEST

static const struct {
	const char *in, *why;
} bad_paths[] = {
	{ "", "missing" }, { "a/b", "not absolute" }, { "/..", "'..'" },
	{ "/a/../../etc/passwd", "'..'" }, { "/a/..", "'..'" },
	{ "/a/\n", "control" }, { "./a", "not absolute" },
};

START_TEST(test_path_bad)
{
	struct sbx_err e;
	char *out = (char *)"x";

	sbx_err_clear(&e);
	ck_assert_msg(sbx_serve_path_normalise(bad_paths[_i].in, &out, &e) ==
	    SBX_EUSAGE, "path '%s' accepted", bad_paths[_i].in);
	ck_assert_ptr_null(out);
	ck_assert_msg(strstr(e.msg, bad_paths[_i].why), "path '%s': message "
	    "'%s' does not say '%s'", bad_paths[_i].in, e.msg,
	    bad_paths[_i].why);
}
END_TEST

START_TEST(test_path_too_long)
{
	char *p = malloc(SBX_SERVE_PATH_MAX + 2), *out;
	struct sbx_err e;

	memset(p, 'a', SBX_SERVE_PATH_MAX + 1);
	p[0] = '/';
	p[SBX_SERVE_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(sbx_serve_path_normalise(p, &out, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "longer"), "message '%s'", e.msg);
	free(p);
}
END_TEST

/* Parses `text` as an exec request; returns the code, message in e. */
static int
exec_parse(const char *text, struct sbx_serve_exec_req *x, struct sbx_err *e)
{
	json_t *j = json_loads(text, 0, NULL);
	int r;

	ck_assert_msg(j != NULL, "test JSON '%s' is malformed", text);
	sbx_err_clear(e);
	r = sbx_serve_exec_parse(j, x, e);
	json_decref(j);
	return r;
}

START_TEST(test_exec_good)
{
	struct sbx_serve_exec_req x;
	struct sbx_err e;

	ck_assert_int_eq(exec_parse("{\"argv\": [\"sh\", \"-c\", \"cat\"], "
	    "\"env\": {\"A\": \"1\"}, \"cwd\": \"/tmp//x/\", \"user\": \"u\", "
	    "\"tty\": true, \"rows\": 30, \"cols\": 100, \"timeout_ms\": 5, "
	    "\"stdin\": \"aGVsbG8=\"}", &x, &e), 0);
	ck_assert_str_eq(x.argv[2], "cat");
	ck_assert_ptr_null(x.argv[3]);
	ck_assert_str_eq(x.env[0], "A=1");
	ck_assert_str_eq(x.cwd, "/tmp/x");
	ck_assert_str_eq(x.user, "u");
	ck_assert_int_eq(x.tty, 1);
	ck_assert_int_eq(x.rows, 30);
	ck_assert_int_eq(x.timeout_ms, 5);
	ck_assert_int_eq(x.stdin_len, 5);
	ck_assert(!memcmp(x.stdin_data, "hello", 5));
	sbx_serve_exec_req_release(&x);
	ck_assert_int_eq(exec_parse("{\"argv\": [\"true\"], \"env\": "
	    "[\"A=B=C\"]}", &x, &e), 0);
	ck_assert_str_eq(x.env[0], "A=B=C");
	ck_assert_ptr_null(x.stdin_data);
	sbx_serve_exec_req_release(&x);
}
END_TEST

static const struct {
	const char *json, *why;
} bad_exec[] = {
	{ "{}", "'argv' must be a non-empty array" },
	{ "{\"argv\": []}", "'argv' must be a non-empty array" },
	{ "{\"argv\": \"ls\"}", "'argv' must be" },
	{ "{\"argv\": [\"ls\", 3]}", "'argv[1]' must be a string" },
	{ "{\"argv\": [\"ls\"], \"env\": [\"NOEQUALS\"]}", "'env[0]'" },
	{ "{\"argv\": [\"ls\"], \"env\": {\"A\": 1}}", "'env.A'" },
	{ "{\"argv\": [\"ls\"], \"cwd\": \"rel\"}", "field 'cwd'" },
	{ "{\"argv\": [\"ls\"], \"cwd\": \"/a/../b\"}", "'..'" },
	{ "{\"argv\": [\"ls\"], \"tty\": 1}", "'tty' must be true or false" },
	{ "{\"argv\": [\"ls\"], \"rows\": -1}", "'rows' must be an integer" },
	{ "{\"argv\": [\"ls\"], \"stdin\": \"@@@\"}", "not valid base64" },
	{ "{\"argv\": [\"ls\"], \"argz\": 1}", "unknown field 'argz'" },
	{ "{\"argv\": [\"ls\"], \"user\": \"\"}", "'user' is empty" },
};

START_TEST(test_exec_bad)
{
	struct sbx_serve_exec_req x;
	struct sbx_err e;

	ck_assert_msg(exec_parse(bad_exec[_i].json, &x, &e) == SBX_EUSAGE,
	    "exec request '%s' accepted", bad_exec[_i].json);
	ck_assert_msg(strstr(e.msg, bad_exec[_i].why), "exec request '%s': "
	    "message '%s' does not say '%s'", bad_exec[_i].json, e.msg,
	    bad_exec[_i].why);
	ck_assert_ptr_null(x.argv);
}
END_TEST

START_TEST(test_create_parse)
{
	struct sbx_serve_create_bufs b = { SBX_STRVEC_INIT, SBX_STRVEC_INIT,
	    SBX_STRVEC_INIT };
	struct sbx_create_opts o;
	struct sbx_err e;
	json_t *j;

	j = json_loads("{\"template\": \"python\", \"name\": \"web\", "
	    "\"vcpus\": 2, \"memory\": \"512M\", \"disk\": 1073741824, "
	    "\"env\": [\"X=1\"], \"allow\": [\"example.org\"], "
	    "\"deny\": [\"10.0.0.0/8\", \"192.0.2.7\"]}", 0, NULL);
	ck_assert_int_eq(sbx_serve_create_parse(j, &o, &b, &e), 0);
	ck_assert_str_eq(o.template, "python");
	ck_assert_str_eq(o.name, "web");
	ck_assert_int_eq(o.vcpus, 2);
	ck_assert_uint_eq(o.memory, 512u << 20);
	ck_assert_uint_eq(o.disk, 1u << 30);
	ck_assert_int_eq(o.idle_timeout_ms, -1);
	ck_assert_ptr_eq(o.env, &b.env);
	ck_assert_str_eq(b.env.v[0], "X=1");
	ck_assert_int_eq(o.allow->nr, 1);
	ck_assert_str_eq(o.allow->v[0], "example.org");
	ck_assert_int_eq(o.deny->nr, 2);
	ck_assert_str_eq(o.deny->v[1], "192.0.2.7");
	ck_assert_int_eq(o.no_network, 0);
	json_decref(j);
	sbx_serve_create_bufs_clear(&b);
	j = json_loads("{\"no_network\": true}", 0, NULL);
	ck_assert_int_eq(sbx_serve_create_parse(j, &o, &b, &e), 0);
	ck_assert_int_eq(o.no_network, 1);
	json_decref(j);
	j = json_loads("{\"memory\": \"lots\"}", 0, NULL);
	ck_assert_int_eq(sbx_serve_create_parse(j, &o, &b, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "field 'memory'"), "message '%s'", e.msg);
	json_decref(j);
	j = json_loads("{\"vcpus\": 1000}", 0, NULL);
	ck_assert_int_eq(sbx_serve_create_parse(j, &o, &b, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "'vcpus'"), "message '%s'", e.msg);
	json_decref(j);
	j = json_loads("{\"deny\": [\"10.0.0.0/8\", 7]}", 0, NULL);
	ck_assert_int_eq(sbx_serve_create_parse(j, &o, &b, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "'deny[1]'"), "message '%s'", e.msg);
	json_decref(j);
	sbx_serve_create_bufs_clear(&b);
}
END_TEST

START_TEST(test_listen_parse)
{
	struct sbx_err e;
	unsigned port;
	char *host;

	ck_assert_int_eq(sbx_serve_listen_parse("127.0.0.1:7777", &host,
	    &port, &e), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 7777);
	free(host);
	ck_assert_int_eq(sbx_serve_listen_parse("[::1]:0", &host, &port, &e),
	    0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 0);
	free(host);
	ck_assert_int_eq(sbx_serve_listen_parse("localhost", &host, &port,
	    &e), SBX_EUSAGE);
	ck_assert_int_eq(sbx_serve_listen_parse("1.2.3.4:70000", &host, &port,
	    &e), SBX_EUSAGE);
	ck_assert_int_eq(sbx_serve_listen_parse(":80", &host, &port, &e),
	    SBX_EUSAGE);
}
END_TEST

START_TEST(test_status)
{
	ck_assert_uint_eq(sbx_serve_http_status(SBX_EUSAGE), 400);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_ENOENT), 404);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_EEXIST), 409);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_EBUSY), 409);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_EINVAL), 422);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_EPERM), 403);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_ENOTSUP), 501);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_ENET), 503);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_ETIMEDOUT), 504);
	ck_assert_uint_eq(sbx_serve_http_status(SBX_EIO), 500);
	ck_assert_uint_eq(sbx_serve_http_status(-999), 500);
	/* Names round-trip, so the remote backend gets the code back. */
	ck_assert_int_eq(sbx_serve_code_from_name(
	    sbx_errcode_name(SBX_ENOENT)), SBX_ENOENT);
	ck_assert_int_eq(sbx_serve_code_from_name(
	    sbx_errcode_name(SBX_ENOTSUP)), SBX_ENOTSUP);
	ck_assert_int_eq(sbx_serve_code_from_name(
	    sbx_errcode_name(SBX_EBUSY)), SBX_EBUSY);
	ck_assert_int_eq(sbx_serve_code_from_name("unauthorized"), SBX_EPERM);
	ck_assert_int_eq(sbx_serve_code_from_name("what"), SBX_EFAIL);
}
END_TEST

Suite *suite_serve(void)
{
	Suite *s = suite_create("serve");
	TCase *tc = tcase_create("request");

	tcase_add_loop_test(tc, test_path_good, 0,
	    sizeof(good_paths) / sizeof(good_paths[0]));
	tcase_add_loop_test(tc, test_path_bad, 0,
	    sizeof(bad_paths) / sizeof(bad_paths[0]));
	tcase_add_test(tc, test_path_too_long);
	tcase_add_test(tc, test_exec_good);
	tcase_add_loop_test(tc, test_exec_bad, 0,
	    sizeof(bad_exec) / sizeof(bad_exec[0]));
	tcase_add_test(tc, test_create_parse);
	tcase_add_test(tc, test_listen_parse);
	tcase_add_test(tc, test_status);
	suite_add_tcase(s, tc);
	return s;
}
