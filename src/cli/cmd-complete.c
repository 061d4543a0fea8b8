/*
 * cmd-complete.c - the hidden `sbx __complete CWORD WORD...`: shell
 * completion candidates, one per line, for completions/sbx.bash, _sbx and
 * sbx.fish.
 *
 * CWORD is the index of the word being completed among the WORDs, which
 * are the command line as the shell split it (WORD 0 is "sbx"). Verbs,
 * sub-verbs and options come from the command and option tables; operands
 * are chosen by the placeholders of the command's usage line (ID:
 * sandboxes, TEMPLATE or NAME: templates, SNAPSHOT: snapshots, COMMAND
 * under help: verbs). Sandboxes are read from the registry only (no VMM
 * or network access), and a store that does not exist is not created.
 * Candidates are filtered by the prefix being completed. Exit status 0,
 * or 2 for a malformed CWORD.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cmd.h"
#include "core/parse.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "store/store.h"
#include "template/template.h"
#include "core/banned.h"

/* Global options: name, takes a value. Kept in step with options.c. */
static const struct {
	const char *name;
	int value;
} globals[] = {
	{ "--json", 0 }, { "-q", 0 }, { "--quiet", 0 }, { "-v", 0 },
	{ "--verbose", 0 }, { "--remote", 1 }, { "--home", 1 },
	{ "-h", 0 }, { "--help", 0 },
};

struct comp {
	const char *cur;	/* the word being completed */
	const char *home;	/* --home from the words, else the context's */
	struct sbx_strvec out;
};

static void
add(struct comp *c, const char *s)
{
	size_t i;

	if (strncmp(s, c->cur, strlen(c->cur)))
		return;
	for (i = 0; i < c->out.nr; i++)
		if (!strcmp(c->out.v[i], s))
			return;
	sbx_strvec_push(&c->out, s);
}

static int
global_takes_value(const char *w)
{
	size_t i;

	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		if (!strcmp(globals[i].name, w))
			return globals[i].value;
	return 0;
}

static const struct sbx_option *
find_opt(const struct sbx_cmd *cmd, const char *w)
{
	const struct sbx_option *o;

	for (o = cmd ? cmd->options : NULL; o && o->type != SBX_OPT_END;
	    o++) {
		if (w[0] == '-' && w[1] == '-' && o->long_name &&
		    !strcmp(w + 2, o->long_name))
			return o;
		if (w[0] == '-' && w[1] && !w[2] && w[1] == o->short_name)
			return o;
	}
	return NULL;
}

static int
opt_takes_value(const struct sbx_option *o)
{
	return o && o->type != SBX_OPT_BOOL && o->type != SBX_OPT_COUNT;
}

static void
add_verbs(struct comp *c, const struct sbx_cmd *const *table)
{
	for (; table && *table; table++) {
		if ((*table)->flags & SBX_CMD_HIDDEN)
			continue;
		add(c, (*table)->name);
		if ((*table)->alias)
			add(c, (*table)->alias);
	}
}

static void
add_options(struct comp *c, const struct sbx_cmd *cmd)
{
	const struct sbx_option *o;
	char buf[80];
	size_t i;

	for (o = cmd ? cmd->options : NULL; o && o->type != SBX_OPT_END;
	    o++) {
		if (o->long_name) {
			snprintf(buf, sizeof(buf), "--%s", o->long_name);
			add(c, buf);
		}
		if (o->short_name) {
			snprintf(buf, sizeof(buf), "-%c", o->short_name);
			add(c, buf);
		}
	}
	for (i = 0; i < sizeof(globals) / sizeof(globals[0]); i++)
		add(c, globals[i].name);
}

/* Sandbox ids and names from the registry, if the store exists. */
static void
add_sandboxes(struct comp *c, int with_heads)
{
	struct sbx_strvec ids = SBX_STRVEC_INIT;
	struct sbx_store *s = NULL;
	struct sbx_err e;
	struct stat st;
	char *dir;
	size_t i;

	dir = xasprintf("%s/sandboxes", c->home);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(dir);
		return;
	}
	free(dir);
	sbx_err_clear(&e);
	if (sbx_store_open(c->home, &s, &e) < 0)
		return;
	if (sbx_sandbox_list(s, &ids, &e) == 0) {
		for (i = 0; i < ids.nr; i++) {
			struct sbx_sandbox sb;

			if (sbx_sandbox_load(s, ids.v[i], &sb, &e) == 0) {
				if (with_heads) {
					if (sb.head[0])
						add(c, sb.head);
				} else {
					add(c, sb.id);
					if (sb.name)
						add(c, sb.name);
				}
			}
			sbx_sandbox_release(&sb);
		}
	}
	sbx_strvec_clear(&ids);
	sbx_store_close(s);
}

static void
add_templates(struct comp *c)
{
	struct sbx_template_entry *v = NULL;
	size_t n = 0, i;

	sbx_template_list(c->home, &v, &n);
	for (i = 0; i < n; i++)
		add(c, v[i].name);
	sbx_template_entries_free(v, n);
}

/* Candidates for the value of option `o` (by its argument name). */
static void
add_values(struct comp *c, const char *argh)
{
	int st;

	if (!argh)
		return;
	if (!strcmp(argh, "SNAPSHOT")) {
		add_sandboxes(c, 1);
	} else if (!strcmp(argh, "TEMPLATE")) {
		add_templates(c);
	} else if (!strcmp(argh, "ID")) {
		add_sandboxes(c, 0);
	} else if (!strcmp(argh, "STATE")) {
		for (st = SBX_SB_CREATING; st <= SBX_SB_ERROR; st++)
			add(c, sbx_sandbox_state_name(
			    (enum sbx_sandbox_state)st));
	}
}

/*
 * The operand placeholders of a usage line, in order: option words and
 * their arguments ("[--memory SIZE]", "[-f]") and lowercase words
 * ("[create options]") are skipped; of alternatives ("[--image PATH |
 * TEMPLATE]") the operands count, and "FILE|NAME" is one placeholder.
 * Stops at "--" (what follows is a guest command).
 */
static void
usage_operands(const char *usage, struct sbx_strvec *out)
{
	const char *p = usage ? usage : "";
	int after_opt = 0;

	while (*p) {
		const char *s;
		char *w;

		/* A lone "|" separates alternatives; "A|B" is one word. */
		if (*p == '[' || *p == ']' || (*p == '|' && (p[1] == ' ' ||
		    !p[1])) || isspace((unsigned char)*p)) {
			if (*p != ' ')
				after_opt = 0;
			p++;
			continue;
		}
		s = p;
		while (*p && !isspace((unsigned char)*p) && *p != '[' &&
		    *p != ']')
			p++;
		w = xstrndup(s, (size_t)(p - s));
		if (!strcmp(w, "--")) {
			free(w);
			return;
		}
		if (w[0] == '-') {
			after_opt = 1;
		} else {
			if (isupper((unsigned char)w[0]) && !after_opt)
				sbx_strvec_push(out, w);
			after_opt = 0;
		}
		free(w);
	}
}

/* Candidates for operand number `k` (0-based) of `cmd`. */
static void
add_operand(struct comp *c, const struct sbx_cmd *cmd, const char *parent,
    size_t k)
{
	struct sbx_strvec ops = SBX_STRVEC_INIT;
	const char *w;
	size_t n;

	usage_operands(cmd->usage, &ops);
	if (!ops.nr)
		goto out;
	if (k >= ops.nr) {
		/* Only a repeated last operand ("ID...") goes on. */
		w = ops.v[ops.nr - 1];
		n = strlen(w);
		if (n < 3 || strcmp(w + n - 3, "..."))
			goto out;
	} else {
		w = ops.v[k];
	}
	if (!strcmp(cmd->name, "help") && !parent) {
		if (k == 0)
			add_verbs(c, sbx_commands);
		goto out;
	}
	/* A token's ID is not a sandbox. */
	if (parent && !strcmp(parent, "token"))
		goto out;
	if (!strncmp(w, "ID", 2) && (!w[2] || w[2] == '.'))
		add_sandboxes(c, 0);
	else if (strstr(w, "TEMPLATE") || strstr(w, "NAME"))
		add_templates(c);
	else if (strstr(w, "SNAPSHOT"))
		add_sandboxes(c, 1);
out:
	sbx_strvec_clear(&ops);
}

/* Works out what words[cword] can be, given the words before it. */
static void
complete(struct comp *c, int cword, char **words, int nwords)
{
	const struct sbx_cmd *cmd = NULL, *top = NULL;
	const struct sbx_option *o;
	const char *parent = NULL;
	size_t operands = 0;
	int i;

	for (i = 1; i < cword && i < nwords; i++) {
		const char *w = words[i];

		if (!strcmp(w, "--")) {
			if (cmd)
				return;	/* a guest command follows */
			continue;
		}
		if (w[0] == '-' && w[1]) {
			o = find_opt(cmd, w);
			if (!strcmp(w, "--home") && i + 1 < cword)
				c->home = words[i + 1];
			else if (!strncmp(w, "--home=", 7))
				c->home = w + 7;
			if ((opt_takes_value(o) || (!o &&
			    global_takes_value(w))) && !strchr(w, '='))
				i++;
			continue;
		}
		if (!cmd) {
			cmd = top = sbx_cmd_find(sbx_commands, w);
			if (!cmd)
				return;	/* unknown verb or plugin */
			continue;
		}
		if (cmd == top && top->subcmds && !parent) {
			const struct sbx_cmd *sub = sbx_cmd_find(top->subcmds,
			    w);

			if (!sub)
				return;
			cmd = sub;
			parent = top->name;
			continue;
		}
		operands++;
	}
	/* The value of an option? */
	if (cword >= 2 && cword - 1 < nwords) {
		const char *prev = words[cword - 1];

		o = find_opt(cmd, prev);
		if (opt_takes_value(o)) {
			add_values(c, o->argh);
			return;
		}
		if (!o && prev[0] == '-' && global_takes_value(prev))
			return;
	}
	if (c->cur[0] == '-') {
		add_options(c, cmd);
		return;
	}
	if (!cmd) {
		add_verbs(c, sbx_commands);
		return;
	}
	if (cmd == top && top->subcmds) {
		add_verbs(c, top->subcmds);
		return;
	}
	add_operand(c, cmd, parent, operands);
}

static int
complete_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct comp c;
	struct sbx_err e;
	long long cword;
	size_t i;

	sbx_err_clear(&e);
	if (argc < 1)
		return sbx_usage_error(ctx, "usage: sbx __complete CWORD "
		    "WORD...");
	if (sbx_parse_int(argv[0], 0, 4096, &cword, &e) < 0)
		return sbx_usage_error(ctx, "CWORD: %s", e.msg);
	memset(&c, 0, sizeof(c));
	sbx_strvec_init(&c.out);
	c.home = ctx->home;
	c.cur = cword + 1 < argc ? argv[cword + 1] : "";
	if (cword >= 1)
		complete(&c, (int)cword, argv + 1, argc - 1);
	for (i = 0; i < c.out.nr; i++)
		printf("%s\n", c.out.v[i]);
	sbx_strvec_clear(&c.out);
	return 0;
}

const struct sbx_cmd cmd___complete = {
	.name = "__complete",
	.summary = "print shell completion candidates",
	.usage = "CWORD WORD...",
	.flags = SBX_CMD_HIDDEN | SBX_CMD_RAW_ARGS,
	.exec = complete_exec,
};
