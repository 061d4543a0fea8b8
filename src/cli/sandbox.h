/*
 * sandbox.h - pieces shared by the sandbox commands (create, run, exec,
 * shell, cp, ls, ...).
 */
#ifndef SBX_CLI_SANDBOX_H
#define SBX_CLI_SANDBOX_H

#include "backend.h"
#include "cli/cmd.h"
#include "core/strvec.h"

/* Options of `create`, shared with `run`. */
struct cli_create_args {
	long long vcpus;
	uint64_t memory;
	uint64_t disk;
	uint64_t idle_timeout;
	const char *idle_timeout_str;
	const char *name;
	const char *image;
	const char *from;
	struct sbx_strvec env;
	struct sbx_strvec allow, deny;	/* egress rules */
	int no_network;
};

/* Options of `exec`, shared with `run` and `shell`. */
struct cli_exec_args {
	int interactive;
	int tty;
	int detach;
	const char *workdir;
	const char *user;
	uint64_t timeout;
	struct sbx_strvec env;
};

/* Fills `o` from the parsed create options (`template` may be NULL). */
int cli_create_opts(struct sbx_ctx *ctx, struct cli_create_args *a,
    const char *template, struct sbx_create_opts *o);

/*
 * Runs argv in sandbox `id` with the exec options; returns the exit
 * status sbx should exit with: the command's code, 128+signal when it was
 * killed, or 1 (error reported).
 */
int cli_exec(struct sbx_ctx *ctx, const char *id, struct cli_exec_args *a,
    char **argv);

/*
 * Calls `op` for every operand (a sandbox), printing each one that
 * succeeded; reports each failure and returns 0, 1 or 2 (no operands).
 */
int cli_each(struct sbx_ctx *ctx, int argc, char **argv,
    int (*op)(struct sbx_ctx *, const char *, struct sbx_err *));

/* Prints one sandbox as JSON (inspect, create --json). */
void cli_print_sandbox_json(const struct sbx_sandbox *sb);

#endif

#define CLI_CREATE_OPTIONS(a) \
	{ 0, "vcpus", SBX_OPT_INT, &(a).vcpus, "N", \
	  "virtual CPUs (1-64)", 1, 64 }, \
	{ 'm', "memory", SBX_OPT_SIZE, &(a).memory, "SIZE", \
	  "guest memory, e.g. 512M, 2G", 0, 0 }, \
	{ 0, "disk", SBX_OPT_SIZE, &(a).disk, "SIZE", \
	  "data disk size, e.g. 4G", 0, 0 }, \
	{ 0, "name", SBX_OPT_STRING, &(a).name, "NAME", \
	  "a unique name for the sandbox", 0, 0 }, \
	{ 0, "image", SBX_OPT_STRING, &(a).image, "PATH", \
	  "boot this image directory instead of a template", 0, 0 }, \
	{ 0, "from", SBX_OPT_STRING, &(a).from, "SNAPSHOT", \
	  "restore this snapshot", 0, 0 }, \
	{ 0, "idle-timeout", SBX_OPT_STRING, &(a).idle_timeout_str, "DUR", \
	  "hibernate after this much idle time (0 = never)", 0, 0 }, \
	{ 0, "allow", SBX_OPT_LIST, &(a).allow, "CIDR|DOMAIN", \
	  "let the sandbox reach this network or domain (repeatable)", 0, 0 }, \
	{ 0, "deny", SBX_OPT_LIST, &(a).deny, "CIDR|DOMAIN", \
	  "keep the sandbox from this network or domain (repeatable)", 0, 0 }, \
	{ 0, "no-network", SBX_OPT_BOOL, &(a).no_network, NULL, \
	  "no network device at all", 0, 0 }

#define CLI_EXEC_OPTIONS(a) \
	{ 'i', "interactive", SBX_OPT_BOOL, &(a).interactive, NULL, \
	  "pass standard input to the command", 0, 0 }, \
	{ 't', "tty", SBX_OPT_BOOL, &(a).tty, NULL, \
	  "run the command on a terminal (PTY)", 0, 0 }, \
	{ 'e', "env", SBX_OPT_LIST, &(a).env, "KEY=VALUE", \
	  "set an environment variable (repeatable)", 0, 0 }, \
	{ 'w', "workdir", SBX_OPT_STRING, &(a).workdir, "DIR", \
	  "working directory in the sandbox", 0, 0 }, \
	{ 'u', "user", SBX_OPT_STRING, &(a).user, "USER", \
	  "run as this user", 0, 0 }, \
	{ 0, "timeout", SBX_OPT_DURATION, &(a).timeout, "DUR", \
	  "kill the command after this long (default: never)", 0, 0 }
