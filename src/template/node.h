/*
 * node.h - the YAML tree the template parser walks (internal to
 * src/template).
 *
 * tpl_yaml_load turns YAML text into a tree of scalars, lists and
 * mappings using libyaml's event parser, each node carrying its position.
 * It rejects what templates never need and what would make the tree
 * unsafe to walk: aliases, more than one document, nesting deeper than
 * TPL_MAX_DEPTH, non-scalar mapping keys and duplicate keys. Tags and
 * anchors are ignored.
 */
#ifndef SBX_TEMPLATE_NODE_H
#define SBX_TEMPLATE_NODE_H

#include <stddef.h>

struct sbx_err;

#define TPL_MAX_DEPTH 32

enum tnode_type {
	TN_SCALAR,
	TN_SEQ,
	TN_MAP,
};

struct tnode {
	enum tnode_type type;
	int line, col;		/* 1-based position of the node's start */
	/* TN_SCALAR: the value (NUL-terminated, may hold NULs before len). */
	char *value;
	size_t len;
	int plain;		/* unquoted scalar (may be null, see below) */
	/* TN_SEQ: items[0..n). TN_MAP: items[2i] key, items[2i+1] value. */
	struct tnode **items;
	size_t n;
	size_t alloc;
};

/*
 * Parses `text` (`len` bytes). On success *root is the document's root
 * node, or NULL for an empty document. Errors are
 * "PATH:LINE:COL: problem" in `e` with SBX_EINVAL.
 */
int tpl_yaml_load(const char *text, size_t len, const char *path,
    struct tnode **root, struct sbx_err *e);

/* Frees a tree; NULL is fine. */
void tnode_free(struct tnode *n);

/* True for a YAML null: an unquoted "", "~", "null", "Null" or "NULL". */
int tnode_is_null(const struct tnode *n);

/* "a string", "a list", "a mapping" or "null", for messages. */
const char *tnode_kind(const struct tnode *n);

#endif
