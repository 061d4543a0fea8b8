/*
 * cmd.h - command descriptors, option tables and the CLI context.
 *
 * Every command lives in src/cli/cmd-<verb>.c and exports one
 * `const struct sbx_cmd cmd_<verb>`; src/cli/commands.c lists them in one
 * sorted table. Only code under src/cli prints to the user or exits.
 *
 * Option tables are declarative (after git's parse-options): the parser,
 * `sbx <verb> -h`, the man-page check and shell completion all read them.
 */
#ifndef SBX_CLI_CMD_H
#define SBX_CLI_CMD_H

#include <stdint.h>

#include "core/err.h"
#include "core/strvec.h"

enum sbx_opt_type {
	SBX_OPT_END = 0,
	SBX_OPT_BOOL,		/* int *: set to 1 (or 0 with --no-NAME) */
	SBX_OPT_COUNT,		/* int *: incremented each time (-v -v) */
	SBX_OPT_STRING,		/* const char **: points into argv */
	SBX_OPT_INT,		/* long long *: checked by min/max */
	SBX_OPT_SIZE,		/* uint64_t *: bytes ("512M") */
	SBX_OPT_DURATION,	/* uint64_t *: milliseconds ("30s") */
	SBX_OPT_LIST,		/* struct sbx_strvec *: repeatable */
};

struct sbx_option {
	int short_name;		/* 0 if none */
	const char *long_name;	/* NULL if none */
	enum sbx_opt_type type;
	void *value;
	const char *argh;	/* argument name in help ("SIZE"), NULL for bool */
	const char *help;	/* one line */
	long long min, max;	/* SBX_OPT_INT range; 0,0 = any non-negative */
};

#define SBX_OPT_END_MARK { 0, NULL, SBX_OPT_END, NULL, NULL, NULL, 0, 0 }

/* Preconditions the dispatcher checks before calling exec. */
enum sbx_cmd_flags {
	SBX_CMD_NEEDS_STORE = 1 << 0,	/* open/create $SBX_HOME first */
	SBX_CMD_NEEDS_BACKEND = 1 << 1,	/* resolve local or remote backend */
	SBX_CMD_HIDDEN = 1 << 2,	/* not listed by `sbx help` */
	SBX_CMD_RAW_ARGS = 1 << 3,	/* exec gets argv unparsed */
};

struct sbx_ctx;

struct sbx_cmd {
	const char *name;
	const char *alias;		/* NULL or a second name ("ps") */
	const char *summary;		/* one line, lowercase, no period */
	const char *usage;		/* synopsis after "sbx <name> " */
	const struct sbx_option *options; /* NULL or SBX_OPT_END-terminated */
	unsigned flags;
	/*
	 * Runs the command with the operands left after option parsing
	 * (argv[0] is the first operand; argc may be 0). Returns the exit
	 * status: 0 ok, 1 failed, 2 usage, or the guest command's status.
	 */
	int (*exec)(struct sbx_ctx *ctx, int argc, char **argv);
	/* Sub-verbs (`sbx templates ls`), NULL-terminated, or NULL. */
	const struct sbx_cmd *const *subcmds;
};

/* What every command can see: global options and resolved paths. */
struct sbx_ctx {
	int json;		/* --json */
	int quiet;		/* -q */
	int verbose;		/* -v (count) */
	const char *remote;	/* --remote URL or $SBX_REMOTE, NULL = local */
	int force_local;	/* --remote local / SBX_REMOTE=local: not even a
				   running `sbx machine` */
	const char *home;	/* $SBX_HOME resolved (always set) */
	const char *prog;	/* "sbx" */
	const struct sbx_cmd *cmd; /* the command being run */
	const char *parent;	/* parent verb while running a sub-verb */
	int dashdash;		/* operands before a "--", or -1 if none */
	struct sbx_store *store; /* open store when SBX_CMD_NEEDS_STORE */
	const struct sbx_backend *backend; /* when SBX_CMD_NEEDS_BACKEND */
	struct sbx_conn *conn;	/* open backend connection, likewise */
};

/* The sorted command table (commands.c), NULL-terminated. */
extern const struct sbx_cmd *const sbx_commands[];

const struct sbx_cmd *sbx_cmd_find(const struct sbx_cmd *const *table,
    const char *name);

/*
 * Parses options of `cmd` from argv (argv[0] is the verb). Options may
 * come anywhere before a "--"; operands keep their order. On success
 * returns the number of operands moved to the front of argv (after
 * argv[0]'s slot is dropped: *argvp is adjusted to point at the first
 * operand). A "--" stays out of the operands, and everything after it is
 * appended verbatim. `-h`/`--help` prints usage to stdout and returns -1
 * with exit status 0 in *status. Errors print "sbx <verb>: ..." and the
 * usage to stderr, return -1 and set *status to 2.
 */
int sbx_parse_cmd_options(struct sbx_ctx *ctx, const struct sbx_cmd *cmd,
    int argc, char ***argvp, int *status);

/* Prints "usage: sbx <verb> <usage>" and the option table to `fp`. */
void sbx_cmd_usage(const struct sbx_cmd *cmd, const char *parent, FILE *fp);

/*
 * Runs a sub-verb of `cmd` (argv[0] is the sub-verb name). Unknown or
 * missing sub-verbs list the sub-verbs and return 2.
 */
int sbx_run_subcmd(struct sbx_ctx *ctx, const struct sbx_cmd *cmd,
    int argc, char **argv);

/*
 * Output helpers for commands (output.c). sbx_die_err prints
 * "sbx: <msg>" (+ "hint: <hint>") and returns the exit status for the
 * error: 2 for SBX_EUSAGE, 1 otherwise. With --json the error goes to
 * stdout as {"error": {"code": ..., "message": ..., "hint": ...}} too.
 */
int sbx_report_err(struct sbx_ctx *ctx, const struct sbx_err *e);
/*
 * For commands that work on this machine's store only: with --remote (or
 * SBX_REMOTE) they would quietly answer for the wrong machine, so they
 * refuse, naming `what` and giving `hint`. 0 to go on, else the status.
 */
int sbx_local_only(struct sbx_ctx *ctx, const char *what, const char *hint);
/*
 * Opens the backend connection (ctx->conn) for a command that needs it
 * only sometimes (without SBX_CMD_NEEDS_BACKEND); closed after the
 * command like the others. 0, or -1 with `e` set.
 */
int sbx_dispatch_backend(struct sbx_ctx *ctx, struct sbx_err *e);
/* "sbx <verb>: <message>" to stderr; returns 2. */
int sbx_usage_error(struct sbx_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Progress/info line to stderr unless -q. */
void sbx_info(struct sbx_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
