# src/template: YAML (libyaml) -> struct sbx_template, validation with
# FILE:LINE:COL errors, canonical form and hash, lookup by name.
libsbx_a_SOURCES += \
	%reldir%/template.h \
	%reldir%/node.c %reldir%/node.h \
	%reldir%/check.c %reldir%/check.h \
	%reldir%/parse.c \
	%reldir%/canon.c \
	%reldir%/find.c \
	%reldir%/json.c \
	%reldir%/catalog.c %reldir%/catalog.h

sbx_SOURCES += src/cli/cmd-templates.c

tests_unit_check_sbx_SOURCES += tests/unit/check_template.c
EXTRA_DIST += tests/cli/22-templates.t tests/data/templates
TESTS += tests/cli/22-templates.t

# libFuzzer target for the parser (clang): `make fuzz-template` runs it
# for $SBX_FUZZ_SECONDS (default 30) over the test templates. Not part
# of `make check`.
TPL_FUZZ_FLAGS = -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -include $(top_builddir)/config.h \
	-I$(top_srcdir)/src -DSBX_DATADIR='"$(pkgdatadir)"'
tpl_fuzz_sources = tests/fuzz/fuzz-template.c \
	src/template/node.c src/template/check.c src/template/parse.c \
	src/template/canon.c src/template/find.c src/template/json.c \
	src/core/buf.c src/core/err.c src/core/xmalloc.c src/core/strvec.c \
	src/core/parse.c
EXTRA_DIST += tests/fuzz/fuzz-template.c
CLEANFILES += tests/fuzz/fuzz-template tests/fuzz/fuzz-template.log

tests/fuzz/fuzz-template: $(addprefix $(top_srcdir)/,$(tpl_fuzz_sources)) \
		templates/builtin-base.c
	$(AM_V_CCLD)mkdir -p tests/fuzz && \
	clang $(TPL_FUZZ_FLAGS) -o $@ \
	    $(addprefix $(top_srcdir)/,$(tpl_fuzz_sources)) \
	    templates/builtin-base.c $(YAML_LIBS) $(SODIUM_LIBS) $(JANSSON_LIBS)

fuzz-template: tests/fuzz/fuzz-template
	rm -rf tests/fuzz/corpus-template && mkdir -p tests/fuzz/corpus-template
	cp $(top_srcdir)/templates/*.yaml \
	    $(top_srcdir)/tests/data/templates/*/*.yaml tests/fuzz/corpus-template/
	./tests/fuzz/fuzz-template -max_total_time=$${SBX_FUZZ_SECONDS:-30} \
	    -max_len=4096 -print_final_stats=1 tests/fuzz/corpus-template \
	    2>tests/fuzz/fuzz-template.log || \
	    { tail -50 tests/fuzz/fuzz-template.log; exit 1; }
	@tail -3 tests/fuzz/fuzz-template.log
.PHONY: fuzz-template
