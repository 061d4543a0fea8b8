/* check_modules.c - src/image/modules.c: modules.dep, .modinfo, order. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "image/modules.h"
#include "unit.h"
#include "core/banned.h"

static const char dep[] =
    "kernel/arch/x86/kvm/kvm-amd.ko: kernel/arch/x86/kvm/kvm.ko "
    "kernel/drivers/crypto/ccp/ccp.ko\n"
    "kernel/arch/x86/kvm/kvm.ko: kernel/virt/lib/irqbypass.ko\n"
    "kernel/virt/lib/irqbypass.ko:\n"
    "kernel/drivers/crypto/ccp/ccp.ko:\n"
    "\n"
    "kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko\n"
    "kernel/net/9p/9pnet.ko.xz:\n"
    "kernel/fs/netfs/netfs.ko:\n";

/* Joins a vector with spaces (static buffer). */
static const char *
joined(const struct sbx_strvec *v)
{
	static char out[1024];
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < v->nr; i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s",
		    i ? " " : "", v->v[i]);
	return out;
}

START_TEST(dep_order)
{
	const char *const wanted[] = { "9p", "kvm-amd", "kvm", NULL };
	struct sbx_modules *m = NULL;
	struct sbx_strvec names = SBX_STRVEC_INIT, paths = SBX_STRVEC_INIT;
	struct sbx_err e = { 0 };

	ck_assert_int_eq(sbx_modules_parse_dep(&m, dep, strlen(dep),
	    "modules.dep", &e), 0);
	ck_assert_uint_eq(sbx_modules_count(m), 7);
	ck_assert_int_eq(sbx_modules_resolve(m, wanted, &names, &paths, &e),
	    0);
	ck_assert_str_eq(joined(&names),
	    "9pnet netfs 9p irqbypass kvm ccp kvm_amd");
	ck_assert_str_eq(paths.v[6], "kernel/arch/x86/kvm/kvm-amd.ko");
	ck_assert_str_eq(sbx_modules_path(m, "kvm_amd"),
	    "kernel/arch/x86/kvm/kvm-amd.ko");
	ck_assert_ptr_null(sbx_modules_path(m, "nope"));
	sbx_strvec_clear(&names);
	sbx_strvec_clear(&paths);
	sbx_modules_free(m);
}
END_TEST

START_TEST(dep_errors)
{
	static const char missing[] = "kernel/a.ko: kernel/b.ko\n";
	static const char cycle[] = "kernel/a.ko: kernel/b.ko\n"
	    "kernel/b.ko: kernel/a.ko\n";
	static const char bad[] = "kernel/a.ko:\nno colon here\n";
	const char *const a[] = { "a", NULL }, *const zz[] = { "zz", NULL };
	struct sbx_modules *m = NULL;
	struct sbx_strvec names = SBX_STRVEC_INIT;
	struct sbx_err e = { 0 };

	ck_assert_int_eq(sbx_modules_parse_dep(&m, missing, strlen(missing),
	    "x", &e), 0);
	ck_assert_int_eq(sbx_modules_resolve(m, a, &names, NULL, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "module 'b' needed by 'a' not found");
	ck_assert_int_eq(sbx_modules_resolve(m, zz, &names, NULL, &e),
	    SBX_ENOENT);
	ck_assert_str_eq(e.msg, "module 'zz' not found");
	sbx_modules_free(m);

	ck_assert_int_eq(sbx_modules_parse_dep(&m, cycle, strlen(cycle), "x",
	    &e), 0);
	ck_assert_int_eq(sbx_modules_resolve(m, a, &names, NULL, &e),
	    SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "cycle"), "%s", e.msg);
	sbx_modules_free(m);

	ck_assert_int_eq(sbx_modules_parse_dep(&m, bad, strlen(bad),
	    "dir/modules.dep", &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "dir/modules.dep:2:"), "%s", e.msg);
	ck_assert_ptr_null(m);
	sbx_strvec_clear(&names);
}
END_TEST

START_TEST(names)
{
	char n[64];

	sbx_modules_name("kernel/arch/x86/kvm/kvm-amd.ko", n, sizeof(n));
	ck_assert_str_eq(n, "kvm_amd");
	sbx_modules_name("a/virtio-rng.ko.xz", n, sizeof(n));
	ck_assert_str_eq(n, "virtio_rng");
	sbx_modules_name("9pnet_virtio", n, sizeof(n));
	ck_assert_str_eq(n, "9pnet_virtio");
	sbx_modules_name("x.ko.zst", n, 2);
	ck_assert_str_eq(n, "x");
}
END_TEST

/* Writes a minimal ELF64 object whose .modinfo holds `info` (len bytes). */
static void
write_ko(const char *path, const char *info, size_t len)
{
	static const char shstr[] = "\0.modinfo\0.shstrtab";
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[3];
	FILE *f = fopen(path, "w");
	size_t off = sizeof(eh);

	ck_assert_ptr_nonnull(f);
	memset(sh, 0, sizeof(sh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 2;
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_offset = off;
	sh[1].sh_size = len;
	off += len;
	sh[2].sh_name = 10;
	sh[2].sh_type = SHT_STRTAB;
	sh[2].sh_offset = off;
	sh[2].sh_size = sizeof(shstr);
	off += sizeof(shstr);
	eh.e_shoff = off;
	fwrite(&eh, sizeof(eh), 1, f);
	fwrite(info, len, 1, f);
	fwrite(shstr, sizeof(shstr), 1, f);
	fwrite(sh, sizeof(sh), 1, f);
	fclose(f);
}

static const char info_x[] = "license=GPL\0depends=a,b-c\0name=x\0";
static const char info_leaf[] = "license=GPL\0depends=\0";

START_TEST(modinfo)
{
	const char *dir = unit_tmpdir();
	char *ko = xasprintf("%s/x.ko", dir);
	struct sbx_strvec deps = SBX_STRVEC_INIT;
	struct sbx_err e = { 0 };

	write_ko(ko, info_x, sizeof(info_x));
	ck_assert_msg(sbx_modinfo_depends(ko, &deps, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(joined(&deps), "a b_c");
	sbx_strvec_clear(&deps);
	write_ko(ko, info_leaf, sizeof(info_leaf));
	ck_assert_int_eq(sbx_modinfo_depends(ko, &deps, &e), 0);
	ck_assert_uint_eq(deps.nr, 0);
	free(ko);
}
END_TEST

START_TEST(modinfo_bad)
{
	const char *dir = unit_tmpdir();
	char *ko = xasprintf("%s/bad.ko", dir);
	struct sbx_strvec deps = SBX_STRVEC_INIT;
	struct sbx_err e = { 0 };
	FILE *f;

	f = fopen(ko, "w");
	fputs("\177ELF but much too short", f);
	fclose(f);
	ck_assert_int_eq(sbx_modinfo_depends(ko, &deps, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, ko), "%s", e.msg);
	f = fopen(ko, "w");
	fputs("not an elf file at all, but long enough to hold a header "
	    "of sixty-four bytes or so", f);
	fclose(f);
	ck_assert_int_eq(sbx_modinfo_depends(ko, &deps, &e), SBX_EINVAL);
	ck_assert_msg(strstr(e.msg, "not an ELF64"), "%s", e.msg);
	free(ko);
	ko = xasprintf("%s/none.ko", dir);
	ck_assert_int_eq(sbx_modinfo_depends(ko, &deps, &e), SBX_ENOENT);
	free(ko);
	sbx_strvec_clear(&deps);
}
END_TEST

START_TEST(load_without_dep)
{
	const char *dir = unit_tmpdir();
	char *p;
	const char *const wanted[] = { "x", NULL };
	struct sbx_modules *m = NULL;
	struct sbx_strvec names = SBX_STRVEC_INIT, paths = SBX_STRVEC_INIT;
	struct sbx_err e = { 0 };

	p = xasprintf("%s/kernel", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/kernel/sub", dir);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	free(p);
	p = xasprintf("%s/kernel/sub/x.ko", dir);
	write_ko(p, info_x, sizeof(info_x));
	free(p);
	p = xasprintf("%s/kernel/a.ko", dir);
	write_ko(p, info_leaf, sizeof(info_leaf));
	free(p);
	p = xasprintf("%s/kernel/sub/b-c.ko", dir);
	write_ko(p, info_leaf, sizeof(info_leaf));
	free(p);
	ck_assert_msg(sbx_modules_load(&m, dir, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(sbx_modules_count(m), 3);
	ck_assert_int_eq(sbx_modules_resolve(m, wanted, &names, &paths, &e),
	    0);
	ck_assert_str_eq(joined(&names), "a b_c x");
	ck_assert_str_eq(joined(&paths),
	    "kernel/a.ko kernel/sub/b-c.ko kernel/sub/x.ko");
	sbx_modules_free(m);
	p = xasprintf("%s/nonexistent", dir);
	ck_assert_int_eq(sbx_modules_load(&m, p, &e), SBX_ENOENT);
	free(p);
	sbx_strvec_clear(&names);
	sbx_strvec_clear(&paths);
}
END_TEST

Suite *suite_modules(void)
{
	Suite *s = suite_create("modules");
	TCase *tc = tcase_create("modules");

	tcase_add_test(tc, dep_order);
	tcase_add_test(tc, dep_errors);
	tcase_add_test(tc, names);
	tcase_add_test(tc, modinfo);
	tcase_add_test(tc, modinfo_bad);
	tcase_add_test(tc, load_without_dep);
	suite_add_tcase(s, tc);
	return s;
}
