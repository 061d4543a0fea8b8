# t1-vmm-common.sh - sourced by the sbx-vmm rig tests (t1*-vmm-*.sh).
#
# Each test runs twice: on the host it prepares the L2 guest (Debian's
# kernel from the rig's package cache and a busybox initramfs whose /init,
# below, loads virtio_mmio, virtio_blk, virtio_rng and ext4 in dependency
# order), then re-runs itself inside the rig's L1 host (tests/rig/run),
# where it starts sbx-vmm on real KVM. Results are TAP lines on stdout;
# the exit status is 0 only if every check passed (77: skipped).

top_src=${SBX_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
top_build=${SBX_TOP_BUILDDIR:-$PWD}
vmm=$top_build/sbx-vmm
failures=0
testno=0

ok() { testno=$((testno + 1)); echo "ok $testno - $*"; }
not_ok() { testno=$((testno + 1)); failures=$((failures + 1)); echo "not ok $testno - $*"; }
check() { # check DESCRIPTION COMMAND...
	local d=$1; shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
skip_all() { echo "1..0 # SKIP $*"; exit 77; }
finish() { [ $failures = 0 ] && exit 0; exit 1; }

# sbx-vmm's control socket (doc/vmm-control.md): one request per argument
# after the socket path, each reply line printed; waits up to 60 s for the
# socket to appear.
client() {
	python3 - "$@" <<'PY'
import socket, sys, time
path = sys.argv[1]
for _ in range(600):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        s.close()
        time.sleep(0.1)
else:
    sys.exit("cannot connect to " + path)
f = s.makefile("rw")
for a in sys.argv[2:]:
    f.write(a + "\n")
    f.flush()
    print(f.readline().strip(), flush=True)
PY
}
# field JSON-LINE KEY: the first value of KEY in a reply line.
field() { grep -o '"'"$2"'":"\{0,1\}[^,"}]*' <<<"$1" | head -n 1 | sed 's/^"[^"]*":"\{0,1\}//'; }

# The L2 guest's /init. Kernel parameter sbxt.mode= picks what it does.
guest_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "SBXT_BOOT_OK $(uname -r) nproc=$(nproc)"
while read -r m; do
	[ -n "$m" ] && { insmod "/modules/$m.ko" || echo "SBXT_INSMOD_FAIL $m"; }
done </modules/order
echo "SBXT_VIRTIO $(ls /sys/bus/virtio/devices | wc -l) blk=$(ls /sys/bus/virtio/drivers/virtio_blk 2>/dev/null | grep -c virtio)"
mode=
for a in $(cat /proc/cmdline); do
	case $a in sbxt.mode=*) mode=${a#sbxt.mode=} ;; esac
done
case $mode in
disk)
	mkdir -p /mnt
	if mount -t ext4 /dev/vda /mnt; then
		echo "SBXT_HOSTFILE $(sha256sum /mnt/host.txt | cut -d' ' -f1)"
		echo "written by the guest" >/mnt/guest.txt
		umount /mnt && echo "SBXT_DISK_OK"
	fi
	;;
idle)
	echo "SBXT_IDLE"
	while :; do sleep 1; done
	;;
touch)
	# ~200 MiB of guest RAM holding random data (tmpfs pages: neither
	# zero nor compressible), then a counter every 0.2 s, so a restored
	# guest shows it runs by printing a higher number.
	mkdir -p /fill
	mount -t tmpfs -o size=256m fill /fill
	dd if=/dev/urandom of=/fill/data bs=1M count=200 2>/dev/null
	echo "SBXT_TOUCHED $(wc -c </fill/data)"
	i=0
	while :; do
		i=$((i + 1))
		echo "SBXT_TICK $i"
		sleep 0.2
	done
	;;
panic)
	echo c >/proc/sysrq-trigger
	;;
esac
poweroff -f
INIT
}

# Builds (or reuses) the guest kernel and initramfs; sets guest_kernel and
# guest_initrd. Uses its own rig-prep cache next to the rig's and seeds it
# with the rig's downloaded packages so nothing is fetched twice.
prepare_guest() {
	local cache rigcache prep out d
	rigcache=${SBX_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sbx/rig}
	cache=$rigcache-vmm-guest
	prep=${SBX_RIG_PREP:-$top_build/tests/rig/rig-prep}
	[ -x "$prep" ] || skip_all "tests/rig/rig-prep is not built"
	mkdir -p "$cache/debs" || return 1
	if [ -d "$rigcache/debs" ]; then
		for d in "$rigcache"/debs/*; do
			[ -e "$cache/debs/${d##*/}" ] || cp -l "$d" "$cache/debs/" 2>/dev/null ||
				cp "$d" "$cache/debs/"
		done
	fi
	guest_init >"$cache/init.sh.new"
	cmp -s "$cache/init.sh.new" "$cache/init.sh" 2>/dev/null ||
		mv "$cache/init.sh.new" "$cache/init.sh"
	rm -f "$cache/init.sh.new"
	printf '%s\n' virtio_mmio virtio_blk virtio_rng crc32c_generic ext4 \
		>"$cache/modules.list.new"
	cmp -s "$cache/modules.list.new" "$cache/modules.list" 2>/dev/null ||
		mv "$cache/modules.list.new" "$cache/modules.list"
	rm -f "$cache/modules.list.new"
	out=$("$prep" all -q --cache "$cache" --init "$cache/init.sh" \
		--modules "$cache/modules.list") || return 1
	guest_initrd=$(echo "$out" | sed -n 's/^initramfs=//p')
	guest_kernel=$(dirname "$(echo "$out" | sed -n 's/^kernel=//p')")/vmlinuz
	[ -f "$guest_kernel" ] && [ -f "$guest_initrd" ]
}

# Host side: prepare, then run this script inside the rig with WORK shared
# writable. Extra arguments are passed to tests/rig/run.
run_in_rig() {
	command -v qemu-system-x86_64 >/dev/null ||
		skip_all "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)"
	[ -x "$vmm" ] || skip_all "sbx-vmm is not built"
	prepare_guest || { echo "Bail out! cannot prepare the L2 guest kernel and initramfs"; exit 1; }
	SBXT_KERNEL=$guest_kernel SBXT_INITRD=$guest_initrd SBXT_WORK=$work \
	SBX_TOP_SRCDIR=$top_src SBX_TOP_BUILDDIR=$top_build \
		"$top_src/tests/rig/run" -q -w "$work" "$@" \
		-e SBXT_KERNEL -e SBXT_INITRD -e SBXT_WORK -- bash "$0"
}

# In L1: starts sbx-vmm in the background with the guest and extra args.
# Sets vmm_pid; serial log in $logs/$1.log, stderr in $logs/$1.err. The
# logs live on L1's own file system: the 9p share caches reads, so a
# growing file there looks stale to grep.
logs=/tmp/sbxt-logs.$$
start_vmm() {
	local name=$1 mode=$2; shift 2
	mkdir -p "$logs"
	"$vmm" --kernel "$SBXT_KERNEL" --initrd "$SBXT_INITRD" \
		--cmdline "console=ttyS0 reboot=k panic=-1 quiet sbxt.mode=$mode" \
		--serial-log "$logs/$name.log" --id "sb-test$name" "$@" \
		2>"$logs/$name.err" &
	vmm_pid=$!
	vmm_t0=$(date +%s%N)
}

# Waits until the serial log has PATTERN (or sbx-vmm exits, or 300 s);
# prints the milliseconds it took since start_vmm.
wait_log() {
	local name=$1 pat=$2 i
	for i in $(seq 3000); do
		grep -q "$pat" "$logs/$name.log" 2>/dev/null && {
			echo $((($(date +%s%N) - vmm_t0) / 1000000)); return 0; }
		kill -0 "$vmm_pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$pat" "$logs/$name.log" 2>/dev/null && { echo 0; return 0; }
	return 1
}
