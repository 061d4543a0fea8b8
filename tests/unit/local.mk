# tests/unit: Check unit tests, one check_<module>.c per module, all linked
# into one runner. A module's fragment adds its test file with
#   tests_unit_check_sbx_SOURCES += tests/unit/check_<module>.c
# and the file defines `Suite *suite_<module>(void)`; suites.h is generated
# from those definitions, so no central list needs editing.
check_PROGRAMS += tests/unit/check_sbx
TESTS += tests/unit/check_sbx
nodist_tests_unit_check_sbx_SOURCES = %reldir%/suites.h
tests_unit_check_sbx_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(SBX_DEP_CFLAGS) \
	-I$(top_builddir)/tests/unit
tests_unit_check_sbx_LDADD = libsbx.a libsbxcore.a $(CHECK_LIBS) $(SBX_DEP_LIBS)
BUILT_SOURCES += %reldir%/suites.h
CLEANFILES += %reldir%/suites.h

%reldir%/suites.h: $(filter %.c,$(tests_unit_check_sbx_SOURCES))
	$(AM_V_GEN)mkdir -p $(@D) && \
	{ for f in $(filter %.c,$^); do \
		sed -n 's/^Suite \*\(suite_[a-z0-9_]*\)(void)$$/\1/p' $$f; \
	done; } | sort -u > $@.names && \
	{ sed 's/.*/Suite *&(void);/' $@.names; \
	  echo 'static const struct unit_suite unit_suites[] = {'; \
	  sed 's/^suite_\(.*\)/\t{ "\1", suite_\1 },/' $@.names; \
	  printf '\t{ NULL, NULL }\n};\n'; } > $@.tmp && \
	rm -f $@.names && mv $@.tmp $@

check-unit: tests/unit/check_sbx
	$(AM_V_at)./tests/unit/check_sbx
.PHONY: check-unit
