/*
 * node.c - YAML text to a position-annotated tree, with libyaml's event
 * parser. See node.h for what is rejected and why.
 */
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/err.h"
#include "core/xmalloc.h"
#include "template/node.h"
#include "core/banned.h"

struct loader {
	const char *path;
	const char *text;
	size_t len;
	struct sbx_err *e;
	struct tnode *root;
	struct tnode *stack[TPL_MAX_DEPTH];
	int depth;
	int docs;
};

void
tnode_free(struct tnode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		tnode_free(n->items[i]);
	free(n->items);
	free(n->value);
	free(n);
}

int
tnode_is_null(const struct tnode *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
	size_t i;

	if (!n || n->type != TN_SCALAR || !n->plain)
		return 0;
	for (i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (!strcmp(n->value, nulls[i]))
			return 1;
	return 0;
}

const char *
tnode_kind(const struct tnode *n)
{
	if (!n || tnode_is_null(n))
		return "null";
	switch (n->type) {
	case TN_SCALAR:
		return "a string";
	case TN_SEQ:
		return "a list";
	case TN_MAP:
		return "a mapping";
	}
	return "?";
}

static int
load_err(struct loader *l, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Records "PATH:LINE:COL: message"; returns SBX_EINVAL. */
static int
load_err(struct loader *l, int line, int col, const char *fmt, ...)
{
	char msg[SBX_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sbx_err_set(l->e, SBX_EINVAL, "%s:%d:%d: %s", l->path, line,
	    col, msg);
}

/* Turns a byte offset into a 1-based line and column. */
static void
offset_pos(const char *text, size_t len, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* Converts libyaml's parser error into ours. */
static int
syntax_err(struct loader *l, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "cannot parse";
	int line, col;

	if (p->error == YAML_MEMORY_ERROR)
		return sbx_err_set(l->e, SBX_EFAIL, "%s: out of memory",
		    l->path);
	if (p->error == YAML_READER_ERROR) {
		offset_pos(l->text, l->len, p->problem_offset, &line, &col);
		return load_err(l, line, col, "invalid YAML: %s", problem);
	}
	line = (int)p->problem_mark.line + 1;
	col = (int)p->problem_mark.column + 1;
	if (p->context)
		return load_err(l, line, col, "invalid YAML: %s (%s at line %d)",
		    problem, p->context, (int)p->context_mark.line + 1);
	return load_err(l, line, col, "invalid YAML: %s", problem);
}

static struct tnode *
node_new(enum tnode_type type, const yaml_mark_t *m)
{
	struct tnode *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	return n;
}

/* Attaches `n` to the open container (or makes it the root). */
static int
attach(struct loader *l, struct tnode *n)
{
	struct tnode *parent;

	if (l->depth == 0) {
		l->root = n;
		return 0;
	}
	parent = l->stack[l->depth - 1];
	if (parent->n == parent->alloc) {
		parent->alloc = parent->alloc ? 2 * parent->alloc : 8;
		parent->items = xreallocarray(parent->items, parent->alloc,
		    sizeof(*parent->items));
	}
	parent->items[parent->n++] = n;
	if (parent->type == TN_MAP && parent->n % 2 == 1 &&
	    n->type != TN_SCALAR)
		return load_err(l, n->line, n->col,
		    "mapping keys must be strings, not %s", tnode_kind(n));
	return 0;
}

struct keyref {
	const struct tnode *key;
	size_t idx;
};

static int
keyref_cmp(const void *a, const void *b)
{
	const struct keyref *x = a, *y = b;
	size_t n = x->key->len < y->key->len ? x->key->len : y->key->len;
	int c = memcmp(x->key->value, y->key->value, n);

	if (c)
		return c;
	if (x->key->len != y->key->len)
		return x->key->len < y->key->len ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Rejects a mapping whose keys repeat, naming the earliest repeat. */
static int
check_dups(struct loader *l, const struct tnode *map)
{
	size_t nk = map->n / 2, i, best = (size_t)-1, first = 0;
	struct keyref *refs;
	int rc = 0;

	if (nk < 2)
		return 0;
	refs = xreallocarray(NULL, nk, sizeof(*refs));
	for (i = 0; i < nk; i++) {
		refs[i].key = map->items[2 * i];
		refs[i].idx = i;
	}
	qsort(refs, nk, sizeof(*refs), keyref_cmp);
	for (i = 1; i < nk; i++) {
		if (refs[i].key->len != refs[i - 1].key->len ||
		    memcmp(refs[i].key->value, refs[i - 1].key->value,
		    refs[i].key->len))
			continue;
		/*
		 * Ties sort by index, so the smallest repeated index is a
		 * group's second key and refs[i-1] is its first.
		 */
		if (best == (size_t)-1 || refs[i].idx < best) {
			best = refs[i].idx;
			first = refs[i - 1].idx;
		}
	}
	if (best != (size_t)-1) {
		const struct tnode *k = map->items[2 * best];

		rc = load_err(l, k->line, k->col,
		    "duplicate key '%s' (first at line %d)", k->value,
		    map->items[2 * first]->line);
	}
	free(refs);
	return rc;
}

/* Handles one parser event; returns 1 at the end of the stream. */
static int
on_event(struct loader *l, const yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct tnode *n;
	int rc;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++l->docs > 1)
			return load_err(l, (int)m->line + 1, (int)m->column + 1,
			    "only one YAML document is allowed");
		return 0;
	case YAML_ALIAS_EVENT:
		return load_err(l, (int)m->line + 1, (int)m->column + 1,
		    "YAML aliases are not supported");
	case YAML_SCALAR_EVENT:
		n = node_new(TN_SCALAR, m);
		n->len = ev->data.scalar.length;
		n->value = xmalloc(n->len + 1);
		memcpy(n->value, ev->data.scalar.value, n->len);
		n->value[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		return attach(l, n);
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (l->depth == TPL_MAX_DEPTH)
			return load_err(l, (int)m->line + 1, (int)m->column + 1,
			    "nesting deeper than %d levels", TPL_MAX_DEPTH);
		n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ?
		    TN_SEQ : TN_MAP, m);
		if ((rc = attach(l, n)) < 0)
			return rc;
		l->stack[l->depth++] = n;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		n = l->stack[--l->depth];
		if (n->type == TN_MAP)
			return check_dups(l, n);
		return 0;
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

int
tpl_yaml_load(const char *text, size_t len, const char *path,
    struct tnode **root, struct sbx_err *e)
{
	struct loader l = { path, text, len, e, NULL, { NULL }, 0, 0 };
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc = 0;

	*root = NULL;
	if (!yaml_parser_initialize(&parser))
		return sbx_err_set(e, SBX_EFAIL, "%s: out of memory", path);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	for (;;) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = syntax_err(&l, &parser);
			break;
		}
		rc = on_event(&l, &ev);
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
	}
	yaml_parser_delete(&parser);
	if (rc < 0) {
		tnode_free(l.root);
		return rc;
	}
	*root = l.root;
	return 0;
}
