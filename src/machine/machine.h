/*
 * machine.h - `sbx machine`: a Linux host VM (QEMU; KVM where the host has
 * hardware KVM, TCG with an emulated AMD-V CPU otherwise) running
 * `sbx serve`, the way `podman machine` works. Its state lives in
 * $SBX_HOME/machine/ (see doc/ARCHITECTURE.md, "sbx machine"):
 *
 *	state.json	what a running machine is (written atomically)
 *	token		the admin token of its server (mode 0600)
 *	store/		the machine's own SBX_HOME, shared writable over 9p
 *	console.log	L1's kernel console; serve.log: its `sbx serve`
 *	shell.sock	L1's second serial port (`sbx machine ssh`), mode 0600
 *
 * While a machine runs, CLI commands without --remote/SBX_REMOTE use it as
 * their remote (sbx_machine_remote); `--remote local` forces the local
 * backend.
 */
#ifndef SBX_MACHINE_H
#define SBX_MACHINE_H

#include <stdint.h>

#include "core/err.h"

struct sbx_machine_state {
	long pid;		/* QEMU's pid */
	char *url;		/* "http://127.0.0.1:PORT" */
	char *token_file;	/* path of the token (0600) */
	char *token_id;		/* its id in the machine's store */
	uint64_t memory_mb;
	long cpus;
	char accel[8];		/* "tcg" or "kvm" */
	int64_t started;	/* Unix time */
};

/* "<home>/machine" (malloc'd). */
char *sbx_machine_dir(const char *home);

/*
 * Parses state.json text into `st` (release with _release). Every field
 * is checked: a malformed file is SBX_ECORRUPT naming the field.
 */
int sbx_machine_state_parse(const char *text, size_t len,
    struct sbx_machine_state *st, struct sbx_err *e);

/* state.json text for `st` (malloc'd). */
char *sbx_machine_state_dump(const struct sbx_machine_state *st);

/*
 * Loads <dir>/state.json. Returns 1 when loaded, 0 when there is none,
 * < 0 on error (unreadable or malformed).
 */
int sbx_machine_state_load(const char *dir, struct sbx_machine_state *st,
    struct sbx_err *e);

/* Writes <dir>/state.json atomically (mode 0600). */
int sbx_machine_state_save(const char *dir,
    const struct sbx_machine_state *st, struct sbx_err *e);

void sbx_machine_state_release(struct sbx_machine_state *st);

/*
 * 1 when QEMU of this machine still runs: `pid` exists and its command
 * line names `dir` (a recycled pid does not count).
 */
int sbx_machine_alive(const struct sbx_machine_state *st, const char *dir);

/*
 * The default remote: when a machine runs under `home`, sets *url and
 * *token (malloc'd) and returns 1; 0 when none runs (or its state is
 * stale or unreadable: then the local backend is used).
 */
int sbx_machine_remote(const char *home, char **url, char **token);

#endif
