/*
 * agent-cli.c - a thin command-line front of the host agent client
 * (backends/kvm/agent-client.h), used by tests/cli/3*-agent*.t to drive a
 * real sbx-agent. Not installed.
 *
 * usage: agent-cli ADDR COMMAND [ARGS]
 *   ADDR is unix:PATH or vsock:PATH[:PORT]
 *   ping | exec [-i] [-t] [-b] [-e K=V]... [-w DIR] [-u USER] [-l LOG]
 *   -- CMD... | put LOCAL GUEST [MODE] | get GUEST LOCAL | stat PATH |
 *   ls PATH | mkdir [-p] PATH | rm [-r] [-f] PATH | mv FROM TO |
 *   kill PID SIG | hostname NAME | clock | entropy BYTES | sync
 *
 * exec exits with the command's status (128 + signal when killed) and,
 * with -b, prints the guest pid.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/strvec.h"
#include "kvm/agent-client.h"
#include "core/banned.h"

static int
fail(const struct sbx_err *e)
{
	fprintf(stderr, "agent-cli: %s\n", e->msg);
	return 1;
}

static int
winsize_of_tty(void *cookie, unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	if (ioctl(0, TIOCGWINSZ, &ws) < 0)
		return -1;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 0;
}

static int
cmd_exec(struct sbx_agent *a, int argc, char **argv)
{
	struct sbx_strvec env = SBX_STRVEC_INIT;
	struct sbx_agent_exec x;
	struct sbx_agent_status st;
	struct sbx_err e;
	int c, r;

	sbx_agent_exec_init(&x);
	x.stdout_fd = 1;
	x.stderr_fd = 2;
	optind = 1;
	while ((c = getopt(argc, argv, "+itbe:w:u:l:")) != -1) {
		switch (c) {
		case 'i': x.stdin_fd = 0; break;
		case 't': x.pty = 1; x.winsize = winsize_of_tty; break;
		case 'b': x.background = 1; break;
		case 'e': sbx_strvec_push(&env, optarg); break;
		case 'w': x.cwd = optarg; break;
		case 'u': x.user = optarg; break;
		case 'l': x.log = optarg; break;
		default: return 2;
		}
	}
	x.argv = (const char *const *)argv + optind;
	x.env = (const char *const *)env.v;
	r = sbx_agent_run(a, &x, &st, &e);
	sbx_strvec_clear(&env);
	if (r < 0)
		return fail(&e);
	if (x.background) {
		printf("%d\n", (int)st.pid);
		return 0;
	}
	return sbx_agent_status_code(&st);
}

static int
print_entry(void *cookie, const char *name, const struct sbx_agent_stat *st)
{
	static const char types[] = "?fdl";

	printf("%c %04o %llu %s\n", types[st->ftype & 3], st->mode,
	    (unsigned long long)st->size, name);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sbx_agent a;
	struct sbx_agent_stat st;
	struct sbx_agent_info info;
	struct sbx_err e;
	const char *cmd;
	long long n, m;
	int r = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: agent-cli ADDR COMMAND [ARGS]\n");
		return 2;
	}
	if (sbx_agent_init(&a, argv[1], &e) < 0)
		return fail(&e);
	if (getenv("AGENT_CLI_ATTEMPTS") && sbx_parse_int(
	    getenv("AGENT_CLI_ATTEMPTS"), 1, 100, &n, &e) == 0)
		a.attempts = (int)n;
	cmd = argv[2];
	argc -= 2;
	argv += 2;
	if (!strcmp(cmd, "ping")) {
		if ((r = sbx_agent_ping(&a, &info, &e)) == 0)
			printf("version %u pid %u uptime %llu\n", info.version,
			    info.pid, (unsigned long long)info.uptime_ms);
	} else if (!strcmp(cmd, "exec")) {
		r = cmd_exec(&a, argc, argv);
		sbx_agent_release(&a);
		return r;
	} else if (!strcmp(cmd, "put") && (argc == 3 || argc == 4)) {
		struct sbx_agent_put_opts o;

		sbx_agent_put_opts_init(&o);
		o.parents = 1;
		if (argc == 4) {
			char *end;

			o.mode = (uint32_t)strtoul(argv[3], &end, 8);
		}
		if (!strcmp(argv[1], "-"))
			r = sbx_agent_put_fd(&a, 0, 0, argv[2], &o, &e);
		else
			r = sbx_agent_put_file(&a, argv[1], argv[2], &o, &e);
	} else if (!strcmp(cmd, "get") && argc == 3) {
		if (!strcmp(argv[2], "-"))
			r = sbx_agent_get_fd(&a, argv[1], 1, NULL, NULL, NULL,
			    &e);
		else
			r = sbx_agent_get_file(&a, argv[1], argv[2], NULL,
			    NULL, &e);
	} else if (!strcmp(cmd, "stat") && argc == 2) {
		if ((r = sbx_agent_stat(&a, argv[1], &st, &e)) == 0)
			print_entry(NULL, argv[1], &st);
	} else if (!strcmp(cmd, "ls") && argc == 2) {
		r = sbx_agent_list(&a, argv[1], print_entry, NULL, &e);
	} else if (!strcmp(cmd, "mkdir") && argc >= 2) {
		int p = argc == 3 && !strcmp(argv[1], "-p");

		r = sbx_agent_mkdir(&a, argv[argc - 1], 0, p, &e);
	} else if (!strcmp(cmd, "rm") && argc >= 2) {
		int rec = 0, force = 0, i;

		for (i = 1; i < argc - 1; i++) {
			rec |= !strcmp(argv[i], "-r");
			force |= !strcmp(argv[i], "-f");
		}
		r = sbx_agent_rm(&a, argv[argc - 1], rec, force, &e);
	} else if (!strcmp(cmd, "mv") && argc == 3) {
		r = sbx_agent_rename(&a, argv[1], argv[2], &e);
	} else if (!strcmp(cmd, "kill") && argc == 3) {
		if ((r = sbx_parse_int(argv[1], 1, 1 << 22, &n, &e)) == 0 &&
		    (r = sbx_parse_int(argv[2], 1, 64, &m, &e)) == 0)
			r = sbx_agent_kill(&a, NULL, (pid_t)n, (int)m, 0, &e);
	} else if (!strcmp(cmd, "hostname") && argc == 2) {
		r = sbx_agent_set_hostname(&a, argv[1], &e);
	} else if (!strcmp(cmd, "clock") && argc == 1) {
		r = sbx_agent_set_clock(&a, &e);
	} else if (!strcmp(cmd, "entropy") && argc == 2) {
		if ((r = sbx_parse_int(argv[1], 1, 4096, &n, &e)) == 0)
			r = sbx_agent_add_entropy(&a, (size_t)n, &e);
	} else if (!strcmp(cmd, "sync") && argc == 1) {
		r = sbx_agent_sync(&a, &e);
	} else {
		fprintf(stderr, "agent-cli: bad command '%s'\n", cmd);
		sbx_agent_release(&a);
		return 2;
	}
	sbx_agent_release(&a);
	return r < 0 ? fail(&e) : 0;
}
