#!/bin/bash
# t15-vmm-vs-qemu.sh - boot-to-ready of sbx-vmm against QEMU (-M microvm,
# falling back to -M pc) on KVM in the rig's L1: the same Debian kernel,
# the same busybox initramfs (t1-vmm-common.sh, mode "idle": /init prints
# SBXT_BOOT_OK, loads the virtio modules, prints SBXT_IDLE, idles), the
# same command line, 2 vCPUs and 256 MiB for both. Each VMM boots 3 times
# (alternating), and the medians and their ratio are printed as "# bench:"
# lines. KVM exits up to SBXT_IDLE come from KVM's per-VM debugfs counters
# (every exit, in-kernel or not), read while the guest idles, the same way
# for both VMMs. QEMU's own start-up (binary read over 9p, machine set-up)
# is timed apart with -S and an immediate quit, cold and warm.
#
# Figures, but also checks: both VMMs must reach the markers. SBXT_RUNS
# changes the number of boots per VMM.
#
# Opt-in (SBX_RIG_QEMU=1, e.g. `SBX_RIG_QEMU=1 make check-rig`): QEMU on
# KVM inside L1 crashed L1's own kernel ("TASK stack guard page was hit" in
# L1's qemu-system-x86 process, an emulation problem of nested KVM under
# TCG) in three rig runs in a row, taking the rest of the suite with it;
# sbx-vmm never did. doc/BENCHMARKS.md keeps the figures it gave.
if [ "${SBX_RIG_QEMU:-0}" != 1 ]; then
	echo "SBX_RIG_QEMU=1 runs this (QEMU on KVM in L1 can crash L1 under emulation)"
	exit 77
fi
. "$(dirname "$0")/t1-vmm-common.sh"

if [ -z "${SBX_RIG:-}" ]; then
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-vs-qemu.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	run_in_rig
	exit $?
fi

# Inside the rig's L1 host.
runs=${SBXT_RUNS:-3}
qemu=$(command -v qemu-system-x86_64) || skip_all "qemu-system-x86_64 is not installed"
cmdline="console=ttyS0 reboot=k panic=-1 quiet sbxt.mode=idle"
mkdir -p "$logs"
trap 'rm -rf "$logs"' EXIT
dbg=/sys/kernel/debug/kvm
[ -d "$dbg" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# boot NAME COMMAND...: starts COMMAND (serial output into $logs/NAME.log),
# records milliseconds to both markers and the KVM exit counters at
# SBXT_IDLE, then stops the VMM. Sets b_init, b_ready, b_exits (all four
# empty when a marker never came).
boot() {
	local name=$1 t0 pid i d f log=$logs/$1.log
	shift
	b_init= b_ready= b_exits=
	rm -f "$log"
	t0=$(now)
	"$@" 2>"$logs/$name.err" &
	pid=$!
	for i in $(seq 3000); do
		if [ -z "$b_init" ] && grep -aq SBXT_BOOT_OK "$log" 2>/dev/null; then
			b_init=$((($(now) - t0) / 1000000))
		fi
		if grep -aq SBXT_IDLE "$log" 2>/dev/null; then
			b_ready=$((($(now) - t0) / 1000000))
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [ -n "$b_ready" ]; then
		for d in "$dbg/$pid"-*; do
			[ -r "$d/exits" ] || continue
			b_exits=
			for f in exits io_exits mmio_exits halt_exits; do
				b_exits="$b_exits $f=$(cat "$d/$f" 2>/dev/null)"
			done
			b_exits=${b_exits# }
		done
	fi
	kill "$pid" 2>/dev/null
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -n "$b_ready" ] || b_init=
}

vmm_boot() {
	boot "$1" "$vmm" --kernel "$SBXT_KERNEL" --initrd "$SBXT_INITRD" \
		--cmdline "$cmdline" --vcpus 2 --memory 256M \
		--serial-log "$logs/$1.log" --id "sb-bench$1"
}
qemu_boot() { # qemu_boot NAME MACHINE
	boot "$1" "$qemu" -M "$2" -accel kvm -cpu host -smp 2 -m 256M \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$logs/$1.log" -kernel "$SBXT_KERNEL" \
		-initrd "$SBXT_INITRD" -append "$cmdline"
}
# QEMU's start-up alone: the machine is built, the vCPUs never run.
qemu_startup() {
	local t0=$(now)
	echo quit | "$qemu" -M "$1" -accel kvm -cpu host -smp 2 -m 256M \
		-nodefaults -no-user-config -display none -S -monitor stdio \
		-kernel "$SBXT_KERNEL" -initrd "$SBXT_INITRD" -append "$cmdline" \
		>/dev/null 2>&1
	echo $((($(now) - t0) / 1000000))
}

[ -e /dev/kvm ] || skip_all "no /dev/kvm in L1"
cold=$(qemu_startup microvm)
warm=$(qemu_startup microvm)
echo "# bench: qemu -M microvm start-up (-S, quit at once): first ${cold} ms, again ${warm} ms"

machine=microvm
qemu_boot probe microvm
if [ -z "$b_ready" ]; then
	echo "# qemu -M microvm did not reach SBXT_IDLE; stderr and serial:"
	sed 's/^/#   /' "$logs/probe.err"; tail -5 "$logs/probe.log" | sed 's/^/#   /'
	machine=pc
fi

: >"$logs/v.init"; : >"$logs/v.ready"; : >"$logs/q.init"; : >"$logs/q.ready"
for r in $(seq "$runs"); do
	vmm_boot "v$r"
	check "sbx-vmm run $r reached /init (${b_init:-never} ms) and SBXT_IDLE (${b_ready:-never} ms)" \
		test -n "$b_ready"
	[ -n "$b_ready" ] && { echo "$b_init" >>"$logs/v.init"; echo "$b_ready" >>"$logs/v.ready"; }
	echo "#   kvm debugfs at SBXT_IDLE: ${b_exits:-n/a}"
	grep -a 'KVM exits' "$logs/v$r.err" | sed 's/^/#   sbx-vmm: /'
	qemu_boot "q$r" "$machine"
	check "qemu -M $machine run $r reached /init (${b_init:-never} ms) and SBXT_IDLE (${b_ready:-never} ms)" \
		test -n "$b_ready"
	[ -n "$b_ready" ] && { echo "$b_init" >>"$logs/q.init"; echo "$b_ready" >>"$logs/q.ready"; }
	echo "#   kvm debugfs at SBXT_IDLE: ${b_exits:-n/a}"
done

vi=$(median <"$logs/v.init") vr=$(median <"$logs/v.ready")
qi=$(median <"$logs/q.init") qr=$(median <"$logs/q.ready")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a && b) printf "%.2f", a / b; else print "n/a" }'; }
echo "# bench: boot to /init marker, median of $runs: sbx-vmm ${vi:-n/a} ms, qemu -M $machine ${qi:-n/a} ms, sbx-vmm/qemu $(ratio "$vi" "$qi")"
echo "# bench: boot to ready (modules loaded), median of $runs: sbx-vmm ${vr:-n/a} ms, qemu -M $machine ${qr:-n/a} ms, sbx-vmm/qemu $(ratio "$vr" "$qr")"
echo "1..$testno"
finish
