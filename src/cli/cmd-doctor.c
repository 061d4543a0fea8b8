/*
 * cmd-doctor.c - `sbx doctor [--json]`: what this host can do.
 *
 * Exit status 0 when sbx can boot guests here directly (hardware KVM,
 * /dev/kvm usable), 1 otherwise; the report is printed either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cli/cmd.h"
#include "hostinfo.h"
#include "machine/machine.h"
#include "core/banned.h"

static const char *doctor_root = "";

static const struct sbx_option doctor_options[] = {
	{ 0, "root", SBX_OPT_STRING, &doctor_root, "DIR",
	  "probe a fake /sys, /dev and /proc under DIR (for tests)", 0, 0 },
	SBX_OPT_END_MARK,
};

static const char *
kvm_state(const struct sbx_hostinfo *hi, char *buf, size_t len)
{
	if (!hi->kvm_present)
		return "absent";
	if (hi->kvm_errno) {
		snprintf(buf, len, "present, cannot open: %s",
		    strerror(hi->kvm_errno));
		return buf;
	}
	if (hi->kvm_usable) {
		snprintf(buf, len, "present, usable (API %d)", hi->kvm_api);
		return buf;
	}
	snprintf(buf, len, "present, not answering as KVM (API %d)",
	    hi->kvm_api);
	return buf;
}

static int
doctor_exec(struct sbx_ctx *ctx, int argc, char **argv)
{
	struct sbx_hostinfo hi;
	char kvm[128];
	char *murl = NULL, *mtok = NULL;
	json_t *o;
	int ok;

	(void)argv;
	if (argc)
		return sbx_usage_error(ctx, "takes no arguments");
	sbx_hostinfo_probe(&hi, doctor_root);
	ok = sbx_hostinfo_can_run(&hi);
	if (ctx->json) {
		o = json_pack("{s:s,s:o,s:b,s:b,s:i,s:o,s:s,s:s,s:s,s:o,"
		    "s:b,s:s}",
		    "virtualization", sbx_virt_name(hi.virt),
		    "kvm_module", hi.kvm_module ? json_string(hi.kvm_module)
			: json_null(),
		    "kvm_present", hi.kvm_present,
		    "kvm_usable", hi.kvm_usable,
		    "kvm_api", hi.kvm_api,
		    "nested", hi.nested < 0 ? json_null()
			: json_boolean(hi.nested),
		    "cpu_vendor", hi.cpu_vendor,
		    "cpu_model", hi.cpu_model,
		    "kernel", hi.kernel,
		    "qemu", hi.qemu[0] ? json_string(hi.qemu) : json_null(),
		    "can_run_guests", ok,
		    "summary", sbx_hostinfo_verdict(&hi));
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
		return ok ? 0 : 1;
	}
	printf("virtualization: %s%s%s%s\n", sbx_virt_name(hi.virt),
	    hi.kvm_module ? " (" : "", hi.kvm_module ? hi.kvm_module : "",
	    hi.kvm_module ? " loaded)" : "");
	printf("/dev/kvm:       %s\n", kvm_state(&hi, kvm, sizeof(kvm)));
	printf("cpu:            %s%s%s\n", hi.cpu_vendor[0] ? hi.cpu_vendor
	    : "unknown", hi.cpu_model[0] ? ", " : "", hi.cpu_model);
	printf("kernel:         %s\n", hi.kernel);
	if (hi.qemu[0])
		printf("qemu:           %s (the test rig can run)\n", hi.qemu);
	else
		printf("qemu:           not found (the test rig needs it: "
		    "apt-get install qemu-system-x86)\n");
	if (sbx_machine_remote(ctx->home, &murl, &mtok)) {
		printf("machine:        running at %s (%s)\n", murl,
		    ctx->remote || ctx->force_local ? "not the default here: "
		    "--remote is given" : "the default remote: commands "
		    "without --remote use it; --remote local for this host");
		sodium_memzero(mtok, strlen(mtok));
		free(murl);
		free(mtok);
	} else {
		printf("machine:        not running%s\n", ok ? "" :
		    " ('sbx machine start' runs sbx in a VM here)");
	}
	printf("\n%s.\n", sbx_hostinfo_verdict(&hi));
	return ok ? 0 : 1;
}

const struct sbx_cmd cmd_doctor = {
	.name = "doctor",
	.summary = "check what this host can run and explain it",
	.usage = "[--json]",
	.options = doctor_options,
	.exec = doctor_exec,
};
