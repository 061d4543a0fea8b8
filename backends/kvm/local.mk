# backends/kvm: see Makefile.am; this fragment is owned by that directory.

# --- sbx-vmm: the virtual machine monitor, one process per sandbox ------
# Everything but main.c and control.c is also compiled into the unit-test
# runner (the tests need no /dev/kvm), so it lives in one list.
sbx_vmm_common = \
	%reldir%/proto/control.h \
	%reldir%/vmm/acpi.c %reldir%/vmm/acpi.h \
	%reldir%/vmm/boot.c %reldir%/vmm/boot.h \
	%reldir%/vmm/cpu.c %reldir%/vmm/cpu.h \
	%reldir%/vmm/delta.c %reldir%/vmm/delta.h \
	%reldir%/vmm/devices.h \
	%reldir%/vmm/i8042.c %reldir%/vmm/i8042.h \
	%reldir%/vmm/layer.c %reldir%/vmm/layer.h \
	%reldir%/vmm/layer_file.c %reldir%/vmm/layer_int.h \
	%reldir%/vmm/layout.h \
	%reldir%/vmm/log.c %reldir%/vmm/log.h \
	%reldir%/vmm/loop.c %reldir%/vmm/loop.h \
	%reldir%/vmm/mem.c %reldir%/vmm/mem.h \
	%reldir%/vmm/serial.c %reldir%/vmm/serial.h \
	%reldir%/vmm/vcpu.c %reldir%/vmm/vmm.c %reldir%/vmm/vmm.h \
	%reldir%/vmm/virtio.h %reldir%/vmm/virtio_mmio.c \
	%reldir%/vmm/virtio_blk.c %reldir%/vmm/virtio_rng.c \
	%reldir%/vmm/virtio_balloon.c %reldir%/vmm/virtio_balloon.h \
	%reldir%/vmm/virtq.c %reldir%/vmm/virtq.h

pkglibexec_PROGRAMS += sbx-vmm
sbx_vmm_SOURCES = $(sbx_vmm_common) \
	%reldir%/vmm/control.c %reldir%/vmm/control.h \
	%reldir%/vmm/main.c
sbx_vmm_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
sbx_vmm_LDADD = libsbxcore.a $(JANSSON_LIBS) -lpthread
# Snapshot, restore and live fork (owner: snap).
sbx_vmm_SOURCES += \
	%reldir%/vmm/datadisk.c %reldir%/vmm/datadisk.h \
	%reldir%/vmm/fork.c %reldir%/vmm/restore.c \
	%reldir%/vmm/idle.c %reldir%/vmm/idle.h \
	%reldir%/vmm/dirty.c %reldir%/vmm/dirty.h \
	%reldir%/vmm/snapshot.c %reldir%/vmm/snapshot.h \
	%reldir%/vmm/snapstate.c %reldir%/vmm/snapstate.h \
	%reldir%/vmm/state.c %reldir%/vmm/state.h
EXTRA_DIST += doc/snapshot-format.md
sbx_SOURCES += %reldir%/ops-snap.c

# Networking: virtio-net on libslirp, egress policy (owner: net).
sbx_vmm_SOURCES += \
	%reldir%/vmm/net_policy.c %reldir%/vmm/net_policy.h \
	%reldir%/vmm/net_dns.c %reldir%/vmm/net_wire.h \
	%reldir%/vmm/net_slirp.c %reldir%/vmm/net_slirp.h \
	%reldir%/vmm/virtio_net.c %reldir%/vmm/virtio_net.h
sbx_vmm_CFLAGS += $(SLIRP_CFLAGS)
sbx_vmm_LDADD += $(SLIRP_LIBS)
sbx_SOURCES += %reldir%/net.h %reldir%/ops-port.c \
	%reldir%/vmm/net_policy.c %reldir%/vmm/net_policy.h
dist_man_MANS += doc/sbx-port.1
EXTRA_DIST += doc/networking.md tests/rig/net-guest.py tests/rig/net-host.py
# vmm.c (in the unit runner) attaches the network device.
tests_unit_check_sbx_SOURCES += tests/unit/check_vmm_net.c \
	%reldir%/vmm/net_policy.c %reldir%/vmm/net_policy.h \
	%reldir%/vmm/net_dns.c %reldir%/vmm/net_wire.h \
	%reldir%/vmm/net_slirp.c %reldir%/vmm/net_slirp.h \
	%reldir%/vmm/virtio_net.c %reldir%/vmm/virtio_net.h

tests_unit_check_sbx_SOURCES += $(sbx_vmm_common) \
	tests/unit/check_vmm_acpi.c tests/unit/check_vmm_balloon.c \
	tests/unit/check_vmm_blk.c \
	tests/unit/check_vmm_boot.c \
	tests/unit/check_vmm_delta.c tests/unit/check_vmm_layer.c \
	tests/unit/check_vmm_serial.c tests/unit/check_vmm_virtq.c

# The rig tests tests/rig/t1*-vmm-*.sh (booting Debian guests under
# sbx-vmm) run in `make check-rig` with the rest of tests/rig.
EXTRA_DIST += doc/vmm-control.md

# --- guest: sbx-agent, sbx-init, agent protocol + client (owner: guest) --
include $(srcdir)/backends/kvm/guest/local.mk

# --- the local backend (client side, linked into sbx; owned by the lead) ---
sbx_SOURCES += \
	%reldir%/backend.c %reldir%/kvm.h \
	%reldir%/disk.c %reldir%/disk.h \
	%reldir%/vmm/layer.c %reldir%/vmm/layer.h \
	%reldir%/vmm/layer_file.c %reldir%/vmm/layer_int.h \
	%reldir%/image.c %reldir%/image.h \
	%reldir%/ops-agent.c %reldir%/ops-create.c %reldir%/ops-resize.c \
	%reldir%/ops-stats.c \
	%reldir%/spawn.c %reldir%/spawn.h

# libFuzzer targets (clang): `make fuzz` builds the virtqueue/transport
# target and the guest engineer's vsock and agent-protocol targets
# (fuzz-guest, backends/kvm/guest/local.mk) and runs each for
# $SBX_FUZZ_SECONDS (default 30). Not part of `make check`.
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -include $(top_builddir)/config.h \
	-I$(top_srcdir)/src -I$(top_srcdir)/backends
fuzz_virtq_sources = tests/fuzz/fuzz_virtq.c \
	backends/kvm/vmm/virtq.c backends/kvm/vmm/virtio_mmio.c \
	backends/kvm/vmm/mem.c backends/kvm/vmm/loop.c backends/kvm/vmm/log.c \
	src/core/err.c src/core/xmalloc.c
EXTRA_DIST += tests/fuzz/fuzz_virtq.c
CLEANFILES += tests/fuzz/fuzz-virtq tests/fuzz/fuzz-virtq.log

tests/fuzz/fuzz-virtq: $(addprefix $(top_srcdir)/,$(fuzz_virtq_sources))
	$(AM_V_CCLD)mkdir -p tests/fuzz && \
	clang $(FUZZ_FLAGS) -o $@ $(addprefix $(top_srcdir)/,$(fuzz_virtq_sources))

fuzz_net_sources = tests/fuzz/fuzz-net.c \
	backends/kvm/vmm/net_policy.c backends/kvm/vmm/net_dns.c \
	src/core/clock.c src/core/err.c src/core/xmalloc.c
EXTRA_DIST += tests/fuzz/fuzz-net.c
CLEANFILES += tests/fuzz/fuzz-net tests/fuzz/fuzz-net.log

tests/fuzz/fuzz-net: $(addprefix $(top_srcdir)/,$(fuzz_net_sources))
	$(AM_V_CCLD)mkdir -p tests/fuzz && \
	clang $(FUZZ_FLAGS) -o $@ $(addprefix $(top_srcdir)/,$(fuzz_net_sources)) \
	    -lpthread

fuzz: tests/fuzz/fuzz-virtq tests/fuzz/fuzz-net fuzz-guest
	mkdir -p tests/fuzz/corpus-virtq tests/fuzz/corpus-net
	./tests/fuzz/fuzz-virtq -max_total_time=$${SBX_FUZZ_SECONDS:-30} \
		-max_len=8192 -print_final_stats=1 tests/fuzz/corpus-virtq \
		2>tests/fuzz/fuzz-virtq.log || { tail -50 tests/fuzz/fuzz-virtq.log; exit 1; }
	@tail -3 tests/fuzz/fuzz-virtq.log
	./tests/fuzz/fuzz-net -max_total_time=$${SBX_FUZZ_SECONDS:-30} \
		-max_len=1600 -print_final_stats=1 tests/fuzz/corpus-net \
		2>tests/fuzz/fuzz-net.log || { tail -50 tests/fuzz/fuzz-net.log; exit 1; }
	@tail -3 tests/fuzz/fuzz-net.log
.PHONY: fuzz
