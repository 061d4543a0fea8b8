/*
 * ops-create.c - the kvm backend's create: register the sandbox, give it
 * its own disk, start sbx-vmm and wait for the guest agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm/agent-client.h"
#include "kvm/image.h"
#include "kvm/kvm.h"
#include "kvm/spawn.h"
#include "core/buf.h"
#include "core/parse.h"
#include "core/xmalloc.h"
#include "store/registry.h"
#include "core/banned.h"

#define KVM_DEFAULT_VCPUS 1
#define KVM_DEFAULT_MEMORY (512ULL << 20)
#define KVM_DEFAULT_BOOT_MS (300 * 1000)

static int
all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Copies src to dst keeping holes (the root disk of a new sandbox). */
static int
sparse_copy(const char *src, const char *dst, struct sbx_err *e)
{
	char buf[1 << 16];
	int in, out, rc = 0;
	off_t off = 0, data, hole, end;
	struct stat st;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return sbx_err_sys(e, "cannot open '%s'", src);
	if (fstat(in, &st) < 0) {
		close(in);
		return sbx_err_sys(e, "cannot stat '%s'", src);
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return sbx_err_sys(e, "cannot create '%s'", dst);
	}
	end = st.st_size;
	while (off < end && !rc) {
		data = lseek(in, off, SEEK_DATA);
		if (data < 0)
			break;		/* ENXIO: only a hole remains */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		for (off = data; off < hole && !rc; ) {
			size_t want = (size_t)(hole - off) < sizeof(buf) ?
			    (size_t)(hole - off) : sizeof(buf);
			ssize_t n = pread(in, buf, want, off), w = 0;

			if (n == 0) {
				/* Shorter than it said: the rest is a hole. */
				off = end;
				break;
			}
			if (n < 0) {
				rc = sbx_err_sys(e, "cannot read '%s'", src);
				break;
			}
			/* Zero blocks stay holes (SEEK_HOLE may be unsupported,
			 * as on 9p). */
			if (all_zero(buf, (size_t)n))
				w = n;
			while (w < n) {
				ssize_t k = pwrite(out, buf + w, (size_t)(n - w),
				    off + w);

				if (k <= 0) {
					if (k == 0)
						errno = EIO;
					rc = sbx_err_sys(e, "cannot write '%s'",
					    dst);
					break;
				}
				w += k;
			}
			off += n;
		}
	}
	if (!rc && ftruncate(out, end) < 0)
		rc = sbx_err_sys(e, "cannot size '%s'", dst);
	if (!rc && fsync(out) < 0)
		rc = sbx_err_sys(e, "cannot write '%s'", dst);
	close(in);
	close(out);
	return rc;
}

static uint64_t
boot_timeout_ms(void)
{
	const char *s = getenv("SBX_BOOT_TIMEOUT");
	uint64_t ms;

	if (s && sbx_parse_duration(s, 1000, 3600 * 1000, &ms, NULL) == 0)
		return ms;
	return KVM_DEFAULT_BOOT_MS;
}

/* Fresh identity for a guest that just booted or was restored. */
static int
personalize(const char *id, struct sbx_err *e)
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

int
kvm_create(struct sbx_conn *c, const struct sbx_create_opts *o,
    struct sbx_sandbox *sb, struct sbx_err *e)
{
	struct kvm_image img;
	struct kvm_spawn sp;
	struct sbx_sandbox_lock *lk = NULL;
	struct sbx_buf cmdline = SBX_BUF_INIT;
	char *sbdir = NULL, *disk = NULL;
	pid_t pid = 0;
	int registered = 0;

	sbx_sandbox_init(sb);
	if (o->snapshot)
		return sbx_err_set(e, SBX_ENOTSUP, "creating from a snapshot "
		    "is not supported by backend 'kvm' yet");
	if (kvm_image_resolve(c->store, o->image, o->template, &img, e) < 0)
		return -1;
	if (o->name)
		sbx_sandbox_set_name(sb, o->name);
	sbx_sandbox_set_template(sb, o->image ? NULL :
	    o->template ? o->template : "default");
	sb->spec.vcpus = o->vcpus ? o->vcpus : KVM_DEFAULT_VCPUS;
	sb->spec.memory = o->memory ? o->memory : KVM_DEFAULT_MEMORY;
	sb->spec.disk = o->disk;
	sb->state = SBX_SB_CREATING;
	json_object_set_new(sb->extra, "image", json_string(img.name));
	if (sbx_sandbox_create(c->store, sb, e) < 0)
		goto fail;
	registered = 1;
	if (sbx_sandbox_lock(c->store, sb->id, 30000, &lk, e) < 0)
		goto fail;
	sbdir = sbx_sandbox_dir(c->store, sb->id);
	if (img.rootfs) {
		disk = xasprintf("%s/disk.img", sbdir);
		if (sparse_copy(img.rootfs, disk, e) < 0)
			goto fail;
		if (o->disk && truncate(disk, (off_t)o->disk) < 0) {
			sbx_err_sys(e, "cannot resize '%s'", disk);
			goto fail;
		}
	}
	sbx_buf_addstr(&cmdline, KVM_BASE_CMDLINE);
	if (img.cmdline)
		sbx_buf_addf(&cmdline, " %s", img.cmdline);
	if (disk)
		sbx_buf_addstr(&cmdline, " sbx.root=/dev/vda");
	memset(&sp, 0, sizeof(sp));
	sp.id = sb->id;
	sp.sbdir = sbdir;
	sp.kernel = img.kernel;
	sp.initrd = img.initrd;
	sp.cmdline = cmdline.buf;
	sp.disk = disk;
	sp.memory = sb->spec.memory;
	sp.vcpus = sb->spec.vcpus;
	if (kvm_spawn_vmm(&sp, &pid, e) < 0)
		goto fail;
	sb->pid = pid;
	if (sbx_sandbox_save(c->store, sb, e) < 0)
		goto fail;
	if (kvm_wait_agent(sb->id, sbdir, pid, boot_timeout_ms(), e) < 0)
		goto fail;
	if (personalize(sb->id, e) < 0)
		goto fail;
	sb->state = SBX_SB_RUNNING;
	if (sbx_sandbox_save(c->store, sb, e) < 0)
		goto fail;
	sbx_sandbox_unlock(lk);
	sbx_buf_release(&cmdline);
	kvm_image_release(&img);
	free(sbdir);
	free(disk);
	return 0;
fail:
	/* Nothing half-made stays behind: kill the VMM, drop the record. */
	if (pid) {
		struct sbx_err ignore;

		kvm_vmm_kill(sb, 2000, &ignore);
	}
	if (registered) {
		struct sbx_err ignore;

		sbx_sandbox_remove(c->store, sb->id, &ignore);
	}
	if (lk)
		sbx_sandbox_unlock(lk);
	sbx_buf_release(&cmdline);
	kvm_image_release(&img);
	free(sbdir);
	free(disk);
	return -1;
}
