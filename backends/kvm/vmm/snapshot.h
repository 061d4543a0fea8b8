/*
 * snapshot.h - sbx-vmm snapshots: the state file format, saving a running
 * VM to a directory, and building a VM from saved state (a directory for
 * `sbx-vmm --restore DIR`, or an in-memory image in a fork child).
 *
 * A snapshot directory holds two files (doc/snapshot-format.md), and a
 * third, `disk` (a frozen layer, layer.h), when the VM has a data disk:
 *   state   header + records (vCPU, VM, device state, configuration),
 *           CRC32C-checked; refused whole if anything does not verify
 *   memory  guest RAM by host offset, sparse (zero pages are holes);
 *           restore maps it MAP_PRIVATE, never reads it in full
 *
 * Threads: snap_save() and snap_fork() run on the I/O thread (control
 * socket); they pause the vCPUs themselves and take vCPU state while all
 * are parked. snap_restore_main() is a whole program (main thread).
 */
#ifndef SBX_KVM_VMM_SNAPSHOT_H
#define SBX_KVM_VMM_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct sbx_buf;
struct sbx_err;
struct vmm;
struct vmm_config;

#define SNAP_MAGIC "SBXSNAP\x01"
#define SNAP_VERSION 1
#define SNAP_HDR_SIZE 32

/* Record tags (doc/snapshot-format.md lists the payloads). */
enum {
	SNAP_T_CONFIG = 1,	/* JSON: how to rebuild the VM */
	SNAP_T_MEM = 2,		/* struct snap_mem */
	SNAP_T_CPUID = 10,	/* per vCPU, in restore order ... */
	SNAP_T_MP_STATE,
	SNAP_T_REGS,
	SNAP_T_SREGS,
	SNAP_T_XSAVE,
	SNAP_T_XCRS,
	SNAP_T_DEBUGREGS,
	SNAP_T_LAPIC,
	SNAP_T_TSC_KHZ,
	SNAP_T_MSRS,
	SNAP_T_EVENTS,		/* ... to here */
	SNAP_T_PIT2 = 30,
	SNAP_T_CLOCK,
	SNAP_T_IRQCHIP,		/* idx = chip id 0, 1, 2 */
	SNAP_T_SERIAL = 40,
	SNAP_T_I8042,
	SNAP_T_VIRTIO,		/* idx = MMIO slot */
	SNAP_T_BALLOON,		/* idx = MMIO slot: struct balloon_info */
};

struct snap_mem {
	uint64_t size, low, high;
	uint64_t file_size;	/* size of the memory file (= size) */
};

/* One parsed record; `p` points into the image. */
struct snap_rec {
	uint32_t tag, idx;
	const void *p;
	uint32_t len;
};

/* A verified state image (records point into `data`). */
struct snap_image {
	char *data;
	size_t len;
	struct snap_rec *rec;
	size_t nrec;
};

/* Appends one record (8-byte aligned) to a state body. */
void snap_rec_add(struct sbx_buf *b, uint32_t tag, uint32_t idx,
    const void *p, size_t len);
/* The record (tag, idx) or NULL; `len` must match unless it is 0. */
const void *snap_find(const struct snap_image *img, uint32_t tag,
    uint32_t idx, size_t len, size_t *len_out);

/*
 * Serialises the whole VM state (devices, vCPUs, VM, config) into `out`
 * (header included). All vCPUs must be parked. 0 or negative SBX_E.
 */
int snap_capture(struct vmm *vm, struct sbx_buf *out, struct sbx_err *e);
/* Verifies and indexes a state image (takes ownership of `data`). */
int snap_image_parse(struct snap_image *img, char *data, size_t len,
    const char *what, struct sbx_err *e);
void snap_image_free(struct snap_image *img);

/* main.c hook: remembers the configuration the VM was built from. */
void snap_set_config(const struct vmm_config *cfg);

/*
 * Control-socket ops "snapshot" {"dir":PATH} and "fork" {"children":[...]}:
 * returns the reply, or NULL if `op` is not one of them.
 */
json_t *snap_control(struct vmm *vm, const char *op, json_t *req);

/* `sbx-vmm --restore DIR ...`: a whole program; returns the exit status. */
int snap_restore_main(int argc, char **argv);

/* Overrides for a VM built from a snapshot (fork child or --restore). */
struct snap_run {
	const char *control;	/* control socket path, or NULL */
	const char *vsock;	/* vsock UDS path (required if it had one) */
	const char *serial_log;
	const char *id;
	int report_fd;		/* fork: "ok PID\n" / "error MSG\n", or -1 */
	uint8_t *inherit;	/* fork: the parent's RAM mapping, or NULL */
	int mem_fd;		/* restore: the memory file, or -1 */
	const char *mem_dir;	/* restore: else DIR/memory.d (chunks) */
	const char *delta;	/* restore: DIR/delta (page delta), or NULL */
	uint64_t idle_ms;	/* auto-hibernate after this (idle.h), 0 */
	const char *idle_dir;	/* ... into this directory */
	const char *net;	/* restore: egress policy replacing the
				   saved one (net_policy.h), or NULL */
	const char *data_top;	/* data disk top (datadisk.h), or NULL */
	const char *const *data_layers;	/* its chain, bottom first */
	size_t ndata_layers;
};

/* Builds the VM from `img` + `run`, runs it, returns its exit status. */
int snap_run_vm(struct snap_image *img, const struct snap_run *run);

#endif
