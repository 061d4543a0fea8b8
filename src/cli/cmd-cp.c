/*
 * cmd-cp.c - `sbx cp SRC DST`: copy files and directories between the
 * host and a sandbox. One side is `ID:PATH` (PATH absolute in the guest),
 * the other a host path or `-` (standard input / output, single files).
 * As with cp and docker cp, copying onto an existing directory puts the
 * source inside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/sandbox.h"
#include "core/buf.h"
#include "core/xmalloc.h"
#include "core/banned.h"

struct cp_side {
	char *id;		/* sandbox, NULL for a host path */
	char *path;
};

/* Splits "ID:PATH"; host paths starting with '/' or '.' never split. */
static void
cp_side_parse(const char *arg, struct cp_side *s)
{
	const char *colon = strchr(arg, ':');

	if (colon && colon != arg && arg[0] != '/' && arg[0] != '.') {
		s->id = xstrndup(arg, (size_t)(colon - arg));
		s->path = xstrdup(colon + 1);
	} else {
		s->id = NULL;
		s->path = xstrdup(arg);
	}
}

static const char *
base_name(const char *path)
{
	const char *end = path + strlen(path), *p;

	while (end > path + 1 && end[-1] == '/')
		end--;
	for (p = end; p > path && p[-1] != '/'; p--)
		;
	return p;
}

/* path + "/" + name, without a doubled slash. */
static char *
join(const char *dir, const char *name, size_t name_len)
{
	size_t n = strlen(dir);

	if (n && dir[n - 1] == '/')
		return xasprintf("%s%.*s", dir, (int)name_len, name);
	return xasprintf("%s/%.*s", dir, (int)name_len, name);
}

static size_t
base_len(const char *path)
{
	const char *b = base_name(path);
	size_t n = strlen(b);

	while (n > 1 && b[n - 1] == '/')
		n--;
	return n;
}

/* Host file or directory tree → guest path. */
static int
put_tree(struct sbx_ctx *ctx, const char *id, const char *src,
    const char *dst, struct sbx_err *e)
{
	const struct sbx_backend *b = ctx->backend;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int fd, rc = 0;

	if (lstat(src, &st) < 0)
		return sbx_err_sys(e, "cannot read '%s'", src);
	if (S_ISREG(st.st_mode)) {
		fd = open(src, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return sbx_err_sys(e, "cannot open '%s'", src);
		rc = b->file_put(ctx->conn, id, fd, dst, st.st_mode & 07777,
		    e);
		close(fd);
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		sbx_info(ctx, "sbx: skipping '%s': not a file or directory",
		    src);
		return 0;
	}
	rc = b->file_mkdir(ctx->conn, id, dst, st.st_mode & 07777, e);
	if (rc < 0)
		return rc;
	d = opendir(src);
	if (!d)
		return sbx_err_sys(e, "cannot read directory '%s'", src);
	while (rc == 0 && (de = readdir(d))) {
		char *s, *t;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		s = join(src, de->d_name, strlen(de->d_name));
		t = join(dst, de->d_name, strlen(de->d_name));
		rc = put_tree(ctx, id, s, t, e);
		free(s);
		free(t);
	}
	closedir(d);
	return rc;
}

/* Guest file or directory tree → host path. */
static int
get_tree(struct sbx_ctx *ctx, const char *id, const char *src,
    const char *dst, const struct sbx_file_stat *st, struct sbx_err *e)
{
	const struct sbx_backend *b = ctx->backend;
	struct sbx_file_stat *ents = NULL;
	size_t n = 0, i;
	int fd, rc;

	if (st->type == 'f') {
		fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    st->mode & 0777);
		if (fd < 0)
			return sbx_err_sys(e, "cannot create '%s'", dst);
		rc = b->file_get(ctx->conn, id, src, fd, e);
		if (close(fd) < 0 && rc == 0)
			rc = sbx_err_sys(e, "cannot write '%s'", dst);
		return rc;
	}
	if (st->type != 'd') {
		sbx_info(ctx, "sbx: skipping '%s': not a file or directory",
		    src);
		return 0;
	}
	if (mkdir(dst, (st->mode & 0777) | 0700) < 0 && errno != EEXIST)
		return sbx_err_sys(e, "cannot create directory '%s'", dst);
	rc = b->file_list(ctx->conn, id, src, &ents, &n, e);
	for (i = 0; rc == 0 && i < n; i++) {
		char *s, *t;

		if (strchr(ents[i].name, '/') || !strcmp(ents[i].name, "..") ||
		    !strcmp(ents[i].name, ".")) {
			rc = sbx_err_set(e, SBX_EINVAL, "sandbox returned a bad "
			    "file name '%s' in '%s'", ents[i].name, src);
			break;
		}
		s = join(src, ents[i].name, strlen(ents[i].name));
		t = join(dst, ents[i].name, strlen(ents[i].name));
		rc = get_tree(ctx, id, s, t, &ents[i], e);
		free(s);
		free(t);
	}
	for (i = 0; i < n; i++)
		sbx_file_stat_release(&ents[i]);
	free(ents);
	return rc;
}

static int
copy_in(struct sbx_ctx *ctx, struct cp_side *src, struct cp_side *dst,
    struct sbx_err *e)
{
	const struct sbx_backend *b = ctx->backend;
	struct sbx_file_stat st;
	char *target;
	int rc;

	if (!strcmp(src->path, "-"))
		return b->file_put(ctx->conn, dst->id, STDIN_FILENO, dst->path,
		    0644, e);
	memset(&st, 0, sizeof(st));
	target = xstrdup(dst->path);
	if (b->file_stat(ctx->conn, dst->id, dst->path, &st, e) == 0 &&
	    st.type == 'd') {
		free(target);
		target = join(dst->path, base_name(src->path),
		    base_len(src->path));
	}
	sbx_file_stat_release(&st);
	sbx_err_clear(e);
	rc = put_tree(ctx, dst->id, src->path, target, e);
	free(target);
	return rc;
}

static int
copy_out(struct sbx_ctx *ctx, struct cp_side *src, struct cp_side *dst,
    struct sbx_err *e)
{
	const struct sbx_backend *b = ctx->backend;
	struct sbx_file_stat st;
	struct stat hst;
	char *target;
	int rc;

	memset(&st, 0, sizeof(st));
	if (b->file_stat(ctx->conn, src->id, src->path, &st, e) < 0)
		return -1;
	if (!strcmp(dst->path, "-")) {
		if (st.type != 'f') {
			sbx_file_stat_release(&st);
			return sbx_err_set(e, SBX_EUSAGE, "'%s:%s' is not a "
			    "file; only files can be copied to '-'", src->id,
			    src->path);
		}
		sbx_file_stat_release(&st);
		return b->file_get(ctx->conn, src->id, src->path,
		    STDOUT_FILENO, e);
	}
	target = xstrdup(dst->path);
	if (stat(dst->path, &hst) == 0 && S_ISDIR(hst.st_mode)) {
		free(target);
		target = join(dst->path, base_name(src->path),
		    base_len(src->path));
	}
	rc = get_tree(ctx, src->id, src->path, target, &st, e);
	sbx_file_stat_release(&st);
	free(target);
	return rc;
}

static int
cp_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	const struct sbx_backend *b = ctx->backend;
	struct cp_side src, dst;
	struct sbx_err e;
	int rc;

	if (argc != 2)
		return sbx_usage_error(ctx, "need a source and a destination");
	cp_side_parse(argv[0], &src);
	cp_side_parse(argv[1], &dst);
	if (!src.id == !dst.id) {
		rc = sbx_usage_error(ctx, "exactly one of SRC and DST must be "
		    "ID:PATH");
		goto out;
	}
	if ((src.id && src.path[0] != '/') || (dst.id && dst.path[0] != '/')) {
		rc = sbx_usage_error(ctx, "the sandbox path must be absolute "
		    "(ID:/path)");
		goto out;
	}
	sbx_err_clear(&e);
	if (!b->file_put || !b->file_get || !b->file_stat || !b->file_list ||
	    !b->file_mkdir) {
		sbx_backend_unsupported(b, "cp", &e);
		rc = sbx_report_err(ctx, &e);
		goto out;
	}
	rc = src.id ? copy_out(ctx, &src, &dst, &e) :
	    copy_in(ctx, &src, &dst, &e);
	rc = rc < 0 ? sbx_report_err(ctx, &e) : 0;
out:
	free(src.id);
	free(src.path);
	free(dst.id);
	free(dst.path);
	return rc;
}

const struct sbx_cmd cmd_cp = {
	.name = "cp",
	.summary = "copy files between the host and a sandbox",
	.usage = "SRC DST",
	.flags = SBX_CMD_NEEDS_BACKEND,
	.exec = cp_exec,
};
