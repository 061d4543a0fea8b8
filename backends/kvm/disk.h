/*
 * disk.h - a sandbox's data disk: the layer chain sbx keeps for it
 * (disk.c). See doc/snapshot-format.md "Data disk" for the VMM's side.
 *
 * Every sandbox booted since layers exist has a second virtio-blk disk,
 * /dev/vdb, on which the guest keeps the upper layer of its root overlay
 * (all its writes). The VMM reads each block from the topmost layer that
 * has it: the sandbox's writable top (sandboxes/<id>/disk.top and
 * disk.top.map) over frozen layers, which are store objects. The chain is
 * recorded in sandbox.json, extra "data_disk":
 *
 *	{"size": BYTES, "layers": ["sha:<base>", "sha:<layer>", ...],
 *	 "mark": "<the VMM's disk mark for that chain>"}
 *
 * bottom first; the bottom of a new sandbox's chain is a blank ext4 of
 * `size` bytes (made once per size, ref disks/blank-ext4-<size>). A
 * snapshot, a hibernation and a fork freeze the top into a new layer
 * object appended to the chain (or, when the VMM's mark is not the
 * recorded one, a flattened layer that replaces the chain). Snapshot
 * manifests carry "disk": {"size", "layers"}; gc keeps what either
 * reaches (the walker follows "disk" and "layers").
 */
#ifndef SBX_KVM_DISK_H
#define SBX_KVM_DISK_H

#include <stdint.h>

#include <jansson.h>

#include "kvm/kvm.h"

struct sbx_strvec;

#define KVM_DISK_KEY "data_disk"
#define KVM_DEFAULT_DISK (2ULL << 30)	/* template default (2G) */
#define KVM_MIN_DISK (64ULL << 20)
#define KVM_DISK_TOP "disk.top"		/* in the sandbox's directory */

/*
 * Stores file `path` as an object, moving it in (hashing it once); adds
 * its allocated size to *added (may be NULL) if the store lacked it.
 */
int kvm_put_counted(struct sbx_conn *c, const char *path, struct sbx_oid *id,
    uint64_t *added, struct sbx_err *e);

/* 1 if `sb` has a data disk record. */
int kvm_disk_present(const struct sbx_sandbox *sb);

/*
 * Gives `sb` a new, empty data disk of spec.disk bytes (default 2G): the
 * blank base (made and stored on first use) as its only layer, and no
 * top file. Replaces any record it had.
 */
int kvm_disk_new(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e);

/*
 * Appends sbx-vmm's options for the recorded chain to `av`:
 * --data-layer=PATH per layer and --data-disk=TOP. Nothing without a
 * record. SBX_ENOENT if a layer object is missing from the store.
 */
int kvm_disk_argv(struct sbx_conn *c, const struct sbx_sandbox *sb,
    struct sbx_strvec *av, struct sbx_err *e);

/* The recorded chain's layer paths in the store, bottom first. */
json_t *kvm_disk_paths(struct sbx_conn *c, const struct sbx_sandbox *sb,
    struct sbx_err *e);

/* Sets "disk_since" in a snapshot or fork request to the recorded mark. */
void kvm_disk_since(const struct sbx_sandbox *sb, json_t *req);

/*
 * The VMM froze the top into the layer file `path` (reply `rep`: its
 * "disk_full" and "disk_mark"): stores it (its allocated size is added to
 * *added when new to the store) and records the chain it ends. The file
 * is moved into the store.
 */
int kvm_disk_frozen(struct sbx_conn *c, struct sbx_sandbox *sb,
    const char *path, json_t *rep, uint64_t *added, struct sbx_err *e);
/* The same with "disk_full" and "disk_mark" given (mark may be NULL). */
int kvm_disk_frozen_as(struct sbx_conn *c, struct sbx_sandbox *sb,
    const char *path, int full, const char *mark, uint64_t *added,
    struct sbx_err *e);

/* Records `mark` (may be NULL: unknown) as the VMM's mark for the chain. */
void kvm_disk_set_mark(struct sbx_sandbox *sb, const char *mark);

/* Asks sandbox `sb`'s running VMM for its disk mark and records it. */
void kvm_disk_learn_mark(struct sbx_sandbox *sb);

/*
 * Takes into the chain the layer a hibernation for idleness left in
 * sandboxes/<id>/hibernate/disk (before a resume or a clean boot).
 */
int kvm_disk_absorb(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e);

/*
 * Asks the guest of running sandbox `sb` to write its dirty data out
 * (best effort, before its VMM is stopped): a clean boot then finds every
 * write on the data disk, not only those the guest's file system had
 * committed.
 */
void kvm_disk_sync(const struct sbx_sandbox *sb);

/*
 * Before running sandbox `sb` is stopped: if its VMM's disk mark is not
 * the recorded one (an sbx killed after the VMM froze a layer and before
 * the record listed it), has the VMM write a flattened layer of the whole
 * disk and makes that the chain, so the next clean boot misses nothing.
 */
int kvm_disk_settle(struct sbx_conn *c, struct sbx_sandbox *sb,
    struct sbx_err *e);

/* {"size", "layers"} of the record, for a snapshot manifest; or NULL. */
json_t *kvm_disk_manifest(const struct sbx_sandbox *sb);

/*
 * Records the chain of snapshot manifest `m` (its "disk") for `sb`, a new
 * sandbox restored from it; nothing if the snapshot has no data disk.
 * SBX_ECORRUPT for a "disk" that is not {"size", "layers": [refs]}.
 */
int kvm_disk_from_manifest(struct sbx_sandbox *sb, json_t *m,
    struct sbx_err *e);

#endif
