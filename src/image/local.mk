# src/image: image building blocks (see Makefile.am); this fragment is
# owned by that directory. deb.c reads Debian packages, cpio.c writes
# initramfs archives, modules.c orders kernel modules by dependency.
libsbx_a_SOURCES += \
	%reldir%/cpio.c %reldir%/cpio.h \
	%reldir%/deb.c %reldir%/deb.h \
	%reldir%/modules.c %reldir%/modules.h
