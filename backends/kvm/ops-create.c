/*
 * ops-create.c - the kvm backend's create: register the sandbox, start
 * sbx-vmm on the image and wait for the guest agent.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/agent-client.h"
#include "kvm/disk.h"
#include "kvm/image.h"
#include "kvm/kvm.h"
#include "kvm/net.h"
#include "kvm/spawn.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/parse.h"
#include "core/strvec.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "store/manifest.h"
#include "store/refs.h"
#include "core/banned.h"

#define KVM_DEFAULT_VCPUS 1
#define KVM_DEFAULT_MEMORY (512ULL << 20)
#define KVM_DEFAULT_BOOT_MS (300 * 1000)

/* A progress line with the time since `t0`, when -v was given. */
static void
step(struct sbx_conn *c, uint64_t t0, const char *what, const char *id)
{
	if (c->verbose)
		fprintf(stderr, "sbx: %s: %s (%llu ms)\n", id, what,
		    (unsigned long long)(sbx_clock_ms() - t0));
}

uint64_t
kvm_boot_timeout_ms(void)
{
	const char *s = getenv("SBX_BOOT_TIMEOUT");
	uint64_t ms;

	if (s && sbx_parse_duration(s, 1000, 3600 * 1000, &ms, NULL) == 0)
		return ms;
	return KVM_DEFAULT_BOOT_MS;
}

int
kvm_personalize(const char *id, struct sbx_err *e)
{
	struct sbx_agent a;
	char *sock = kvm_runfile(id, "vsock.sock");
	char *spec = xasprintf("vsock:%s", sock);
	int rc;

	rc = sbx_agent_init(&a, spec, e);
	if (!rc)
		rc = sbx_agent_set_clock(&a, e);
	if (!rc)
		rc = sbx_agent_add_entropy(&a, 64, e);
	if (!rc)
		rc = sbx_agent_set_hostname(&a, id, e);
	sbx_agent_release(&a);
	free(spec);
	free(sock);
	return rc;
}

/*
 * Boots `sb` (registered, its lock held, state saved by the caller) from
 * `img`: spawns sbx-vmm, waits for the agent, gives the guest its
 * identity and saves the record as running. On failure the VMM is gone.
 */
static int
kvm_boot(struct sbx_conn *c, struct sbx_sandbox *sb,
    const struct kvm_image *img, uint64_t t0, struct sbx_err *e)
{
	struct kvm_spawn sp;
	struct sbx_buf cmdline = SBX_BUF_INIT;
	struct sbx_strvec more = SBX_STRVEC_INIT;
	char *sbdir = sbx_sandbox_dir(c->store, sb->id), *net = NULL;
	pid_t pid = 0;
	int rc = -1;

	sbx_buf_addstr(&cmdline, KVM_BASE_CMDLINE);
	if (img->cmdline)
		sbx_buf_addf(&cmdline, " %s", img->cmdline);
	/*
	 * The image's root disk is shared read-only by every sandbox; the
	 * guest puts an overlay with a tmpfs upper layer on it, so a
	 * sandbox's writes live in its memory (and in its snapshots).
	 */
	if (img->rootfs)
		sbx_buf_addstr(&cmdline, " sbx.root=/dev/vda sbx.overlay=1");
	/*
	 * ... whose upper layer lives on the data disk (disk.h): the
	 * sandbox's writes go to its own top layer, survive stop and start
	 * and are frozen by snapshots. A first boot gets a blank one.
	 */
	if (img->rootfs) {
		if ((!kvm_disk_present(sb) && kvm_disk_new(c, sb, e) < 0) ||
		    kvm_disk_argv(c, sb, &more, e) < 0)
			goto out;
		sbx_buf_addstr(&cmdline, " sbx.upper=/dev/vdb");
	}
	memset(&sp, 0, sizeof(sp));
	sp.id = sb->id;
	sp.sbdir = sbdir;
	sp.kernel = img->kernel;
	sp.initrd = img->initrd;
	sp.cmdline = cmdline.buf;
	sp.disk = img->rootfs;
	sp.disk_ro = 1;
	sp.memory = sb->spec.memory;
	sp.vcpus = sb->spec.vcpus;
	sp.net = net = kvm_net_policy(sb);
	sp.idle_ms = (uint64_t)json_integer_value(json_object_get(sb->extra,
	    KVM_IDLE_KEY));
	sp.more = &more;
	if (kvm_spawn_vmm(&sp, &pid, e) < 0)
		goto out;
	sb->pid = pid;
	step(c, t0, "VMM started", sb->id);
	if (sbx_sandbox_save(c->store, sb, e) < 0 ||
	    kvm_wait_agent(sb->id, sbdir, pid, kvm_boot_timeout_ms(), true, e) < 0)
		goto out;
	step(c, t0, "agent ready", sb->id);
	if (kvm_personalize(sb->id, e) < 0)
		goto out;
	kvm_ports_apply(sb);
	kvm_disk_learn_mark(sb);
	sb->state = SBX_SB_RUNNING;
	rc = sbx_sandbox_save(c->store, sb, e);
out:
	if (rc < 0 && pid) {
		struct sbx_err ignore;

		kvm_vmm_kill(sb, 2000, &ignore);
		sb->pid = 0;
	}
	sbx_buf_release(&cmdline);
	sbx_strvec_clear(&more);
	free(sbdir);
	free(net);
	return rc;
}

int
kvm_env_record(struct sbx_sandbox *sb, const struct sbx_strvec *env,
    struct sbx_err *e)
{
	struct sbx_strvec all = SBX_STRVEC_INIT;
	json_t *arr = json_object_get(sb->extra, "env"), *v;
	size_t i;

	if (!env || !env->nr)
		return 0;
	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strchr(json_string_value(v), '='))
			sbx_strvec_push(&all, json_string_value(v));
	for (i = 0; i < env->nr; i++) {
		if (sbx_strvec_putenv(&all, env->v[i]) < 0) {
			sbx_strvec_clear(&all);
			return sbx_err_set(e, SBX_EUSAGE, "invalid environment "
			    "entry '%s': expected KEY=VALUE", env->v[i]);
		}
	}
	arr = json_array();
	for (i = 0; i < all.nr; i++)
		json_array_append_new(arr, json_string(all.v[i]));
	json_object_set_new(sb->extra, "env", arr);
	sbx_strvec_clear(&all);
	return 0;
}

/*
 * The "sandbox" settings (template.h sbx_template_sandbox_json) of
 * template `name`: from its build (refs/templates) or its image
 * (refs/images); NULL when it has none, as in stores from before them.
 */
static json_t *
template_settings(struct sbx_store *s, const char *name, int image_only)
{
	static const char *const kinds[] = { "templates", "images", NULL };
	struct sbx_oid id;
	json_t *m, *v = NULL;
	size_t i;

	if (sbx_ref_name_check("template name", name, NULL) < 0)
		return NULL;
	for (i = image_only ? 1 : 0; kinds[i] && !v; i++) {
		if (sbx_ref_read(s, kinds[i], name, &id, NULL) < 0 ||
		    sbx_manifest_load(s, &id, &m, NULL) < 0)
			continue;
		v = json_object_get(m, "sandbox");
		v = json_is_object(v) ? json_incref(v) : NULL;
		json_decref(m);
	}
	return v;
}

/* Rules of one kind: the template's `ts`, then those given. */
static void
merge_rules(struct sbx_strvec *out, json_t *ts, const char *kind,
    const struct sbx_strvec *given)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(ts, kind), i, r)
		if (json_is_string(r))
			sbx_strvec_push(out, json_string_value(r));
	for (i = 0; given && i < given->nr; i++)
		sbx_strvec_push(out, given->v[i]);
}

/*
 * Template settings under the create options: what the options leave
 * unset comes from the template; egress rules and environment add up
 * (the options' environment wins per key). `o` then points into `allow`,
 * `deny` and `env`, which the caller clears.
 */
static void
apply_settings(struct sbx_create_opts *o, json_t *ts,
    struct sbx_strvec *allow, struct sbx_strvec *deny,
    struct sbx_strvec *env)
{
	json_int_t n;
	json_t *v;
	size_t i;

	if (!ts)
		return;
	n = json_integer_value(json_object_get(ts, "vcpus"));
	if (!o->vcpus && n > 0 && n <= 64)
		o->vcpus = (unsigned)n;
	n = json_integer_value(json_object_get(ts, "memory"));
	if (!o->memory && n > 0)
		o->memory = (uint64_t)n;
	n = json_integer_value(json_object_get(ts, "disk"));
	if (!o->disk && n > 0)
		o->disk = (uint64_t)n;
	v = json_object_get(ts, "idle_timeout_ms");
	if (o->idle_timeout_ms < 0 && json_is_integer(v) &&
	    json_integer_value(v) >= 0)
		o->idle_timeout_ms = json_integer_value(v);
	merge_rules(allow, ts, "allow", o->allow);
	merge_rules(deny, ts, "deny", o->deny);
	json_array_foreach(json_object_get(ts, "env"), i, v)
		if (json_is_string(v) && strchr(json_string_value(v), '='))
			sbx_strvec_push(env, json_string_value(v));
	for (i = 0; o->env && i < o->env->nr; i++)
		sbx_strvec_push(env, o->env->v[i]);
	o->allow = allow;
	o->deny = deny;
	o->env = env;
}

/*
 * The ready snapshot `sbx build` made of template `name`
 * (refs/templates/<name> -> {"type": "template", "snapshot": ref}), as
 * hex in `hex`; 0 if the template has none.
 */
static int
template_snapshot(struct sbx_store *s, const char *name,
    char hex[SBX_OID_HEXLEN + 1])
{
	struct sbx_oid id;
	json_t *m = NULL;
	int found = 0;

	if (sbx_ref_name_check("template name", name, NULL) < 0 ||
	    sbx_ref_read(s, "templates", name, &id, NULL) < 0 ||
	    sbx_manifest_load(s, &id, &m, NULL) < 0)
		return 0;
	if (sbx_manifest_parse_ref(json_string_value(json_object_get(m,
	    "snapshot")), &id) && sbx_store_object_exists(s, &id)) {
		sbx_oid_to_hex(&id, hex);
		found = 1;
	}
	json_decref(m);
	return found;
}

/* Registers a new sandbox for `o` and boots its image. */
static int
create_boot(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *sb, uint64_t t0, struct sbx_err *e)
{
	struct kvm_image img;
	struct sbx_sandbox_lock *lk = NULL;
	int registered = 0;

	if (kvm_image_resolve(c->store, o->image, o->template, &img, e) < 0)
		return -1;
	if (o->name)
		sbx_sandbox_set_name(sb, o->name);
	sbx_sandbox_set_template(sb, o->image ? NULL :
	    o->template ? o->template : "default");
	sb->spec.vcpus = o->vcpus ? o->vcpus : KVM_DEFAULT_VCPUS;
	sb->spec.memory = o->memory ? o->memory : KVM_DEFAULT_MEMORY;
	sb->spec.disk = o->disk;
	if (kvm_net_record(sb, o, e) < 0 || kvm_env_record(sb, o->env,
	    e) < 0) {
		kvm_image_release(&img);
		return -1;
	}
	sb->state = SBX_SB_CREATING;
	if (o->idle_timeout_ms > 0)
		json_object_set_new(sb->extra, KVM_IDLE_KEY,
		    json_integer(o->idle_timeout_ms));
	/* The image as given (to boot it again) and its manifest id (gc). */
	json_object_set_new(sb->extra, "image", json_string(img.name));
	if (o->image)
		json_object_set_new(sb->extra, "image_dir",
		    json_string(o->image));
	memcpy(sb->image, img.manifest, sizeof(sb->image));
	if (sbx_sandbox_create(c->store, sb, e) < 0)
		goto fail;
	registered = 1;
	if (sbx_sandbox_lock(c->store, sb->id, 30000, &lk, e) < 0 ||
	    kvm_boot(c, sb, &img, t0, e) < 0)
		goto fail;
	sbx_sandbox_unlock(lk);
	kvm_image_release(&img);
	return 0;
fail:
	/* Nothing half-made stays behind. */
	if (registered) {
		struct sbx_err ignore;

		sbx_sandbox_remove(c->store, sb->id, &ignore);
	}
	if (lk)
		sbx_sandbox_unlock(lk);
	kvm_image_release(&img);
	return -1;
}

int
kvm_create(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *sb, struct sbx_err *e)
{
	struct sbx_strvec allow = SBX_STRVEC_INIT, deny = SBX_STRVEC_INIT;
	struct sbx_strvec env = SBX_STRVEC_INIT;
	struct sbx_create_opts eff = *o;
	uint64_t t0 = sbx_clock_ms();
	char hex[SBX_OID_HEXLEN + 1];
	json_t *ts;
	int rc;

	sbx_sandbox_init(sb);
	if (o->snapshot)
		return kvm_create_from(c, o, sb, e);	/* ops-snap.c */
	if (o->image || !o->template)
		return create_boot(c, o, sb, t0, e);
	/* A template by name: its settings, then maybe its ready snapshot. */
	ts = template_settings(c->store, o->template, o->boot_image);
	apply_settings(&eff, ts, &allow, &deny, &env);
	/*
	 * A built template restores its ready snapshot instead of booting,
	 * unless the machine must differ from the one it was built in (size,
	 * no network device). Its egress rules and environment apply either
	 * way.
	 */
	if (!o->boot_image && template_snapshot(c->store, o->template, hex) &&
	    !o->disk &&
	    !o->no_network && (!o->vcpus || o->vcpus == eff.vcpus) &&
	    (!o->memory || o->memory == eff.memory) &&
	    (ts || (!o->vcpus && !o->memory))) {
		eff.snapshot = hex;
		eff.vcpus = 0;
		eff.memory = 0;
		eff.disk = 0;
		rc = kvm_create_from(c, &eff, sb, e);
	} else {
		rc = create_boot(c, &eff, sb, t0, e);
	}
	json_decref(ts);
	sbx_strvec_clear(&allow);
	sbx_strvec_clear(&deny);
	sbx_strvec_clear(&env);
	return rc;
}

int
kvm_start(struct sbx_conn *c, const char *query, struct sbx_err *e)
{
	struct sbx_sandbox sb;
	struct sbx_sandbox_lock *lk = NULL;
	struct kvm_image img;
	char id[SBX_SANDBOX_ID_SIZE];
	const char *dir, *name;
	uint64_t t0 = sbx_clock_ms();
	int rc = -1;

	memset(&img, 0, sizeof(img));
	sbx_sandbox_init(&sb);
	if (sbx_sandbox_resolve(c->store, query, id, e) < 0 ||
	    sbx_sandbox_lock(c->store, id, 30000, &lk, e) < 0)
		goto out;
	sbx_sandbox_release(&sb);
	if (sbx_sandbox_load(c->store, id, &sb, e) < 0)
		goto out;
	if (kvm_vmm_alive(sb.pid)) {
		sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is already %s", id,
		    sbx_sandbox_state_name(sb.state));
		goto out;
	}
	if (sb.state != SBX_SB_STOPPED && sb.state != SBX_SB_ERROR) {
		sbx_err_set(e, SBX_EBUSY, "sandbox '%s' is %s; only stopped "
		    "sandboxes start", id, sbx_sandbox_state_name(sb.state));
		if (sb.state == SBX_SB_HIBERNATED)
			sbx_err_hint(e, "resume it with 'sbx resume %s'", id);
		goto out;
	}
	{
		/* A resize waiting for this boot (ops-resize.c). */
		json_t *rs = json_object_get(sb.extra, "resize");
		json_int_t v;

		/* A live memory target becomes the size it boots with. */
		v = json_integer_value(json_object_get(sb.extra,
		    KVM_MEMORY_TARGET_KEY));
		if (v >= (json_int_t)KVM_MIN_MEMORY &&
		    (uint64_t)v < sb.spec.memory)
			sb.spec.memory = (uint64_t)v;
		json_object_del(sb.extra, KVM_MEMORY_TARGET_KEY);
		v = json_integer_value(json_object_get(rs, "vcpus"));
		if (v > 0 && v <= 64)
			sb.spec.vcpus = (unsigned)v;
		v = json_integer_value(json_object_get(rs, "memory"));
		if (v > 0)
			sb.spec.memory = (uint64_t)v;
		json_object_del(sb.extra, "resize");
	}
	dir = json_string_value(json_object_get(sb.extra, "image_dir"));
	name = json_string_value(json_object_get(sb.extra, "image"));
	if (kvm_image_resolve(c->store, dir, dir ? NULL : name, &img, e) < 0)
		goto out;
	json_object_del(sb.extra, "error");
	/* Writes kept by an idle hibernation are part of the disk. */
	if (kvm_disk_absorb(c, &sb, e) < 0)
		goto out;
	sb.state = SBX_SB_CREATING;
	rc = kvm_boot(c, &sb, &img, t0, e);
	if (rc < 0) {
		struct sbx_err ignore;

		sb.state = SBX_SB_STOPPED;
		sbx_sandbox_save(c->store, &sb, &ignore);
	}
out:
	if (lk)
		sbx_sandbox_unlock(lk);
	sbx_sandbox_release(&sb);
	kvm_image_release(&img);
	return rc;
}
