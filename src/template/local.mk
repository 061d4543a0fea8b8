# src/template: YAML (libyaml) -> struct sbx_template, validation with
# FILE:LINE:COL errors, canonical form and hash, lookup by name.
libsbx_a_SOURCES += \
	%reldir%/template.h \
	%reldir%/node.c %reldir%/node.h \
	%reldir%/check.c %reldir%/check.h \
	%reldir%/parse.c \
	%reldir%/canon.c \
	%reldir%/find.c \
	%reldir%/json.c

sbx_SOURCES += src/cli/cmd-templates.c

tests_unit_check_sbx_SOURCES += tests/unit/check_template.c
EXTRA_DIST += tests/cli/22-templates.t tests/data/templates
TESTS += tests/cli/22-templates.t
