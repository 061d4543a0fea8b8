# src/serve: the REST API server (`sbx serve`) and API tokens. Part of
# libsbx.a; the commands are src/cli/cmd-serve.c and cmd-token.c.
libsbx_a_SOURCES += \
	%reldir%/serve.h %reldir%/serve-int.h \
	%reldir%/http.c %reldir%/route.c %reldir%/request.c \
	%reldir%/stream.c %reldir%/h-sandbox.c %reldir%/h-files.c \
	%reldir%/h-exec.c %reldir%/h-templates.c \
	%reldir%/h-build.c %reldir%/untar.c \
	%reldir%/h-proxy.c %reldir%/proxy.c %reldir%/proxy.h \
	%reldir%/token.c %reldir%/token.h

sbx_SOURCES += src/cli/cmd-serve.c src/cli/cmd-token.c

tests_unit_check_sbx_SOURCES += \
	tests/unit/check_token.c tests/unit/check_serve.c \
	tests/unit/check_proxy.c tests/unit/check_untar.c

TESTS += \
	tests/cli/50-serve-auth.t \
	tests/cli/51-serve-api.t \
	tests/cli/52-serve-remote.t \
	tests/cli/53-serve-tls.t \
	tests/cli/54-serve-proxy.t \
	tests/cli/57-serve-proxy-unix.t \
	tests/cli/58-port-close.t \
	tests/cli/55-serve-build.t \
	tests/cli/56-serve-templates.t
EXTRA_DIST += tests/bench/serve-load.sh doc/api.md

# The interactive exec (Upgrade: sbx-exec) and its frames.
libsbx_a_SOURCES += %reldir%/h-exec-tty.c %reldir%/xframe.c \
	%reldir%/xframe.h
tests_unit_check_sbx_SOURCES += tests/unit/check_xframe.c
