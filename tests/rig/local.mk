# tests/rig: the test rig, an L1 host emulated by QEMU (TCG, AMD-V) with
# real KVM inside; see tests/rig/README.md. This fragment is owned by that
# directory.
#
# rig-prep and kvm-smoke are built by plain `make`, so tests/rig/run works
# for ad-hoc commands without `make check`.
noinst_PROGRAMS += tests/rig/rig-prep tests/rig/kvm-smoke
tests_rig_rig_prep_SOURCES = \
	%reldir%/rig-prep.c %reldir%/rig-prep.h \
	%reldir%/rig-fetch.c %reldir%/rig-kernel.c
tests_rig_rig_prep_CPPFLAGS = $(AM_CPPFLAGS) \
	-DRIG_SRCDIR='"$(abs_top_srcdir)/tests/rig"'
tests_rig_rig_prep_CFLAGS = $(AM_CFLAGS) $(SBX_DEP_CFLAGS)
tests_rig_rig_prep_LDADD = libsbx.a libsbxcore.a $(SBX_DEP_LIBS)
tests_rig_kvm_smoke_SOURCES = %reldir%/kvm-smoke.c
tests_rig_kvm_smoke_LDADD = libsbxcore.a

EXTRA_DIST += %reldir%/README.md %reldir%/run %reldir%/suite %reldir%/check \
	%reldir%/lockup-watch \
	%reldir%/webapp.yaml %reldir%/lib.sh %reldir%/proxy-guest.py \
	%reldir%/bench %reldir%/init.sh %reldir%/modules.list \
	$(wildcard $(srcdir)/%reldir%/t*.sh)

RIG_ENV = SBX_TOP_SRCDIR='$(abs_top_srcdir)' \
	SBX_TOP_BUILDDIR='$(abs_top_builddir)'

# Runs every tests/rig/t*.sh, a few per L1 boot (TAP); if
# L1 itself dies, its batch's scripts left run in a new boot (tests/rig/check).
check-rig: tests/rig/rig-prep tests/rig/kvm-smoke
	$(AM_V_at)$(RIG_ENV) flock $(abs_top_builddir)/.qemu-check.lock \
	    bash $(abs_top_srcdir)/tests/rig/check

# L1 boot time, KVM I/O exit cost in L1 and on this host's /dev/kvm.
bench-rig: tests/rig/rig-prep tests/rig/kvm-smoke
	$(AM_V_at)$(RIG_ENV) bash $(top_srcdir)/tests/rig/bench

if RIG
CHECK_LOCAL_DEPS += check-rig
else
CHECK_LOCAL_DEPS += check-rig-disabled
endif
check-rig-disabled:
	@echo "check-rig: SKIPPED: configured with --disable-rig"
.PHONY: check-rig check-rig-disabled bench-rig
