# templates: the shipped templates, installed to $(pkgdatadir)/templates,
# and the builtin one compiled into sbx (see src/template/find.c).
tpldatadir = $(pkgdatadir)/templates
dist_tpldata_DATA = %reldir%/base.yaml %reldir%/python.yaml

# The base template as a C array, so sbx works without installed data.
# od and sed only: xxd is not everywhere.
nodist_libsbx_a_SOURCES = %reldir%/builtin-base.c
CLEANFILES += %reldir%/builtin-base.c

%reldir%/builtin-base.c: %reldir%/base.yaml %reldir%/local.mk
	$(AM_V_GEN)mkdir -p $(@D) && \
	{ echo '/* Generated from templates/base.yaml; do not edit. */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const char sbx_tpl_builtin_base[];'; \
	  echo 'extern const size_t sbx_tpl_builtin_base_len;'; \
	  echo 'const char sbx_tpl_builtin_base[] = {'; \
	  od -An -v -tx1 $(srcdir)/%reldir%/base.yaml | \
	    sed -e 's/[0-9a-f][0-9a-f]/0x&,/g' -e 's/^ */	/'; \
	  echo '	0x00'; \
	  echo '};'; \
	  echo 'const size_t sbx_tpl_builtin_base_len ='; \
	  echo '    sizeof(sbx_tpl_builtin_base) - 1;'; } > $@.tmp && \
	mv $@.tmp $@

dist_man_MANS += doc/sbx-template.5 doc/sbx-templates.1
