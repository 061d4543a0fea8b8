# src/cli: the sbx program (command table, dispatcher, one file per command).
sbx_CFLAGS = $(AM_CFLAGS) $(SBX_DEP_CFLAGS)
sbx_LDADD = libsbx.a libsbxcore.a $(SBX_DEP_LIBS)
sbx_SOURCES += \
	%reldir%/cli.h %reldir%/cmd.h \
	%reldir%/main.c %reldir%/commands.c %reldir%/dispatch.c \
	%reldir%/options.c %reldir%/output.c \
	%reldir%/cmd-doctor.c %reldir%/cmd-help.c %reldir%/cmd-version.c
