# src/cli: the sbx program (command table, dispatcher, one file per command).
sbx_CFLAGS = $(AM_CFLAGS) $(SBX_DEP_CFLAGS)
sbx_LDADD = libsbx.a libsbxcore.a $(SBX_DEP_LIBS)
sbx_SOURCES += \
	%reldir%/cli.h %reldir%/cmd.h \
	%reldir%/main.c %reldir%/commands.c %reldir%/dispatch.c \
	%reldir%/options.c %reldir%/output.c \
	%reldir%/cmd-doctor.c %reldir%/cmd-help.c %reldir%/cmd-version.c
sbx_SOURCES += \
	%reldir%/sandbox.c %reldir%/sandbox.h \
	%reldir%/term.c %reldir%/term.h \
	%reldir%/cmd-cp.c %reldir%/cmd-create.c %reldir%/cmd-exec.c \
	%reldir%/cmd-inspect.c %reldir%/cmd-logs.c %reldir%/cmd-ls.c \
	%reldir%/cmd-rm.c %reldir%/cmd-run.c %reldir%/cmd-shell.c \
	%reldir%/cmd-start.c %reldir%/cmd-stop.c
# Snapshot commands (owner: snap).
sbx_SOURCES += %reldir%/cmd-fork.c %reldir%/cmd-hibernate.c %reldir%/cmd-resize.c \
	%reldir%/cmd-resume.c
sbx_SOURCES += %reldir%/cmd-log.c %reldir%/cmd-snapshot.c
# Networking (owner: net).
sbx_SOURCES += %reldir%/cmd-port.c
# sbx machine (owner: machine); SBX_MACHINE_SRCDIR finds init.sh and
# modules.list when sbx runs from the build tree.
sbx_SOURCES += %reldir%/cmd-machine.c
sbx_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSBX_MACHINE_SRCDIR='"$(abs_top_srcdir)/src/machine"'
