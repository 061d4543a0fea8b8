/*
 * modules.c - module dependency sets from modules.dep or from the
 * ".modinfo" ELF sections of the modules themselves.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/modules.h"
#include "core/banned.h"

#define MODINFO_MAX (1 << 20)

struct mod {
	char *name;		/* normalized */
	char *path;		/* relative to the modules directory */
	struct sbx_strvec deps;	/* normalized names */
};

struct sbx_modules {
	struct mod *v;
	size_t nr, alloc;
};

void
sbx_modules_name(const char *path_or_name, char *out, size_t len)
{
	const char *base = strrchr(path_or_name, '/');
	size_t i, n;

	base = base ? base + 1 : path_or_name;
	n = strlen(base);
	if (n > 3 && !strcmp(base + n - 3, ".xz"))
		n -= 3;
	else if (n > 4 && !strcmp(base + n - 4, ".zst"))
		n -= 4;
	else if (n > 3 && !strcmp(base + n - 3, ".gz"))
		n -= 3;
	if (n > 3 && !strncmp(base + n - 3, ".ko", 3))
		n -= 3;
	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	for (i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
}

static struct mod *
mod_add(struct sbx_modules *m, const char *path)
{
	char name[256];
	struct mod *md;

	if (m->nr == m->alloc) {
		m->alloc = m->alloc ? 2 * m->alloc : 256;
		m->v = xreallocarray(m->v, m->alloc, sizeof(*m->v));
	}
	md = &m->v[m->nr++];
	sbx_modules_name(path, name, sizeof(name));
	md->name = xstrdup(name);
	md->path = xstrdup(path);
	sbx_strvec_init(&md->deps);
	return md;
}

static long
mod_find(const struct sbx_modules *m, const char *name)
{
	char norm[256];
	size_t i;

	sbx_modules_name(name, norm, sizeof(norm));
	for (i = 0; i < m->nr; i++)
		if (!strcmp(m->v[i].name, norm))
			return (long)i;
	return -1;
}

void
sbx_modules_free(struct sbx_modules *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr; i++) {
		free(m->v[i].name);
		free(m->v[i].path);
		sbx_strvec_clear(&m->v[i].deps);
	}
	free(m->v);
	free(m);
}

size_t
sbx_modules_count(const struct sbx_modules *m)
{
	return m->nr;
}

const char *
sbx_modules_path(const struct sbx_modules *m, const char *name)
{
	long i = mod_find(m, name);

	return i < 0 ? NULL : m->v[i].path;
}

int
sbx_modules_parse_dep(struct sbx_modules **out, const char *text, size_t len,
    const char *origin, struct sbx_err *e)
{
	struct sbx_modules *m = xcalloc(1, sizeof(*m));
	const char *p = text, *end = text + len;
	unsigned line = 0;

	*out = NULL;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *colon, *q;
		struct mod *md;
		char *path;

		if (!eol)
			eol = end;
		line++;
		if (eol == p || *p == '#') {
			p = eol + 1;
			continue;
		}
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p) {
			sbx_modules_free(m);
			return sbx_err_set(e, SBX_EINVAL, "%s:%u: expected "
			    "'module.ko: deps...'", origin, line);
		}
		path = xstrndup(p, (size_t)(colon - p));
		if (mod_find(m, path) >= 0) {
			int r = sbx_err_set(e, SBX_EINVAL, "%s:%u: module "
			    "'%s' listed twice", origin, line, path);

			free(path);
			sbx_modules_free(m);
			return r;
		}
		md = mod_add(m, path);
		free(path);
		for (q = colon + 1; q < eol;) {
			const char *s;
			char *dep, name[256];

			while (q < eol && (*q == ' ' || *q == '\t' ||
			    *q == '\r'))
				q++;
			s = q;
			while (q < eol && *q != ' ' && *q != '\t' && *q != '\r')
				q++;
			if (q == s)
				break;
			dep = xstrndup(s, (size_t)(q - s));
			sbx_modules_name(dep, name, sizeof(name));
			sbx_strvec_push(&md->deps, name);
			free(dep);
		}
		p = eol + 1;
	}
	*out = m;
	return 0;
}

/* Reads exactly `len` bytes at `off`, or fails naming `path`. */
static int
pread_full(int fd, void *buf, size_t len, off_t off, const char *path,
    struct sbx_err *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
		    off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return sbx_err_sys(e, "cannot read module '%s'", path);
		if (n == 0)
			return sbx_err_set(e, SBX_EINVAL, "module '%s': "
			    "truncated ELF file", path);
		done += (size_t)n;
	}
	return 0;
}

/* Finds the .modinfo section of an ELF64 LE file; fills its bytes. */
static int
modinfo_read(int fd, const char *ko, struct sbx_buf *out, struct sbx_err *e)
{
	Elf64_Ehdr eh;
	Elf64_Shdr *sh = NULL, *str;
	char *names = NULL;
	struct stat st;
	size_t i;
	int r;

	if (fstat(fd, &st) < 0)
		return sbx_err_sys(e, "cannot stat module '%s'", ko);
	if ((r = pread_full(fd, &eh, sizeof(eh), 0, ko, e)) < 0)
		return r;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return sbx_err_set(e, SBX_EINVAL, "module '%s': not an ELF64 "
		    "little-endian file", ko);
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
	    eh.e_shstrndx >= eh.e_shnum || eh.e_shoff > (uint64_t)st.st_size ||
	    (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) >
	    (uint64_t)st.st_size - eh.e_shoff)
		return sbx_err_set(e, SBX_EINVAL, "module '%s': bad section "
		    "header table", ko);
	sh = xreallocarray(NULL, eh.e_shnum, sizeof(*sh));
	r = pread_full(fd, sh, eh.e_shnum * sizeof(*sh), (off_t)eh.e_shoff, ko,
	    e);
	if (r < 0)
		goto out;
	str = &sh[eh.e_shstrndx];
	if (str->sh_offset > (uint64_t)st.st_size ||
	    str->sh_size > (uint64_t)st.st_size - str->sh_offset ||
	    str->sh_size > MODINFO_MAX) {
		r = sbx_err_set(e, SBX_EINVAL, "module '%s': bad section name "
		    "table", ko);
		goto out;
	}
	names = xmalloc(str->sh_size + 1);
	r = pread_full(fd, names, str->sh_size, (off_t)str->sh_offset, ko, e);
	if (r < 0)
		goto out;
	names[str->sh_size] = '\0';
	for (i = 0; i < eh.e_shnum; i++) {
		if (sh[i].sh_name >= str->sh_size ||
		    strcmp(names + sh[i].sh_name, ".modinfo"))
			continue;
		if (sh[i].sh_type == SHT_NOBITS ||
		    sh[i].sh_offset > (uint64_t)st.st_size ||
		    sh[i].sh_size > (uint64_t)st.st_size - sh[i].sh_offset ||
		    sh[i].sh_size > MODINFO_MAX) {
			r = sbx_err_set(e, SBX_EINVAL, "module '%s': bad "
			    ".modinfo section", ko);
			goto out;
		}
		r = sbx_buf_grow(out, sh[i].sh_size);
		if (r < 0)
			goto out;
		r = pread_full(fd, out->buf + out->len, sh[i].sh_size,
		    (off_t)sh[i].sh_offset, ko, e);
		if (r < 0)
			goto out;
		sbx_buf_setlen(out, out->len + sh[i].sh_size);
		goto out;
	}
	r = sbx_err_set(e, SBX_EINVAL, "module '%s': no .modinfo section", ko);
out:
	free(names);
	free(sh);
	return r;
}

int
sbx_modinfo_depends(const char *ko, struct sbx_strvec *deps,
    struct sbx_err *e)
{
	struct sbx_buf info = SBX_BUF_INIT;
	const char *p, *end;
	int fd, r;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return sbx_err_set(e, SBX_ENOENT, "cannot open module "
			    "'%s': no such file", ko);
		return sbx_err_sys(e, "cannot open module '%s'", ko);
	}
	r = modinfo_read(fd, ko, &info, e);
	close(fd);
	if (r < 0) {
		sbx_buf_release(&info);
		return r;
	}
	for (p = info.buf, end = info.buf + info.len; p < end;) {
		size_t n = strnlen(p, (size_t)(end - p));

		if (n > 8 && !strncmp(p, "depends=", 8)) {
			const char *q = p + 8, *stop = p + n;

			while (q < stop) {
				const char *comma = memchr(q, ',',
				    (size_t)(stop - q));
				char *dep, name[256];

				if (!comma)
					comma = stop;
				if (comma > q) {
					dep = xstrndup(q, (size_t)(comma - q));
					sbx_modules_name(dep, name,
					    sizeof(name));
					sbx_strvec_push(deps, name);
					free(dep);
				}
				q = comma + 1;
			}
		}
		p += n + 1;
	}
	sbx_buf_release(&info);
	return 0;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && !strcmp(s + n - k, suffix);
}

/* Adds every module below `root`/`rel` (rel "" for root itself). */
static int
modules_scan(struct sbx_modules *m, const char *root, struct sbx_buf *rel,
    struct sbx_err *e)
{
	char *dir = rel->len ? xasprintf("%s/%s", root, rel->buf) :
	    xstrdup(root);
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d) {
		r = errno == ENOENT ?
		    sbx_err_set(e, SBX_ENOENT, "no modules directory '%s'",
		    dir) : sbx_err_sys(e, "cannot read '%s'", dir);
		free(dir);
		return r;
	}
	while (r == 0 && (de = readdir(d))) {
		size_t keep = rel->len;
		struct stat st;
		char *full;

		if (de->d_name[0] == '.')
			continue;
		if (rel->len)
			sbx_buf_addch(rel, '/');
		sbx_buf_addstr(rel, de->d_name);
		full = xasprintf("%s/%s", root, rel->buf);
		if (lstat(full, &st) < 0) {
			r = sbx_err_sys(e, "cannot stat '%s'", full);
		} else if (S_ISDIR(st.st_mode)) {
			r = modules_scan(m, root, rel, e);
		} else if (S_ISREG(st.st_mode) && has_suffix(de->d_name, ".ko")) {
			struct mod *md = mod_add(m, rel->buf);

			r = sbx_modinfo_depends(full, &md->deps, e);
		} else if (S_ISREG(st.st_mode) && (has_suffix(de->d_name,
		    ".ko.xz") || has_suffix(de->d_name, ".ko.zst") ||
		    has_suffix(de->d_name, ".ko.gz"))) {
			r = sbx_err_set(e, SBX_ENOTSUP, "compressed module "
			    "'%s' without modules.dep: cannot read its "
			    "dependencies", full);
		}
		free(full);
		sbx_buf_setlen(rel, keep);
	}
	closedir(d);
	free(dir);
	return r;
}

int
sbx_modules_load(struct sbx_modules **out, const char *dir,
    struct sbx_err *e)
{
	struct sbx_buf text = SBX_BUF_INIT, rel = SBX_BUF_INIT;
	struct sbx_modules *m;
	char *dep = xasprintf("%s/modules.dep", dir);
	struct stat st;
	int r;

	*out = NULL;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		r = sbx_err_set(e, SBX_ENOENT, "no modules directory '%s'",
		    dir);
		goto done;
	}
	if (access(dep, F_OK) == 0) {
		r = sbx_buf_read_file(&text, dep, e);
		if (r == 0)
			r = sbx_modules_parse_dep(out, text.buf, text.len, dep,
			    e);
		goto done;
	}
	m = xcalloc(1, sizeof(*m));
	r = modules_scan(m, dir, &rel, e);
	if (r < 0) {
		sbx_modules_free(m);
		goto done;
	}
	*out = m;
done:
	sbx_buf_release(&rel);
	sbx_buf_release(&text);
	free(dep);
	return r;
}

/* Depth-first: appends `i` after its dependencies. */
static int
resolve_one(const struct sbx_modules *m, size_t i, unsigned char *state,
    struct sbx_strvec *names, struct sbx_strvec *paths, struct sbx_err *e)
{
	const struct mod *md = &m->v[i];
	size_t k;
	int r;

	if (state[i] == 2)
		return 0;
	if (state[i] == 1)
		return sbx_err_set(e, SBX_EINVAL, "module '%s' depends on "
		    "itself (dependency cycle)", md->name);
	state[i] = 1;
	for (k = 0; k < md->deps.nr; k++) {
		long j = mod_find(m, md->deps.v[k]);

		if (j < 0)
			return sbx_err_set(e, SBX_ENOENT, "module '%s' needed "
			    "by '%s' not found", md->deps.v[k], md->name);
		r = resolve_one(m, (size_t)j, state, names, paths, e);
		if (r < 0)
			return r;
	}
	state[i] = 2;
	sbx_strvec_push(names, md->name);
	if (paths)
		sbx_strvec_push(paths, md->path);
	return 0;
}

int
sbx_modules_resolve(const struct sbx_modules *m, const char *const *wanted,
    struct sbx_strvec *names, struct sbx_strvec *paths, struct sbx_err *e)
{
	unsigned char *state = xcalloc(m->nr ? m->nr : 1, 1);
	size_t w;
	int r = 0;

	for (w = 0; wanted && wanted[w] && r == 0; w++) {
		long i = mod_find(m, wanted[w]);

		if (i < 0)
			r = sbx_err_set(e, SBX_ENOENT, "module '%s' not found",
			    wanted[w]);
		else
			r = resolve_one(m, (size_t)i, state, names, paths, e);
	}
	free(state);
	return r;
}
