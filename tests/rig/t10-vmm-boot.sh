#!/bin/bash
# t10-vmm-boot.sh - sbx-vmm boots Debian's stock kernel with 2 vCPUs, the
# guest reads a host-written file from an ext4 virtio-blk disk and writes
# one; the host's e2fsck finds the image clean and sees the write.
. "$(dirname "$0")/t1-vmm-common.sh"

if [ -z "${SBX_RIG:-}" ]; then
	for t in mkfs.ext4 e2fsck debugfs; do
		command -v $t >/dev/null || skip_all "$t not installed (apt-get install e2fsprogs)"
	done
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-vmm-boot.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	mkdir "$work/src"
	head -c 100000 /dev/urandom | base64 >"$work/src/host.txt"
	mkfs.ext4 -q -F -d "$work/src" "$work/disk.img" 32M >/dev/null 2>&1 ||
		{ echo "Bail out! mkfs.ext4 -d failed"; exit 1; }
	want=$(sha256sum "$work/src/host.txt" | cut -d' ' -f1)
	echo "1..10"
	run_in_rig
	st=$?
	testno=8
	[ $st = 0 ] || failures=1
	check "host e2fsck -fn finds the image clean after the guest wrote" \
		e2fsck -fn "$work/disk.img"
	got=$(debugfs -R "cat /guest.txt" "$work/disk.img" 2>/dev/null)
	check "host sees the file the guest wrote ('$got')" \
		test "$got" = "written by the guest"
	grep -q "SBXT_HOSTFILE $want" "$work/boot.log" ||
		echo "# guest read a different host.txt than $want"
	finish
fi

# Inside the rig's L1 host.
want=$(sha256sum "$SBXT_WORK/src/host.txt" | cut -d' ' -f1)
# The cache directory is named after the package: linux-image-<uname -r>_...
kver=$(basename "$(dirname "$SBXT_INITRD")")
kver=${kver#linux-image-}
kver=${kver%%_*}
start_vmm boot disk --vcpus 2 --memory 256M --rng --disk "$SBXT_WORK/disk.img"
ms=$(wait_log boot SBXT_BOOT_OK) && echo "# boot: exec to /init marker ${ms} ms"
wait "$vmm_pid"
st=$?
log=$logs/boot.log
cp "$log" "$SBXT_WORK/boot.log"
check "sbx-vmm exits 0 when the guest powers off (got $st)" test "$st" = 0
line=$(grep -a SBXT_BOOT_OK "$log" | tr -d '\r')
check "guest reached /init ('$line')" test -n "$line"
check "uname -r is the Debian package's kernel ($kver)" \
	grep -q "SBXT_BOOT_OK $kver " <<<"$line"
check "guest sees 2 CPUs with --vcpus 2" grep -q "nproc=2" <<<"$line"
check "every module loaded" bash -c "! grep -aq SBXT_INSMOD_FAIL '$log'"
check "virtio_mmio bound blk and rng from the ACPI DSDT ($(grep -a SBXT_VIRTIO "$log" | tr -d '\r'))" \
	grep -aq "SBXT_VIRTIO 2 blk=1" "$log"
check "guest read the host-written file with the right sha256" \
	grep -aq "SBXT_HOSTFILE $want" "$log"
check "guest wrote a file and unmounted the disk" grep -aq SBXT_DISK_OK "$log"
sed 's/^/# /' "$logs/boot.err"
grep -a -E "WARNING|BUG|Oops|virtio.*error|Wrong magic" "$log" | sed 's/^/# guest: /'
finish
