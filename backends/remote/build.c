/*
 * build.c - remote template builds (remote.h): a template file and the
 * files it refers to are packed into a tar in memory and POSTed to
 * /v1/templates/build; a template the server knows is built with
 * /v1/templates/{name}/build. Either way the NDJSON events the server
 * streams go to the caller's callback as they arrive.
 *
 * The tar holds the template file under its base name and every file it
 * refers to (`from.tar`, `from.oci`, `files[].src`, `kernel`) under the
 * path written in the template, which must be relative and stay inside
 * the template's directory (also after following symbolic links), since
 * the server unpacks the upload somewhere else.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "remote/remote-int.h"
#include "serve/serve.h"
#include "template/template.h"
#include "core/banned.h"

#define EVENT_LINE_MAX (4u << 20)

/* The directory of template file `path` ("." when it has no '/'). */
static char *
tpl_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/*
 * Checks host path `rel` as written in the template (key `what`) and
 * adds it to `paths`: relative, no "..", and inside `rdir` (the
 * template directory's real path) once symbolic links are followed.
 */
static int
add_path(const char *tpl, const char *dir, const char *rdir,
    const char *what, const char *rel, struct sbx_strvec *paths,
    struct sbx_err *e)
{
	char *full, *real;
	size_t n = strlen(rdir);
	int rc = 0;

	if (rel[0] == '/')
		return sbx_err_set(e, SBX_EUSAGE, "%s: '%s' '%s' is an absolute "
		    "path; a remote build sends only files under the "
		    "template's directory, named relative to it", tpl, what,
		    rel);
	if (!strcmp(rel, "..") || !strncmp(rel, "../", 3))
		return sbx_err_set(e, SBX_EUSAGE, "%s: '%s' '%s' is outside "
		    "the template's directory; a remote build sends only "
		    "files under it", tpl, what, rel);
	full = xasprintf("%s/%s", dir, rel);
	real = realpath(full, NULL);
	if (!real)
		rc = sbx_err_sys(e, "%s: '%s' '%s'", tpl, what, rel);
	else if (strcmp(rdir, "/") && (strncmp(real, rdir, n) ||
	    (real[n] != '/' && real[n])))
		rc = sbx_err_set(e, SBX_EUSAGE, "%s: '%s' '%s' leads outside "
		    "the template's directory (to '%s'); a remote build sends "
		    "only files under it", tpl, what, rel, real);
	else
		sbx_strvec_push(paths, rel);
	free(full);
	free(real);
	return rc;
}

/* The files template `path` refers to, as written, checked. */
static int
collect(const char *path, struct sbx_buf *text, struct sbx_strvec *paths,
    struct sbx_err *e)
{
	struct sbx_template *t = NULL;
	char *dir = tpl_dir(path), *rdir = realpath(dir, NULL);
	size_t i;
	int rc;

	if (!rdir) {
		rc = sbx_err_sys(e, "%s", dir);
		free(dir);
		return rc;
	}
	/* dir "": host paths stay as the file writes them. */
	rc = sbx_template_parse(text->buf, text->len, path, "", &t, e);
	if (!rc && (t->from.kind == SBX_FROM_TAR ||
	    t->from.kind == SBX_FROM_OCI))
		rc = add_path(path, dir, rdir, t->from.kind == SBX_FROM_TAR ?
		    "from.tar" : "from.oci", t->from.path, paths, e);
	for (i = 0; !rc && i < t->nfiles; i++)
		rc = add_path(path, dir, rdir, "files.src", t->files[i].src,
		    paths, e);
	if (!rc && t->kernel)
		rc = add_path(path, dir, rdir, "kernel", t->kernel, paths, e);
	sbx_template_free(t);
	free(dir);
	free(rdir);
	return rc;
}

/* Writes archive entries for `rel` (a file or a whole tree) under `dir`. */
static int
pack_tree(struct archive *w, const char *dir, const char *rel,
    struct sbx_err *e)
{
	struct archive *rd = archive_read_disk_new();
	struct archive_entry *ent;
	char *top = xasprintf("%s/%s", dir, rel);
	size_t skip = strlen(dir) + 1;
	int r, rc = 0;

	archive_read_disk_set_standard_lookup(rd);
	archive_read_disk_set_symlink_physical(rd);
	if (archive_read_disk_open(rd, top) != ARCHIVE_OK) {
		rc = sbx_err_set(e, SBX_EIO, "cannot read '%s': %s", top,
		    archive_error_string(rd));
		goto out;
	}
	for (;;) {
		ent = archive_entry_new();
		r = archive_read_next_header2(rd, ent);
		if (r == ARCHIVE_EOF) {
			archive_entry_free(ent);
			break;
		}
		if (r != ARCHIVE_OK) {
			rc = sbx_err_set(e, SBX_EIO, "cannot read '%s': %s",
			    top, archive_error_string(rd));
			archive_entry_free(ent);
			break;
		}
		archive_read_disk_descend(rd);
		{
			const char *p = archive_entry_sourcepath(ent);

			if (!p || strlen(p) < skip) {
				archive_entry_free(ent);
				continue;
			}
			archive_entry_copy_pathname(ent, p + skip);
		}
		archive_entry_set_uname(ent, NULL);
		archive_entry_set_gname(ent, NULL);
		r = archive_write_header(w, ent);
		if (r == ARCHIVE_OK && archive_entry_filetype(ent) == AE_IFREG &&
		    archive_entry_size(ent) > 0) {
			int fd = open(archive_entry_sourcepath(ent),
			    O_RDONLY | O_CLOEXEC);
			char buf[64 * 1024];
			ssize_t n;

			if (fd < 0) {
				rc = sbx_err_sys(e, "cannot read '%s'",
				    archive_entry_sourcepath(ent));
			} else {
				while ((n = read(fd, buf, sizeof(buf))) > 0)
					if (archive_write_data(w, buf,
					    (size_t)n) < 0)
						break;
				close(fd);
			}
		} else if (r != ARCHIVE_OK) {
			rc = sbx_err_set(e, SBX_EIO, "cannot pack '%s': %s",
			    archive_entry_sourcepath(ent),
			    archive_error_string(w));
		}
		archive_entry_free(ent);
		if (rc)
			break;
	}
out:
	archive_read_free(rd);
	free(top);
	return rc;
}

/* Packs the template file and its files into memory file *fd. */
static int
pack(const char *path, int *fd, char **name, struct sbx_err *e)
{
	struct sbx_buf text = SBX_BUF_INIT;
	struct sbx_strvec paths = SBX_STRVEC_INIT;
	struct archive *w = NULL;
	struct archive_entry *ent;
	char *dir = tpl_dir(path);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t i;
	int rc;

	*fd = -1;
	*name = NULL;
	rc = sbx_buf_read_file(&text, path, e);
	if (!rc)
		rc = collect(path, &text, &paths, e);
	if (rc)
		goto out;
	*fd = memfd_create("sbx-build-context", MFD_CLOEXEC);
	if (*fd < 0) {
		rc = sbx_err_sys(e, "cannot make the build context");
		goto out;
	}
	w = archive_write_new();
	archive_write_set_format_pax_restricted(w);
	archive_write_add_filter_gzip(w);
	if (archive_write_open_fd(w, *fd) != ARCHIVE_OK) {
		rc = sbx_err_set(e, SBX_EIO, "cannot pack the build context: "
		    "%s", archive_error_string(w));
		goto out;
	}
	ent = archive_entry_new();
	archive_entry_set_pathname(ent, base);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)text.len);
	if (archive_write_header(w, ent) != ARCHIVE_OK ||
	    archive_write_data(w, text.buf, text.len) < 0)
		rc = sbx_err_set(e, SBX_EIO, "cannot pack '%s': %s", path,
		    archive_error_string(w));
	archive_entry_free(ent);
	for (i = 0; !rc && i < paths.nr; i++)
		rc = pack_tree(w, dir, paths.v[i], e);
	if (!rc && archive_write_close(w) != ARCHIVE_OK)
		rc = sbx_err_set(e, SBX_EIO, "cannot pack the build context: "
		    "%s", archive_error_string(w));
	if (!rc && lseek(*fd, 0, SEEK_SET) < 0)
		rc = sbx_err_sys(e, "build context");
	if (!rc)
		*name = xstrdup(base);
out:
	if (w)
		archive_write_free(w);
	if (rc && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	sbx_buf_release(&text);
	sbx_strvec_clear(&paths);
	free(dir);
	return rc;
}

/* Event lines as they arrive. */
struct events {
	const struct sbx_remote_build *o;
	struct sbx_buf line;
	int ended;		/* a done or error event was seen */
	int rc;
	struct sbx_err err;
};

static int
event_line(void *arg, const char *line, size_t len, struct sbx_err *e)
{
	struct events *ev = arg;
	json_t *j = json_loadb(line, len, 0, NULL);
	const char *kind, *code = NULL, *msg = NULL, *hint = NULL;
	int rc = 0;

	if (!j || !json_is_object(j)) {
		json_decref(j);
		return sbx_err_set(e, SBX_ENET, "sbx server sent a malformed "
		    "build event");
	}
	kind = json_string_value(json_object_get(j, "event"));
	if (!kind) {		/* {"keepalive": true} and future frames */
		json_decref(j);
		return 0;
	}
	if (!strcmp(kind, "error")) {
		json_unpack(j, "{s?s, s?s, s?s}", "code", &code, "message",
		    &msg, "hint", &hint);
		ev->rc = sbx_err_set(&ev->err, sbx_serve_code_from_name(code),
		    "%s", msg ? msg : "the build failed on the server");
		if (hint)
			sbx_err_hint(&ev->err, "%s", hint);
		ev->ended = 1;
	} else if (!strcmp(kind, "done")) {
		ev->ended = 1;
	}
	if (ev->o->on_event)
		rc = ev->o->on_event(ev->o->arg, j, line, len, e);
	json_decref(j);
	return rc;
}

static int
events_sink(void *ud, const char *data, size_t len, struct sbx_err *e)
{
	struct events *ev = ud;

	return remote_ndjson_feed(&ev->line, data, len, event_line, ev,
	    "a build event", e);
}

int
sbx_remote_build(struct sbx_conn *c, const struct sbx_remote_build *o,
    struct sbx_err *e)
{
	struct events ev;
	struct remote_sink sink = { events_sink, &ev };
	struct remote_req rq;
	char *name = NULL;
	int fd = -1, rc;

	memset(&ev, 0, sizeof(ev));
	ev.o = o;
	sbx_buf_init(&ev.line, 0);
	ev.line.cap = EVENT_LINE_MAX;
	sbx_err_clear(&ev.err);
	memset(&rq, 0, sizeof(rq));
	sbx_buf_init(&rq.body, 0);
	rq.method = "POST";
	rq.upload_fd = -1;
	rq.sink = &sink;
	if (o->upload) {
		rc = pack(o->template, &fd, &name, e);
		if (rc)
			goto out;
		rq.path = xstrdup("/v1/templates/build");
		remote_path_arg(c, &rq.path, "template", name);
		rq.upload_fd = fd;
	} else {
		char *q = curl_easy_escape(c->h, o->template, 0);

		rq.path = xasprintf("/v1/templates/%s/build", q);
		curl_free(q);
	}
	if (o->no_cache)
		remote_path_arg(c, &rq.path, "no_cache", "1");
	if (o->image_only)
		remote_path_arg(c, &rq.path, "image_only", "1");
	rc = remote_perform(c, &rq, e);
	if (!rc && ev.rc) {
		*e = ev.err;
		rc = ev.rc;
	} else if (!rc && !ev.ended) {
		rc = sbx_err_set(e, SBX_ENET, "the connection to the sbx server "
		    "at %s ended before the build did", c->shown);
	}
out:
	remote_req_release(&rq);
	if (fd >= 0)
		close(fd);
	free(name);
	sbx_buf_release(&ev.line);
	return rc;
}
