/*
 * template.h - sandbox templates: YAML files saying how to build an image
 * and what to start in it (DESIGN.md 2; the schema is doc/sbx-template.5).
 *
 * A template is parsed with libyaml into `struct sbx_template`, checked
 * completely (types, ranges, units, unknown and duplicate keys) and given
 * its defaults. Every error message starts with "FILE:LINE:COLUMN: " where
 * FILE is the path as the caller spelled it. Relative paths in the file
 * (`from.tar`, `from.oci`, `files[].src`, `kernel`) are resolved against
 * the directory of the template file and cleaned lexically, so the struct
 * holds them absolute.
 *
 * The canonical form (sbx_template_canonical) is a serialization that does
 * not depend on key order, comments, quoting or formatting, and has every
 * default filled in; its BLAKE2b-256 (sbx_template_hash) is the build cache
 * key. It covers everything that changes the built image or how sandboxes
 * run; `name` and `description` are labels and are left out. It does not
 * cover the contents of files the template points at (tarballs, `files`
 * sources, kernels) nor the parent of `from.template`: the builder mixes
 * their hashes in.
 *
 * Ownership: a `struct sbx_template` owns every string and array in it;
 * free it with sbx_template_free. Nothing here keeps global state, so any
 * thread may call any function on its own objects.
 */
#ifndef SBX_TEMPLATE_TEMPLATE_H
#define SBX_TEMPLATE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/strvec.h"

struct sbx_buf;
struct sbx_err;

/* Largest template file accepted, in bytes (messages say "1 MiB"). */
#define SBX_TEMPLATE_MAX_SIZE (1024 * 1024)

/* Defaults (documented in doc/sbx-template.5). */
#define SBX_TEMPLATE_DEF_VCPUS 2
#define SBX_TEMPLATE_DEF_MEMORY (1ULL << 30)		/* 1G */
#define SBX_TEMPLATE_DEF_DISK (2ULL << 30)		/* 2G */
#define SBX_TEMPLATE_DEF_IDLE_MS (5ULL * 60 * 1000)	/* 5m */
#define SBX_TEMPLATE_DEF_READY_TIMEOUT_MS (120ULL * 1000) /* 2m */

/* Ranges checked by the parser. */
#define SBX_TEMPLATE_MIN_VCPUS 1
#define SBX_TEMPLATE_MAX_VCPUS 64
#define SBX_TEMPLATE_MIN_MEMORY (128ULL << 20)		/* 128M */
#define SBX_TEMPLATE_MAX_MEMORY (256ULL << 30)		/* 256G */
#define SBX_TEMPLATE_MIN_DISK (256ULL << 20)		/* 256M */
#define SBX_TEMPLATE_MAX_DISK (2ULL << 40)		/* 2T */

/* Where the root filesystem comes from: exactly one kind per template. */
enum sbx_template_from {
	SBX_FROM_DEBIAN = 1,	/* `debian: SUITE` + `packages: [...]` */
	SBX_FROM_TAR,		/* `tar: PATH` (any archive libarchive reads) */
	SBX_FROM_OCI,		/* `oci: PATH` (OCI image layout dir or tar) */
	SBX_FROM_TEMPLATE,	/* `template: NAME` (build on top of another) */
};

/* How a template build decides the started sandbox is ready. */
enum sbx_template_ready {
	SBX_READY_NONE = 0,	/* no check: ready once the agent answers */
	SBX_READY_PORT,		/* a TCP port in the guest accepts */
	SBX_READY_FILE,		/* a file exists in the guest */
	SBX_READY_COMMAND,	/* a command exits 0 in the guest */
	SBX_READY_DELAY,	/* a fixed time has passed */
};

/* One entry of `files`: copy `src` (host) to `dst` (guest) at build time. */
struct sbx_template_file {
	char *src;		/* host path, resolved (never NULL) */
	char *dst;		/* absolute guest path (never NULL) */
	int has_mode;		/* 0: keep the source's permission bits */
	unsigned mode;		/* 0..07777 when has_mode */
	char *owner;		/* "user", "user:group", "uid:gid" or NULL */
	int line, col;		/* where `src`'s value is (messages) */
};

/* One build step of `run`: a shell command (run with /bin/sh -c). */
struct sbx_template_step {
	char *command;		/* never NULL */
	char *workdir;		/* absolute guest path, NULL = template's */
	char *user;		/* NULL = template's */
	struct sbx_strvec env;	/* "KEY=value", added to the template's */
};

struct sbx_template {
	char *path;		/* file as given (for messages), never NULL */
	char *name;		/* `name`, else the file name without .yaml */
	char *description;	/* NULL if none */

	struct {
		enum sbx_template_from kind;
		char *suite;		/* SBX_FROM_DEBIAN: "bookworm" */
		struct sbx_strvec packages; /* SBX_FROM_DEBIAN, file order */
		char *path;		/* SBX_FROM_TAR / _OCI, resolved */
		char *template;		/* SBX_FROM_TEMPLATE: parent's name */
		int line, col;		/* where the kind's value is (messages) */
	} from;

	struct sbx_template_file *files;
	size_t nfiles;
	struct sbx_strvec env;	/* "KEY=value", file order, keys unique */
	char *workdir;		/* absolute guest path or NULL */
	char *user;		/* user name or uid, or NULL (root) */
	struct sbx_template_step *run;
	size_t nrun;
	char *start;		/* command started in the background, or NULL */

	struct {
		enum sbx_template_ready kind;
		unsigned port;		/* SBX_READY_PORT: 1..65535 */
		char *file;		/* SBX_READY_FILE: absolute guest path */
		char *command;		/* SBX_READY_COMMAND */
		uint64_t delay_ms;	/* SBX_READY_DELAY */
		uint64_t timeout_ms;	/* give up after this (default 2m) */
	} ready;

	struct {
		unsigned vcpus;		/* default 2 */
		uint64_t memory;	/* bytes, default 1G */
		uint64_t disk;		/* bytes, default 2G */
	} resources;

	uint64_t idle_timeout_ms; /* hibernate when idle; 0 = never; 5m */
	unsigned *ports;	/* exposed guest ports, file order, unique */
	size_t nports;
	char *kernel;		/* bzImage override, resolved, or NULL */
	int kernel_line, kernel_col;

	/* Egress rules (used by the networking issue): CIDRs or domains. */
	struct sbx_strvec net_allow;
	struct sbx_strvec net_deny;
};

/*
 * Reads and parses the template file `path` (at most
 * SBX_TEMPLATE_MAX_SIZE bytes). On success *out is a new template; on
 * failure *out is NULL, `e` holds "PATH:LINE:COL: problem" (or
 * "PATH: problem" for I/O and size errors) and a negative code returns.
 */
int sbx_template_load(const char *path, struct sbx_template **out,
    struct sbx_err *e);

/*
 * Parses a template from memory. `path` names it in messages ("<stdin>"
 * gives the default name "stdin"). Relative host paths are anchored at
 * `dir`; NULL means the directory of `path` (the current directory when
 * `path` has no '/'), and "" leaves them as written (builtins).
 */
int sbx_template_parse(const char *text, size_t len, const char *path,
    const char *dir, struct sbx_template **out, struct sbx_err *e);

/* Frees a template and everything in it; NULL is fine. */
void sbx_template_free(struct sbx_template *t);

/*
 * Appends the canonical serialization of `t` to `out` (text, one field per
 * line, strings length-prefixed; see canon.c). Deterministic for a given
 * meaning of the template.
 */
int sbx_template_canonical(const struct sbx_template *t, struct sbx_buf *out);

#define SBX_TEMPLATE_HASH_LEN 32	/* BLAKE2b-256 */
#define SBX_TEMPLATE_HASH_HEX (2 * SBX_TEMPLATE_HASH_LEN + 1)

/* BLAKE2b-256 of the canonical form; `hex` (may be NULL) gets 64 hex
 * digits and a NUL. Calls sodium_init() itself. */
void sbx_template_hash(const struct sbx_template *t,
    unsigned char hash[SBX_TEMPLATE_HASH_LEN],
    char hex[SBX_TEMPLATE_HASH_HEX]);

/*
 * The hash of what the image depends on: the template without its `run`
 * steps, `start` and `ready` (those run on top of the image, sbx build).
 */
void sbx_template_image_hash(const struct sbx_template *t,
    char hex[SBX_TEMPLATE_HASH_HEX]);

/*
 * Templates compiled into the binary (from templates/<name>.yaml at build
 * time). Returns the YAML text of builtin `name` ("base") and its length,
 * or NULL. The text is static and NUL-terminated.
 */
const char *sbx_template_builtin(const char *name, size_t *len);
/* Names of the builtin templates, NULL-terminated. */
extern const char *const sbx_template_builtin_names[];

/* Where a template name was found. */
enum sbx_template_origin {
	SBX_TPL_PATH = 1,	/* the name was a file path */
	SBX_TPL_USER,		/* $SBX_HOME/templates or the config dir */
	SBX_TPL_SHIPPED,	/* installed with sbx ($SBX_DATADIR/templates) */
	SBX_TPL_BUILTIN,	/* compiled in */
};

/* Short word for an origin: "path", "user", "shipped", "builtin". */
const char *sbx_template_origin_name(enum sbx_template_origin o);

/*
 * The template directories searched, in order, for a name (not a path):
 *   1. HOME/templates            (HOME = $SBX_HOME as resolved by the CLI)
 *   2. $XDG_CONFIG_HOME/sbx/templates (default ~/.config/sbx/templates)
 *   3. $SBX_TOP_SRCDIR/templates when that variable is set (build tree),
 *      otherwise SBX_DATADIR/templates (installed)
 * and then the builtin templates. In each directory NAME.yaml, then
 * NAME.yml. Fills `dirs` (cleared first) with the directories and sets
 * origins[i] for each (the array holds at least 3 entries).
 */
void sbx_template_dirs(const char *home, struct sbx_strvec *dirs,
    enum sbx_template_origin origins[3]);

/*
 * Resolves and loads a template by name or path. A name containing '/'
 * or ending in ".yaml"/".yml" is a path; otherwise the directories of
 * sbx_template_dirs are searched, then the builtins. `home` may be NULL
 * (skips the first directory). `origin` (may be NULL) says where it was
 * found. Unknown names fail with SBX_ENOENT "no template 'NAME'" and a
 * hint listing where it looked.
 */
int sbx_template_open(const char *name, const char *home,
    struct sbx_template **out, enum sbx_template_origin *origin,
    struct sbx_err *e);

/*
 * Checks that the host files the template refers to exist: `from.tar`,
 * `from.oci`, every `files[].src` and `kernel`. The parser does not, so
 * a template can be checked away from its files; builds and
 * `sbx templates validate` do. Errors are "FILE:LINE:COL: 'files.src'
 * '/abs/path': No such file or directory" (SBX_ENOENT).
 */
int sbx_template_check_paths(const struct sbx_template *t,
    struct sbx_err *e);

/*
 * The template as a JSON object (jansson; the caller owns the reference):
 * every field with defaults applied, sizes in bytes, durations in
 * milliseconds, env as an object, plus "hash" (the cache key) and
 * "path". Key names follow the YAML schema.
 */
struct json_t;
struct json_t *sbx_template_json(const struct sbx_template *t);

/*
 * What a sandbox created from the template gets unless its create
 * options say otherwise: {"vcpus", "memory", "disk", "idle_timeout_ms",
 * "allow": [...], "deny": [...], "env": ["KEY=value", ...]}. Image and template manifests carry it
 * as "sandbox" (sbx image pull, sbx build), so a create by name needs
 * only the store, locally and on a server.
 */
struct json_t *sbx_template_sandbox_json(const struct sbx_template *t);

/* Longest chain of `from.template` parents followed. */
#define SBX_TEMPLATE_MAX_PARENTS 16

/*
 * Loads the ancestors of `t`: its `from.template` parent (found with
 * sbx_template_open), that one's parent, and so on up to a template built
 * from debian, tar or oci. On success (*chain)[0] is the parent and
 * (*chain)[*n - 1] the root; *n is 0 when `t` is not built from a
 * template. Fails with "FILE:LINE:COL: parent template 'x': ..." (at the
 * `from.template` value) when a parent is missing or invalid, with
 * "...: parent templates form a cycle: a -> b -> a" on cycles, and on
 * chains longer than SBX_TEMPLATE_MAX_PARENTS. A parent is looked up by
 * name even when `t` was given as a path. Free with
 * sbx_template_chain_free.
 */
int sbx_template_parents(const struct sbx_template *t, const char *home,
    struct sbx_template ***chain, size_t *n, struct sbx_err *e);
void sbx_template_chain_free(struct sbx_template **chain, size_t n);

/* One template a name lookup can reach (see sbx_template_list). */
struct sbx_template_entry {
	char *name;		/* lookup name (file name without .yaml) */
	char *path;		/* file, or NULL for a builtin */
	enum sbx_template_origin origin;
};

/*
 * Lists the templates reachable by name, one per name: the one lookup
 * would pick (earlier directories shadow later ones, files shadow
 * builtins). Sorted by name. Unreadable directories are skipped; files
 * are not parsed. Free with sbx_template_entries_free.
 */
void sbx_template_list(const char *home, struct sbx_template_entry **out,
    size_t *n);
void sbx_template_entries_free(struct sbx_template_entry *v, size_t n);

/* True when `s` is a valid template name: [A-Za-z0-9][A-Za-z0-9._-]*, at
 * most 64 characters, not ending in ".yaml"/".yml". */
int sbx_template_name_ok(const char *s);

#endif
