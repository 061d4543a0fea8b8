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
