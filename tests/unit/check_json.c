/* check_json.c - loading with caps and locations, printing, getters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/banned.h"

static json_t *
load(const char *text)
{
	struct sbx_err e;
	json_t *j = NULL;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_json_load(text, strlen(text), 0, NULL, &j, &e) == 0,
	    "load '%s': %s", text, e.msg);
	return j;
}

START_TEST(test_load_errors)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "{\"a\": 1,\n  \"b\": x}", "'t.json': invalid JSON at line 2, "
		    "column 8: invalid token near 'x'" },
		{ "{\"a\": 1, \"a\": 2}", "'t.json': invalid JSON at line 1, "
		    "column 12: duplicate object key near '\"a\"'" },
		{ "", "'t.json': invalid JSON at line 1, column 0: "
		    "'[' or '{' expected near end of file" },
		{ "42", "'t.json': invalid JSON at line 1, column 2: "
		    "'[' or '{' expected near '42'" },
		{ "{} x", "'t.json': invalid JSON at line 1, column 4: "
		    "end of file expected near 'x'" },
		{ "[1,", "'t.json': invalid JSON at line 1, column 3: "
		    "']' expected near end of file" },
	};
	struct sbx_err e;
	json_t *j = (json_t *)1;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbx_err_clear(&e);
		ck_assert_msg(sbx_json_load(cases[i].in, strlen(cases[i].in),
		    0, "t.json", &j, &e) == SBX_EINVAL, "load '%s' succeeded",
		    cases[i].in);
		ck_assert_msg(!strcmp(e.msg, cases[i].want),
		    "load '%s': got \"%s\", want \"%s\"", cases[i].in, e.msg,
		    cases[i].want);
		ck_assert_ptr_eq(j, (json_t *)1);
	}
	/* Without a name. */
	ck_assert_int_eq(sbx_json_load("{", 1, 0, NULL, &j, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "invalid JSON at line 1, column 1: string or "
	    "'}' expected near end of file");
	/* Embedded NUL stops at the NUL, not past it. */
	ck_assert_int_eq(sbx_json_load("{}\0{}", 5, 0, NULL, &j, &e),
	    SBX_EINVAL);
}
END_TEST

START_TEST(test_load_cap)
{
	struct sbx_err e;
	json_t *j = NULL;
	const char *doc = "{\"k\": \"0123456789\"}";

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_json_load(doc, strlen(doc), 10, "body", &j, &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "'body': JSON document larger than 10B");
	ck_assert_int_eq(sbx_json_load(doc, strlen(doc), strlen(doc), "body",
	    &j, &e), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "k")),
	    "0123456789");
	json_decref(j);
}
END_TEST

START_TEST(test_load_file)
{
	const char *dir = unit_tmpdir();
	char path[512], want[600];
	struct sbx_err e;
	json_t *j = NULL;
	FILE *f;

	sbx_err_clear(&e);
	snprintf(path, sizeof(path), "%s/s.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\n  \"spec\": {\"vcpus\": 2}\n}\n", f);
	fclose(f);
	ck_assert_int_eq(sbx_json_load_file(path, 0, &j, &e), 0);
	json_decref(j);
	ck_assert_int_eq(sbx_json_load_file(path, 8, &j, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), "'%s': JSON document larger than 8B",
	    path);
	ck_assert_str_eq(e.msg, want);
	f = fopen(path, "w");
	fputs("{\n  \"spec\": {\"vcpus\": 2,}\n}\n", f);
	fclose(f);
	ck_assert_int_eq(sbx_json_load_file(path, 0, &j, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), "'%s': invalid JSON at line 2, column 23"
	    ": string or '}' expected near '}'", path);
	ck_assert_str_eq(e.msg, want);
	snprintf(path, sizeof(path), "%s/missing.json", dir);
	ck_assert_int_eq(sbx_json_load_file(path, 0, &j, &e), SBX_EIO);
}
END_TEST

START_TEST(test_print)
{
	struct sbx_buf b = SBX_BUF_INIT;
	json_t *j = json_object();
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	sbx_json_set(j, "zeta", json_integer(1));
	sbx_json_set(j, "alpha", json_pack("[s,b,n]", "a/b", 1));
	sbx_json_set(j, "mid", json_string("h\xc3\xa9"));
	ck_assert_int_eq(sbx_json_dump_buf(&b, j, SBX_JSON_PRETTY, NULL), 0);
	ck_assert_str_eq(b.buf, "{\n  \"zeta\": 1,\n  \"alpha\": [\n"
	    "    \"a/b\",\n    true,\n    null\n  ],\n  \"mid\": \"h\xc3\xa9\""
	    "\n}\n");
	sbx_buf_reset(&b);
	ck_assert_int_eq(sbx_json_dump_buf(&b, j, SBX_JSON_COMPACT |
	    SBX_JSON_SORTED, NULL), 0);
	ck_assert_str_eq(b.buf, "{\"alpha\":[\"a/b\",true,null],\"mid\":"
	    "\"h\xc3\xa9\",\"zeta\":1}\n");
	sbx_buf_reset(&b);
	ck_assert_int_eq(sbx_json_dump_buf(&b, json_object_get(j, "zeta"), 0,
	    NULL), 0);
	ck_assert_str_eq(b.buf, "1\n");
	f = open_memstream(&text, &len);
	ck_assert_int_eq(sbx_json_print(f, j, SBX_JSON_COMPACT, NULL), 0);
	fclose(f);
	ck_assert_str_eq(text, "{\"zeta\":1,\"alpha\":[\"a/b\",true,null],"
	    "\"mid\":\"h\xc3\xa9\"}\n");
	free(text);
	/* A capped buffer refuses without keeping half a document. */
	sbx_buf_release(&b);
	b.cap = 10;
	sbx_buf_addstr(&b, "x");
	ck_assert_int_eq(sbx_json_dump_buf(&b, j, 0, NULL), SBX_EINVAL);
	ck_assert_str_eq(b.buf, "x");
	sbx_buf_release(&b);
	json_decref(j);
}
END_TEST

static const char doc[] =
	"{\"id\": \"sb-1\", \"spec\": {\"vcpus\": 2, \"mem\": \"512M\", "
	"\"ok\": true, \"ratio\": 0.5, \"none\": null},"
	" \"ports\": [{\"host\": 8080}, {\"host\": \"x\"}], \"n\": 5}";

START_TEST(test_getters)
{
	json_t *j = load(doc), *o = NULL, *a = NULL;
	struct sbx_err e;
	const char *s = NULL;
	long long n = -1;
	double d = 0;
	int b = 0;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_json_get_str(j, "id", &s, &e), 0);
	ck_assert_str_eq(s, "sb-1");
	ck_assert_int_eq(sbx_json_get_int(j, "spec.vcpus", 1, 64, &n, &e), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(sbx_json_get_bool(j, "spec.ok", &b, &e), 0);
	ck_assert_int_eq(b, 1);
	ck_assert_int_eq(sbx_json_get_num(j, "spec.ratio", &d, &e), 0);
	ck_assert(d == 0.5);
	ck_assert_int_eq(sbx_json_get_num(j, "n", &d, &e), 0);
	ck_assert(d == 5.0);
	ck_assert_int_eq(sbx_json_get_int(j, "ports[0].host", 1, 65535, &n,
	    &e), 0);
	ck_assert_int_eq(n, 8080);
	ck_assert_int_eq(sbx_json_get_obj(j, "spec", &o, &e), 0);
	ck_assert_ptr_eq(o, json_object_get(j, "spec"));
	ck_assert_int_eq(sbx_json_get_arr(j, "ports", &a, &e), 0);
	ck_assert_uint_eq(json_array_size(a), 2);
	ck_assert_ptr_eq(sbx_json_at(j, "ports[1].host"),
	    json_object_get(json_array_get(a, 1), "host"));
	ck_assert_ptr_eq(sbx_json_at(j, ""), j);
	ck_assert_ptr_null(sbx_json_at(j, "spec.none"));
	ck_assert_ptr_null(sbx_json_at(j, "ports[2]"));
	ck_assert_ptr_null(sbx_json_at(j, "ports[99999999999999999999999]"));
	json_decref(j);
}
END_TEST

/* Every failure names the path and what was expected. */
START_TEST(test_getter_errors)
{
	static const struct {
		const char *path, *want;
		int code;
	} cases[] = {
		{ "spec.vcpus2", "missing field 'spec.vcpus2'", SBX_ENOENT },
		{ "spec.none", "missing field 'spec.none'", SBX_ENOENT },
		{ "spec.mem", "field 'spec.mem' must be an integer", SBX_EINVAL },
		{ "spec.ratio", "field 'spec.ratio' must be an integer",
		    SBX_EINVAL },
		{ "id.x", "field 'id' must be an object", SBX_EINVAL },
		{ "spec[0]", "field 'spec' must be an array", SBX_EINVAL },
		{ "ports[1].host", "field 'ports[1].host' must be an integer",
		    SBX_EINVAL },
		{ "ports[5].host", "missing field 'ports[5].host'", SBX_ENOENT },
		{ "ports.host", "field 'ports' must be an object", SBX_EINVAL },
		{ "[0]", "the document must be an array", SBX_EINVAL },
		{ "n", "field 'n' must be between 1 and 4 (is 5)", SBX_EINVAL },
		{ "spec..vcpus", "bad JSON path 'spec..vcpus'", SBX_EINVAL },
		{ "ports[x]", "bad JSON path 'ports[x]'", SBX_EINVAL },
		{ "ports[0]host", "bad JSON path 'ports[0]host'", SBX_EINVAL },
		{ "spec.", "bad JSON path 'spec.'", SBX_EINVAL },
	};
	json_t *j = load(doc);
	struct sbx_err e;
	long long n = 77;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbx_err_clear(&e);
		rc = sbx_json_get_int(j, cases[i].path, 1, 4, &n, &e);
		ck_assert_msg(rc == cases[i].code && !strcmp(e.msg,
		    cases[i].want), "get_int '%s': rc %d \"%s\", want %d \"%s\"",
		    cases[i].path, rc, e.msg, cases[i].code, cases[i].want);
		ck_assert_int_eq(n, 77);
	}
	{
		const char *s = NULL;
		json_t *o = NULL;
		int b = 9;

		ck_assert_int_eq(sbx_json_get_str(j, "n", &s, &e), SBX_EINVAL);
		ck_assert_str_eq(e.msg, "field 'n' must be a string");
		ck_assert_int_eq(sbx_json_get_bool(j, "id", &b, &e),
		    SBX_EINVAL);
		ck_assert_str_eq(e.msg, "field 'id' must be true or false");
		ck_assert_int_eq(sbx_json_get_obj(j, "ports", &o, &e),
		    SBX_EINVAL);
		ck_assert_str_eq(e.msg, "field 'ports' must be an object");
		ck_assert_int_eq(sbx_json_get_arr(j, "spec", &o, &e),
		    SBX_EINVAL);
		ck_assert_str_eq(e.msg, "field 'spec' must be an array");
		ck_assert_ptr_null(s);
		ck_assert_ptr_null(o);
		ck_assert_int_eq(b, 9);
	}
	json_decref(j);
}
END_TEST

START_TEST(test_optional)
{
	json_t *j = load(doc), *o = (json_t *)1;
	struct sbx_err e;
	const char *s = "default";
	long long n = 4;
	int b = 0;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_json_opt_str(j, "spec.name", &s, &e), 0);
	ck_assert_str_eq(s, "default");
	ck_assert_int_eq(sbx_json_opt_int(j, "spec.none", 0, 9, &n, &e), 0);
	ck_assert_int_eq(n, 4);
	ck_assert_int_eq(sbx_json_opt_int(j, "spec.vcpus", 0, 9, &n, &e), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(sbx_json_opt_bool(j, "nope.x", &b, &e), 0);
	ck_assert_int_eq(sbx_json_opt_obj(j, "nope", &o, &e), 0);
	ck_assert_int_eq(sbx_json_opt_arr(j, "nope", &o, &e), 0);
	ck_assert_ptr_eq(o, (json_t *)1);
	/* Present with the wrong type is still an error. */
	ck_assert_int_eq(sbx_json_opt_str(j, "spec.vcpus", &s, &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "field 'spec.vcpus' must be a string");
	ck_assert_int_eq(sbx_json_opt_int(j, "id.x", 0, 1, &n, &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "field 'id' must be an object");
	json_decref(j);
}
END_TEST

START_TEST(test_string_and_set)
{
	json_t *o = json_object(), *s;
	struct sbx_buf b = SBX_BUF_INIT;

	s = sbx_json_string("ok\xff\xc3(", 5);
	ck_assert_str_eq(json_string_value(s), "ok\xef\xbf\xbd\xef\xbf\xbd(");
	ck_assert_int_eq(sbx_json_set(o, "s", s), 0);
	s = sbx_json_string("a\0b", 3);
	ck_assert_uint_eq(json_string_length(s), 3);
	ck_assert_int_eq(sbx_json_set(o, "nul", s), 0);
	ck_assert_int_eq(sbx_json_set(o, "bad", json_string("\xff")),
	    SBX_EINVAL);
	ck_assert_int_eq(sbx_json_set(o, "\xff", json_integer(1)),
	    SBX_EINVAL);
	s = json_array();
	ck_assert_int_eq(sbx_json_set(s, "k", json_integer(1)), SBX_EINVAL);
	json_decref(s);
	ck_assert_int_eq(sbx_json_dump_buf(&b, o, SBX_JSON_COMPACT, NULL), 0);
	ck_assert_str_eq(b.buf, "{\"s\":\"ok\xef\xbf\xbd\xef\xbf\xbd(\","
	    "\"nul\":\"a\\u0000b\"}\n");
	sbx_buf_release(&b);
	json_decref(o);
}
END_TEST

Suite *suite_json(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("json");

	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_load_cap);
	tcase_add_test(tc, test_load_file);
	tcase_add_test(tc, test_print);
	tcase_add_test(tc, test_getters);
	tcase_add_test(tc, test_getter_errors);
	tcase_add_test(tc, test_optional);
	tcase_add_test(tc, test_string_and_set);
	suite_add_tcase(s, tc);
	return s;
}
