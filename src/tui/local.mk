# src/tui: `sbx top`. The model (data, history, sorting, filtering, row
# formatting) is library code with unit tests; the curses view and the
# command are part of the sbx program.
libsbx_a_SOURCES += %reldir%/top.h %reldir%/model.c
sbx_SOURCES += %reldir%/view.c %reldir%/view.h src/cli/cmd-top.c \
	src/cli/cmd-complete.c
tests_unit_check_sbx_SOURCES += tests/unit/check_tui.c
TESTS += tests/cli/70-complete.t tests/cli/71-manpages.t tests/cli/72-top.t
# tests/rig/t70-top.sh (a real sbx-vmm under sbx top) runs in
# `make check-rig` with the other tests/rig/t*.sh.
