/*
 * find.c - finding templates by name: user and shipped directories, then
 * the templates compiled into the binary. The order is documented in
 * template.h and doc/sbx-template.5.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "template/template.h"
#include "core/banned.h"

/* Generated from templates/<name>.yaml by templates/local.mk. */
extern const char sbx_tpl_builtin_base[];
extern const size_t sbx_tpl_builtin_base_len;

const char *const sbx_template_builtin_names[] = { "base", NULL };

const char *
sbx_template_builtin(const char *name, size_t *len)
{
	if (!strcmp(name, "base")) {
		if (len)
			*len = sbx_tpl_builtin_base_len;
		return sbx_tpl_builtin_base;
	}
	return NULL;
}

const char *
sbx_template_origin_name(enum sbx_template_origin o)
{
	switch (o) {
	case SBX_TPL_PATH:
		return "path";
	case SBX_TPL_USER:
		return "user";
	case SBX_TPL_SHIPPED:
		return "shipped";
	case SBX_TPL_BUILTIN:
		return "builtin";
	}
	return "?";
}

void
sbx_template_dirs(const char *home, struct sbx_strvec *dirs,
    enum sbx_template_origin origins[3])
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *uhome = getenv("HOME");
	const char *src = getenv("SBX_TOP_SRCDIR");
	size_t n = 0;

	sbx_strvec_clear(dirs);
	if (home && *home) {
		sbx_strvec_pushf(dirs, "%s/templates", home);
		origins[n++] = SBX_TPL_USER;
	}
	if (xdg && *xdg == '/') {
		sbx_strvec_pushf(dirs, "%s/sbx/templates", xdg);
		origins[n++] = SBX_TPL_USER;
	} else if (uhome && *uhome) {
		sbx_strvec_pushf(dirs, "%s/.config/sbx/templates", uhome);
		origins[n++] = SBX_TPL_USER;
	}
	if (src && *src)
		sbx_strvec_pushf(dirs, "%s/templates", src);
	else
		sbx_strvec_pushf(dirs, "%s/templates", SBX_DATADIR);
	origins[n++] = SBX_TPL_SHIPPED;
}

static int
is_path(const char *name)
{
	size_t n = strlen(name);

	return strchr(name, '/') ||
	    (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	    (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Returns "DIR/NAME.yaml" or "DIR/NAME.yml" if one is a file, else NULL. */
static char *
find_in(const char *dir, const char *name)
{
	static const char *const exts[] = { "yaml", "yml" };
	struct stat st;
	size_t i;

	for (i = 0; i < 2; i++) {
		char *p = xasprintf("%s/%s.%s", dir, name, exts[i]);

		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			return p;
		free(p);
	}
	return NULL;
}

int
sbx_template_open(const char *name, const char *home,
    struct sbx_template **out, enum sbx_template_origin *origin,
    struct sbx_err *e)
{
	enum sbx_template_origin origins[3];
	struct sbx_strvec dirs = SBX_STRVEC_INIT;
	struct sbx_buf looked = SBX_BUF_INIT;
	const char *text;
	size_t i, len;
	int rc;

	*out = NULL;
	if (is_path(name)) {
		if (origin)
			*origin = SBX_TPL_PATH;
		return sbx_template_load(name, out, e);
	}
	if (!sbx_template_name_ok(name))
		return sbx_err_set(e, SBX_EUSAGE, "invalid template name '%s'",
		    name);
	sbx_template_dirs(home, &dirs, origins);
	for (i = 0; i < dirs.nr; i++) {
		char *p = find_in(dirs.v[i], name);

		sbx_buf_addf(&looked, "%s%s", i ? ", " : "", dirs.v[i]);
		if (!p)
			continue;
		if (origin)
			*origin = origins[i];
		rc = sbx_template_load(p, out, e);
		free(p);
		sbx_strvec_clear(&dirs);
		sbx_buf_release(&looked);
		return rc;
	}
	sbx_strvec_clear(&dirs);
	text = sbx_template_builtin(name, &len);
	if (text) {
		char *path = xasprintf("<builtin>/%s.yaml", name);

		if (origin)
			*origin = SBX_TPL_BUILTIN;
		rc = sbx_template_parse(text, len, path, "", out, e);
		free(path);
		sbx_buf_release(&looked);
		return rc;
	}
	rc = sbx_err_set(e, SBX_ENOENT, "no template '%s'", name);
	sbx_err_hint(e, "looked in %s and the builtins; "
	    "see 'sbx templates ls'", looked.buf);
	sbx_buf_release(&looked);
	return rc;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct sbx_template_entry *x = a, *y = b;

	return strcmp(x->name, y->name);
}

/* Appends `name` unless an earlier source already gave that name. */
static void
add_entry(struct sbx_template_entry **v, size_t *n, size_t *alloc,
    const char *name, char *path, enum sbx_template_origin origin)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp((*v)[i].name, name)) {
			free(path);
			return;
		}
	if (*n == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 16;
		*v = xreallocarray(*v, *alloc, sizeof(**v));
	}
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].path = path;
	(*v)[*n].origin = origin;
	(*n)++;
}

/* Adds the *.yaml and *.yml files of `dir` (sorted, .yaml first). */
static void
scan_dir(const char *dir, enum sbx_template_origin origin,
    struct sbx_template_entry **v, size_t *n, size_t *alloc)
{
	struct dirent **names;
	int k, i, pass;

	k = scandir(dir, &names, NULL, alphasort);
	if (k < 0)
		return;
	for (pass = 0; pass < 2; pass++) {
		const char *ext = pass == 0 ? ".yaml" : ".yml";
		size_t el = strlen(ext);

		for (i = 0; i < k; i++) {
			const char *f = names[i]->d_name;
			size_t fl = strlen(f);
			char *name, *path;
			struct stat st;

			if (fl <= el || strcmp(f + fl - el, ext))
				continue;
			name = xstrndup(f, fl - el);
			path = xasprintf("%s/%s", dir, f);
			if (sbx_template_name_ok(name) && stat(path, &st) == 0
			    && S_ISREG(st.st_mode))
				add_entry(v, n, alloc, name, path, origin);
			else
				free(path);
			free(name);
		}
	}
	for (i = 0; i < k; i++)
		free(names[i]);
	free(names);
}

void
sbx_template_list(const char *home, struct sbx_template_entry **out,
    size_t *n)
{
	enum sbx_template_origin origins[3];
	struct sbx_strvec dirs = SBX_STRVEC_INIT;
	size_t i, alloc = 0;

	*out = NULL;
	*n = 0;
	sbx_template_dirs(home, &dirs, origins);
	for (i = 0; i < dirs.nr; i++)
		scan_dir(dirs.v[i], origins[i], out, n, &alloc);
	sbx_strvec_clear(&dirs);
	for (i = 0; sbx_template_builtin_names[i]; i++)
		add_entry(out, n, &alloc, sbx_template_builtin_names[i], NULL,
		    SBX_TPL_BUILTIN);
	if (*n)
		qsort(*out, *n, sizeof(**out), entry_cmp);
}

void
sbx_template_entries_free(struct sbx_template_entry *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].path);
	}
	free(v);
}

void
sbx_template_chain_free(struct sbx_template **chain, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sbx_template_free(chain[i]);
	free(chain);
}

/* Identity of a loaded template for cycle checks: its real file path. */
static char *
template_id(const struct sbx_template *t)
{
	char *real = realpath(t->path, NULL);

	return real ? real : xstrdup(t->path);
}

int
sbx_template_parents(const struct sbx_template *t, const char *home,
    struct sbx_template ***chain, size_t *n, struct sbx_err *e)
{
	struct sbx_strvec seen = SBX_STRVEC_INIT;
	struct sbx_template **v = NULL;
	const struct sbx_template *cur = t;
	size_t nv = 0;
	int rc = 0;
	char *id;

	*chain = NULL;
	*n = 0;
	id = template_id(t);
	sbx_strvec_push(&seen, id);
	free(id);
	while (cur->from.kind == SBX_FROM_TEMPLATE) {
		struct sbx_template *p = NULL;
		struct sbx_err sub;
		size_t i;

		if (nv == SBX_TEMPLATE_MAX_PARENTS) {
			rc = sbx_err_set(e, SBX_EINVAL, "%s:%d:%d: more than %d "
			    "levels of parent templates", cur->path,
			    cur->from.line, cur->from.col,
			    SBX_TEMPLATE_MAX_PARENTS);
			break;
		}
		sbx_err_clear(&sub);
		rc = sbx_template_open(cur->from.template, home, &p, NULL,
		    &sub);
		if (rc < 0) {
			sbx_err_set(e, rc, "%s:%d:%d: parent template '%s': %s",
			    cur->path, cur->from.line, cur->from.col,
			    cur->from.template, sub.msg);
			if (sub.hint[0])
				sbx_err_hint(e, "%s", sub.hint);
			break;
		}
		v = xreallocarray(v, nv + 1, sizeof(*v));
		v[nv++] = p;
		id = template_id(p);
		for (i = 0; i < seen.nr; i++)
			if (!strcmp(seen.v[i], id))
				break;
		if (i < seen.nr) {
			struct sbx_buf names = SBX_BUF_INIT;
			size_t j;

			sbx_buf_addstr(&names, t->name);
			for (j = 0; j < nv; j++)
				sbx_buf_addf(&names, " -> %s", v[j]->name);
			rc = sbx_err_set(e, SBX_EINVAL, "%s:%d:%d: parent "
			    "templates form a cycle: %s", cur->path,
			    cur->from.line, cur->from.col, names.buf);
			sbx_buf_release(&names);
			free(id);
			break;
		}
		sbx_strvec_push(&seen, id);
		free(id);
		cur = p;
	}
	sbx_strvec_clear(&seen);
	if (rc < 0) {
		sbx_template_chain_free(v, nv);
		return rc;
	}
	*chain = v;
	*n = nv;
	return 0;
}
