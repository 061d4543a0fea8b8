# tests/rig: see Makefile.am; this fragment is owned by that directory.
