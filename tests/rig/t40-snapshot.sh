#!/bin/bash
# t40-snapshot.sh - sbx-vmm snapshot to files, restore in a new process,
# live fork, and refusal of corrupted snapshots, against one booted Debian
# guest whose /init counts upward once a second on the serial console.
# Prints "# bench:" lines (restore vs cold boot, fork time and PSS per
# clone, snapshot bytes).
. "$(dirname "$0")/t1-vmm-common.sh"

# Our own guest /init (a counter) and initramfs cache next to the VMM
# tests' one, so the two never rebuild each other's.
guest_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
while read -r m; do
	[ -n "$m" ] && insmod "/modules/$m.ko"
done </modules/order
echo "written before the snapshot" >/tmp/x
i=0
while :; do
	i=$((i + 1))
	set -- $(cat /proc/uptime)
	echo "SBXT_COUNT $i up=$1 x=$(wc -c </tmp/x)"
	sleep 1
done
INIT
}
prepare_guest_orig=$(declare -f prepare_guest)
eval "${prepare_guest_orig/-vmm-guest/-snap-guest}"

if [ -z "${SBX_RIG:-}" ]; then
	command -v python3 >/dev/null || skip_all "python3 not installed (the test's control client)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-snap.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	echo "1..17"
	run_in_rig
	exit $?
fi

L=${logs:-$SBXT_WORK}
mkdir -p "$L"
snap=/tmp/sbxt-snap
rm -rf "$snap" "$snap-bad" "$snap-short"

# Last counter value in a serial log (0 if none).
count() { grep -o 'SBXT_COUNT [0-9]*' "$L/$1.log" 2>/dev/null | tail -n 1 | awk '{ print $2 + 0 } END { if (!NR) print 0 }'; }
uptime_at() { grep "SBXT_COUNT $2 " "$L/$1.log" | head -n 1 | sed 's/.*up=\([0-9.]*\).*/\1/'; }
# Waits until log $1's counter exceeds $2 (max ~60 s).
wait_count() {
	local i
	for i in $(seq 600); do
		[ "$(count "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- boot once ------------------------------------------------------------
sock=/tmp/sbxt-src.sock
t0=$(now_ms)
start_vmm src counter --memory 256M --rng --control "$sock"
src_pid=$vmm_pid
wait_count src 2
boot_ms=$(($(now_ms) - t0))
check "the source guest boots and counts" test "$(count src)" -gt 2

# --- snapshot -------------------------------------------------------------
before=$(count src)
rep=$(client "$sock" "{\"op\":\"snapshot\",\"dir\":\"$snap\"}")
echo "# snapshot: $rep"
check "snapshot succeeds" test "$(field "$rep" ok)" = true
mbytes=$(field "$rep" memory_bytes)
apparent=$(stat -c %s "$snap/memory" 2>/dev/null || echo 0)
alloc=$(($(stat -c %b "$snap/memory" 2>/dev/null || echo 0) * 512))
check "the memory file is the RAM size (256 MiB) but sparse ($alloc bytes allocated)" \
	test "$apparent" = $((256 << 20)) -a "$alloc" -lt "$apparent"
echo "# bench: snapshot wrote $mbytes memory bytes + $(field "$rep" state_bytes) state bytes, vCPUs paused $(field "$rep" pause_ms) ms, total $(field "$rep" ms) ms"
wait_count src $((before + 2))
check "the source keeps counting after the snapshot" test "$(count src)" -gt $((before + 1))

# --- restore in a new process --------------------------------------------
snapcount=$(count src)	# at least the value at snapshot time
t0=$(now_ms)
vmm_t0=$(date +%s%N)
"$vmm" --restore "$snap" --serial-log "$L/r1.log" --control /tmp/sbxt-r1.sock \
	--id sb-testr1 2>"$L/r1.err" &
r1_pid=$!
vmm_pid=$r1_pid
wait_count r1 0
restore_ms=$(($(now_ms) - t0))
first=$(grep -o 'SBXT_COUNT [0-9]*' "$L/r1.log" | head -n 1 | awk '{ print $2 }')
check "the restored guest resumes counting where the snapshot was taken (first ${first:-none}, snapshot at >= $before)" \
	test -n "$first" -a "${first:-0}" -gt "$before" -a "${first:-0}" -le $((snapcount + 1))
wait_count r1 $((first + 2))
check "the restored guest keeps counting" test "$(count r1)" -ge $((first + 2))
# The source printed the same count after the snapshot: both guests'
# uptimes at that count must agree (no clock jump, no reset).
u0=$(uptime_at src "$first") u1=$(uptime_at r1 "$first")
check "the guest's monotonic clock continues (uptime at count $first: source $u0 s, restored $u1 s)" \
	awk -v a="$u0" -v b="$u1" 'BEGIN { d = b - a; if (d < 0) d = -d; exit !(a > 0 && d < 5) }'
echo "# bench: cold boot to first count $boot_ms ms, restore to first count $restore_ms ms (ratio $(awk -v a="$boot_ms" -v b="$restore_ms" 'BEGIN { printf "%.1f", a / (b ? b : 1) }')x)"
echo "# bench: restore inside sbx-vmm (state replayed, vCPUs started) $(sed -n 's/.*restored .* in \([0-9]*\) us.*/\1/p' "$L/r1.err") us"
echo "# bench: restored VMM RSS $(awk '/^Rss:/ { print $2 }' /proc/$r1_pid/smaps_rollup) KiB, PSS $(pss_kb $r1_pid) KiB"

# --- snapshot of a restored VM (a chain) ----------------------------------
rep=$(client /tmp/sbxt-r1.sock "{\"op\":\"snapshot\",\"dir\":\"$snap-2\"}")
check "a restored VM can be snapshotted again" test "$(field "$rep" ok)" = true

# --- live fork --------------------------------------------------------------
pss_src=$(pss_kb "$src_pid")
req='{"op":"fork","children":['
for i in 1 2 3 4; do
	[ $i = 1 ] || req+=','
	req+="{\"control\":\"/tmp/sbxt-f$i.sock\",\"serial_log\":\"$L/f$i.log\",\"log\":\"$L/f$i.err\",\"id\":\"sb-testf$i\"}"
done
req+=']}'
forkcount=$(count src)
rep=$(client "$sock" "$req")
aftercount=$(count src)
echo "# fork: $rep"
check "fork of 4 children succeeds" test "$(field "$rep" ok)" = true
pids=$(grep -o '"pid":[0-9]*' <<<"$rep" | cut -d: -f2)
check "fork reports 4 child pids" test "$(wc -w <<<"$pids")" = 4
okc=0
for i in 1 2 3 4; do
	wait_count "f$i" $((forkcount + 1)) && okc=$((okc + 1))
done
check "all 4 children continue counting from the fork point ($okc of 4)" test "$okc" = 4
fc=$(grep -o 'SBXT_COUNT [0-9]*' "$L/f1.log" | head -n 1 | awk '{ print $2 }')
check "a child's first count follows the parent's at fork time ($forkcount < $fc <= $aftercount + 1)" \
	test -n "$fc" -a "${fc:-0}" -gt "$forkcount" -a "${fc:-0}" -le $((aftercount + 1))
u0=$(uptime_at src "$fc") u1=$(uptime_at f1 "$fc")
check "a child's clock continues from the fork (uptime at count $fc: source $u0 s, child $u1 s)" \
	awk -v a="$u0" -v b="$u1" 'BEGIN { d = b - a; if (d < 0) d = -d; exit !(a > 0 && d < 5) }'
check "children keep the guest's /tmp/x" grep -q 'x=28' "$L/f2.log"
before=$(count src)
wait_count src $((before + 1))
check "the source keeps running after the fork" test "$(count src)" -gt "$before"
pss_sum=0
for p in $pids; do pss_sum=$((pss_sum + $(pss_kb "$p" || echo 0))); done
echo "# bench: fork $(field "$rep" fork_us_per_child) us per child (vCPUs paused $(field "$rep" pause_ms) ms for 4), PSS per child $((pss_sum / 4)) KiB, source PSS $(pss_kb "$src_pid") KiB (was $pss_src)"
echo "# bench: a fork child builds its VM and replays the state in $(sed -n 's/.*restored .* in \([0-9]*\) us.*/\1/p' "$L/f1.err") us"
for p in $pids; do kill "$p" 2>/dev/null; done

# --- corrupted and truncated snapshots are refused --------------------------
cp -r "$snap" "$snap-bad"
printf '\xff' | dd of="$snap-bad/state" bs=1 seek=200 conv=notrunc 2>/dev/null
"$vmm" --restore "$snap-bad" --serial-log "$L/bad.log" 2>"$L/bad.err"
st=$?
check "a corrupted state file is refused (status $st: $(tail -n 1 "$L/bad.err"))" \
	bash -c "[ $st = 1 ] && grep -q 'checksum mismatch' '$L/bad.err'"
cp -r "$snap" "$snap-short"
truncate -s 100M "$snap-short/memory"
"$vmm" --restore "$snap-short" --serial-log "$L/short.log" 2>"$L/short.err"
st=$?
check "a truncated memory file is refused (status $st: $(tail -n 1 "$L/short.err"))" \
	bash -c "[ $st = 1 ] && grep -q 'truncated' '$L/short.err'"

kill "$src_pid" "$r1_pid" 2>/dev/null
wait 2>/dev/null
for f in src r1 f1; do sed "s/^/# $f: /" "$L/$f.err" 2>/dev/null | tail -n 5; done
rm -rf "$snap" "$snap-2" "$snap-bad" "$snap-short"
finish
