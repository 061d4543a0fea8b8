/*
 * ops-resize.c - the kvm backend's `resize` op.
 *
 * Memory is live where the design allows it: every sandbox's sbx-vmm has a
 * virtio-balloon (vmm/virtio_balloon.h), so a running sandbox can give
 * memory back and take it again up to the size it booted with
 * (spec.memory); the live size is recorded as extra.memory_target. A size
 * above the boot size, vCPUs (fixed at boot), and anything asked of a
 * sandbox that is not running are recorded under extra.resize for its
 * next clean boot (kvm_start), where a memory_target also becomes the
 * RAM it boots with. A resume or a fork keeps the RAM its memory image
 * was taken with, and the balloon target with it.
 */
#include <string.h>

#include <jansson.h>

#include "kvm/kvm.h"
#include "kvm/spawn.h"
#include "store/registry.h"
#include "core/banned.h"

#define BALLOON_TIMEOUT_MS 5000

/* Sets the balloon target of sb's VMM; the reply, or NULL with `e`. */
static json_t *
balloon_call(const struct sbx_sandbox *sb, uint64_t target,
    struct sbx_err *e)
{
	return kvm_ctl_request(sb->id, json_pack("{s:s, s:I}", "op",
	    "balloon", "target", (json_int_t)target), BALLOON_TIMEOUT_MS, e);
}

/*
 * Tries to give running sandbox `sb` `memory` bytes now. Returns 1 when
 * its guest now has min(memory, boot size) as its target, or 0 when it
 * cannot be done live (the reason in `why`: a VMM started before sbx had
 * a balloon, or a guest without the virtio_balloon driver).
 */
static int
balloon_live(struct sbx_sandbox *sb, uint64_t memory, char *why,
    size_t whylen)
{
	uint64_t boot = sb->spec.memory;
	uint64_t want = memory < boot ? memory : boot;
	json_t *cur = json_object_get(sb->extra, KVM_MEMORY_TARGET_KEY);
	struct sbx_err e = { 0 };
	json_t *rep;

	*why = 0;
	if (memory > boot && !cur)
		return 0;	/* it has all its RAM already */
	rep = balloon_call(sb, want, &e);
	if (!rep) {
		snprintf(why, whylen, "%s", e.msg);
		return 0;
	}
	if (!json_is_true(json_object_get(rep, "driver"))) {
		json_decref(rep);
		snprintf(why, whylen, "the guest has no virtio_balloon driver "
		    "(an image made before sbx had one: 'sbx image pull' "
		    "makes a new one)");
		/* Back to no balloon: the guest would not follow anyway. */
		rep = balloon_call(sb, boot, &e);
		json_decref(rep);
		json_object_del(sb->extra, KVM_MEMORY_TARGET_KEY);
		return 0;
	}
	json_decref(rep);
	if (want < boot)
		json_object_set_new(sb->extra, KVM_MEMORY_TARGET_KEY,
		    json_integer((json_int_t)want));
	else
		json_object_del(sb->extra, KVM_MEMORY_TARGET_KEY);
	return 1;
}

int
kvm_resize(struct sbx_conn *c, const char *query, unsigned vcpus,
    uint64_t memory, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk = NULL;
	char id[SBX_SANDBOX_ID_SIZE], why[SBX_ERR_MSG_MAX] = "";
	json_t *rs;
	int rc = -1, live = 0;

	sbx_sandbox_init(&sb);
	if (vcpus > 64)
		return sbx_err_set(e, SBX_EUSAGE, "vcpus must be from 1 to "
		    "64, not %u", vcpus);
	if (memory && (memory < KVM_MIN_MEMORY || memory > KVM_MAX_MEMORY))
		return sbx_err_set(e, SBX_EUSAGE, "memory must be between 64M "
		    "and 256G");
	if (!vcpus && !memory)
		return sbx_err_set(e, SBX_EUSAGE, "give vcpus, memory or both");
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0 ||
	    sbx_sandbox_lock(c->store, id, 30000, &lk, e) < 0)
		goto out;
	if (sbx_sandbox_load(c->store, id, &sb, e) < 0)
		goto out;
	if ((sb.state == SBX_SB_STOPPED || sb.state == SBX_SB_ERROR) &&
	    !kvm_vmm_alive(sb.pid)) {
		if (vcpus)
			sb.spec.vcpus = vcpus;
		if (memory) {
			sb.spec.memory = memory;
			json_object_del(sb.extra, KVM_MEMORY_TARGET_KEY);
		}
		json_object_del(sb.extra, "resize");
		rc = sbx_sandbox_save(c->store, &sb, e);
		goto out;
	}
	if (memory && (sb.state == SBX_SB_RUNNING ||
	    sb.state == SBX_SB_PAUSED) && kvm_vmm_alive(sb.pid))
		live = balloon_live(&sb, memory, why, sizeof(why));
	/* What waits for the next boot, on top of an earlier request. */
	rs = json_object_get(sb.extra, "resize");
	rs = json_is_object(rs) ? json_deep_copy(rs) : json_object();
	json_object_del(rs, "note");
	if (vcpus)
		json_object_set_new(rs, "vcpus", json_integer(vcpus));
	if (memory && live && memory <= sb.spec.memory) {
		json_object_del(rs, "memory");
	} else if (memory) {
		json_object_set_new(rs, "memory",
		    json_integer((json_int_t)memory));
		if (memory <= sb.spec.memory && why[0])
			json_object_set_new(rs, "note", json_string(why));
	}
	if (json_object_size(rs))
		json_object_set_new(sb.extra, "resize", rs);
	else {
		json_decref(rs);
		json_object_del(sb.extra, "resize");
	}
	rc = sbx_sandbox_save(c->store, &sb, e);
out:
	if (lk)
		sbx_sandbox_unlock(lk);
	sbx_sandbox_release(&sb);
	return rc;
}
