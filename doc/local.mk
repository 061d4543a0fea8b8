# doc: man pages (mdoc) and design notes.
EXTRA_DIST += %reldir%/ARCHITECTURE.md
