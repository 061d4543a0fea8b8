/*
 * check_source.c - tar and OCI sources into ext4 images, and the rootfs
 * cache: archives are written by the tests with libarchive (every entry
 * type, sparse files, xattrs, whiteouts), images are checked with
 * `e2fsck -fn` and read back with debugfs; bad archives give exact
 * messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>

#include "unit.h"
#include "image-util.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "image/rootfs.h"
#include "image/source.h"
#include "store/manifest.h"
#include "store/store.h"
#include "template/template.h"
#include "core/banned.h"

static struct sbx_buf out = SBX_BUF_INIT;

/* ---- writing test archives ----------------------------------------- */

struct tw {
	struct archive *a;
};

static void tw_open(struct tw *t, const char *path, int gzip)
{
	t->a = archive_write_new();
	archive_write_set_format_pax(t->a);
	if (gzip)
		archive_write_add_filter_gzip(t->a);
	ck_assert_int_eq(archive_write_open_filename(t->a, path), ARCHIVE_OK);
}

static struct archive_entry *tw_ent(const char *path, mode_t mode,
    int64_t size)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, path);
	archive_entry_set_mode(ae, mode);
	archive_entry_set_size(ae, size);
	archive_entry_set_mtime(ae, 1600000000, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	return ae;
}

static void tw_put(struct tw *t, struct archive_entry *ae, const void *data,
    size_t len)
{
	ck_assert_int_eq(archive_write_header(t->a, ae), ARCHIVE_OK);
	if (len)
		ck_assert_int_eq(archive_write_data(t->a, data, len),
		    (la_ssize_t)len);
	archive_entry_free(ae);
}

static void tw_file(struct tw *t, const char *path, const char *text)
{
	tw_put(t, tw_ent(path, S_IFREG | 0644, strlen(text)), text,
	    strlen(text));
}

static void tw_dir(struct tw *t, const char *path)
{
	tw_put(t, tw_ent(path, S_IFDIR | 0755, 0), NULL, 0);
}

static void tw_close(struct tw *t)
{
	ck_assert_int_eq(archive_write_close(t->a), ARCHIVE_OK);
	archive_write_free(t->a);
}

/* ---- building images ----------------------------------------------- */

static int build(enum sbx_source_kind kind, const char *src, const char *img,
    struct sbx_err *e)
{
	const struct sbx_source_stats *st;
	struct sbx_source *s;
	struct sbx_ext4 *w;
	int rc;

	if ((rc = sbx_source_open(kind, src, &s, e)))
		return rc;
	st = sbx_source_stats(s);
	rc = sbx_ext4_create(img, sbx_ext4_size_for(st->bytes, st->entries,
	    0), 0, &w, e);
	if (!rc && (rc = sbx_source_write(s, w, e)))
		sbx_ext4_abort(w);
	else if (!rc)
		rc = sbx_ext4_close(w, e);
	sbx_source_free(s);
	return rc;
}

static void expect_cat(const char *img, const char *path, const char *want)
{
	img_debugfs(img, &out, "cat %s", path);
	ck_assert_msg(!strcmp(out.buf, want), "'%s': cat '%s': got '%s', want "
	    "'%s'", img, path, out.buf, want);
}

static void expect_stat(const char *img, const char *path, const char *what)
{
	img_debugfs(img, &out, "stat %s", path);
	ck_assert_msg(strstr(out.buf, what), "'%s': stat '%s' lacks '%s':\n%s",
	    img, path, what, out.buf);
}

static void expect_missing(const char *img, const char *path)
{
	img_debugfs(img, &out, "stat %s", path);
	ck_assert_msg(strstr(out.buf, "File not found"), "'%s': '%s' should "
	    "be gone:\n%s", img, path, out.buf);
}

/* A tar holding every entry type libarchive can describe. */
static void write_full_tar(const char *path)
{
	static const unsigned char cap[20] = { 1, 0, 0, 2, 0, 0x20 };
	struct archive_entry *ae;
	struct tw t;
	char *chunk = xmalloc(65536);
	int i;

	tw_open(&t, path, 1);
	tw_dir(&t, "./");
	tw_dir(&t, "./etc/");
	tw_file(&t, "./etc/os-release", "ID=test\n");
	ae = tw_ent("./bin/ping", S_IFREG | 04755, 5);
	archive_entry_xattr_add_entry(ae, "security.capability", cap,
	    sizeof(cap));
	tw_put(&t, ae, "ping\n", 5);
	ae = tw_ent("./etc/link", S_IFLNK | 0777, 0);
	archive_entry_set_symlink(ae, "os-release");
	tw_put(&t, ae, NULL, 0);
	ae = tw_ent("./etc/hard", S_IFREG | 0644, 0);
	archive_entry_set_hardlink(ae, "./etc/os-release");
	tw_put(&t, ae, NULL, 0);
	ae = tw_ent("./dev/console", S_IFCHR | 0600, 0);
	archive_entry_set_rdev(ae, makedev(5, 1));
	tw_put(&t, ae, NULL, 0);
	tw_put(&t, tw_ent("./run/initctl", S_IFIFO | 0600, 0), NULL, 0);
	/* 16 MiB of zeros but 64 KiB at 8 MiB: the image gets a hole */
	ae = tw_ent("./var/sparse.img", S_IFREG | 0600, 16 << 20);
	ck_assert_int_eq(archive_write_header(t.a, ae), ARCHIVE_OK);
	for (i = 0; i < 256; i++) {
		memset(chunk, i == 128 ? 'q' : 0, 65536);
		ck_assert_int_eq(archive_write_data(t.a, chunk, 65536), 65536);
	}
	archive_entry_free(ae);
	tw_close(&t);
	free(chunk);
}

START_TEST(tar_every_entry_type)
{
	char tar[4096], img[4200];
	struct sbx_err e;

	snprintf(tar, sizeof(tar), "%s/root.tar.gz", unit_tmpdir());
	snprintf(img, sizeof(img), "%s.img", tar);
	write_full_tar(tar);
	ck_assert_msg(build(SBX_SOURCE_TAR, tar, img, &e) == 0, "%s", e.msg);
	ck_fsck_clean(img);
	expect_cat(img, "/etc/os-release", "ID=test\n");
	expect_cat(img, "/etc/hard", "ID=test\n");
	expect_stat(img, "/etc/hard", "Links: 2");
	expect_stat(img, "/etc/link", "Fast link dest: \"os-release\"");
	expect_stat(img, "/dev/console", "Device major/minor number: 05:01");
	expect_stat(img, "/run/initctl", "Type: FIFO");
	expect_stat(img, "/bin/ping", "Mode:  04755");
	expect_stat(img, "/var/sparse.img", "Size: 16777216");
	expect_stat(img, "/var/sparse.img", "Blockcount: 128");
	expect_stat(img, "/etc/os-release", "mtime: 0x5f5e1000");
	img_debugfs(img, &out, "ea_list /bin/ping");
	ck_assert_msg(strstr(out.buf, "security.capability (20)"), "%s",
	    out.buf);
}
END_TEST

/* GNU tar's own sparse format (-S): the map comes from the archive. */
START_TEST(tar_gnu_sparse)
{
	char dir[4000], file[4200], tar[4200], img[4200];
	const char *argv[] = { "tar", "-S", "-cf", tar, "-C", dir, "sparse",
	    NULL };
	struct sbx_err e;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", unit_tmpdir());
	snprintf(file, sizeof(file), "%s/sparse", dir);
	snprintf(tar, sizeof(tar), "%s/gnu-sparse.tar", dir);
	snprintf(img, sizeof(img), "%s/gnu-sparse.img", dir);
	f = fopen(file, "wb");
	ck_assert_ptr_nonnull(f);
	fseek(f, 5 << 20, SEEK_SET);
	fputs("in the middle", f);
	fseek(f, (32 << 20) - 1, SEEK_SET);
	fputc('\n', f);
	fclose(f);
	ck_assert_int_eq(img_tool(&out, argv), 0);
	ck_assert_msg(build(SBX_SOURCE_TAR, tar, img, &e) == 0, "%s", e.msg);
	ck_fsck_clean(img);
	expect_stat(img, "/sparse", "Size: 33554432");
	/* two 4 KiB blocks of data */
	expect_stat(img, "/sparse", "Blockcount: 16");
	img_debugfs(img, &out, "dump_extents /sparse");
	ck_assert_msg(strstr(out.buf, "1280 -  1280") &&
	    strstr(out.buf, "8191 -  8191"), "extents: %s", out.buf);
}
END_TEST

/* Writes `n` bytes of a layer file into blobs/sha256/ and returns its
 * descriptor JSON. */
static json_t *blob(const char *dir, const char *src, const char *mt)
{
	struct sbx_buf b = SBX_BUF_INIT;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[65], *dst;
	FILE *f;
	json_t *d;

	ck_assert_int_eq(sbx_buf_read_file(&b, src, NULL), 0);
	crypto_hash_sha256(h, (unsigned char *)b.buf, b.len);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	dst = xasprintf("%s/blobs/sha256/%s", dir, hex);
	f = fopen(dst, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fwrite(b.buf, 1, b.len, f), b.len);
	fclose(f);
	d = json_pack("{s:s,s:s,s:I}", "mediaType", mt, "digest", "",
	    "size", (json_int_t)b.len);
	json_object_set_new(d, "digest", json_sprintf("sha256:%s", hex));
	free(dst);
	sbx_buf_release(&b);
	return d;
}

static json_t *blob_json(const char *dir, json_t *doc, const char *mt)
{
	char *tmp = xasprintf("%s/doc.json", dir);
	json_t *d;

	ck_assert_int_eq(json_dump_file(doc, tmp, JSON_COMPACT), 0);
	json_decref(doc);
	d = blob(dir, tmp, mt);
	remove(tmp);
	free(tmp);
	return d;
}

/* An OCI layout: layer 1 has etc/{a,b}, d/old; layer 2 whites out etc/a
 * and makes d opaque (adding d/new). */
static void write_oci(const char *dir)
{
	char *l1 = xasprintf("%s/l1.tar", dir), *l2 = xasprintf("%s/l2.tgz",
	    dir), *p;
	json_t *layers = json_array(), *man, *mdesc, *idx;
	struct tw t;

	p = xasprintf("%s/blobs/sha256", dir);
	ck_assert_int_eq(mkdir(dir, 0755) == 0 || 1, 1);
	p[strlen(dir) + 6] = '\0';
	mkdir(p, 0755);
	p[strlen(dir) + 6] = '/';
	mkdir(p, 0755);
	free(p);

	tw_open(&t, l1, 0);
	tw_dir(&t, "etc/");
	tw_file(&t, "etc/a", "a1");
	tw_file(&t, "etc/b", "b1");
	tw_dir(&t, "d/");
	tw_file(&t, "d/old", "old");
	tw_file(&t, "d/keep-not", "x");
	tw_close(&t);
	tw_open(&t, l2, 1);
	tw_file(&t, "d/new", "new");	/* before the opaque marker */
	tw_put(&t, tw_ent("d/.wh..wh..opq", S_IFREG | 0644, 0), NULL, 0);
	tw_put(&t, tw_ent("etc/.wh.a", S_IFREG | 0644, 0), NULL, 0);
	tw_file(&t, "etc/c", "c2");
	tw_close(&t);

	json_array_append_new(layers, blob(dir, l1,
	    "application/vnd.oci.image.layer.v1.tar"));
	json_array_append_new(layers, blob(dir, l2,
	    "application/vnd.oci.image.layer.v1.tar+gzip"));
	remove(l1);
	remove(l2);
	man = json_pack("{s:i,s:s,s:{s:s,s:s,s:i},s:o}", "schemaVersion", 2,
	    "mediaType", "application/vnd.oci.image.manifest.v1+json",
	    "config", "mediaType", "application/vnd.oci.image.config.v1+json",
	    "digest", "sha256:0000000000000000000000000000000000000000000000"
	    "000000000000000000", "size", 2, "layers", layers);
	mdesc = blob_json(dir, man,
	    "application/vnd.oci.image.manifest.v1+json");
	json_object_set_new(mdesc, "platform", json_pack("{s:s,s:s}",
	    "architecture", "amd64", "os", "linux"));
	idx = json_pack("{s:i,s:[o]}", "schemaVersion", 2, "manifests",
	    mdesc);
	p = xasprintf("%s/index.json", dir);
	ck_assert_int_eq(json_dump_file(idx, p, 0), 0);
	json_decref(idx);
	free(p);
	p = xasprintf("%s/oci-layout", dir);
	{
		FILE *f = fopen(p, "w");

		fputs("{\"imageLayoutVersion\":\"1.0.0\"}", f);
		fclose(f);
	}
	free(p);
	free(l1);
	free(l2);
}

static void check_oci_image(const char *img)
{
	ck_fsck_clean(img);
	expect_missing(img, "/etc/a");
	expect_cat(img, "/etc/b", "b1");
	expect_cat(img, "/etc/c", "c2");
	expect_missing(img, "/d/old");
	expect_missing(img, "/d/keep-not");
	expect_cat(img, "/d/new", "new");
	expect_missing(img, "/d/.wh..wh..opq");
	expect_missing(img, "/etc/.wh.a");
}

START_TEST(oci_layout_whiteouts)
{
	char dir[4096], img[4200];
	struct sbx_err e;

	snprintf(dir, sizeof(dir), "%s/oci", unit_tmpdir());
	snprintf(img, sizeof(img), "%s.img", dir);
	write_oci(dir);
	ck_assert_msg(build(SBX_SOURCE_OCI, dir, img, &e) == 0, "%s", e.msg);
	check_oci_image(img);
}
END_TEST

START_TEST(oci_tampered_layer)
{
	char dir[4096], img[4200], want[8192];
	json_t *idx, *man;
	const char *d;
	char *p;
	struct sbx_err e;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/oci", unit_tmpdir());
	snprintf(img, sizeof(img), "%s.img", dir);
	write_oci(dir);
	p = xasprintf("%s/index.json", dir);
	idx = json_load_file(p, 0, NULL);
	free(p);
	d = json_string_value(json_object_get(json_array_get(json_object_get(
	    idx, "manifests"), 0), "digest"));
	p = xasprintf("%s/blobs/sha256/%s", dir, d + 7);
	man = json_load_file(p, 0, NULL);
	free(p);
	d = json_string_value(json_object_get(json_array_get(json_object_get(
	    man, "layers"), 0), "digest"));
	p = xasprintf("%s/blobs/sha256/%s", dir, d + 7);
	f = fopen(p, "ab");
	fputs("tampered", f);
	fclose(f);
	ck_assert_int_eq(build(SBX_SOURCE_OCI, dir, img, &e), SBX_ECORRUPT);
	snprintf(want, sizeof(want), "'%s': layer content has sha256:", p);
	ck_assert_msg(!strncmp(e.msg, want, strlen(want)), "%s", e.msg);
	ck_assert_msg(strstr(e.msg, d + 7), "%s", e.msg);
	free(p);
	json_decref(man);
	json_decref(idx);
}
END_TEST

START_TEST(oci_tarball)
{
	char dir[4096], tar[4200], img[4200];
	const char *argv[] = { "tar", "-cf", tar, "-C", dir, ".", NULL };
	struct sbx_err e;

	snprintf(dir, sizeof(dir), "%s/oci", unit_tmpdir());
	snprintf(tar, sizeof(tar), "%s.tar", dir);
	snprintf(img, sizeof(img), "%s.img", dir);
	write_oci(dir);
	ck_assert_int_eq(img_tool(&out, argv), 0);
	ck_assert_msg(build(SBX_SOURCE_OCI, tar, img, &e) == 0, "%s", e.msg);
	check_oci_image(img);
}
END_TEST

START_TEST(docker_save_tarball)
{
	char tar[4096], img[4200], layer[4096];
	struct archive_entry *ae;
	struct sbx_buf b = SBX_BUF_INIT;
	const char *man = "[{\"Config\":\"c.json\",\"RepoTags\":[\"t:1\"],"
	    "\"Layers\":[\"abc/layer.tar\"]}]";
	struct tw t;
	struct sbx_err e;

	snprintf(layer, sizeof(layer), "%s/layer.tar", unit_tmpdir());
	snprintf(tar, sizeof(tar), "%s/saved.tar", unit_tmpdir());
	snprintf(img, sizeof(img), "%s.img", tar);
	tw_open(&t, layer, 0);
	tw_file(&t, "hello", "docker");
	tw_close(&t);
	ck_assert_int_eq(sbx_buf_read_file(&b, layer, NULL), 0);
	tw_open(&t, tar, 0);
	tw_file(&t, "manifest.json", man);
	ae = tw_ent("abc/layer.tar", S_IFREG | 0644, b.len);
	tw_put(&t, ae, b.buf, b.len);
	tw_close(&t);
	sbx_buf_release(&b);
	ck_assert_msg(build(SBX_SOURCE_OCI, tar, img, &e) == 0, "%s", e.msg);
	ck_fsck_clean(img);
	expect_cat(img, "/hello", "docker");
}
END_TEST

/* Builds a tar with one bad entry and checks the exact message. */
static void bad_tar(const char *entry, const char *hardlink,
    const char *want_fmt)
{
	char tar[4096], img[4200], want[8192];
	struct archive_entry *ae;
	struct sbx_err e;
	struct tw t;

	snprintf(tar, sizeof(tar), "%s/bad.tar", unit_tmpdir());
	snprintf(img, sizeof(img), "%s.img", tar);
	tw_open(&t, tar, 0);
	tw_file(&t, "ok", "fine");
	if (hardlink) {
		ae = tw_ent(entry, S_IFREG | 0644, 0);
		archive_entry_set_hardlink(ae, hardlink);
		tw_put(&t, ae, NULL, 0);
	} else {
		tw_file(&t, entry, "evil");
	}
	tw_close(&t);
	ck_assert_int_eq(build(SBX_SOURCE_TAR, tar, img, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), want_fmt, tar);
	ck_assert_str_eq(e.msg, want);
}

START_TEST(entries_leaving_the_root)
{
	bad_tar("../../etc/cron.d/x", NULL,
	    "'%s': entry '../../etc/cron.d/x': path leaves the root");
	bad_tar("a/../../x", NULL,
	    "'%s': entry 'a/../../x': path leaves the root");
	bad_tar("/etc/passwd", NULL,
	    "'%s': entry '/etc/passwd': path leaves the root");
	bad_tar("etc/shadow", "../../etc/shadow",
	    "'%s': entry 'etc/shadow': hard link to '../../etc/shadow' "
	    "leaves the root");
}
END_TEST

START_TEST(corrupt_and_missing)
{
	char tar[4096], img[4200], want[8192], dir[4096];
	struct sbx_buf b = SBX_BUF_INIT;
	struct sbx_err e;
	FILE *f;

	snprintf(tar, sizeof(tar), "%s/root.tar.gz", unit_tmpdir());
	snprintf(img, sizeof(img), "%s.img", tar);
	write_full_tar(tar);
	/* cut the compressed stream in half */
	ck_assert_int_eq(sbx_buf_read_file(&b, tar, NULL), 0);
	f = fopen(tar, "wb");
	fwrite(b.buf, 1, b.len / 2, f);
	fclose(f);
	ck_assert_int_eq(build(SBX_SOURCE_TAR, tar, img, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), "'%s': ", tar);
	ck_assert_msg(!strncmp(e.msg, want, strlen(want)), "%s", e.msg);
	/* garbage */
	f = fopen(tar, "wb");
	fputs("this is not an archive at all\n", f);
	fclose(f);
	ck_assert_int_eq(build(SBX_SOURCE_TAR, tar, img, &e), SBX_EINVAL);
	snprintf(want, sizeof(want), "'%s': Unrecognized archive format",
	    tar);
	ck_assert_str_eq(e.msg, want);
	ck_assert_int_eq(build(SBX_SOURCE_TAR, "/no/such.tar", img, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot open '/no/such.tar': no such file");
	ck_assert_int_eq(build(SBX_SOURCE_OCI, "/no/such-oci", img, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot open OCI image '/no/such-oci': no "
	    "such file or directory");
	snprintf(dir, sizeof(dir), "%s", unit_tmpdir());
	ck_assert_int_eq(build(SBX_SOURCE_OCI, dir, img, &e), SBX_ENOENT);
	snprintf(want, sizeof(want), "'%s': no 'index.json' (not an OCI image "
	    "layout)", dir);
	ck_assert_str_eq(e.msg, want);
	sbx_buf_release(&b);
}
END_TEST

START_TEST(rootfs_build_and_cache)
{
	char tar[4096], home[4096], yaml[8192], hex[SBX_OID_HEXLEN + 1];
	struct sbx_rootfs_result r1, r2;
	struct sbx_template *t;
	struct sbx_store *st;
	struct sbx_err e;
	json_t *m;
	char *obj;

	snprintf(tar, sizeof(tar), "%s/root.tar.gz", unit_tmpdir());
	snprintf(home, sizeof(home), "%s/home", unit_tmpdir());
	write_full_tar(tar);
	snprintf(yaml, sizeof(yaml), "name: t\nfrom:\n  tar: %s\n"
	    "resources:\n  disk: 256M\n", tar);
	ck_assert_msg(sbx_template_parse(yaml, strlen(yaml), "t.yaml", ".",
	    &t, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(sbx_store_open(home, &st, &e), 0);
	ck_assert_msg(sbx_rootfs_build(st, t, NULL, &r1, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(r1.cached, 0);
	ck_assert_msg(sbx_rootfs_build(st, t, NULL, &r2, &e) == 0, "%s",
	    e.msg);
	ck_assert_int_eq(r2.cached, 1);
	ck_assert_int_eq(sbx_oid_cmp(&r1.manifest, &r2.manifest), 0);
	ck_assert_int_eq(sbx_oid_cmp(&r1.image, &r2.image), 0);
	ck_assert_int_eq(sbx_manifest_load(st, &r1.manifest, &m, &e), 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "type")),
	    "rootfs");
	sbx_oid_to_hex(&r1.image, hex);
	ck_assert_str_eq(json_string_value(json_object_get(m, "image")) + 4,
	    hex);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "size")),
	    (json_int_t)r1.size);
	json_decref(m);
	obj = sbx_store_object_path(st, &r1.image);
	ck_fsck_clean(obj);
	expect_cat(obj, "/etc/os-release", "ID=test\n");
	free(obj);
	/* image >= content + disk */
	ck_assert_uint_ge(r1.size, 256ULL << 20);
	sbx_store_close(st);
	sbx_template_free(t);
}
END_TEST

/* A template's `files` land in the image, owned and moded as asked. */
START_TEST(rootfs_files)
{
	char dir[4000], tar[4200], yaml[16384], *obj, *src;
	struct sbx_rootfs_result r;
	struct sbx_template *t;
	struct sbx_store *st;
	struct sbx_err e;
	struct tw tw;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", unit_tmpdir());
	snprintf(tar, sizeof(tar), "%s/root.tar", dir);
	tw_open(&tw, tar, 0);
	tw_file(&tw, "etc/passwd", "root:x:0:0::/root:/bin/sh\n"
	    "app:x:1234:1234::/home/app:/bin/sh\n");
	tw_file(&tw, "etc/group", "root:x:0:\nstaff:x:50:\n");
	tw_close(&tw);
	src = xasprintf("%s/app.conf", dir);
	f = fopen(src, "w");
	fputs("port=8080\n", f);
	fclose(f);
	snprintf(yaml, sizeof(yaml), "name: t\nfrom:\n  tar: %s\nfiles:\n"
	    "  - src: %s\n    dst: /etc/app/\n    owner: app\n"
	    "  - src: %s\n    dst: /srv/app.conf\n    mode: 0600\n"
	    "    owner: app:staff\n", tar, src, src);
	ck_assert_msg(sbx_template_parse(yaml, strlen(yaml), "t.yaml", dir,
	    &t, &e) == 0, "%s", e.msg);
	snprintf(yaml, sizeof(yaml), "%s/home", dir);
	ck_assert_int_eq(sbx_store_open(yaml, &st, &e), 0);
	ck_assert_msg(sbx_rootfs_build(st, t, NULL, &r, &e) == 0, "%s", e.msg);
	obj = sbx_store_object_path(st, &r.image);
	ck_fsck_clean(obj);
	expect_cat(obj, "/etc/app/app.conf", "port=8080\n");
	expect_stat(obj, "/etc/app/app.conf", "User:  1234   Group:  1234");
	expect_stat(obj, "/srv/app.conf", "User:  1234   Group:    50");
	expect_stat(obj, "/srv/app.conf", "Mode:  0600");
	free(obj);
	sbx_template_free(t);

	/* an owner the image does not know, a missing source */
	snprintf(yaml, sizeof(yaml), "name: t\nfrom:\n  tar: %s\nfiles:\n"
	    "  - src: %s\n    dst: /x\n    owner: nobody-here\n", tar, src);
	ck_assert_int_eq(sbx_template_parse(yaml, strlen(yaml), "t.yaml", dir,
	    &t, &e), 0);
	ck_assert_int_eq(sbx_rootfs_build(st, t, NULL, &r, &e), SBX_EINVAL);
	ck_assert_str_eq(e.msg, "t.yaml:5:10: files: owner 'nobody-here': no "
	    "such user in the image");
	sbx_template_free(t);
	snprintf(yaml, sizeof(yaml), "name: t\nfrom:\n  tar: %s\nfiles:\n"
	    "  - src: /no/such/file\n    dst: /x\n", tar);
	ck_assert_int_eq(sbx_template_parse(yaml, strlen(yaml), "t.yaml", dir,
	    &t, &e), 0);
	ck_assert_int_eq(sbx_rootfs_build(st, t, NULL, &r, &e), SBX_ENOENT);
	ck_assert_str_eq(e.msg, "cannot read the template's files: t.yaml:5:"
	    "10: files: cannot open '/no/such/file': no such file");
	sbx_template_free(t);
	sbx_store_close(st);
	free(src);
}
END_TEST

Suite *suite_source(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("source");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, tar_every_entry_type);
	tcase_add_test(tc, tar_gnu_sparse);
	tcase_add_test(tc, oci_layout_whiteouts);
	tcase_add_test(tc, oci_tampered_layer);
	tcase_add_test(tc, oci_tarball);
	tcase_add_test(tc, docker_save_tarball);
	tcase_add_test(tc, entries_leaving_the_root);
	tcase_add_test(tc, corrupt_and_missing);
	tcase_add_test(tc, rootfs_build_and_cache);
	tcase_add_test(tc, rootfs_files);
	suite_add_tcase(s, tc);
	return s;
}
