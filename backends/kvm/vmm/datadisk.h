/*
 * datadisk.h - the data disk (/dev/vdb, a layer stack: layer.h) in
 * sbx-vmm's options, snapshots, restores, forks and stats
 * (doc/snapshot-format.md, "Data disk").
 *
 * Threads: everything here runs on the I/O thread (control socket) with
 * the vCPUs parked, or on the main thread before the VM starts.
 */
#ifndef SBX_KVM_VMM_DATADISK_H
#define SBX_KVM_VMM_DATADISK_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct layer;
struct sbx_err;
struct snap_run;
struct vmm;
struct vmm_config;

/* --data-disk, --data-layer (repeatable) and --data-size. */
struct datadisk_opts {
	const char *top;
	const char **layers;	/* bottom first (xmalloc'd, never freed) */
	size_t nlayers;
	uint64_t size;		/* 0: not given */
};

/*
 * getopt_long entries for the three options (option values 0x100 to
 * 0x102, `size` false for --restore, which takes the snapshot's size).
 */
#define DATADISK_OPT_TOP 0x100
#define DATADISK_OPT_LAYER 0x101
#define DATADISK_OPT_SIZE 0x102
#define DATADISK_LONG_OPTS \
	{ "data-disk", required_argument, NULL, DATADISK_OPT_TOP }, \
	{ "data-layer", required_argument, NULL, DATADISK_OPT_LAYER }
#define DATADISK_LONG_OPT_SIZE \
	{ "data-size", required_argument, NULL, DATADISK_OPT_SIZE }

/* Takes one of the options; 0 or SBX_EUSAGE with the message in `e`. */
int datadisk_option(struct datadisk_opts *o, int opt, const char *arg,
    struct sbx_err *e);
/*
 * Checks the options together and fills `cfg` (cold boot: --data-size
 * only without layers, and required then). 0 or SBX_EUSAGE.
 */
int datadisk_config(const struct datadisk_opts *o, struct vmm_config *cfg,
    struct sbx_err *e);

/* The snapshot configuration's "data_disk" object, or NULL: none. */
json_t *datadisk_config_json(const struct vmm *vm);
/*
 * Restore: the recorded "data_disk" of config `j` against the run's
 * stack (required if it had one, refused if not); fills `cfg`.
 */
int datadisk_restore_config(json_t *j, const struct snap_run *run,
    struct vmm_config *cfg, struct sbx_err *e);
/* Restore: the data disk landed in its recorded slot. */
int datadisk_restore_check(const struct vmm *vm, json_t *j,
    struct sbx_err *e);

/* One frozen layer on its way into the stack (snapshot, fork). */
struct datadisk_snap {
	struct layer *layer;	/* NULL: nothing frozen */
	bool full;		/* flattened: the chain is this layer alone */
	uint64_t blocks;
	char mark[48];		/* the mark after the commit */
};

/*
 * Freezes the top into a frozen layer at `path` (the top alone when
 * `since` is the current disk mark, else flattened). The stack is
 * unchanged. 0 or negative SBX_E.
 */
int datadisk_freeze(struct vmm *vm, const char *path, const char *since,
    struct datadisk_snap *ds, struct sbx_err *e);
/* Appends the frozen layer (or replaces the chain) and empties the top. */
int datadisk_commit(struct vmm *vm, struct datadisk_snap *ds,
    struct sbx_err *e);
/* Drops an uncommitted layer. */
void datadisk_release(struct datadisk_snap *ds);
/* Adds "disk_mark", "disk_full" and "disk_blocks" to a reply. */
void datadisk_reply(json_t *rep, const struct datadisk_snap *ds);

/*
 * Fork: checks the request's disk fields against the VM (all required
 * with a data disk, refused without); 0 or SBX_EINVAL with a message.
 */
int datadisk_fork_check(const struct vmm *vm, json_t *req,
    struct sbx_err *e);
/* Fork child: its stack (the chain + the frozen layer + its disk_top). */
void datadisk_fork_child(json_t *req, json_t *spec,
    const struct datadisk_snap *ds, struct snap_run *run);

/* The "data_disk" object of the stats op, or NULL: no data disk. */
json_t *datadisk_stats_json(const struct vmm *vm);

/*
 * `sbx-vmm --make-layer RAW OUT`: a frozen layer of a raw image's
 * non-zero blocks (layer_from_raw); prints "N blocks of M".
 */
int datadisk_make_layer_main(int argc, char **argv);

#endif
