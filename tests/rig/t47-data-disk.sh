#!/bin/bash
# t47-data-disk.sh - the layered data disk (/dev/vdb) of sbx-vmm, driven
# directly: a blank ext4 made by mke2fs becomes the base layer
# (sbx-vmm --make-layer); the guest mounts it and writes a file; a
# snapshot freezes the top into DIR/disk; the guest writes a second file;
# a restore from the snapshot with its chain sees the first and not the
# second; a live fork gives two children the same chain under their own
# tops, each writes its own file and neither sees the other's; a
# flattened snapshot restores from its one layer alone.
#
# The guest takes commands from the first sector of its read-only
# /dev/vda (a host file the test rewrites; the guest drops its caches to
# see it) and answers on the serial console; /dev/hwrng (virtio-rng,
# fresh host randomness in each VM) names a fork child's file.
. "$(dirname "$0")/t1-vmm-common.sh"

guest_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do
	[ -n "$m" ] && insmod "/modules/$m.ko"
done </modules/order
cmd() {
	blockdev --flushbufs /dev/vda 2>/dev/null
	echo 3 >/proc/sys/vm/drop_caches
	dd if=/dev/vda bs=512 count=1 2>/dev/null | tr -d '\000'
}
files() { ls /mnt | tr '\n' ,; }
if mount -t ext4 /dev/vdb /mnt; then
	echo "SBXT_DD ready files=$(files)"
else
	echo "SBXT_DD_MOUNT_FAIL"
fi
last=$(cmd)
while :; do
	c=$(cmd)
	if [ "$c" != "$last" ]; then
		last=$c
		set -- $c
		case $1 in
		write)
			echo "$2 data" >"/mnt/$2"
			sync
			;;
		mine)
			# Past what the driver buffered before the fork.
			id=$(head -c 4096 /dev/hwrng | md5sum | cut -c1-12)
			echo "$id" >"/mnt/child-$id"
			sync
			;;
		esac
		echo "SBXT_DD done=$c files=$(files)"
	fi
	sleep 0.5
done
INIT
}
prepare_guest_orig=$(declare -f prepare_guest)
eval "${prepare_guest_orig/-vmm-guest/-dd-guest}"

if [ -z "${SBX_RIG:-}" ]; then
	command -v python3 >/dev/null || skip_all "python3 not installed (the test's control client)"
	command -v mke2fs >/dev/null || skip_all "mke2fs not installed (e2fsprogs)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-dd.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	echo "1..20"
	run_in_rig
	exit $?
fi

L=$logs
mkdir -p "$L"
D=/tmp/sbxt-dd
rm -rf "$D"
mkdir -p "$D"
pids=

# The guest's command: the first sector of its /dev/vda.
say() {
	dd if=/dev/zero of="$D/cmd.img" bs=512 count=1 conv=notrunc 2>/dev/null
	printf '%s' "$1" | dd of="$D/cmd.img" conv=notrunc 2>/dev/null
}
# Waits for the answer to command $2 in log $1; prints its file list.
answer() {
	local i line
	for i in $(seq 600); do
		line=$(grep -a "SBXT_DD done=$2 files=" "$L/$1.log" 2>/dev/null | tail -n 1)
		[ -n "$line" ] && { echo "${line##*files=}"; return 0; }
		sleep 0.1
	done
	echo "(no answer)"
	return 1
}
has() { case ",$1" in *",$2,"*) return 0 ;; esac; return 1; }
cleanup() {
	kill $pids 2>/dev/null
	wait 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

# --- the base layer: a blank ext4 ---------------------------------------------
mke2fs -q -t ext4 -F "$D/base.raw" 64M >/dev/null 2>&1
out=$("$vmm" --make-layer "$D/base.raw" "$D/base.layer" 2>&1)
lsize=$(stat -c %s "$D/base.layer" 2>/dev/null || echo 0)
check "--make-layer keeps only the ext4's non-zero blocks ($out; $lsize bytes of 64 MiB)" \
	test -n "$out" -a "$lsize" -gt 0 -a "$lsize" -lt $((32 << 20))
dd if=/dev/zero of="$D/cmd.img" bs=4096 count=1 2>/dev/null

# --- boot, write, snapshot, write -----------------------------------------------
sock=$D/src.sock
start_vmm src dd --memory 128M --rng --disk "$D/cmd.img,ro" \
	--data-layer "$D/base.layer" --data-disk "$D/src.top" --control "$sock"
pids="$pids $vmm_pid"
src_pid=$vmm_pid
wait_log src 'SBXT_DD ready' >/dev/null
check "the guest mounts the data disk /dev/vdb ($(grep -ao 'SBXT_DD[^ ]* [^ ]*' "$L/src.log" | head -n 1))" \
	grep -aq 'SBXT_DD ready files=lost+found,' "$L/src.log"
say "write first"
f=$(answer src "write first")
check "the guest writes /mnt/first ($f)" has "$f" first
rep=$(client "$sock" '{"op":"stats"}')
mark=$(grep -o '"mark":"[^"]*"' <<<"$rep" | head -n 1 | cut -d'"' -f4)
check "stats show the data disk: 1 layer, blocks in the top, a mark ($mark)" \
	test "$(grep -o '"layers":[0-9]*' <<<"$rep")" = '"layers":1' -a -n "$mark" \
	-a "$(grep -o '"top_blocks":[0-9]*' <<<"$rep" | cut -d: -f2)" -gt 0
rep=$(client "$sock" "{\"op\":\"snapshot\",\"dir\":\"$D/snap\",\"disk_since\":\"$mark\"}")
echo "# snapshot: $rep"
check "snapshot with disk_since = the mark freezes the top alone into DIR/disk" \
	test "$(field "$rep" ok)|$(field "$rep" disk_full)" = "true|false" \
	-a "$(field "$rep" disk_blocks)" -gt 0 -a -f "$D/snap/disk" -a -f "$D/snap/state"
dmark=$(field "$rep" disk_mark)
check "the reply gives a new disk mark ($dmark)" test -n "$dmark" -a "$dmark" != "$mark"
rep=$(client "$sock" '{"op":"stats"}')
check "the VMM stacks DIR/disk on its chain (2 layers)" \
	test "$(grep -o '"layers":[0-9]*' <<<"$rep")" = '"layers":2'
say "write second"
f=$(answer src "write second")
check "the guest writes /mnt/second after the snapshot ($f)" has "$f" second
kill "$src_pid"
wait "$src_pid" 2>/dev/null

# --- restore --------------------------------------------------------------------
say "ls 1"
"$vmm" --restore "$D/snap" --serial-log "$L/bad.log" 2>"$L/bad.err"
st=$?
check "a restore without the data disk is refused (status $st: $(tail -n 1 "$L/bad.err"))" \
	bash -c "[ $st = 2 ] && grep -q 'has a data disk' '$L/bad.err'"
"$vmm" --restore "$D/snap" --data-layer "$D/cmd.img" --data-disk "$D/bad.top" \
	--serial-log "$L/bad2.log" 2>"$L/bad2.err"
st=$?
check "a chain with a non-layer is refused (status $st: $(tail -n 1 "$L/bad2.err"))" \
	bash -c "[ $st = 1 ] && grep -q 'not an sbx disk layer' '$L/bad2.err'"
rsock=$D/r1.sock
"$vmm" --restore "$D/snap" --data-layer "$D/base.layer" --data-layer "$D/snap/disk" \
	--data-disk "$D/r1.top" --serial-log "$L/r1.log" --control "$rsock" \
	--id sb-testr1 2>"$L/r1.err" &
r1_pid=$!
pids="$pids $r1_pid"
f=$(answer r1 "ls 1")
check "the restored guest has the first file ($f)" has "$f" first
check "and not the one written after the snapshot" bash -c "case ',$f' in *,second,*) exit 1;; esac; exit 0"

# --- fork -----------------------------------------------------------------------
rep=$(client "$rsock" '{"op":"stats"}')
rmark=$(grep -o '"mark":"[^"]*"' <<<"$rep" | head -n 1 | cut -d'"' -f4)
req="{\"op\":\"fork\",\"disk_layer\":\"$D/fork.layer\",\"disk_since\":\"$rmark\","
req+="\"disk_layers\":[\"$D/base.layer\",\"$D/snap/disk\"],\"children\":["
for i in 1 2; do
	[ $i = 1 ] || req+=','
	req+="{\"control\":\"$D/c$i.sock\",\"serial_log\":\"$L/c$i.log\",\"log\":\"$L/c$i.err\",\"id\":\"sb-testc$i\",\"disk_top\":\"$D/c$i.top\"}"
done
req+=']}'
rep=$(client "$rsock" "$req")
echo "# fork: $rep"
kids=$(grep -o '"pid":[0-9]*' <<<"$rep" | cut -d: -f2)
pids="$pids $kids"
check "fork of 2 children over the frozen top succeeds (disk_full false)" \
	test "$(field "$rep" ok)|$(field "$rep" disk_full)|$(wc -w <<<"$kids")" = "true|false|2"
check "the parent and both children report disk marks" \
	test "$(grep -o '"disk_mark":"[^"]*"' <<<"$rep" | sort -u | wc -l)" = 3
say "mine 1"
f1=$(answer c1 "mine 1")
f2=$(answer c2 "mine 1")
fp=$(answer r1 "mine 1")
echo "# child 1: $f1; child 2: $f2; parent: $fp"
n1=$(tr , '\n' <<<"$f1" | grep -c '^child-')
n2=$(tr , '\n' <<<"$f2" | grep -c '^child-')
check "each child keeps the first file" bash -c "case ',$f1' in *,first,*) ;; *) exit 1;; esac; case ',$f2' in *,first,*) ;; *) exit 1;; esac"
check "each child sees exactly one child file, its own ($n1, $n2)" test "$n1|$n2" = "1|1"
check "the two children's files differ" test -n "$f1" -a "$f1" != "$f2"
rep=$(client "$D/c1.sock" '{"op":"stats"}')
check "a child's chain is the parent's two layers and the fork layer" \
	test "$(grep -o '"layers":[0-9]*' <<<"$rep")" = '"layers":3'

# --- a flattened snapshot restores alone ------------------------------------------
rep=$(client "$D/c1.sock" "{\"op\":\"snapshot\",\"dir\":\"$D/snap2\"}")
echo "# flattened snapshot: $rep"
check "a snapshot without disk_since is flattened (disk_full true)" \
	test "$(field "$rep" ok)|$(field "$rep" disk_full)" = "true|true"
for p in $kids $r1_pid; do kill "$p" 2>/dev/null; done
say "ls 2"
"$vmm" --restore "$D/snap2" --data-layer "$D/snap2/disk" --data-disk "$D/r2.top" \
	--serial-log "$L/r2.log" --id sb-testr2 2>"$L/r2.err" &
pids="$pids $!"
f=$(answer r2 "ls 2")
check "a restore from the flattened layer alone has child 1's files ($f)" \
	test "$f" = "$f1"
for f in src r1 c1 r2; do sed "s/^/# $f: /" "$L/$f.err" 2>/dev/null | tail -n 3; done
finish
