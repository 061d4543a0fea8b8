/*
 * source.c - tar and OCI sources into ext4 images (see source.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/ext4.h"
#include "image/source.h"
#include "core/banned.h"

#define READ_BLOCK (64 * 1024)
#define JSON_MAX (4 * 1024 * 1024)
#define MAX_XATTRS 64

/* ---- paths ----------------------------------------------------- */

int sbx_archive_norm_path(const char *in, char *out, size_t outsz)
{
	const char *p = in, *s;
	size_t o = 0, len;

	if (*p == '/')
		return -1;
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		s = strchr(p, '/');
		len = s ? (size_t)(s - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return -1;
		if (o + len + 2 > outsz)
			return -1;
		if (o)
			out[o++] = '/';
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = '\0';
	return 0;
}

/* ---- opening archives ---------------------------------------------- */

static int archive_fail(struct archive *a, const char *name,
    struct sbx_err *e)
{
	const char *why = archive_error_string(a);

	return sbx_err_set(e, SBX_EINVAL, "'%s': %s", name,
	    why ? why : "damaged archive");
}

int sbx_archive_open_file(const char *path, struct archive **out,
    struct sbx_err *e)
{
	struct archive *a;
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT, "cannot "
		    "open '%s': no such file", path) :
		    sbx_err_sys(e, "cannot open '%s'", path);
	if (S_ISDIR(st.st_mode))
		return sbx_err_set(e, SBX_EINVAL, "'%s' is a directory, not an "
		    "archive", path);
	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	if (archive_read_open_filename(a, path, READ_BLOCK) != ARCHIVE_OK) {
		int rc = archive_fail(a, path, e);

		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

struct member {
	struct archive *outer;
	char buf[READ_BLOCK];
};

static la_ssize_t member_read(struct archive *a, void *arg, const void **buf)
{
	struct member *m = arg;
	la_ssize_t n = archive_read_data(m->outer, m->buf, sizeof(m->buf));

	if (n < 0)
		archive_set_error(a, EIO, "%s",
		    archive_error_string(m->outer));
	*buf = m->buf;
	return n;
}

static int member_close(struct archive *a, void *arg)
{
	struct member *m = arg;

	(void)a;
	archive_read_free(m->outer);
	free(m);
	return ARCHIVE_OK;
}

static int member_match(const char *name, const char *want)
{
	size_t n = strlen(want);
	char norm[PATH_MAX];

	if (sbx_archive_norm_path(name, norm, sizeof(norm)))
		return 0;
	if (n && want[n - 1] == '*')
		return !strncmp(norm, want, n - 1);
	return !strcmp(norm, want);
}

/* Positions `outer` (newly opened on `path`) at member `member`. */
static int seek_member(const char *path, const char *member,
    struct archive **outer, struct sbx_err *e)
{
	struct archive_entry *ent;
	struct archive *a;
	int r, rc;

	if ((rc = sbx_archive_open_file(path, &a, e)))
		return rc;
	while ((r = archive_read_next_header(a, &ent)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		if (member_match(archive_entry_pathname(ent), member)) {
			*outer = a;
			return 0;
		}
	}
	if (r == ARCHIVE_EOF)
		rc = sbx_err_set(e, SBX_ENOENT, "'%s': no member '%s'", path,
		    member);
	else
		rc = archive_fail(a, path, e);
	archive_read_free(a);
	return rc;
}

int sbx_archive_open_member(const char *outer, const char *member,
    struct archive **out, struct sbx_err *e)
{
	struct member *m;
	struct archive *a, *o;
	int rc;

	if ((rc = seek_member(outer, member, &o, e)))
		return rc;
	m = xmalloc(sizeof(*m));
	m->outer = o;
	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, m, NULL, member_read, member_close) !=
	    ARCHIVE_OK) {
		rc = sbx_err_set(e, SBX_EINVAL, "'%s': member '%s': %s", outer,
		    member, archive_error_string(a) ?
		    archive_error_string(a) : "not an archive");
		archive_read_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

void sbx_archive_close_member(struct archive *a)
{
	if (a)
		archive_read_free(a);
}

/* Reads member `member` of `path` into `b` (at most JSON_MAX). */
static int read_member(const char *path, const char *member,
    struct sbx_buf *b, struct sbx_err *e)
{
	struct archive *a;
	char buf[READ_BLOCK];
	la_ssize_t n;
	int rc;

	if ((rc = seek_member(path, member, &a, e)))
		return rc;
	while ((n = archive_read_data(a, buf, sizeof(buf))) > 0) {
		if (b->len + n > JSON_MAX) {
			archive_read_free(a);
			return sbx_err_set(e, SBX_EINVAL, "'%s': member '%s' "
			    "is too large", path, member);
		}
		sbx_buf_add(b, buf, n);
	}
	rc = n < 0 ? archive_fail(a, path, e) : 0;
	archive_read_free(a);
	return rc;
}

/* ---- the entry loop ------------------------------------------------ */

static int escape(const char *name, const char *path, struct sbx_err *e)
{
	return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': path leaves the "
	    "root", name, path);
}

static int is_whiteout(const char *norm)
{
	const char *b = strrchr(norm, '/');

	b = b ? b + 1 : norm;
	return !strncmp(b, ".wh.", 4);
}

/* Streams the data of the current entry into the open file of `w`. */
static int copy_data(struct archive *a, const char *name, const char *path,
    struct sbx_ext4 *w, struct sbx_err *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	int r, rc;

	while ((r = archive_read_data_block(a, &buf, &len, &off)) ==
	    ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (len && (rc = sbx_ext4_file_write(w, off, buf, len, e)))
			return rc;
	}
	if (r != ARCHIVE_EOF)
		return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': %s", name,
		    path, archive_error_string(a) ? archive_error_string(a) :
		    "damaged data");
	return 0;
}

static int apply_entry(struct archive *a, struct archive_entry *ae,
    const char *name, const char *norm, struct sbx_ext4 *w,
    struct sbx_err *e)
{
	struct sbx_ext4_xattr xa[MAX_XATTRS];
	struct sbx_ext4_entry ent;
	char link[PATH_MAX];
	const char *hl, *xname;
	const void *xval;
	size_t xlen;
	int rc;

	memset(&ent, 0, sizeof(ent));
	ent.path = norm;
	ent.mode = archive_entry_mode(ae);
	ent.uid = (uint32_t)archive_entry_uid(ae);
	ent.gid = (uint32_t)archive_entry_gid(ae);
	ent.mtime = archive_entry_mtime(ae);
	ent.mtime_ns = (uint32_t)archive_entry_mtime_nsec(ae);
	ent.atime = archive_entry_atime_is_set(ae) ?
	    archive_entry_atime(ae) : ent.mtime;
	ent.atime_ns = archive_entry_atime_is_set(ae) ?
	    (uint32_t)archive_entry_atime_nsec(ae) : ent.mtime_ns;
	ent.ctime = archive_entry_ctime_is_set(ae) ?
	    archive_entry_ctime(ae) : ent.mtime;
	ent.ctime_ns = archive_entry_ctime_is_set(ae) ?
	    (uint32_t)archive_entry_ctime_nsec(ae) : ent.mtime_ns;
	ent.rdev = archive_entry_rdev(ae);
	ent.size = archive_entry_size_is_set(ae) ? archive_entry_size(ae) : 0;
	ent.symlink = archive_entry_symlink(ae);

	hl = archive_entry_hardlink(ae);
	if (hl) {
		if (sbx_archive_norm_path(hl, link, sizeof(link)) || !*link)
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "hard link to '%s' leaves the root", name, norm,
			    hl);
		ent.hardlink = link;
	}
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &xname, &xval, &xlen) ==
	    ARCHIVE_OK) {
		if (ent.nxattrs == MAX_XATTRS)
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "too many extended attributes", name, norm);
		xa[ent.nxattrs].name = xname;
		xa[ent.nxattrs].value = xval;
		xa[ent.nxattrs].len = xlen;
		ent.nxattrs++;
	}
	ent.xattrs = xa;

	if (!hl && S_ISREG(ent.mode)) {
		if ((rc = sbx_ext4_file_begin(w, &ent, e)))
			return rc;
		rc = copy_data(a, name, norm, w, e);
		if (rc) {
			sbx_ext4_file_end(w, NULL);
			return rc;
		}
		return sbx_ext4_file_end(w, e);
	}
	if (S_ISLNK(ent.mode) && !hl && (!ent.symlink || !*ent.symlink))
		return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': symlink "
		    "without a target", name, norm);
	return sbx_ext4_add(w, &ent, e);
}

int sbx_archive_apply(struct archive *a, const char *name,
    struct sbx_ext4 *w, int flags, sbx_archive_entry_fn fn, void *arg,
    struct sbx_err *e)
{
	struct archive_entry *ae;
	char norm[PATH_MAX];
	const char *p;
	int r, rc;

	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		p = archive_entry_pathname(ae);
		if (!p)
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry without "
			    "a name", name);
		if (sbx_archive_norm_path(p, norm, sizeof(norm)))
			return escape(name, p, e);
		if ((flags & SBX_ARCHIVE_WHITEOUTS) && is_whiteout(norm))
			continue;
		if (!*norm && !S_ISDIR(archive_entry_mode(ae)))
			return sbx_err_set(e, SBX_EINVAL, "'%s': entry '%s': "
			    "the root must be a directory", name, p);
		if ((rc = apply_entry(a, ae, name, norm, w, e)))
			return rc;
		if (fn && (rc = fn(norm, S_ISDIR(archive_entry_mode(ae)) &&
		    !archive_entry_hardlink(ae), arg)))
			return rc;
	}
	if (r != ARCHIVE_EOF)
		return archive_fail(a, name, e);
	return 0;
}

/* ---- sources ------------------------------------------------------- */

struct layer {
	char *file;		/* archive file, or the outer tar */
	char *member;		/* member of `file`, or NULL */
	char *label;		/* for messages */
	char *sha256;		/* expected digest (hex), or NULL */
	struct sbx_strvec whiteouts;	/* paths to remove */
	struct sbx_strvec opaque;	/* directories to empty */
};

struct sbx_source {
	enum sbx_source_kind kind;
	char *path;
	struct layer *layers;
	size_t nlayers;
	struct sbx_source_stats st;
};

static void add_layer(struct sbx_source *s, const char *file,
    const char *member, const char *sha256)
{
	struct layer *l;

	s->layers = xreallocarray(s->layers, s->nlayers + 1,
	    sizeof(*s->layers));
	l = &s->layers[s->nlayers++];
	l->file = xstrdup(file);
	l->member = member ? xstrdup(member) : NULL;
	l->label = member ? xasprintf("%s:%s", file, member) : xstrdup(file);
	l->sha256 = sha256 ? xstrdup(sha256) : NULL;
	sbx_strvec_init(&l->whiteouts);
	sbx_strvec_init(&l->opaque);
}

static int layer_open(struct layer *l, struct archive **a, struct sbx_err *e)
{
	if (l->member)
		return sbx_archive_open_member(l->file, l->member, a, e);
	return sbx_archive_open_file(l->file, a, e);
}

/* Checks the SHA256 of a layer's raw bytes against its digest. */
static int layer_verify(struct layer *l, struct sbx_err *e)
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[65], buf[READ_BLOCK];
	struct archive *a = NULL;
	ssize_t n;
	int fd = -1, rc;

	if (!l->sha256)
		return 0;
	if (sodium_init() < 0)
		return sbx_err_set(e, SBX_EFAIL, "cannot initialize libsodium");
	if (l->member) {
		if ((rc = seek_member(l->file, l->member, &a, e)))
			return rc;
	} else if ((fd = open(l->file, O_RDONLY | O_CLOEXEC)) < 0) {
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT, "'%s': "
		    "layer blob missing", l->label) :
		    sbx_err_sys(e, "cannot open '%s'", l->label);
	}
	crypto_hash_sha256_init(&st);
	for (;;) {
		n = a ? archive_read_data(a, buf, sizeof(buf)) :
		    read(fd, buf, sizeof(buf));
		if (n < 0 && !a && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		crypto_hash_sha256_update(&st, (unsigned char *)buf, n);
	}
	if (n < 0)
		rc = a ? archive_fail(a, l->label, e) :
		    sbx_err_sys(e, "cannot read '%s'", l->label);
	else
		rc = 0;
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	if (rc)
		return rc;
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (strcmp(hex, l->sha256))
		return sbx_err_set(e, SBX_ECORRUPT, "'%s': layer content has "
		    "sha256:%s, the manifest says sha256:%s", l->label, hex,
		    l->sha256);
	return 0;
}

/* Pass one over a layer: sizes, path checks, whiteouts. */
static int layer_measure(struct sbx_source *s, struct layer *l,
    struct sbx_err *e)
{
	struct archive_entry *ae;
	struct archive *a;
	char norm[PATH_MAX];
	const char *p, *b;
	int r, rc;

	if ((rc = layer_open(l, &a, e)))
		return rc;
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK ||
	    r == ARCHIVE_WARN) {
		p = archive_entry_pathname(ae);
		if (!p || sbx_archive_norm_path(p, norm, sizeof(norm))) {
			rc = escape(l->label, p ? p : "", e);
			goto out;
		}
		s->st.entries++;
		if (S_ISREG(archive_entry_mode(ae)))
			s->st.bytes += archive_entry_size(ae);
		if (s->kind != SBX_SOURCE_OCI || !is_whiteout(norm))
			continue;
		b = strrchr(norm, '/');
		if (!strcmp(b ? b + 1 : norm, ".wh..wh..opq")) {
			sbx_strvec_pushf(&l->opaque, "%.*s",
			    b ? (int)(b - norm) : 0, norm);
		} else if (b) {
			sbx_strvec_pushf(&l->whiteouts, "%.*s/%s",
			    (int)(b - norm), norm, b + 5);
		} else {
			sbx_strvec_push(&l->whiteouts, norm + 4);
		}
	}
	rc = r == ARCHIVE_EOF ? 0 : archive_fail(a, l->label, e);
out:
	archive_read_free(a);
	return rc;
}

/* Reads `rel` of the OCI source (file in the layout dir, or tar member). */
static int oci_read(struct sbx_source *s, int is_dir, const char *rel,
    json_t **out, struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	json_error_t je;
	char *full;
	int rc;

	if (is_dir) {
		struct stat st;

		full = xasprintf("%s/%s", s->path, rel);
		b.cap = JSON_MAX;
		if (stat(full, &st) < 0 && errno == ENOENT)
			rc = sbx_err_set(e, SBX_ENOENT, "'%s': no '%s' (not an "
			    "OCI image layout)", s->path, rel);
		else
			rc = sbx_buf_read_file(&b, full, e);
		free(full);
	} else {
		rc = read_member(s->path, rel, &b, e);
	}
	if (rc) {
		sbx_buf_release(&b);
		return rc;
	}
	*out = json_loadb(b.buf, b.len, 0, &je);
	sbx_buf_release(&b);
	if (!*out)
		return sbx_err_set(e, SBX_EINVAL, "'%s': '%s': bad JSON at "
		    "line %d: %s", s->path, rel, je.line, je.text);
	return 0;
}

/* The hex of "sha256:<hex>" (64 digits), or NULL. */
static const char *sha256_of(const char *digest)
{
	return digest && !strncmp(digest, "sha256:", 7) &&
	    strlen(digest + 7) == 64 ? digest + 7 : NULL;
}

/* "sha256:<hex>" -> "blobs/sha256/<hex>", refusing anything else. */
static char *digest_path(const char *d)
{
	const char *c = d ? strchr(d, ':') : NULL, *p;

	if (!c || c == d || !c[1])
		return NULL;
	for (p = d; p < c; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
			return NULL;
	for (p = c + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'f') || (*p >= '0' && *p <= '9')))
			return NULL;
	return xasprintf("blobs/%.*s/%s", (int)(c - d), d, c + 1);
}

static int is_index_type(const char *mt)
{
	return mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"));
}

/* Picks a manifest from an index's "manifests": linux/amd64, else first. */
static json_t *pick_manifest(json_t *idx)
{
	json_t *ms = json_object_get(idx, "manifests"), *m, *first = NULL;
	size_t i;

	json_array_foreach(ms, i, m) {
		json_t *pl = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(pl, "os"));
		const char *ar = json_string_value(json_object_get(pl,
		    "architecture"));

		if (!first)
			first = m;
		if (os && ar && !strcmp(os, "linux") && !strcmp(ar, "amd64"))
			return m;
	}
	return first;
}

static int oci_bad(struct sbx_source *s, const char *what, struct sbx_err *e)
{
	return sbx_err_set(e, SBX_EINVAL, "'%s': %s", s->path, what);
}

/* OCI index.json -> manifest -> layers. */
static int oci_index(struct sbx_source *s, int is_dir, struct sbx_err *e)
{
	json_t *doc = NULL, *next, *m, *layers, *l;
	const char *rel = "index.json";
	char *blob = NULL, *lp;
	size_t i;
	int rc, depth;

	if ((rc = oci_read(s, is_dir, rel, &doc, e)))
		return rc;
	for (depth = 0; ; depth++) {
		if (depth > 4) {
			rc = oci_bad(s, "image indexes nested too deep", e);
			goto out;
		}
		if (!json_object_get(doc, "manifests"))
			break;
		m = pick_manifest(doc);
		if (!m) {
			rc = oci_bad(s, "the image index lists no manifest", e);
			goto out;
		}
		free(blob);
		blob = digest_path(json_string_value(json_object_get(m,
		    "digest")));
		if (!blob) {
			rc = oci_bad(s, "bad manifest digest in image index",
			    e);
			goto out;
		}
		if ((rc = oci_read(s, is_dir, blob, &next, e)))
			goto out;
		json_decref(doc);
		doc = next;
		(void)is_index_type;
	}
	layers = json_object_get(doc, "layers");
	if (!json_is_array(layers)) {
		rc = oci_bad(s, "the image manifest has no 'layers'", e);
		goto out;
	}
	json_array_foreach(layers, i, l) {
		const char *dg = json_string_value(json_object_get(l,
		    "digest"));

		lp = digest_path(dg);
		if (!lp) {
			rc = oci_bad(s, "bad layer digest in image manifest", e);
			goto out;
		}
		if (is_dir) {
			char *f = xasprintf("%s/%s", s->path, lp);

			add_layer(s, f, NULL, sha256_of(dg));
			free(f);
		} else {
			add_layer(s, s->path, lp, sha256_of(dg));
		}
		free(lp);
	}
	rc = 0;
out:
	free(blob);
	json_decref(doc);
	return rc;
}

/* docker save's manifest.json: [{"Layers": ["<id>/layer.tar", ...]}]. */
static int docker_manifest(struct sbx_source *s, json_t *doc,
    struct sbx_err *e)
{
	json_t *layers = json_object_get(json_array_get(doc, 0), "Layers"), *l;
	char norm[PATH_MAX];
	size_t i;

	if (!json_is_array(layers))
		return oci_bad(s, "manifest.json has no 'Layers'", e);
	json_array_foreach(layers, i, l) {
		const char *p = json_string_value(l);

		if (!p || sbx_archive_norm_path(p, norm, sizeof(norm)) ||
		    !*norm)
			return oci_bad(s, "bad layer path in manifest.json", e);
		/* newer docker names layers by digest: check those */
		add_layer(s, s->path, norm, !strncmp(norm, "blobs/sha256/", 13)
		    && strlen(norm + 13) == 64 ? norm + 13 : NULL);
	}
	return 0;
}

static int oci_layers(struct sbx_source *s, struct sbx_err *e)
{
	struct stat st;
	json_t *doc;
	int rc;

	if (stat(s->path, &st) < 0)
		return errno == ENOENT ? sbx_err_set(e, SBX_ENOENT, "cannot "
		    "open OCI image '%s': no such file or directory", s->path) :
		    sbx_err_sys(e, "cannot open OCI image '%s'", s->path);
	if (S_ISDIR(st.st_mode))
		return oci_index(s, 1, e);
	rc = oci_read(s, 0, "manifest.json", &doc, e);
	if (rc == SBX_ENOENT)
		return oci_index(s, 0, e);
	if (rc)
		return rc;
	rc = docker_manifest(s, doc, e);
	json_decref(doc);
	return rc;
}

int sbx_source_open(enum sbx_source_kind kind, const char *path,
    struct sbx_source **out, struct sbx_err *e)
{
	struct sbx_source *s = xcalloc(1, sizeof(*s));
	size_t i;
	int rc = 0;

	s->kind = kind;
	s->path = xstrdup(path);
	if (kind == SBX_SOURCE_OCI)
		rc = oci_layers(s, e);
	else
		add_layer(s, path, NULL, NULL);
	for (i = 0; !rc && i < s->nlayers; i++) {
		rc = layer_verify(&s->layers[i], e);
		if (!rc)
			rc = layer_measure(s, &s->layers[i], e);
	}
	if (rc) {
		sbx_source_free(s);
		return rc;
	}
	s->st.layers = (unsigned)s->nlayers;
	*out = s;
	return 0;
}

const struct sbx_source_stats *sbx_source_stats(const struct sbx_source *s)
{
	return &s->st;
}

int sbx_source_write(struct sbx_source *s, struct sbx_ext4 *w,
    struct sbx_err *e)
{
	struct archive *a;
	size_t i, j;
	int rc;

	for (i = 0; i < s->nlayers; i++) {
		struct layer *l = &s->layers[i];

		for (j = 0; j < l->opaque.nr; j++)
			if ((rc = sbx_ext4_remove(w, l->opaque.v[j], 1, e)))
				return rc;
		for (j = 0; j < l->whiteouts.nr; j++)
			if ((rc = sbx_ext4_remove(w, l->whiteouts.v[j], 0, e)))
				return rc;
		if ((rc = layer_open(l, &a, e)))
			return rc;
		rc = sbx_archive_apply(a, l->label, w,
		    s->kind == SBX_SOURCE_OCI ? SBX_ARCHIVE_WHITEOUTS : 0,
		    NULL, NULL, e);
		archive_read_free(a);
		if (rc)
			return rc;
	}
	return 0;
}

void sbx_source_free(struct sbx_source *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nlayers; i++) {
		free(s->layers[i].file);
		free(s->layers[i].member);
		free(s->layers[i].label);
		free(s->layers[i].sha256);
		sbx_strvec_clear(&s->layers[i].whiteouts);
		sbx_strvec_clear(&s->layers[i].opaque);
	}
	free(s->layers);
	free(s->path);
	free(s);
}
