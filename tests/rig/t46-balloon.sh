#!/bin/bash
# t46-balloon.sh - live memory resize through the virtio-balloon (issue
# #6): a 1 GiB sandbox touches 400 MiB of its RAM and frees it; `sbx
# resize --memory 512M` must take 512 MiB from the guest while it runs
# (MemTotal drops by that much, the balloon's `actual` reaches the
# target), the sbx-vmm's host RSS must drop, the guest keeps working, the
# record shows the live target; a hibernate + resume keeps the target;
# `sbx resize --memory 1G` gives it all back; more than the boot size
# stays pending for the next boot; the same resize works through `sbx
# --remote`. Prints "# bench:" lines with the host RSS before and after.
set -u
. "$(dirname "$0")/lib.sh"
id= spid=
cleanup() {
	[ -n "$id" ] && sbx rm -f "$id" >/dev/null 2>&1
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
pid_of() { sbx inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("pid", 0))'; }
extra() { sbx inspect "$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get('extra', {}).get('$2', 'none'))"; }
rss_kib() { awk '/^Rss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
memtotal() { sbx exec "$1" -- grep '^MemTotal:' /proc/meminfo | tr -s ' ' | cut -d' ' -f2; }
# The VMM's balloon figures (control socket `stats`): "target actual" MiB.
balloon() {
	python3 - "$1" <<'EOF'
import json, os, socket, sys
run = os.environ.get("XDG_RUNTIME_DIR", "")
if run.startswith("/") and os.path.isdir(run) and os.access(run, os.W_OK):
    d = os.path.join(run, "sbx")
else:
    d = "/tmp/sbx-%d" % os.getuid()
s = socket.socket(socket.AF_UNIX)
s.connect(os.path.join(d, sys.argv[1], "ctl.sock"))
s.sendall(b'{"op":"stats"}\n')
buf = b""
while not buf.endswith(b"\n"):
    c = s.recv(65536)
    if not c:
        break
    buf += c
b = json.loads(buf)["balloon"]
print(b["target"] >> 20, b["actual"] >> 20, b["bad_pfns"])
EOF
}
near() { [ "$1" -ge $(($2 - $3)) ] && [ "$1" -le $(($2 + $3)) ]; }
# wait_balloon ID MIB: until the guest has MIB MiB (the balloon's actual),
# at most 240 s (the rig's nested guests balloon ~20 MiB/s, hardware
# ~100x faster); sets waited (ms).
wait_balloon() {
	local t0=$(now_ms)
	while :; do
		[ "$(balloon "$1" | cut -d' ' -f2)" = "$2" ] && break
		[ $(($(now_ms) - t0)) -gt 240000 ] && break
		sleep 1
	done
	waited=$(($(now_ms) - t0))
}

id=$(sbx create --memory 1G 2>"$T/create.err")
ok $? "a 1 GiB sandbox boots"
[ -n "$id" ] || { sed 's/^/# /' "$T/create.err"; echo "1..$n"; exit 1; }
drv=$(sbx exec "$id" -- sh -c 'ls /sys/bus/virtio/drivers/virtio_balloon | grep -c virtio')
is "$drv" 1 "the guest's virtio_balloon driver is bound to one device"
mt0=$(memtotal "$id")
echo "# guest MemTotal at boot: $mt0 kB"

# 400 MiB of guest RAM touched (a tmpfs file), then freed.
sbx exec "$id" -- sh -c 'dd if=/dev/zero of=/dev/shm/big bs=1M count=400 2>/dev/null && rm /dev/shm/big'
ok $? "the guest touches 400 MiB and frees it"
pid=$(pid_of "$id")
rss0=$(rss_kib "$pid")
echo "# sbx-vmm RSS after the guest touched and freed 400 MiB: $rss0 KiB"

t0=$(now_ms)
out=$(sbx resize --memory 512M "$id" 2>"$T/resize.err")
st=$?
ms=$(($(now_ms) - t0))
echo "# $out"
sed 's/^/# /' "$T/resize.err"
is "$st" 0 "sbx resize --memory 512M succeeds on the running sandbox (${ms} ms)"
case $out in *"memory 512 MiB, live (booted with 1024 MiB); the guest has "[0-9]*" MiB") ok 0 "it says the change is live and what the guest has so far" ;;
*) ok 1 "it says the change is live and what the guest has so far (got: $out)" ;; esac
wait_balloon "$id" 512
echo "# the guest reached the target $((waited / 1000)) s after sbx resize returned"
mt1=$(memtotal "$id")
drop=$((mt0 - mt1))
near "$drop" 524288 4096
ok $? "the guest's MemTotal drops by 512 MiB ($mt0 -> $mt1 kB, -$drop kB)"
is "$(balloon "$id")" "512 512 0" "the VMM's balloon: target 512 MiB, actual 512 MiB, no bad PFNs"
sleep 1
rss1=$(rss_kib "$pid")
freed=$((rss0 - rss1))
echo "# bench: balloon 1 GiB -> 512M live: sbx-vmm RSS $((rss0 / 1024)) MiB -> $((rss1 / 1024)) MiB (-$((freed / 1024)) MiB); guest MemTotal -$((drop / 1024)) MiB; target reached $(((ms + waited) / 1000)) s after the request (rig: nested under TCG)"
[ "$freed" -ge $((200 * 1024)) ]
ok $? "the host gets memory back: sbx-vmm RSS drops by at least 200 MiB (-$((freed / 1024)) MiB)"
is "$(sbx exec "$id" -- sh -c 'echo alive; head -c 50M /dev/zero | wc -c')" "alive
52428800" "the guest still works (exec, 50 MiB through a pipe)"
is "$(extra "$id" memory_target)" 536870912 "sbx inspect records the live target (extra.memory_target)"
lsmem=$(sbx ls | awk -v id="$id" '$1 == id { print $6 }')
case $lsmem in 512M|512.0M) ok 0 "sbx ls shows $lsmem" ;; *) ok 1 "sbx ls shows 512M (got '$lsmem')" ;; esac

# Hibernate + resume keeps the target (device state in the snapshot).
sbx hibernate "$id" >/dev/null 2>"$T/hib.err"
ok $? "hibernate"
sbx resume "$id" >/dev/null 2>"$T/res.err"
ok $? "resume"
is "$(balloon "$id")" "512 512 0" "after resume the balloon still holds 512 MiB (target and actual)"
is "$(memtotal "$id")" "$mt1" "after resume MemTotal is still $mt1 kB"
pid=$(pid_of "$id")
rss2=$(rss_kib "$pid")
echo "# bench: sbx-vmm RSS after hibernate + resume with 512 MiB ballooned: $((rss2 / 1024)) MiB"
is "$(extra "$id" memory_target)" 536870912 "the record keeps the target across hibernate + resume"

out=$(sbx resize --memory 1G "$id" 2>"$T/resize2.err")
ok $? "sbx resize --memory 1G gives it back (${out})"
sed 's/^/# /' "$T/resize2.err"
wait_balloon "$id" 1024
echo "# the guest took its 512 MiB back $((waited / 1000)) s after sbx resize returned"
mt2=$(memtotal "$id")
near "$mt2" "$mt0" 1024
ok $? "MemTotal is back ($mt2 kB, at boot $mt0 kB)"
is "$(balloon "$id")" "1024 1024 0" "the VMM's balloon is empty again"
is "$(extra "$id" memory_target)" none "the record drops the target"
# 700 MiB held at once (two tmpfs files: each tmpfs takes at most half
# of RAM); with 512 MiB still ballooned this would not fit.
sbx exec "$id" -- sh -c 'dd if=/dev/zero of=/dev/shm/a bs=1M count=400 2>/dev/null &&
	dd if=/dev/zero of=/tmp/b bs=1M count=300 2>/dev/null; r=$?; [ $r = 0 ] || df -m /dev/shm /tmp; rm -f /dev/shm/a /tmp/b; exit $r' 2>&1 | sed 's/^/# /'
ok ${PIPESTATUS[0]} "the guest can use 700 MiB again"

# More than it booted with: recorded for the next boot, nothing live.
out=$(sbx resize --memory 2G "$id" 2>"$T/resize3.err")
st=$?
echo "# $out"
case "$st|$out" in "0|"*"2048 MiB at its next start"*) ok 0 "--memory 2G is left for the next boot and says so" ;;
*) ok 1 "--memory 2G is left for the next boot and says so (status $st: $out)" ;; esac
is "$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["extra"]["resize"]["memory"])')" 2147483648 "the record's pending resize says 2 GiB"
is "$(memtotal "$id")" "$mt2" "the guest keeps its MemTotal"

# The same through `sbx serve` and `sbx --remote`.
serve_start --timeout 15m
if [ -n "$url" ]; then
	tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)
	out=$(SBX_TOKEN=$tok sbx --remote "$url" resize --memory 768M "$id" 2>"$T/remote.err")
	st=$?
	echo "# remote: $out"
	sed 's/^/# /' "$T/remote.err"
	case "$st|$out" in "0|"*"memory 768 MiB, live (booted with 1024 MiB); the guest has "[0-9]*" MiB") ok 0 "sbx --remote resize --memory 768M is live" ;;
	*) ok 1 "sbx --remote resize --memory 768M is live (status $st: $out)" ;; esac
	wait_balloon "$id" 768
	is "$(balloon "$id")" "768 768 0" "the VMM's balloon holds 256 MiB after the remote resize"
	is "$(extra "$id" resize)" none "the live resize replaced the pending 2 GiB"
else
	ok 1 "sbx serve listens"
	sed 's/^/# /' "$T/serve.err"
fi
echo "1..$n"
exit $failed
