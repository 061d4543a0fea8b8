# backends/kvm: see Makefile.am; this fragment is owned by that directory.

# --- sbx-vmm: the virtual machine monitor, one process per sandbox ------
# Everything but main.c and control.c is also compiled into the unit-test
# runner (the tests need no /dev/kvm), so it lives in one list.
sbx_vmm_common = \
	%reldir%/proto/control.h \
	%reldir%/vmm/acpi.c %reldir%/vmm/acpi.h \
	%reldir%/vmm/boot.c %reldir%/vmm/boot.h \
	%reldir%/vmm/cpu.c %reldir%/vmm/cpu.h \
	%reldir%/vmm/devices.h \
	%reldir%/vmm/i8042.c %reldir%/vmm/i8042.h \
	%reldir%/vmm/layout.h \
	%reldir%/vmm/log.c %reldir%/vmm/log.h \
	%reldir%/vmm/loop.c %reldir%/vmm/loop.h \
	%reldir%/vmm/mem.c %reldir%/vmm/mem.h \
	%reldir%/vmm/serial.c %reldir%/vmm/serial.h \
	%reldir%/vmm/vcpu.c %reldir%/vmm/vmm.c %reldir%/vmm/vmm.h \
	%reldir%/vmm/virtio.h %reldir%/vmm/virtio_mmio.c \
	%reldir%/vmm/virtio_blk.c %reldir%/vmm/virtio_rng.c \
	%reldir%/vmm/virtq.c %reldir%/vmm/virtq.h

pkglibexec_PROGRAMS += sbx-vmm
sbx_vmm_SOURCES = $(sbx_vmm_common) \
	%reldir%/vmm/control.c %reldir%/vmm/control.h \
	%reldir%/vmm/main.c
sbx_vmm_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
sbx_vmm_LDADD = libsbxcore.a $(JANSSON_LIBS) -lpthread

tests_unit_check_sbx_SOURCES += $(sbx_vmm_common) \
	tests/unit/check_vmm_acpi.c tests/unit/check_vmm_boot.c \
	tests/unit/check_vmm_serial.c tests/unit/check_vmm_virtq.c

# Rig tests: boot real Debian guests under sbx-vmm inside tests/rig/run
# (minutes each; they print TAP and exit 0/1, 77 when the rig cannot run).
TESTS += tests/rig/t10-vmm-boot.sh
EXTRA_DIST += tests/rig/t1-vmm-common.sh tests/rig/t10-vmm-boot.sh

# --- guest: sbx-agent, sbx-init, agent protocol + client (owner: guest) --
include $(srcdir)/backends/kvm/guest/local.mk

# --- the local backend (client side, linked into sbx; owned by the lead) ---
sbx_SOURCES += \
	%reldir%/backend.c %reldir%/kvm.h \
	%reldir%/image.c %reldir%/image.h \
	%reldir%/ops-agent.c %reldir%/ops-create.c \
	%reldir%/spawn.c %reldir%/spawn.h
