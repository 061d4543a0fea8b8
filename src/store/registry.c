/*
 * registry.c - sandboxes/<id>/: ids, create/load/save/remove, listing,
 * name resolution and per-sandbox locks.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/fsutil.h"
#include "store/refs.h"
#include "store/registry.h"
#include "store/store-int.h"
#include "core/banned.h"

#define SANDBOX_JSON_MAX (4 * 1024 * 1024)

static const char base32[] = "abcdefghijklmnopqrstuvwxyz234567";

struct sbx_sandbox_lock {
	int fd;
};

void
sbx_sandbox_id_new(char out[SBX_SANDBOX_ID_SIZE])
{
	unsigned char rnd[12];
	int i;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(out, "sb-", 3);
	for (i = 0; i < 12; i++)
		out[3 + i] = base32[rnd[i] & 31];
	out[SBX_SANDBOX_ID_LEN] = '\0';
}

int
sbx_sandbox_id_valid(const char *s)
{
	int i;

	if (!s || strncmp(s, "sb-", 3))
		return 0;
	for (i = 3; i < SBX_SANDBOX_ID_LEN; i++)
		if (!s[i] || !strchr(base32, s[i]))
			return 0;
	return s[SBX_SANDBOX_ID_LEN] == '\0';
}

int
sbx_sandbox_name_check(const char *name, struct sbx_err *e)
{
	int r = sbx_ref_name_check("sandbox name", name, e);

	if (r < 0)
		return r;
	if (!strncmp(name, "sb-", 3))
		return sbx_err_set(e, SBX_EINVAL, "sandbox name '%s' must not "
		    "start with 'sb-' (reserved for ids)", name);
	return 0;
}

char *
sbx_sandbox_dir(const struct sbx_store *s, const char *id)
{
	return xasprintf("%s/sandboxes/%s", s->home, id);
}

/* sandboxes/<id>/sandbox.json, after checking the id. */
static char *
json_path(struct sbx_store *s, const char *id, struct sbx_err *e)
{
	if (!sbx_sandbox_id_valid(id)) {
		sbx_err_set(e, SBX_EINVAL, "'%s' is not a sandbox id", id);
		return NULL;
	}
	return xasprintf("%s/sandboxes/%s/sandbox.json", s->home, id);
}

/* Serializes and atomically writes sb to its sandbox.json. */
static int
write_record(struct sbx_store *s, const struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	char *path, *text;
	json_t *j;
	int r, taken;

	path = json_path(s, sb->id, e);
	if (!path)
		return SBX_EINVAL;
	j = sbx_sandbox_to_json(sb);
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text) {
		free(path);
		return sbx_err_set(e, SBX_EFAIL, "cannot encode sandbox '%s'",
		    sb->id);
	}
	sbx_buf_addstr(&b, text);
	sbx_buf_addch(&b, '\n');
	r = store_write_enter(s, &taken, e);
	if (r == 0)
		r = sbx_fs_write_atomic(path, s->tmpdir, b.buf, b.len, 0600,
		    e);
	store_write_leave(s, taken);
	sbx_buf_release(&b);
	free(text);
	free(path);
	return r;
}

/* Locks sandboxes/.lock exclusively (name uniqueness); returns the fd. */
static int
registry_lock(struct sbx_store *s, int *fd, struct sbx_err *e)
{
	char *p = xasprintf("%s/sandboxes/.lock", s->home);
	int r;

	*fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0) {
		r = sbx_err_sys(e, "cannot open '%s'", p);
		free(p);
		return r;
	}
	free(p);
	r = store_flock_wait(*fd, LOCK_EX, s->lock_timeout_ms);
	if (r < 0) {
		close(*fd);
		*fd = -1;
		return sbx_err_set(e, SBX_EBUSY, "the sandbox registry in '%s' "
		    "is busy", s->home);
	}
	return 0;
}

static char *sandbox_name(struct sbx_store *s, const char *id);

/* SBX_EEXIST if a sandbox other than `self` is called `name`. */
static int
name_unused(struct sbx_store *s, const char *name, const char *self,
    struct sbx_err *e)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	size_t i;
	int r;

	r = sbx_sandbox_list(s, &ids, e);
	for (i = 0; r == 0 && i < ids.nr; i++) {
		char *other = sandbox_name(s, ids.v[i]);

		if (other && !strcmp(other, name) &&
		    (!self || strcmp(self, ids.v[i])))
			r = sbx_err_set(e, SBX_EEXIST, "a sandbox named '%s' "
			    "already exists ('%s')", name, ids.v[i]);
		free(other);
	}
	sbx_strvec_clear(&ids);
	return r;
}

int
sbx_sandbox_create(struct sbx_store *s, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	char *dir;
	int lfd, r, taken;

	if (sb->name && (r = sbx_sandbox_name_check(sb->name, e)) < 0)
		return r;
	if (!sb->id[0])
		sbx_sandbox_id_new(sb->id);
	else if (!sbx_sandbox_id_valid(sb->id))
		return sbx_err_set(e, SBX_EINVAL, "'%s' is not a sandbox id",
		    sb->id);
	r = store_write_enter(s, &taken, e);
	if (r < 0)
		return r;
	r = registry_lock(s, &lfd, e);
	if (r < 0) {
		store_write_leave(s, taken);
		return r;
	}
	if (sb->name && (r = name_unused(s, sb->name, NULL, e)) < 0)
		goto out;
	dir = sbx_sandbox_dir(s, sb->id);
	if (mkdir(dir, 0700) < 0) {
		if (errno == EEXIST)
			r = sbx_err_set(e, SBX_EEXIST, "sandbox '%s' already "
			    "exists", sb->id);
		else
			r = sbx_err_sys(e, "cannot create '%s'", dir);
		free(dir);
		goto out;
	}
	free(dir);
	sb->created = sb->updated = time(NULL);
	r = write_record(s, sb, e);
	if (r == 0) {
		char *p = xasprintf("%s/sandboxes", s->home);

		r = sbx_fs_fsync_dir(p, e);
		free(p);
	}
out:
	close(lfd);
	store_write_leave(s, taken);
	return r;
}

int
sbx_sandbox_load_json(struct sbx_store *s, const char *id, json_t **out,
    struct sbx_err *e)
{
	struct sbx_buf b = SBX_BUF_INIT;
	json_error_t jerr;
	char *path;
	int r;

	*out = NULL;
	path = json_path(s, id, e);
	if (!path)
		return SBX_EINVAL;
	b.cap = SANDBOX_JSON_MAX;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		r = sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", id);
		goto out;
	}
	r = sbx_buf_read_file(&b, path, e);
	if (r < 0)
		goto out;
	*out = json_loadb(b.buf, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out) {
		r = sbx_err_set(e, SBX_ECORRUPT, "'%s' is corrupt: line %d "
		    "column %d: %s", path, jerr.line, jerr.column, jerr.text);
		sbx_err_hint(e, "fix or remove the file; 'sbx rm %s' removes "
		    "the sandbox", id);
	}
out:
	sbx_buf_release(&b);
	free(path);
	return r;
}

int
sbx_sandbox_load(struct sbx_store *s, const char *id,
    struct sbx_sandbox *sb, struct sbx_err *e)
{
	char *where;
	json_t *j;
	int r;

	sbx_sandbox_init(sb);
	r = sbx_sandbox_load_json(s, id, &j, e);
	if (r < 0)
		return r;
	sbx_sandbox_release(sb);
	where = xasprintf("'%s/sandboxes/%s/sandbox.json'", s->home, id);
	r = sbx_sandbox_from_json(j, sb, where, e);
	if (r == 0 && strcmp(sb->id, id))
		r = sbx_err_set(e, SBX_ECORRUPT, "%s: field 'id' is '%s', not "
		    "the directory's name", where, sb->id);
	free(where);
	json_decref(j);
	return r;
}

int
sbx_sandbox_save(struct sbx_store *s, struct sbx_sandbox *sb,
    struct sbx_err *e)
{
	char *dir;
	int r;

	if (!sbx_sandbox_id_valid(sb->id))
		return sbx_err_set(e, SBX_EINVAL, "'%s' is not a sandbox id",
		    sb->id);
	dir = sbx_sandbox_dir(s, sb->id);
	r = access(dir, F_OK);
	free(dir);
	if (r < 0)
		return sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", sb->id);
	sb->updated = time(NULL);
	return write_record(s, sb, e);
}

int
sbx_sandbox_rename(struct sbx_store *s, struct sbx_sandbox *sb,
    const char *name, struct sbx_err *e)
{
	char *old;
	int lfd, r;

	if (name && (r = sbx_sandbox_name_check(name, e)) < 0)
		return r;
	r = registry_lock(s, &lfd, e);
	if (r < 0)
		return r;
	if (name && (r = name_unused(s, name, sb->id, e)) < 0)
		goto out;
	old = sb->name ? xstrdup(sb->name) : NULL;
	sbx_sandbox_set_name(sb, name);
	r = sbx_sandbox_save(s, sb, e);
	if (r < 0)
		sbx_sandbox_set_name(sb, old);
	free(old);
out:
	close(lfd);
	return r;
}

int
sbx_sandbox_remove(struct sbx_store *s, const char *id, struct sbx_err *e)
{
	char *dir, *grave;
	int r, taken;

	if (!sbx_sandbox_id_valid(id))
		return sbx_err_set(e, SBX_EINVAL, "'%s' is not a sandbox id",
		    id);
	r = store_write_enter(s, &taken, e);
	if (r < 0)
		return r;
	dir = sbx_sandbox_dir(s, id);
	grave = xasprintf("%s/rm-%s-XXXXXX", s->tmpdir, id);
	if (!mkdtemp(grave)) {
		r = sbx_err_sys(e, "cannot create a directory in '%s'",
		    s->tmpdir);
		goto out;
	}
	/* rename() onto an empty directory replaces it atomically. */
	if (rename(dir, grave) < 0) {
		if (errno == ENOENT)
			r = sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", id);
		else
			r = sbx_err_sys(e, "cannot move '%s' to '%s'", dir,
			    grave);
		rmdir(grave);
		goto out;
	}
	r = sbx_fs_fsync_parent(dir, e);
	if (r == 0)
		r = sbx_fs_remove_tree(grave, e);
out:
	store_write_leave(s, taken);
	free(dir);
	free(grave);
	return r;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sbx_sandbox_list(struct sbx_store *s, struct sbx_strvec *ids,
    struct sbx_err *e)
{
	char *dir = xasprintf("%s/sandboxes", s->home);
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t first = ids->nr;

	if (!d) {
		int r = sbx_err_sys(e, "cannot read directory '%s'", dir);

		free(dir);
		return r;
	}
	while ((de = readdir(d)) != NULL)
		if (sbx_sandbox_id_valid(de->d_name))
			sbx_strvec_push(ids, de->d_name);
	closedir(d);
	free(dir);
	qsort(ids->v + first, ids->nr - first, sizeof(char *), cmp_str);
	return 0;
}

/* Name of sandbox `id` from its sandbox.json, or NULL (unreadable). */
static char *
sandbox_name(struct sbx_store *s, const char *id)
{
	const char *name;
	char *ret = NULL;
	json_t *j;

	if (sbx_sandbox_load_json(s, id, &j, NULL) < 0)
		return NULL;
	name = json_string_value(json_object_get(j, "name"));
	if (name)
		ret = xstrdup(name);
	json_decref(j);
	return ret;
}

int
sbx_sandbox_resolve(struct sbx_store *s, const char *query,
    char id[SBX_SANDBOX_ID_SIZE], struct sbx_err *e)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT, hits = SBX_STRVEC_INIT;
	const char *prefix = query;
	size_t i, plen;
	int r;

	if (!query || !*query)
		return sbx_err_set(e, SBX_EUSAGE, "empty sandbox id or name");
	r = sbx_sandbox_list(s, &ids, e);
	if (r < 0)
		return r;
	/* 1. exact id */
	for (i = 0; i < ids.nr; i++)
		if (!strcmp(ids.v[i], query)) {
			memcpy(id, ids.v[i], SBX_SANDBOX_ID_SIZE);
			goto out;
		}
	/* 2. name */
	for (i = 0; i < ids.nr; i++) {
		char *name = sandbox_name(s, ids.v[i]);

		if (name && !strcmp(name, query))
			sbx_strvec_push(&hits, ids.v[i]);
		free(name);
	}
	if (hits.nr == 1) {
		memcpy(id, hits.v[0], SBX_SANDBOX_ID_SIZE);
		goto out;
	}
	if (hits.nr > 1) {
		r = sbx_err_set(e, SBX_EUSAGE, "sandbox name '%s' is "
		    "ambiguous: '%s' and '%s' both have it", query, hits.v[0],
		    hits.v[1]);
		sbx_err_hint(e, "use the sandbox id");
		goto out;
	}
	/* 3. unique id prefix, with or without "sb-" */
	if (!strncmp(query, "sb-", 3))
		prefix = query + 3;
	plen = strlen(prefix);
	for (i = 0; plen > 0 && i < ids.nr; i++)
		if (!strncmp(ids.v[i] + 3, prefix, plen))
			sbx_strvec_push(&hits, ids.v[i]);
	if (hits.nr == 0) {
		r = sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", query);
		sbx_err_hint(e, "'sbx ls' lists the sandboxes");
	} else if (strlen(query) < SBX_SANDBOX_PREFIX_MIN) {
		r = sbx_err_set(e, SBX_EUSAGE, "sandbox id prefix '%s' is too "
		    "short (at least %d characters)", query,
		    SBX_SANDBOX_PREFIX_MIN);
	} else if (hits.nr > 1) {
		r = sbx_err_set(e, SBX_EUSAGE, "sandbox id prefix '%s' is "
		    "ambiguous: it matches '%s', '%s'%s", query, hits.v[0],
		    hits.v[1], hits.nr > 2 ? " and more" : "");
		sbx_err_hint(e, "give more characters of the id");
	} else {
		memcpy(id, hits.v[0], SBX_SANDBOX_ID_SIZE);
	}
out:
	sbx_strvec_clear(&hits);
	sbx_strvec_clear(&ids);
	return r;
}

int
sbx_sandbox_lock(struct sbx_store *s, const char *id, unsigned timeout_ms,
    struct sbx_sandbox_lock **out, struct sbx_err *e)
{
	char *dir, *path;
	int fd, r;

	*out = NULL;
	if (!sbx_sandbox_id_valid(id))
		return sbx_err_set(e, SBX_EINVAL, "'%s' is not a sandbox id",
		    id);
	dir = sbx_sandbox_dir(s, id);
	path = xasprintf("%s/lock", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno == ENOENT)
			r = sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", id);
		else
			r = sbx_err_sys(e, "cannot open '%s'", path);
		goto out;
	}
	r = store_flock_wait(fd, LOCK_EX, timeout_ms);
	if (r == -EWOULDBLOCK) {
		close(fd);
		r = sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is busy", id);
		sbx_err_hint(e, "another sbx command is changing it; try "
		    "again when it has finished");
		goto out;
	}
	if (r < 0) {
		errno = -r;
		r = sbx_err_sys(e, "cannot lock '%s'", path);
		close(fd);
		goto out;
	}
	/* The sandbox may have been removed while we waited. */
	if (access(dir, F_OK) < 0) {
		close(fd);
		r = sbx_err_set(e, SBX_ENOENT, "no sandbox '%s'", id);
		goto out;
	}
	*out = xmalloc(sizeof(**out));
	(*out)->fd = fd;
out:
	free(dir);
	free(path);
	return r;
}

void
sbx_sandbox_unlock(struct sbx_sandbox_lock *l)
{
	if (!l)
		return;
	close(l->fd);
	free(l);
}
