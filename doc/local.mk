# doc: man pages (mdoc) and design notes.
EXTRA_DIST += %reldir%/ARCHITECTURE.md
# Command pages (owner: tui); skeletons from doc/mkman.sh, checked against
# `sbx <verb> -h` by tests/cli/71-manpages.t.
dist_man_MANS += doc/sbx.1 doc/sbx-build.1 doc/sbx-cp.1 doc/sbx-create.1 doc/sbx-doctor.1 \
	doc/sbx-exec.1 doc/sbx-fork.1 doc/sbx-hibernate.1 \
	doc/sbx-resize.1 doc/sbx-resume.1 doc/sbx-help.1 doc/sbx-image.1 doc/sbx-inspect.1 \
	doc/sbx-log.1 doc/sbx-logs.1 doc/sbx-snapshot.1 doc/sbx-ls.1 doc/sbx-rm.1 doc/sbx-run.1 \
	doc/sbx-serve.1 doc/sbx-shell.1 doc/sbx-start.1 doc/sbx-stop.1 \
	doc/sbx-token.1 doc/sbx-top.1 doc/sbx-version.1 doc/sbx-machine.1
EXTRA_DIST += doc/mkman.sh
