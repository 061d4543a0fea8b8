/*
 * check_template.c - template parsing, validation messages, canonical
 * hash and lookup. Data files live in tests/data/templates (found through
 * $SBX_TOP_SRCDIR, which `make check` sets).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "template/check.h"
#include "template/template.h"
#include "unit.h"
#include "core/banned.h"

static const char *
srcdir(void)
{
	const char *s = getenv("SBX_TOP_SRCDIR");

	ck_assert_msg(s && *s, "SBX_TOP_SRCDIR must point at the source tree "
	    "(make check sets it)");
	return s;
}

static char *
data_path(const char *rel)
{
	return xasprintf("%s/tests/data/templates/%s", srcdir(), rel);
}

static struct sbx_template *
load_ok(const char *path)
{
	struct sbx_template *t = NULL;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_template_load(path, &t, &e) == 0,
	    "'%s' should be valid: %s", path, e.msg);
	return t;
}

static struct sbx_template *
parse_ok(const char *yaml)
{
	struct sbx_template *t = NULL;
	struct sbx_err e;

	sbx_err_clear(&e);
	ck_assert_msg(sbx_template_parse(yaml, strlen(yaml), "mem.yaml", "/d",
	    &t, &e) == 0, "should be valid: %s\n%s", e.msg, yaml);
	return t;
}

/* Parses `yaml`, expecting failure; returns the code, `e` the message. */
static int
parse_err(const char *yaml, const char *path, struct sbx_err *e)
{
	struct sbx_template *t = NULL;
	int rc;

	sbx_err_clear(e);
	rc = sbx_template_parse(yaml, strlen(yaml), path, "", &t, e);
	ck_assert_msg(rc < 0, "'%s' should be rejected:\n%s", path, yaml);
	ck_assert_ptr_null(t);
	return rc;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f != NULL, "cannot write '%s'", path);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_shipped_templates)
{
	char *base = xasprintf("%s/templates/base.yaml", srcdir());
	char *py = xasprintf("%s/templates/python.yaml", srcdir());
	struct sbx_template *t = load_ok(base);
	size_t i;
	int has_bash = 0;

	ck_assert_str_eq(t->name, "base");
	ck_assert_int_eq(t->from.kind, SBX_FROM_DEBIAN);
	ck_assert_str_eq(t->from.suite, "bookworm");
	for (i = 0; i < t->from.packages.nr; i++)
		if (!strcmp(t->from.packages.v[i], "bash"))
			has_bash = 1;
	ck_assert_msg(has_bash, "base.yaml must install bash");
	ck_assert_uint_eq(t->resources.vcpus, SBX_TEMPLATE_DEF_VCPUS);
	ck_assert_uint_eq(t->resources.memory, 1ULL << 30);
	ck_assert_uint_eq(t->resources.disk, 2ULL << 30);
	ck_assert_uint_eq(t->idle_timeout_ms, 300000);
	sbx_template_free(t);
	t = load_ok(py);
	ck_assert_str_eq(t->name, "python");
	ck_assert_ptr_nonnull(sbx_strvec_getenv(&t->env, "VIRTUAL_ENV"));
	sbx_template_free(t);
	free(base);
	free(py);
}
END_TEST

START_TEST(test_builtin_is_base_yaml)
{
	char *base = xasprintf("%s/templates/base.yaml", srcdir());
	struct sbx_buf file = SBX_BUF_INIT;
	const char *text;
	size_t len;

	text = sbx_template_builtin("base", &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(sbx_buf_read_file(&file, base, NULL), 0);
	ck_assert_msg(len == file.len && !memcmp(text, file.buf, len),
	    "builtin 'base' differs from '%s': rebuild", base);
	ck_assert_ptr_null(sbx_template_builtin("nope", &len));
	sbx_buf_release(&file);
	free(base);
}
END_TEST

START_TEST(test_full_template)
{
	char *path = data_path("good/full.yaml");
	char *dir = data_path("good");
	char *real = realpath(dir, NULL);
	char *want;
	struct sbx_template *t = load_ok(path);

	ck_assert_str_eq(t->name, "web-app");
	ck_assert_str_eq(t->description, "A web application\non two lines\n");
	ck_assert_int_eq(t->from.kind, SBX_FROM_TAR);
	want = xasprintf("%s/rootfs/app.tar.gz", real);
	ck_assert_str_eq(t->from.path, want);
	free(want);
	ck_assert_uint_eq(t->nfiles, 2);
	want = xasprintf("%s/app/", real);
	ck_assert_str_eq(t->files[0].src, want);
	free(want);
	ck_assert_str_eq(t->files[0].dst, "/srv/app");
	ck_assert_int_eq(t->files[0].has_mode, 1);
	ck_assert_uint_eq(t->files[0].mode, 0755);
	ck_assert_str_eq(t->files[0].owner, "app:app");
	ck_assert_str_eq(t->files[1].src, "/etc/hosts");
	ck_assert_int_eq(t->files[1].has_mode, 0);
	ck_assert_str_eq(sbx_strvec_getenv(&t->env, "PORT"), "8080");
	ck_assert_str_eq(sbx_strvec_getenv(&t->env, "DEBUG"), "");
	ck_assert_str_eq(t->workdir, "/srv/app");
	ck_assert_str_eq(t->user, "app");
	ck_assert_uint_eq(t->nrun, 2);
	ck_assert_str_eq(t->run[0].command, "apt-get update");
	ck_assert_ptr_null(t->run[0].workdir);
	ck_assert_str_eq(t->run[1].command, "make install");
	ck_assert_str_eq(t->run[1].workdir, "/srv/app/src");
	ck_assert_str_eq(t->run[1].user, "0");
	ck_assert_str_eq(sbx_strvec_getenv(&t->run[1].env, "JOBS"), "4");
	ck_assert_str_eq(t->start, "./server --port 8080");
	ck_assert_int_eq(t->ready.kind, SBX_READY_PORT);
	ck_assert_uint_eq(t->ready.port, 8080);
	ck_assert_uint_eq(t->ready.timeout_ms, 90000);
	ck_assert_uint_eq(t->resources.vcpus, 4);
	ck_assert_uint_eq(t->resources.memory, 2ULL << 30);
	ck_assert_uint_eq(t->resources.disk, 10ULL << 30);
	ck_assert_uint_eq(t->idle_timeout_ms, 0);
	ck_assert_uint_eq(t->nports, 2);
	ck_assert_uint_eq(t->ports[1], 9090);
	want = xasprintf("%.*s/kernels/vmlinuz",
	    (int)(strrchr(real, '/') - real), real);
	ck_assert_str_eq(t->kernel, want);
	free(want);
	ck_assert_uint_eq(t->net_allow.nr, 4);
	ck_assert_str_eq(t->net_allow.v[3], "2001:db8::/32");
	ck_assert_str_eq(t->net_deny.v[0], "169.254.169.254");
	sbx_template_free(t);
	free(real);
	free(dir);
	free(path);
}
END_TEST

/* Each bad file and the exact message after "PATH:". */
static const struct {
	const char *file;
	const char *msg;
} bad_cases[] = {
	{ "from-typo.yaml", "4:3: unknown key 'pakages' in 'from' "
	  "(did you mean 'packages'?)" },
	{ "top-typo.yaml", "3:1: unknown key 'resorces' "
	  "(did you mean 'resources'?)" },
	{ "unknown-key.yaml", "5:3: unknown key 'interval' in 'ready' "
	  "(expected port, file, command, delay or timeout)" },
	{ "duplicate-key.yaml", "5:1: duplicate key 'name' "
	  "(first at line 1)" },
	{ "syntax.yaml", "4:1: invalid YAML: found unexpected end of stream "
	  "(while scanning a quoted scalar at line 3)" },
	{ "syntax-indent.yaml", "3:2: invalid YAML: did not find expected "
	  "key (while parsing a block mapping at line 1)" },
	{ "vcpus-range.yaml", "4:10: 'resources.vcpus' must be from 1 to "
	  "64, not 100" },
	{ "vcpus-type.yaml", "4:10: 'resources.vcpus' must be an integer, "
	  "not 'two'" },
	{ "memory-small.yaml", "4:11: 'resources.memory' must be from 128M "
	  "to 256G, not 64M" },
	{ "disk-units.yaml", "4:9: 'resources.disk' must be a size like "
	  "512M or 2G, not '10 gigs'" },
	{ "port-range.yaml", "3:15: 'ports' must be from 1 to 65535, "
	  "not 70000" },
	{ "port-dup.yaml", "6:5: duplicate port 3000 in 'ports'" },
	{ "from-two.yaml", "3:3: 'from' has both 'tar' and 'oci' "
	  "(use exactly one)" },
	{ "from-empty.yaml", "2:7: 'from' needs one of 'debian', 'tar', "
	  "'oci' or 'template'" },
	{ "from-missing.yaml", "1:1: missing required key 'from'" },
	{ "packages-no-debian.yaml", "3:3: 'from.packages' needs "
	  "'from.debian' (with 'from.template', install packages in a "
	  "'run' step)" },
	{ "package-name.yaml", "3:20: 'from.packages' entry 'Python3' is "
	  "not a Debian package name" },
	{ "ready-two.yaml", "6:3: 'ready' has both 'port' and 'file' "
	  "(use exactly one)" },
	{ "idle-duration.yaml", "3:15: 'idle_timeout' must be a duration "
	  "like 30s or 5m, not 'soon'" },
	{ "ready-timeout.yaml", "5:12: 'ready.timeout' must be from 1s to "
	  "1d, not 0s" },
	{ "file-mode.yaml", "6:11: 'files.mode' must be an octal mode like "
	  "0644, not '0999'" },
	{ "file-dst.yaml", "5:10: 'files.dst' must be an absolute path, "
	  "not 'etc/app/config.toml'" },
	{ "file-no-src.yaml", "4:5: 'files' entry needs 'src'" },
	{ "env-name.yaml", "5:3: invalid environment variable name '2BAD' "
	  "in 'env'" },
	{ "env-null.yaml", "4:9: 'env.EMPTY' has no value "
	  "(use \"\" for an empty one)" },
	{ "network.yaml", "8:7: 'network.deny' entry '192.168.0.0/33' is "
	  "not a CIDR (like 10.0.0.0/8) or a domain (like example.com)" },
	{ "alias.yaml", "7:10: YAML aliases are not supported" },
	{ "not-a-map.yaml", "1:1: a template must be a mapping of keys, "
	  "not a list" },
	{ "run-step.yaml", "5:5: 'run' step needs 'command'" },
	{ "start-list.yaml", "4:3: 'start' must be a string, not a list" },
	{ "start-null.yaml", "3:7: 'start' has no value" },
	{ "self-parent.yaml", "3:13: template 'loop' cannot be built from "
	  "itself" },
	{ "bad-name.yaml", "1:7: invalid template name 'my template' "
	  "(use letters, digits, '.', '_' and '-')" },
	{ "empty.yaml", "1:1: empty template (it needs at least 'from')" },
	{ "two-docs.yaml", "3:1: only one YAML document is allowed" },
	{ "workdir-relative.yaml", "3:10: 'workdir' must be an absolute "
	  "path, not 'app'" },
	{ "user-bad.yaml", "3:7: 'user' must be a user name or uid, "
	  "not 'Bad User'" },
};

START_TEST(test_bad_templates)
{
	char *rel = xasprintf("bad/%s", bad_cases[_i].file);
	char *path = data_path(rel);
	char *want = xasprintf("%s:%s", path, bad_cases[_i].msg);
	struct sbx_template *t = NULL;
	struct sbx_err e;
	int rc;

	sbx_err_clear(&e);
	rc = sbx_template_load(path, &t, &e);
	ck_assert_msg(rc == SBX_EINVAL, "'%s' should be rejected (rc %d)",
	    path, rc);
	ck_assert_ptr_null(t);
	ck_assert_msg(!strcmp(e.msg, want), "'%s':\n  got  %s\n  want %s",
	    rel, e.msg, want);
	free(want);
	free(path);
	free(rel);
}
END_TEST

START_TEST(test_size_cap)
{
	char *path = xasprintf("%s/huge.yaml", unit_tmpdir());
	char *want;
	struct sbx_template *t;
	struct sbx_err e;
	FILE *f = fopen(path, "w");
	size_t i;

	ck_assert_ptr_nonnull(f);
	fputs("from: {template: base}\n", f);
	for (i = 0; i < SBX_TEMPLATE_MAX_SIZE / 16; i++)
		fputs("# padding......\n", f);
	fclose(f);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_load(path, &t, &e), SBX_EINVAL);
	want = xasprintf("%s: template larger than the 1 MiB limit", path);
	ck_assert_str_eq(e.msg, want);
	free(want);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_load("/nonexistent/x.yaml", &t, &e),
	    SBX_EIO);
	ck_assert_str_eq(e.msg, "/nonexistent/x.yaml: cannot read template: "
	    "No such file or directory");
	free(path);
}
END_TEST

START_TEST(test_hash_ignores_formatting)
{
	char *a = data_path("good/hash-a.yaml");
	char *b = data_path("good/hash-b.yaml");
	struct sbx_template *ta = load_ok(a), *tb = load_ok(b);
	struct sbx_buf ca = SBX_BUF_INIT, cb = SBX_BUF_INIT;
	unsigned char ha[32], hb[32];
	char xa[65], xb[65];

	sbx_template_canonical(ta, &ca);
	sbx_template_canonical(tb, &cb);
	ck_assert_str_eq(ca.buf, cb.buf);
	sbx_template_hash(ta, ha, xa);
	sbx_template_hash(tb, hb, xb);
	ck_assert_str_eq(xa, xb);
	ck_assert_int_eq(strlen(xa), 64);
	sbx_buf_release(&ca);
	sbx_buf_release(&cb);
	sbx_template_free(ta);
	sbx_template_free(tb);
	free(a);
	free(b);
}
END_TEST

/* A reference template and single semantic changes to it. */
static const char hash_ref[] =
    "from: {debian: bookworm, packages: [bash]}\n"
    "env: {A: '1'}\n"
    "run: [make]\n"
    "start: ./serve\n"
    "ports: [80]\n";

static const char *const hash_changes[] = {
	"from: {debian: trixie, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash, git]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '2'}\nrun: [make]\nstart: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1', B: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make, make]\nstart: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make test]\nstart: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [{command: make, user: app}]\n"
	"start: ./serve\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve -v\nports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80, 81]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n"
	"resources: {memory: 2G}\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n"
	"ready: {port: 80}\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n"
	"idle_timeout: 0\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n"
	"workdir: /srv\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n"
	"network: {deny: [example.com]}\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n"
	"files: [{src: a, dst: /a}]\n",
	"from: {template: base}\n"
	"env: {A: '1'}\nrun: [make]\nstart: ./serve\nports: [80]\n",
	/* Run steps are ordered; only the order differs here. */
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make, make test]\nstart: ./serve\n"
	"ports: [80]\n",
	"from: {debian: bookworm, packages: [bash]}\n"
	"env: {A: '1'}\nrun: [make test, make]\nstart: ./serve\n"
	"ports: [80]\n",
};

START_TEST(test_hash_semantic_changes)
{
	size_t n = sizeof(hash_changes) / sizeof(hash_changes[0]), i, j;
	char (*hex)[65] = xcalloc(n + 1, sizeof(*hex));
	unsigned char h[32];
	struct sbx_template *t;

	t = parse_ok(hash_ref);
	sbx_template_hash(t, h, hex[n]);
	sbx_template_free(t);
	for (i = 0; i < n; i++) {
		t = parse_ok(hash_changes[i]);
		sbx_template_hash(t, h, hex[i]);
		sbx_template_free(t);
	}
	for (i = 0; i <= n; i++)
		for (j = i + 1; j <= n; j++)
			ck_assert_msg(strcmp(hex[i], hex[j]) != 0,
			    "same hash for different templates:\n%s\n--\n%s",
			    i < n ? hash_changes[i] : hash_ref,
			    j < n ? hash_changes[j] : hash_ref);
	free(hex);
}
END_TEST

START_TEST(test_hash_defaults_and_labels)
{
	struct sbx_template *a, *b, *a2;
	char xa[65], xb[65], xa2[65];
	unsigned char h[32];

	a = parse_ok("from: {template: base}\n");
	b = parse_ok("name: mem\ndescription: words\n"
	    "from: {template: base}\nresources: {vcpus: 2, memory: 1G, "
	    "disk: 2048M}\nidle_timeout: 300s\nready: {delay: 0s}\n");
	sbx_template_hash(a, h, xa);
	sbx_template_hash(b, h, xb);
	/* ready delay 0 is a check kind of its own, so these differ... */
	ck_assert_str_ne(xa, xb);
	sbx_template_free(b);
	/* "never" is 0. */
	b = parse_ok("from: {template: base}\nidle_timeout: never\n");
	a2 = parse_ok("from: {template: base}\nidle_timeout: 0s\n");
	ck_assert_uint_eq(b->idle_timeout_ms, 0);
	sbx_template_hash(b, h, xb);
	sbx_template_hash(a2, h, xa2);
	ck_assert_str_eq(xa2, xb);
	ck_assert_str_ne(xa, xb);
	sbx_template_free(a2);
	sbx_template_free(b);
	/* ...while spelled-out defaults and labels do not count. */
	b = parse_ok("name: mem\ndescription: words\n"
	    "from: {template: base}\nresources: {vcpus: 2, memory: 1G, "
	    "disk: 2048M}\nidle_timeout: 300s\n");
	sbx_template_hash(b, h, xb);
	ck_assert_str_eq(xa, xb);
	sbx_template_free(a);
	sbx_template_free(b);
}
END_TEST

START_TEST(test_parse_values)
{
	struct sbx_template *t;
	struct sbx_err e;

	t = parse_ok("from: {oci: img}\nresources: {memory: 1.5G, "
	    "disk: 256M}\nready: {command: test -f /x, timeout: 1h30m}\n"
	    "files: [{src: f, dst: /f, mode: '0o600', owner: '1000:1000'}]\n"
	    "network: {allow: ['*.example.com', '::1', 192.168.1.0/24]}\n");
	ck_assert_str_eq(t->from.path, "/d/img");
	ck_assert_uint_eq(t->resources.memory, 3ULL << 29);
	ck_assert_uint_eq(t->ready.timeout_ms, 5400000);
	ck_assert_int_eq(t->ready.kind, SBX_READY_COMMAND);
	ck_assert_uint_eq(t->files[0].mode, 0600);
	ck_assert_str_eq(t->name, "mem");
	sbx_template_free(t);

	ck_assert_int_eq(parse_err("from: {template: base}\n"
	    "network: {allow: ['-bad.example']}\n", "n.yaml", &e),
	    SBX_EINVAL);
	ck_assert_str_eq(e.msg, "n.yaml:2:19: 'network.allow' entry "
	    "'-bad.example' is not a CIDR (like 10.0.0.0/8) or a domain "
	    "(like example.com)");
	ck_assert_int_eq(parse_err("from: {template: base}\n"
	    "kernal: /boot/vmlinuz\n", "k.yaml", &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "k.yaml:2:1: unknown key 'kernal' "
	    "(did you mean 'kernel'?)");
	/* A NUL byte inside a double-quoted string. */
	ck_assert_int_eq(parse_err("from: {template: base}\n"
	    "start: \"a\\0b\"\n", "z.yaml", &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "z.yaml:2:8: 'start' contains a NUL byte");
	/* Invalid UTF-8 is a reader error with a position too. */
	ck_assert_int_eq(parse_err("from: {template: base}\n"
	    "start: \xff\n", "u.yaml", &e), SBX_EINVAL);
	ck_assert_msg(!strncmp(e.msg, "u.yaml:2:8: invalid YAML: ", 26),
	    "got '%s'", e.msg);
	ck_assert_int_eq(parse_err("from: {template: base}\n"
	    "packages: [git]\n", "p.yaml", &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "p.yaml:2:1: unknown key 'packages' "
	    "(it belongs in 'from')");
	ck_assert_int_eq(parse_err("from: {template: base}\n"
	    "bogus: 1\n", "b.yaml", &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "b.yaml:2:1: unknown key 'bogus' (expected "
	    "name, description, from, files, env, workdir, user, run, start, "
	    "ready, resources, idle_timeout, ports, kernel or network)");
	/* Keys are case-sensitive; the suggestion shows the right case. */
	ck_assert_int_eq(parse_err("From: {template: base}\n", "c.yaml",
	    &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "c.yaml:1:1: unknown key 'From' "
	    "(did you mean 'from'?)");
}
END_TEST

START_TEST(test_deep_nesting)
{
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_template *t;
	struct sbx_err e;
	int i;

	sbx_buf_addstr(&b, "from: ");
	for (i = 0; i < 10000; i++)
		sbx_buf_addch(&b, '[');
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_parse(b.buf, b.len, "deep.yaml", "",
	    &t, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "deep.yaml:1:38: nesting deeper than 32 "
	    "levels");
	sbx_buf_release(&b);
}
END_TEST

START_TEST(test_lookup_order)
{
	const char *tmp = unit_tmpdir();
	char *home = xasprintf("%s/home", tmp);
	char *cfg = xasprintf("%s/cfg", tmp);
	char *path, *src;
	struct sbx_template *t;
	struct sbx_template_entry *ents;
	enum sbx_template_origin origin;
	struct sbx_err e;
	size_t n, i;
	int saw_base = 0, saw_python = 0, saw_mine = 0;

	setenv("XDG_CONFIG_HOME", cfg, 1);
	srcdir();
	ck_assert_int_eq(mkdir(home, 0755), 0);
	path = xasprintf("%s/templates", home);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	free(path);

	/* Shipped (source tree) python, builtin-or-shipped base. */
	ck_assert_int_eq(sbx_template_open("python", home, &t, &origin, NULL),
	    0);
	ck_assert_int_eq(origin, SBX_TPL_SHIPPED);
	sbx_template_free(t);

	/* A user template shadows the shipped one. */
	path = xasprintf("%s/templates/python.yml", home);
	write_file(path, "description: mine\nfrom: {template: base}\n");
	ck_assert_int_eq(sbx_template_open("python", home, &t, &origin, NULL),
	    0);
	ck_assert_int_eq(origin, SBX_TPL_USER);
	ck_assert_str_eq(t->description, "mine");
	ck_assert_str_eq(t->name, "python");
	sbx_template_free(t);
	free(path);
	path = xasprintf("%s/templates/mine.yaml", home);
	write_file(path, "from: {template: python}\n");
	free(path);

	/* Without the source tree, base still comes from the binary. */
	src = xstrdup(srcdir());
	unsetenv("SBX_TOP_SRCDIR");
	ck_assert_int_eq(sbx_template_open("base", NULL, &t, &origin, NULL),
	    0);
	setenv("SBX_TOP_SRCDIR", src, 1);
	free(src);
	if (access(SBX_DATADIR "/templates/base.yaml", F_OK) == 0) {
		/* sbx is installed here: the shipped copy comes first. */
		ck_assert_int_eq(origin, SBX_TPL_SHIPPED);
	} else {
		ck_assert_int_eq(origin, SBX_TPL_BUILTIN);
		ck_assert_str_eq(t->path, "<builtin>/base.yaml");
	}
	sbx_template_free(t);

	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_open("nope", home, &t, NULL, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "no template 'nope'");
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_open("../x", home, &t, &origin, &e),
	    SBX_EIO);

	sbx_template_list(home, &ents, &n);
	for (i = 0; i < n; i++) {
		if (!strcmp(ents[i].name, "base"))
			saw_base = ents[i].origin == SBX_TPL_BUILTIN ||
			    ents[i].origin == SBX_TPL_SHIPPED;
		if (!strcmp(ents[i].name, "python"))
			saw_python = ents[i].origin == SBX_TPL_USER;
		if (!strcmp(ents[i].name, "mine"))
			saw_mine = ents[i].origin == SBX_TPL_USER;
		if (i > 0)
			ck_assert_msg(strcmp(ents[i - 1].name,
			    ents[i].name) < 0, "list not sorted and unique");
	}
	ck_assert_msg(saw_base && saw_python && saw_mine,
	    "list: base %d python %d mine %d", saw_base, saw_python,
	    saw_mine);
	sbx_template_entries_free(ents, n);
	free(home);
	free(cfg);
}
END_TEST

START_TEST(test_path_clean)
{
	static const char *const cases[][2] = {
		{ "/a/b/../c", "/a/c" }, { "/a/./b//c/", "/a/b/c/" },
		{ "/..", "/" }, { "/../x", "/x" }, { "a/..", "." },
		{ "../a/../../b", "../../b" }, { "./", "./" }, { ".", "." },
		{ "a//b/.", "a/b" }, { "/", "/" }, { "x/../../y/", "../y/" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = tpl_path_clean(cases[i][0]);

		ck_assert_msg(!strcmp(got, cases[i][1]),
		    "clean '%s': got '%s', want '%s'", cases[i][0], got,
		    cases[i][1]);
		free(got);
	}
}
END_TEST

START_TEST(test_parents)
{
	const char *tmp = unit_tmpdir();
	char *home = xasprintf("%s/home", tmp);
	char *dir = xasprintf("%s/templates", home);
	char *path;
	struct sbx_template *t, **chain;
	struct sbx_err e;
	size_t n;

	setenv("XDG_CONFIG_HOME", tmp, 1);
	srcdir();
	ck_assert_int_eq(mkdir(home, 0755), 0);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	path = xasprintf("%s/web.yaml", dir);
	write_file(path, "from: {template: python}\n");
	free(path);
	path = xasprintf("%s/a.yaml", dir);
	write_file(path, "from:\n  template: b\n");
	free(path);
	path = xasprintf("%s/b.yaml", dir);
	write_file(path, "from:\n  template: a\n");
	free(path);
	path = xasprintf("%s/orphan.yaml", dir);
	write_file(path, "from: {template: gone}\n");

	/* web -> python (shipped, from debian). */
	ck_assert_int_eq(sbx_template_open("web", home, &t, NULL, NULL), 0);
	ck_assert_int_eq(sbx_template_parents(t, home, &chain, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(chain[0]->name, "python");
	sbx_template_chain_free(chain, n);
	sbx_template_free(t);

	/* A template from debian has no parents. */
	ck_assert_int_eq(sbx_template_open("base", home, &t, NULL, NULL), 0);
	ck_assert_int_eq(sbx_template_parents(t, home, &chain, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
	sbx_template_free(t);

	ck_assert_int_eq(sbx_template_open("a", home, &t, NULL, NULL), 0);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_parents(t, home, &chain, &n, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "/b.yaml:2:13: parent templates form a "
	    "cycle: a -> b -> a"), "got '%s'", e.msg);
	sbx_template_free(t);

	ck_assert_int_eq(sbx_template_load(path, &t, NULL), 0);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_parents(t, home, &chain, &n, &e),
	    SBX_ENOENT);
	free(path);
	path = xasprintf("%s/orphan.yaml:1:18: parent template 'gone': "
	    "no template 'gone'", dir);
	ck_assert_str_eq(e.msg, path);
	ck_assert_ptr_nonnull(strstr(e.hint, "looked in"));
	sbx_template_free(t);
	free(path);
	free(dir);
	free(home);
}
END_TEST

START_TEST(test_check_paths_and_json)
{
	const char *tmp = unit_tmpdir();
	char *path = xasprintf("%s/t.yaml", tmp);
	char *want, *f;
	struct sbx_template *t;
	struct sbx_err e;
	json_t *o;

	write_file(path, "from: {tar: root.tar}\nfiles:\n"
	    "  - {src: ./a//b, dst: /b, mode: '600'}\nports: [22]\n"
	    "env: {X: y}\n");
	t = load_ok(path);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_check_paths(t, &e), SBX_ENOENT);
	want = xasprintf("%s:1:13: 'from.tar' '%s/root.tar': No such file or "
	    "directory", path, tmp);
	ck_assert_str_eq(e.msg, want);
	free(want);
	f = xasprintf("%s/root.tar", tmp);
	write_file(f, "");
	free(f);
	sbx_err_clear(&e);
	ck_assert_int_eq(sbx_template_check_paths(t, &e), SBX_ENOENT);
	want = xasprintf("%s:3:11: 'files.src' '%s/a/b': No such file or "
	    "directory", path, tmp);
	ck_assert_str_eq(e.msg, want);
	free(want);
	f = xasprintf("%s/a", tmp);
	ck_assert_int_eq(mkdir(f, 0755), 0);
	free(f);
	f = xasprintf("%s/a/b", tmp);
	write_file(f, "x");
	free(f);
	ck_assert_int_eq(sbx_template_check_paths(t, NULL), 0);

	o = sbx_template_json(t);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "t");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(
	    json_object_get(o, "files"), 0), "mode")), 0600);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o,
	    "env"), "X")), "y");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o,
	    "resources"), "vcpus")), 2);
	ck_assert_int_eq(json_string_length(json_object_get(o, "hash")), 64);
	json_decref(o);
	sbx_template_free(t);
	free(path);
}
END_TEST

/* What sandboxes of a template get (image and template manifests). */
START_TEST(test_sandbox_settings_json)
{
	struct sbx_template *t = parse_ok(
	    "from: {debian: bookworm}\n"
	    "env: {B: two, A: one}\n"
	    "resources: {vcpus: 3, memory: 768M}\n"
	    "idle_timeout: 90s\n"
	    "network: {allow: [example.org], deny: [10.0.0.0/8, 192.0.2.7]}\n");
	json_t *o = sbx_template_sandbox_json(t), *d;

	ck_assert_int_eq(json_integer_value(json_object_get(o, "vcpus")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "memory")),
	    768LL << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "disk")),
	    SBX_TEMPLATE_DEF_DISK);
	ck_assert_int_eq(json_integer_value(json_object_get(o,
	    "idle_timeout_ms")), 90000);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o,
	    "allow"), 0)), "example.org");
	d = json_object_get(o, "deny");
	ck_assert_int_eq(json_array_size(d), 2);
	ck_assert_str_eq(json_string_value(json_array_get(d, 1)), "192.0.2.7");
	/* Environment in file order, as KEY=value. */
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o,
	    "env"), 0)), "B=two");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(o,
	    "env"), 1)), "A=one");
	json_decref(o);
	sbx_template_free(t);

	/* "never" is 0, not the 5m default. */
	t = parse_ok("from: {debian: bookworm}\nidle_timeout: never\n");
	o = sbx_template_sandbox_json(t);
	ck_assert_int_eq(json_integer_value(json_object_get(o,
	    "idle_timeout_ms")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "vcpus")),
	    SBX_TEMPLATE_DEF_VCPUS);
	json_decref(o);
	sbx_template_free(t);
}
END_TEST

/* Every key the parser knows is documented in doc/sbx-template.5. */
START_TEST(test_man_page_lists_keys)
{
	char *man = xasprintf("%s/doc/sbx-template.5", srcdir());
	struct sbx_buf b = SBX_BUF_INIT;
	size_t i, j;

	ck_assert_int_eq(sbx_buf_read_file(&b, man, NULL), 0);
	for (i = 0; tpl_schema[i].keys; i++)
		for (j = 0; tpl_schema[i].keys[j]; j++) {
			char *want = xasprintf("Ic %s", tpl_schema[i].keys[j]);
			const char *p = b.buf;
			int found = 0;

			while ((p = strstr(p, want))) {
				char c = p[strlen(want)];

				p += strlen(want);
				if (c == '\n' || c == ' ') {
					found = 1;
					break;
				}
			}
			ck_assert_msg(found, "'%s%s%s' is not documented in "
			    "'%s'", tpl_schema[i].where ? tpl_schema[i].where :
			    "", tpl_schema[i].where ? "." : "",
			    tpl_schema[i].keys[j], man);
			free(want);
		}
	sbx_buf_release(&b);
	free(man);
}
END_TEST

Suite *suite_template(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("template");

	tcase_add_test(tc, test_shipped_templates);
	tcase_add_test(tc, test_builtin_is_base_yaml);
	tcase_add_test(tc, test_full_template);
	tcase_add_loop_test(tc, test_bad_templates, 0,
	    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_size_cap);
	tcase_add_test(tc, test_hash_ignores_formatting);
	tcase_add_test(tc, test_hash_semantic_changes);
	tcase_add_test(tc, test_hash_defaults_and_labels);
	tcase_add_test(tc, test_parse_values);
	tcase_add_test(tc, test_deep_nesting);
	tcase_add_test(tc, test_lookup_order);
	tcase_add_test(tc, test_path_clean);
	tcase_add_test(tc, test_parents);
	tcase_add_test(tc, test_check_paths_and_json);
	tcase_add_test(tc, test_man_page_lists_keys);
	tcase_add_test(tc, test_sandbox_settings_json);
	suite_add_tcase(s, tc);
	return s;
}
