# src/image: image building blocks (see Makefile.am); this fragment is
# owned by that directory. deb.c reads Debian packages, cpio.c writes
# initramfs archives, modules.c orders kernel modules by dependency.
libsbx_a_SOURCES += \
	%reldir%/cpio.c %reldir%/cpio.h \
	%reldir%/deb.c %reldir%/deb.h \
	%reldir%/modules.c %reldir%/modules.h
# image builder: sources (tar, OCI, Debian packages) -> ext4 -> store
libsbx_a_SOURCES += \
	%reldir%/apt.c %reldir%/apt.h \
	%reldir%/debian.c %reldir%/debian.h \
	%reldir%/ext4.c %reldir%/ext4.h \
	%reldir%/ext4-int.h %reldir%/ext4-tree.c \
	%reldir%/files.c %reldir%/files.h \
	%reldir%/rootfs.c %reldir%/rootfs.h \
	%reldir%/source.c %reldir%/source.h
# libext2fs reports errors through com_err (error_message); ext2fs.pc
# does not list it
SBX_DEP_LIBS += -lcom_err
# `sbx build` (src/cli/cmd-build.c, owned by the image builder)
sbx_SOURCES += src/cli/cmd-build.c src/cli/build-steps.c src/cli/build-steps.h
# unit tests of the image builder
tests_unit_check_sbx_SOURCES += tests/unit/image-util.h \
	tests/unit/check_apt.c tests/unit/check_debian.c \
	tests/unit/check_ext4.c tests/unit/check_source.c
# CLI tests, their data and the image-write benchmark
TESTS += tests/cli/60-build-rootfs.t tests/cli/61-build-debian.t
EXTRA_DIST += tests/cli/60-build-rootfs.t tests/cli/61-build-debian.t \
	tests/data/image/escape.tar tests/data/image/corrupt.tar.gz \
	tests/bench/image-write.sh
# guest kernel, initramfs and the default image (`sbx image`; the lead)
libsbx_a_SOURCES += \
	%reldir%/guest.c %reldir%/guest.h \
	%reldir%/kernel.c %reldir%/kernel.h \
	%reldir%/pull.c %reldir%/pull.h
sbx_SOURCES += src/cli/cmd-image.c
# unit tests of deb.c, cpio.c and modules.c (the rig's owner)
tests_unit_check_sbx_SOURCES += tests/unit/check_cpio.c \
	tests/unit/check_deb.c tests/unit/check_modules.c
