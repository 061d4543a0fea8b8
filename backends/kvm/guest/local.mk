# backends/kvm/guest (+ proto/agent, agent-client): owned by the "guest"
# engineer; included from the end of backends/kvm/local.mk.

# --- the guest binaries: static, no libsodium/jansson, no sanitizers ----
pkglibexec_PROGRAMS += sbx-agent sbx-init
sbx_guest_cflags = -std=gnu11 $(SBX_CFLAGS) -pthread
sbx_agent_SOURCES = \
	%reldir%/agentd.c %reldir%/agentd.h \
	%reldir%/exec.c %reldir%/files.c %reldir%/sys.c %reldir%/passwd.c \
	backends/kvm/proto/agent.c backends/kvm/proto/agent.h
sbx_agent_CFLAGS = $(sbx_guest_cflags)
sbx_agent_LDFLAGS = -static -pthread
sbx_init_SOURCES = %reldir%/init.c
# Network set-up (owner: net).
sbx_init_SOURCES += %reldir%/netcfg.c %reldir%/netcfg.h
sbx_init_CFLAGS = $(sbx_guest_cflags)
sbx_init_LDFLAGS = -static

# --- host side: the agent protocol and client, in libsbx.a --------------
libsbx_a_SOURCES += \
	backends/kvm/proto/agent.c backends/kvm/proto/agent.h \
	backends/kvm/agent-client.c backends/kvm/agent-client.h \
	backends/kvm/agent-client-int.h \
	backends/kvm/agent-exec.c backends/kvm/agent-files.c

# --- tests ---------------------------------------------------------------
check_PROGRAMS += tests/agent/agent-cli
tests_agent_agent_cli_SOURCES = tests/agent/agent-cli.c
tests_agent_agent_cli_LDADD = libsbx.a libsbxcore.a -lpthread
TESTS += tests/cli/35-agent.t
EXTRA_DIST += tests/cli/35-agent.t
tests_unit_check_sbx_SOURCES += tests/unit/check_agent_proto.c \
	tests/unit/check_agent_client.c \
	backends/kvm/guest/passwd.c

# --- sbx-vmm's userspace virtio-vsock (device + connection logic) -------
sbx_vsock_sources = \
	backends/kvm/vmm/vsock.c backends/kvm/vmm/vsock.h \
	backends/kvm/vmm/vsock-mux.c backends/kvm/vmm/vsock-mux.h
sbx_vmm_SOURCES += $(sbx_vsock_sources)
tests_unit_check_sbx_SOURCES += $(sbx_vsock_sources) tests/unit/check_vsock.c

# --- libFuzzer targets (clang): make fuzz-vsock fuzz-agent-proto ---------
# Run one for a bounded time with, e.g., ./fuzz-vsock -max_total_time=60
SBX_FUZZ_CC = clang
SBX_FUZZ_FLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-include $(top_builddir)/config.h -I$(top_srcdir)/src \
	-I$(top_srcdir)/backends
fuzz-vsock: tests/fuzz/fuzz-vsock.c backends/kvm/vmm/vsock-mux.c \
	    src/core/err.c src/core/xmalloc.c
	$(AM_V_CCLD)$(SBX_FUZZ_CC) $(SBX_FUZZ_FLAGS) -o $@ $^
fuzz-agent-proto: tests/fuzz/fuzz-agent-proto.c backends/kvm/proto/agent.c
	$(AM_V_CCLD)$(SBX_FUZZ_CC) $(SBX_FUZZ_FLAGS) -o $@ $^
CLEANFILES += fuzz-vsock fuzz-agent-proto
EXTRA_DIST += tests/fuzz/fuzz-vsock.c tests/fuzz/fuzz-agent-proto.c
.PHONY: fuzz-guest
fuzz-guest: fuzz-vsock fuzz-agent-proto
	./fuzz-vsock -max_total_time=$${SBX_FUZZ_SECONDS:-30}
	./fuzz-agent-proto -max_total_time=$${SBX_FUZZ_SECONDS:-30}

# tests/rig/t30-agent.sh (the agent in a real Debian guest over the vsock
# device) runs in `make check-rig` with the other tests/rig/t*.sh.
EXTRA_DIST += tests/rig/t30-agent.sh doc/agent-protocol.md
