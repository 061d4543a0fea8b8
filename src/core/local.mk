# src/core: buffers, strings, errors, allocation, run-command, parsers,
# JSON and table output, progress, logging, time. Linked by every host
# program.
noinst_LIBRARIES += libsbxcore.a
libsbxcore_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
libsbxcore_a_SOURCES = \
	%reldir%/banned.h \
	%reldir%/buf.c %reldir%/buf.h \
	%reldir%/clock.c %reldir%/clock.h \
	%reldir%/crc32c.c %reldir%/crc32c.h \
	%reldir%/err.c %reldir%/err.h \
	%reldir%/json.c %reldir%/json.h \
	%reldir%/le.h \
	%reldir%/log.c %reldir%/log.h \
	%reldir%/parse.c %reldir%/parse.h \
	%reldir%/progress.c %reldir%/progress.h \
	%reldir%/run.c %reldir%/run.h \
	%reldir%/sock.c %reldir%/sock.h \
	%reldir%/splice.c %reldir%/splice.h \
	%reldir%/strvec.c %reldir%/strvec.h \
	%reldir%/table.c %reldir%/table.h \
	%reldir%/utf8.c %reldir%/utf8.h \
	%reldir%/xmalloc.c %reldir%/xmalloc.h

tests_unit_check_sbx_SOURCES += \
	tests/unit/check_buf.c \
	tests/unit/check_clock.c \
	tests/unit/check_err.c \
	tests/unit/check_json.c \
	tests/unit/check_log.c \
	tests/unit/check_parse.c \
	tests/unit/check_progress.c \
	tests/unit/check_run.c \
	tests/unit/check_splice.c \
	tests/unit/check_strvec.c \
	tests/unit/check_table.c \
	tests/unit/check_utf8.c
