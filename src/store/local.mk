# src/store: content-addressed objects, refs, the sandbox registry,
# manifests and gc (DESIGN.md 7). Part of libsbx.a.
libsbx_a_SOURCES += \
	%reldir%/fsutil.c %reldir%/fsutil.h \
	%reldir%/gc.c %reldir%/gc.h \
	%reldir%/manifest.c %reldir%/manifest.h \
	%reldir%/object.c \
	%reldir%/refs.c %reldir%/refs.h \
	%reldir%/registry.c %reldir%/registry.h \
	%reldir%/sandbox-json.c \
	%reldir%/store.c %reldir%/store.h %reldir%/store-int.h

sbx_SOURCES += src/cli/cmd-gc.c

tests_unit_check_sbx_SOURCES += \
	tests/unit/check_refs.c \
	tests/unit/check_registry.c \
	tests/unit/check_store.c

# Test helper for the store's CLI tests (crash safety, gc fixtures).
check_PROGRAMS += tests/store-crash/store-test
tests_store_crash_store_test_SOURCES = tests/store-crash/store-test.c
tests_store_crash_store_test_CFLAGS = $(AM_CFLAGS) $(SBX_DEP_CFLAGS)
tests_store_crash_store_test_LDADD = libsbx.a libsbxcore.a $(SBX_DEP_LIBS)
TESTS += tests/cli/40-gc.t tests/cli/41-store-crash.t
dist_man_MANS += doc/sbx-gc.1
