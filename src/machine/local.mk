# src/machine: `sbx machine`, a Linux host VM running `sbx serve` (see
# machine.h). The CLI side is src/cli/cmd-machine.c; the kernel and
# initramfs come from the rig's rig-prep (tests/rig), installed as
# sbx-machine-prep, with this directory's init.sh and modules.list.
libsbx_a_SOURCES += %reldir%/machine.c %reldir%/machine.h
pkglibexec_PROGRAMS += sbx-machine-prep
sbx_machine_prep_SOURCES = \
	tests/rig/rig-prep.c tests/rig/rig-prep.h \
	tests/rig/rig-fetch.c tests/rig/rig-kernel.c
sbx_machine_prep_CPPFLAGS = $(AM_CPPFLAGS) \
	-DRIG_SRCDIR='"$(pkgdatadir)/machine"'
sbx_machine_prep_CFLAGS = $(AM_CFLAGS) $(SBX_DEP_CFLAGS)
sbx_machine_prep_LDADD = libsbx.a libsbxcore.a $(SBX_DEP_LIBS)
machinedatadir = $(pkgdatadir)/machine
dist_machinedata_DATA = %reldir%/init.sh %reldir%/modules.list

# Boots the machine for real (tests/machine/check, ~2 min under TCG). The
# lock keeps it and the rig suite from booting QEMU at the same time.
EXTRA_DIST += tests/machine/check
check-machine: sbx sbx-init sbx-agent sbx-vmm sbx-machine-prep tests/rig/rig-prep
	$(AM_V_at)$(RIG_ENV) flock $(abs_top_builddir)/.qemu-check.lock \
	    bash $(abs_top_srcdir)/tests/machine/check
if RIG
CHECK_LOCAL_DEPS += check-machine
endif
.PHONY: check-machine
tests_unit_check_sbx_SOURCES += tests/unit/check_machine.c
