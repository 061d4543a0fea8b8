/*
 * datadisk.c - the data disk in options, snapshots, restores, forks and
 * stats (datadisk.h); the layers themselves are layer.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/parse.h"
#include "core/xmalloc.h"
#include "kvm/proto/control.h"
#include "kvm/vmm/datadisk.h"
#include "kvm/vmm/layer.h"
#include "kvm/vmm/snapshot.h"
#include "kvm/vmm/vmm.h"
#include "core/banned.h"

int
datadisk_option(struct datadisk_opts *o, int opt, const char *arg,
    struct sbx_err *e)
{
	switch (opt) {
	case DATADISK_OPT_TOP:
		if (!*arg)
			return sbx_err_set(e, SBX_EUSAGE, "--data-disk: empty "
			    "path");
		o->top = arg;
		return 0;
	case DATADISK_OPT_LAYER:
		if (!*arg)
			return sbx_err_set(e, SBX_EUSAGE, "--data-layer: empty "
			    "path");
		if (o->nlayers >= LAYER_MAX_DEPTH)
			return sbx_err_set(e, SBX_EUSAGE, "--data-layer: more "
			    "than %d layers", LAYER_MAX_DEPTH);
		o->layers = xreallocarray(o->layers, o->nlayers + 1,
		    sizeof(*o->layers));
		o->layers[o->nlayers++] = arg;
		return 0;
	case DATADISK_OPT_SIZE: {
		struct sbx_err pe = { 0 };

		if (sbx_parse_size(arg, LAYER_BLOCK, LAYER_MAX_SIZE, &o->size,
		    &pe) < 0)
			return sbx_err_set(e, SBX_EUSAGE, "--data-size: %s",
			    pe.msg);
		if (o->size % LAYER_BLOCK)
			return sbx_err_set(e, SBX_EUSAGE, "--data-size: %llu "
			    "bytes is not a multiple of 4096",
			    (unsigned long long)o->size);
		return 0;
	}
	}
	return sbx_err_set(e, SBX_EUSAGE, "not a data disk option");
}

int
datadisk_config(const struct datadisk_opts *o, struct vmm_config *cfg,
    struct sbx_err *e)
{
	if (!o->top && (o->nlayers || o->size))
		return sbx_err_set(e, SBX_EUSAGE, "--data-layer and "
		    "--data-size need --data-disk TOP");
	if (o->top && o->nlayers && o->size)
		return sbx_err_set(e, SBX_EUSAGE, "--data-size: the size of a "
		    "disk with --data-layer is its layers'");
	if (o->top && !o->nlayers && !o->size)
		return sbx_err_set(e, SBX_EUSAGE, "--data-disk without "
		    "--data-layer needs --data-size");
	cfg->data_top = o->top;
	cfg->data_layers = o->layers;
	cfg->ndata_layers = o->nlayers;
	cfg->data_size = o->size;
	return 0;
}

json_t *
datadisk_config_json(const struct vmm *vm)
{
	if (!vm->data_disk)
		return NULL;
	return json_pack("{s:I, s:i}", "size",
	    (json_int_t)layer_stack_size(vm->data_disk), "slot",
	    (int)vm->data_slot);
}

int
datadisk_restore_config(json_t *j, const struct snap_run *run,
    struct vmm_config *cfg, struct sbx_err *e)
{
	json_t *d = json_object_get(j, "data_disk");
	json_int_t size = json_integer_value(json_object_get(d, "size"));

	if (!d && run->data_top)
		return sbx_err_set(e, SBX_EUSAGE, "--data-disk: the "
		    "snapshot's machine has no data disk");
	if (!d)
		return 0;
	if (!json_is_object(d) || size <= 0 ||
	    (uint64_t)size % LAYER_BLOCK || (uint64_t)size > LAYER_MAX_SIZE)
		return sbx_err_set(e, SBX_ECORRUPT, "snapshot configuration "
		    "has a malformed 'data_disk'");
	if (!run->data_top)
		return sbx_err_set(e, SBX_EUSAGE, "the snapshot's machine has "
		    "a data disk: give its chain (--data-layer PATH, bottom "
		    "first) and a top (--data-disk TOP)");
	cfg->data_top = run->data_top;
	cfg->data_layers = run->data_layers;
	cfg->ndata_layers = run->ndata_layers;
	cfg->data_size = (uint64_t)size;
	return 0;
}

int
datadisk_restore_check(const struct vmm *vm, json_t *j, struct sbx_err *e)
{
	json_t *d = json_object_get(j, "data_disk");
	json_int_t slot = json_integer_value(json_object_get(d, "slot"));

	if (!d)
		return 0;
	if (!vm->data_disk || slot != (json_int_t)vm->data_slot)
		return sbx_err_set(e, SBX_ECORRUPT, "the snapshot's data disk "
		    "was in MMIO slot %lld, the rebuilt machine puts it in "
		    "slot %u", (long long)slot, vm->data_slot);
	return 0;
}

int
datadisk_freeze(struct vmm *vm, const char *path, const char *since,
    struct datadisk_snap *ds, struct sbx_err *e)
{
	const char *mark = layer_stack_mark(vm->data_disk);
	int r;

	memset(ds, 0, sizeof(*ds));
	ds->full = !since || strcmp(since, mark) != 0;
	r = layer_stack_freeze(vm->data_disk, path, ds->full, &ds->layer, e);
	if (r < 0)
		return r;
	ds->blocks = layer_blocks(ds->layer);
	return 0;
}

int
datadisk_commit(struct vmm *vm, struct datadisk_snap *ds, struct sbx_err *e)
{
	int r = layer_stack_commit(vm->data_disk, ds->layer, ds->full, e);

	if (r < 0)
		return r;
	ds->layer = NULL;	/* the stack's now */
	snprintf(ds->mark, sizeof(ds->mark), "%s",
	    layer_stack_mark(vm->data_disk));
	return 0;
}

void
datadisk_release(struct datadisk_snap *ds)
{
	layer_free(ds->layer);
	ds->layer = NULL;
}

void
datadisk_reply(json_t *rep, const struct datadisk_snap *ds)
{
	json_object_set_new(rep, "disk_mark", json_string(ds->mark));
	json_object_set_new(rep, "disk_full", json_boolean(ds->full));
	json_object_set_new(rep, "disk_blocks",
	    json_integer((json_int_t)ds->blocks));
}

int
datadisk_fork_check(const struct vmm *vm, json_t *req, struct sbx_err *e)
{
	json_t *layer = json_object_get(req, "disk_layer");
	json_t *chain = json_object_get(req, "disk_layers"), *v, *spec;
	json_t *since = json_object_get(req, "disk_since");
	size_t i;

	if (!vm->data_disk) {
		if (layer || chain || since)
			return sbx_err_set(e, SBX_EINVAL, "'disk_layer': this "
			    "VM has no data disk");
		return 0;
	}
	if (!json_string_value(layer) || !*json_string_value(layer))
		return sbx_err_set(e, SBX_EINVAL, "this VM has a data disk: "
		    "fork needs 'disk_layer', a path for the frozen top");
	if (since && !json_is_string(since))
		return sbx_err_set(e, SBX_EINVAL, "'disk_since' must be a "
		    "string");
	if (!json_is_array(chain) || json_array_size(chain) >=
	    LAYER_MAX_DEPTH)
		return sbx_err_set(e, SBX_EINVAL, "fork needs 'disk_layers': "
		    "the paths of the disk's chain, bottom first (fewer than "
		    "%d)", LAYER_MAX_DEPTH);
	json_array_foreach(chain, i, v)
		if (!json_string_value(v) || !*json_string_value(v))
			return sbx_err_set(e, SBX_EINVAL, "'disk_layers' entry "
			    "%zu is not a path", i);
	json_array_foreach(json_object_get(req, "children"), i, spec) {
		const char *top = json_string_value(json_object_get(spec,
		    "disk_top"));

		if (!top || !*top)
			return sbx_err_set(e, SBX_EINVAL, "child %zu needs a "
			    "'disk_top' (a new path per child)", i);
	}
	return 0;
}

void
datadisk_fork_child(json_t *req, json_t *spec,
    const struct datadisk_snap *ds, struct snap_run *run)
{
	json_t *chain = json_object_get(req, "disk_layers");
	size_t n = ds->full ? 0 : json_array_size(chain), i;
	const char **paths = xcalloc(n + 1, sizeof(*paths));

	for (i = 0; i < n; i++)
		paths[i] = json_string_value(json_array_get(chain, i));
	paths[n] = json_string_value(json_object_get(req, "disk_layer"));
	run->data_layers = paths;
	run->ndata_layers = n + 1;
	run->data_top = json_string_value(json_object_get(spec, "disk_top"));
}

json_t *
datadisk_stats_json(const struct vmm *vm)
{
	struct layer_stats st;

	if (!vm->data_disk)
		return NULL;
	layer_stack_stats(vm->data_disk, &st);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:I, s:s}",
	    "reads", (json_int_t)st.reads, "writes", (json_int_t)st.writes,
	    "flushes", (json_int_t)st.flushes,
	    "read_bytes", (json_int_t)st.rbytes,
	    "write_bytes", (json_int_t)st.wbytes,
	    "top_blocks", (json_int_t)st.top_blocks,
	    "layers", (int)st.layers, "size", (json_int_t)st.size,
	    "mark", layer_stack_mark(vm->data_disk));
}

int
datadisk_make_layer_main(int argc, char **argv)
{
	struct sbx_err e = { 0 };
	struct layer *l;
	struct stat st;
	int fd;

	if (argc != 4) {
		fputs("usage: sbx-vmm --make-layer RAW OUT\n", stderr);
		return SBX_VMM_EXIT_USAGE;
	}
	fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "sbx-vmm: cannot open raw image '%s': %s\n",
		    argv[2], strerror(errno));
		return SBX_VMM_EXIT_ERROR;
	}
	if (!S_ISREG(st.st_mode) ||
	    layer_from_raw(fd, (uint64_t)st.st_size, argv[3], &e) < 0) {
		if (!e.msg[0])
			sbx_err_set(&e, SBX_EINVAL, "'%s' is not a regular "
			    "file", argv[2]);
		fprintf(stderr, "sbx-vmm: %s\n", e.msg);
		close(fd);
		return SBX_VMM_EXIT_ERROR;
	}
	close(fd);
	if (!(l = layer_open(argv[3], &e))) {
		fprintf(stderr, "sbx-vmm: %s\n", e.msg);
		return SBX_VMM_EXIT_ERROR;
	}
	printf("%llu blocks of %llu\n", (unsigned long long)layer_blocks(l),
	    (unsigned long long)(layer_size(l) / LAYER_BLOCK));
	layer_free(l);
	return 0;
}
