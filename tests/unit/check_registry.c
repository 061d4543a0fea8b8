/*
 * check_registry.c - sandbox ids, sandbox.json round trips and errors,
 * create/load/save/remove, name resolution and locks.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "unit.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "store/store.h"
#include "core/banned.h"

static struct sbx_store *
open_store(void)
{
	struct sbx_store *s;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_store_open(unit_tmpdir(), &s, &e), 0);
	return s;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

START_TEST(test_ids)
{
	enum { NIDS = 2000 };
	char **ids = xcalloc(NIDS, sizeof(char *));
	char id[SBX_SANDBOX_ID_SIZE];
	int i, j;

	for (i = 0; i < NIDS; i++) {
		sbx_sandbox_id_new(id);
		ck_assert_int_eq(strlen(id), 15);
		ck_assert_msg(sbx_sandbox_id_valid(id), "bad id '%s'", id);
		for (j = 3; j < 15; j++)
			ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyz234567",
			    id[j]), "'%s' is not base32", id);
		ids[i] = xstrdup(id);
	}
	qsort(ids, NIDS, sizeof(char *), cmp_str);
	for (i = 1; i < NIDS; i++)
		ck_assert_msg(strcmp(ids[i - 1], ids[i]), "duplicate id '%s'",
		    ids[i]);
	for (i = 0; i < NIDS; i++)
		free(ids[i]);
	free(ids);
	ck_assert(!sbx_sandbox_id_valid("sb-abcdefgh234"));
	ck_assert(!sbx_sandbox_id_valid("sb-abcdefgh23456"));
	ck_assert(!sbx_sandbox_id_valid("sb-abcdefgh2341"));
	ck_assert(!sbx_sandbox_id_valid("sb-ABCDEFGH2345"));
	ck_assert(!sbx_sandbox_id_valid("xx-abcdefgh2345"));
	ck_assert(!sbx_sandbox_id_valid(""));
	ck_assert(sbx_sandbox_id_valid("sb-abcdefgh2345"));
}
END_TEST

START_TEST(test_names)
{
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_sandbox_name_check("web", &e), 0);
	ck_assert_int_eq(sbx_sandbox_name_check("sb-web", &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "reserved for ids"), "%s", e.msg);
	ck_assert_int_eq(sbx_sandbox_name_check("a/b", &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "sandbox name 'a/b'"), "%s", e.msg);
}
END_TEST

/* A fully populated record. */
static void
fill(struct sbx_sandbox *sb)
{
	struct sbx_oid a, b;

	sbx_sandbox_init(sb);
	memcpy(sb->id, "sb-abcdefgh2345", SBX_SANDBOX_ID_SIZE);
	sbx_sandbox_set_name(sb, "web");
	sb->state = SBX_SB_HIBERNATED;
	sbx_sandbox_set_template(sb, "python");
	sbx_oid_hash("image", 5, &a);
	sbx_oid_hash("head", 4, &b);
	sbx_oid_to_hex(&a, sb->image);
	sbx_oid_to_hex(&b, sb->head);
	memcpy(sb->parent, "sb-zzzzzzzz2222", SBX_SANDBOX_ID_SIZE);
	sb->spec.vcpus = 2;
	sb->spec.memory = 512ULL << 20;
	sb->spec.disk = 8ULL << 30;
	sb->created = 1767323045;
	sb->updated = 1767323046;
	sbx_sandbox_add_port(sb, 8080, 80, "tcp");
	sbx_sandbox_add_port(sb, 5353, 53, "udp");
	sb->pid = 4242;
	json_object_set_new(sb->extra, "counter", json_integer(7));
}

START_TEST(test_json_roundtrip)
{
	struct sbx_sandbox a, b;
	struct sbx_err e;
	json_t *j, *j2;

	fill(&a);
	j = sbx_sandbox_to_json(&a);
	ck_assert_str_eq(json_string_value(json_object_get(j, "created")),
	    "2026-01-02T03:04:05Z");
	sbx_err_clear(&e);
	ck_assert_msg(sbx_sandbox_from_json(j, &b, "test", &e) == 0, "%s",
	    e.msg);
	ck_assert_str_eq(b.id, a.id);
	ck_assert_str_eq(b.name, "web");
	ck_assert_int_eq(b.state, SBX_SB_HIBERNATED);
	ck_assert_str_eq(b.template, "python");
	ck_assert_str_eq(b.image, a.image);
	ck_assert_str_eq(b.head, a.head);
	ck_assert_str_eq(b.parent, a.parent);
	ck_assert_int_eq(b.spec.vcpus, 2);
	ck_assert(b.spec.memory == a.spec.memory && b.spec.disk ==
	    a.spec.disk);
	ck_assert(b.created == a.created && b.updated == a.updated);
	ck_assert_int_eq(b.nports, 2);
	ck_assert_int_eq(b.ports[1].host, 5353);
	ck_assert_str_eq(b.ports[1].proto, "udp");
	ck_assert_int_eq(b.pid, 4242);
	ck_assert_int_eq(json_integer_value(json_object_get(b.extra,
	    "counter")), 7);
	j2 = sbx_sandbox_to_json(&b);
	ck_assert(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	sbx_sandbox_release(&a);
	sbx_sandbox_release(&b);
	/* A minimal record leaves optional fields out. */
	sbx_sandbox_init(&a);
	memcpy(a.id, "sb-abcdefgh2345", SBX_SANDBOX_ID_SIZE);
	j = sbx_sandbox_to_json(&a);
	ck_assert(!json_object_get(j, "name") && !json_object_get(j, "image")
	    && !json_object_get(j, "ports") && !json_object_get(j, "extra"));
	ck_assert_int_eq(sbx_sandbox_from_json(j, &b, "test", &e), 0);
	ck_assert(b.name == NULL && b.image[0] == '\0');
	json_decref(j);
	sbx_sandbox_release(&a);
	sbx_sandbox_release(&b);
}
END_TEST

static const struct {
	const char *field;	/* dotted path to change ("spec.vcpus") */
	const char *json;	/* new value, NULL = delete */
	const char *msg;
} bad_records[] = {
	{ "state", "\"sleeping\"", "unknown sandbox state 'sleeping'" },
	{ "state", NULL, "field 'state' is missing" },
	{ "id", "\"sb-1\"", "field 'id' is not a sandbox id" },
	{ "version", "2", "schema version 2 is not supported" },
	{ "image", "\"abc\"", "field 'image' is not an object id" },
	{ "spec", "[]", "field 'spec' must be an object" },
	{ "spec.vcpus", "-1", "field 'spec.vcpus' must be an integer" },
	{ "spec.memory", "\"512M\"", "field 'spec.memory' must be an integer" },
	{ "created", "\"yesterday\"", "field 'created' is not a UTC time" },
	{ "ports", "[{\"host\":0,\"guest\":80}]",
	  "field 'ports[0].host' must be an integer from 1 to 65535" },
	{ "ports", "[{\"host\":1,\"guest\":80,\"proto\":\"sctp\"}]",
	  "'ports[0].proto' must be \"tcp\" or \"udp\"" },
	{ "extra", "3", "field 'extra' must be an object" },
	{ "colour", "\"red\"", "unknown field 'colour'" },
	{ "name", "\"a b\"", "sandbox name 'a b' contains ' '" },
	{ "parent", "\"mom\"", "field 'parent' is not a sandbox id" },
	{ "pid", "\"x\"", "field 'pid' must be an integer" },
};

START_TEST(test_json_bad)
{
	struct sbx_sandbox a, b;
	struct sbx_err e;
	json_t *j, *parent, *v;
	char *key, *dot;

	fill(&a);
	j = sbx_sandbox_to_json(&a);
	key = xstrdup(bad_records[_i].field);
	parent = j;
	dot = strchr(key, '.');
	if (dot) {
		*dot = '\0';
		parent = json_object_get(j, key);
		memmove(key, dot + 1, strlen(dot + 1) + 1);
	}
	if (bad_records[_i].json) {
		v = json_loads(bad_records[_i].json, JSON_DECODE_ANY, NULL);
		ck_assert(v != NULL);
		json_object_set_new(parent, key, v);
	} else {
		json_object_del(parent, key);
	}
	sbx_err_clear(&e);
	ck_assert_msg(sbx_sandbox_from_json(j, &b, "'x.json'", &e) ==
	    SBX_ECORRUPT, "bad '%s' accepted", bad_records[_i].field);
	ck_assert_msg(strstr(e.msg, bad_records[_i].msg) != NULL,
	    "'%s': message '%s' lacks '%s'", bad_records[_i].field, e.msg,
	    bad_records[_i].msg);
	ck_assert_msg(!strncmp(e.msg, "'x.json'", 8), "no location: %s",
	    e.msg);
	free(key);
	json_decref(j);
	sbx_sandbox_release(&a);
	sbx_sandbox_release(&b);
}
END_TEST

START_TEST(test_create_load_save)
{
	struct sbx_store *s = open_store();
	struct sbx_sandbox sb, back, dup;
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_err e;
	struct stat st;
	char *p;

	sbx_err_clear(&e);
	sbx_sandbox_init(&sb);
	sbx_sandbox_set_name(&sb, "web");
	sb.spec.vcpus = 1;
	ck_assert_msg(sbx_sandbox_create(s, &sb, &e) == 0, "%s", e.msg);
	ck_assert(sbx_sandbox_id_valid(sb.id));
	ck_assert(sb.created > 0);
	p = xasprintf("%s/sandboxes/%s/sandbox.json", sbx_store_home(s),
	    sb.id);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(sbx_sandbox_load(s, sb.id, &back, &e), 0);
	ck_assert_str_eq(back.name, "web");
	ck_assert_int_eq(back.state, SBX_SB_CREATING);
	back.state = SBX_SB_RUNNING;
	back.pid = 99;
	ck_assert_int_eq(sbx_sandbox_save(s, &back, &e), 0);
	sbx_sandbox_release(&back);
	ck_assert_int_eq(sbx_sandbox_load(s, sb.id, &back, &e), 0);
	ck_assert_int_eq(back.state, SBX_SB_RUNNING);
	ck_assert_int_eq(back.pid, 99);
	sbx_sandbox_release(&back);
	/* Same name again: refused; same id again: refused. */
	sbx_sandbox_init(&dup);
	sbx_sandbox_set_name(&dup, "web");
	ck_assert_int_eq(sbx_sandbox_create(s, &dup, &e), SBX_EEXIST);
	ck_assert_msg(strstr(e.msg, "'web' already exists"), "%s", e.msg);
	sbx_sandbox_set_name(&dup, NULL);
	memcpy(dup.id, sb.id, SBX_SANDBOX_ID_SIZE);
	ck_assert_int_eq(sbx_sandbox_create(s, &dup, &e), SBX_EEXIST);
	sbx_sandbox_release(&dup);
	/* Rename: to a free name works, to a taken one does not. */
	sbx_sandbox_init(&dup);
	sbx_sandbox_set_name(&dup, "db");
	ck_assert_int_eq(sbx_sandbox_create(s, &dup, &e), 0);
	ck_assert_int_eq(sbx_sandbox_rename(s, &dup, "web", &e), SBX_EEXIST);
	ck_assert_str_eq(dup.name, "db");
	ck_assert_int_eq(sbx_sandbox_rename(s, &dup, "cache", &e), 0);
	ck_assert_int_eq(sbx_sandbox_list(s, &ids, &e), 0);
	ck_assert_int_eq(ids.nr, 2);
	ck_assert(strcmp(ids.v[0], ids.v[1]) < 0);
	sbx_strvec_clear(&ids);
	/* Save of a sandbox that does not exist. */
	memcpy(dup.id, "sb-aaaaaaaaaaaa", SBX_SANDBOX_ID_SIZE);
	ck_assert_int_eq(sbx_sandbox_save(s, &dup, &e), SBX_ENOENT);
	sbx_sandbox_release(&dup);
	free(p);
	sbx_sandbox_release(&sb);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_load_errors)
{
	struct sbx_store *s = open_store();
	struct sbx_sandbox sb, back;
	struct sbx_err e;
	char *p;
	int fd;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_sandbox_load(s, "sb-aaaaaaaaaaaa", &back, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'sb-aaaaaaaaaaaa'");
	sbx_sandbox_release(&back);
	ck_assert_int_eq(sbx_sandbox_load(s, "../../etc", &back, &e),
	    SBX_EINVAL);
	sbx_sandbox_release(&back);
	sbx_sandbox_init(&sb);
	ck_assert_int_eq(sbx_sandbox_create(s, &sb, &e), 0);
	p = xasprintf("%s/sandboxes/%s/sandbox.json", sbx_store_home(s),
	    sb.id);
	/* Torn JSON: the message names the file, line and column. */
	fd = open(p, O_WRONLY | O_TRUNC);
	ck_assert(write(fd, "{\n  \"id\": ", 10) == 10);
	close(fd);
	ck_assert_int_eq(sbx_sandbox_load(s, sb.id, &back, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, p) && strstr(e.msg, "line 2"),
	    "message should name '%s' and line 2: %s", p, e.msg);
	ck_assert(e.hint[0] != '\0');
	sbx_sandbox_release(&back);
	/* Valid JSON, wrong schema: names the path and the field. */
	fd = open(p, O_WRONLY | O_TRUNC);
	ck_assert(write(fd, "{\"version\":1}", 13) == 13);
	close(fd);
	ck_assert_int_eq(sbx_sandbox_load(s, sb.id, &back, &e), SBX_ECORRUPT);
	ck_assert_msg(strstr(e.msg, p) && strstr(e.msg, "'id' is missing"),
	    "%s", e.msg);
	sbx_sandbox_release(&back);
	free(p);
	sbx_sandbox_release(&sb);
	sbx_store_close(s);
}
END_TEST

/* Creates a sandbox with a fixed id and optional name. */
static void
make(struct sbx_store *s, const char *id, const char *name)
{
	struct sbx_sandbox sb;
	struct sbx_err e;

	sbx_err_clear(&e);
	sbx_sandbox_init(&sb);
	memcpy(sb.id, id, SBX_SANDBOX_ID_SIZE);
	sbx_sandbox_set_name(&sb, name);
	ck_assert_msg(sbx_sandbox_create(s, &sb, &e) == 0, "%s", e.msg);
	sbx_sandbox_release(&sb);
}

START_TEST(test_resolve)
{
	struct sbx_store *s = open_store();
	char id[SBX_SANDBOX_ID_SIZE];
	struct sbx_err e;

	make(s, "sb-aaaabbbbcccc", "web");
	make(s, "sb-aaaaddddeeee", NULL);
	make(s, "sb-qqqqrrrrssss", "aaaa");
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_sandbox_resolve(s, "sb-aaaaddddeeee", id, &e), 0);
	ck_assert_str_eq(id, "sb-aaaaddddeeee");
	ck_assert_int_eq(sbx_sandbox_resolve(s, "web", id, &e), 0);
	ck_assert_str_eq(id, "sb-aaaabbbbcccc");
	/* A name wins over an id prefix. */
	ck_assert_int_eq(sbx_sandbox_resolve(s, "aaaa", id, &e), 0);
	ck_assert_str_eq(id, "sb-qqqqrrrrssss");
	ck_assert_int_eq(sbx_sandbox_resolve(s, "aaaab", id, &e), 0);
	ck_assert_str_eq(id, "sb-aaaabbbbcccc");
	ck_assert_int_eq(sbx_sandbox_resolve(s, "sb-aaaad", id, &e), 0);
	ck_assert_str_eq(id, "sb-aaaaddddeeee");
	ck_assert_int_eq(sbx_sandbox_resolve(s, "qqqq", id, &e), 0);
	ck_assert_str_eq(id, "sb-qqqqrrrrssss");
	ck_assert_int_eq(sbx_sandbox_resolve(s, "sb-aaaa", id, &e),
	    SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "ambiguous") &&
	    strstr(e.msg, "sb-aaaabbbbcccc") && strstr(e.msg, "sb-aaaaddddeeee"),
	    "%s", e.msg);
	ck_assert_int_eq(sbx_sandbox_resolve(s, "qqq", id, &e), SBX_EUSAGE);
	ck_assert_msg(strstr(e.msg, "too short"), "%s", e.msg);
	ck_assert_int_eq(sbx_sandbox_resolve(s, "zzzz", id, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no sandbox 'zzzz'");
	ck_assert_int_eq(sbx_sandbox_resolve(s, "", id, &e), SBX_EUSAGE);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_lock_remove)
{
	struct sbx_store *s = open_store();
	struct sbx_sandbox_lock *l, *l2;
	struct sbx_sandbox back;
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_err e;
	char *dir;

	make(s, "sb-aaaabbbbcccc", NULL);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_sandbox_lock(s, "sb-aaaabbbbcccc", 1000, &l, &e),
	    0);
	/* A second holder times out with a clear message. */
	ck_assert_int_eq(sbx_sandbox_lock(s, "sb-aaaabbbbcccc", 50, &l2, &e),
	    SBX_EBUSY);
	ck_assert_str_eq(e.msg, "sandbox 'sb-aaaabbbbcccc' is busy");
	ck_assert(l2 == NULL);
	ck_assert_int_eq(sbx_sandbox_remove(s, "sb-aaaabbbbcccc", &e), 0);
	sbx_sandbox_unlock(l);
	dir = sbx_sandbox_dir(s, "sb-aaaabbbbcccc");
	ck_assert(access(dir, F_OK) < 0);
	free(dir);
	ck_assert_int_eq(sbx_sandbox_load(s, "sb-aaaabbbbcccc", &back, &e),
	    SBX_ENOENT);
	sbx_sandbox_release(&back);
	ck_assert_int_eq(sbx_sandbox_lock(s, "sb-aaaabbbbcccc", 50, &l, &e),
	    SBX_ENOENT);
	ck_assert_int_eq(sbx_sandbox_remove(s, "sb-aaaabbbbcccc", &e),
	    SBX_ENOENT);
	ck_assert_int_eq(sbx_sandbox_lock(s, "nope", 50, &l, &e), SBX_EINVAL);
	ck_assert_int_eq(sbx_sandbox_list(s, &ids, &e), 0);
	ck_assert_int_eq(ids.nr, 0);
	/* Nothing of it is left in tmp/ either. */
	dir = sbx_store_path(s, "tmp");
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
	sbx_store_close(s);
}
END_TEST

START_TEST(test_states)
{
	enum sbx_sandbox_state st;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_sandbox_state_parse("paused", &st, &e), 0);
	ck_assert_int_eq(st, SBX_SB_PAUSED);
	ck_assert_str_eq(sbx_sandbox_state_name(SBX_SB_STOPPED), "stopped");
	ck_assert_int_eq(sbx_sandbox_state_parse("Paused", &st, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "'Paused'"), "%s", e.msg);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

Suite *suite_registry(void)
{
	Suite *s = suite_create("registry");
	TCase *tc = tcase_create("registry");

	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_states);
	tcase_add_test(tc, test_json_roundtrip);
	tcase_add_loop_test(tc, test_json_bad, 0, N(bad_records));
	tcase_add_test(tc, test_create_load_save);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_resolve);
	tcase_add_test(tc, test_lock_remove);
	suite_add_tcase(s, tc);
	return s;
}
