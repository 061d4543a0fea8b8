# src/core: buffers, strings, errors, allocation, run-command, parsers,
# JSON and table output, progress. Linked by every host program.
noinst_LIBRARIES += libsbxcore.a
libsbxcore_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
libsbxcore_a_SOURCES = \
	%reldir%/banned.h \
	%reldir%/buf.c %reldir%/buf.h \
	%reldir%/err.c %reldir%/err.h \
	%reldir%/strvec.c %reldir%/strvec.h \
	%reldir%/xmalloc.c %reldir%/xmalloc.h
