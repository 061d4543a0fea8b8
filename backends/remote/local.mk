# backends/remote: the remote backend, a libcurl client of `sbx serve`
# (exports sbx_backend_remote). Part of libsbx.a.
libsbx_a_SOURCES += \
	%reldir%/remote.h %reldir%/remote-int.h %reldir%/http.c %reldir%/remote.c \
	%reldir%/exec.c %reldir%/files.c %reldir%/tunnel.c %reldir%/build.c \
	%reldir%/templates.c

tests_unit_check_sbx_SOURCES += tests/unit/check_remote.c

# The interactive exec (Upgrade: sbx-exec, exec-tty.c).
libsbx_a_SOURCES += %reldir%/exec-tty.c
