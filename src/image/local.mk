# src/image: see Makefile.am; this fragment is owned by that directory.
