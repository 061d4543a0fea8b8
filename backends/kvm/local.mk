# backends/kvm: see Makefile.am; this fragment is owned by that directory.

# --- sbx-vmm: the virtual machine monitor, one process per sandbox ------
# Everything but main.c is also compiled into the unit-test runner (the
# tests need no /dev/kvm), so it lives in one list.
sbx_vmm_common = \
	%reldir%/vmm/devices.h \
	%reldir%/vmm/log.c %reldir%/vmm/log.h \
	%reldir%/vmm/loop.c %reldir%/vmm/loop.h \
	%reldir%/vmm/mem.c %reldir%/vmm/mem.h \
	%reldir%/vmm/virtio.h %reldir%/vmm/virtio_mmio.c \
	%reldir%/vmm/virtq.c %reldir%/vmm/virtq.h

tests_unit_check_sbx_SOURCES += $(sbx_vmm_common) \
	tests/unit/check_vmm_virtq.c
