# tests/rig: the test rig, an L1 host emulated by QEMU (TCG, AMD-V) with
# real KVM inside; see tests/rig/README.md. This fragment is owned by that
# directory.
#
# rig-prep and kvm-smoke are built by plain `make`, so tests/rig/run works
# for ad-hoc commands without `make check`.
noinst_PROGRAMS += tests/rig/rig-prep
tests_rig_rig_prep_SOURCES = \
	%reldir%/rig-prep.c %reldir%/rig-prep.h \
	%reldir%/rig-fetch.c %reldir%/rig-kernel.c
tests_rig_rig_prep_CPPFLAGS = $(AM_CPPFLAGS) \
	-DRIG_SRCDIR='"$(abs_top_srcdir)/tests/rig"'
tests_rig_rig_prep_CFLAGS = $(AM_CFLAGS) $(SBX_DEP_CFLAGS)
tests_rig_rig_prep_LDADD = libsbx.a libsbxcore.a $(SBX_DEP_LIBS)

EXTRA_DIST += %reldir%/run %reldir%/init.sh %reldir%/modules.list
