#!/bin/bash
# t42-idle.sh - auto-hibernation: a sandbox created with --idle-timeout
# hibernates on its own once no exec/cp/shell has touched it for that
# long (its VMM exits, sbx ls says hibernated), and the next exec wakes it
# with its files and processes intact.
set -u
if [ -z "${SBX_RIG:-}" ] && [ ! -e /dev/kvm -o -e /sys/module/kvm_pvm ]; then
	exec "${SBX_TOP_SRCDIR:-.}/tests/rig/run" -- bash "$0" "$@"
fi
export SBX_HOME=${SBX_RIG_HOME:?SBX_RIG_HOME is not set (make check-rig sets it)}
export SBX_LIBEXECDIR=${SBX_LIBEXECDIR:-$SBX_TOP_BUILDDIR}
export SBX_BOOT_TIMEOUT=${SBX_BOOT_TIMEOUT:-3m}
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { [ "$1" = "$2" ]; ok $? "$3"; [ "$1" = "$2" ] || printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; }
state() { sbx inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
echo "1..8"

id=$(sbx create --memory 512M --idle-timeout 15s)
ok $? "create --idle-timeout 15s"
pid=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
sbx exec "$id" -- sh -c 'echo kept >/tmp/x; setsid sh -c "sleep 100000" </dev/null >/dev/null 2>&1 &'
is "$(state "$id")" running "it runs while used"
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 180 ] && [ "$(state "$id")" != hibernated ]; do sleep 2; done
took=$((SECONDS - t0))
is "$(state "$id")" hibernated "left alone, it hibernates by itself (after ${took} s)"
ok $( { ! kill -0 "$pid" 2>/dev/null || grep -q '^State:.*Z' "/proc/$pid/status"; } && echo 0 || echo 1) "its VMM has exited"
grep 'idle for' "$SBX_HOME/sandboxes/$id/vmm.log" | sed 's/^/# /'
is "$(sbx exec "$id" -- cat /tmp/x 2>&1)|$(state "$id")" "kept|running" "exec wakes it with its files"
is "$(sbx exec "$id" -- sh -c 'pgrep -x sleep >/dev/null && echo alive')" alive "and its processes"
# The race: an exec that arrives while the VMM is writing its idle
# snapshot (its I/O thread busy, then the process gone) must wait for it
# and wake the sandbox, not fail. The VMM marks that window with a file.
hib="$SBX_HOME/sandboxes/$id/hibernate"
t0=$SECONDS
while [ $((SECONDS - t0)) -lt 180 ] && [ ! -e "$hib/idle-hibernating" ]; do sleep 0.05; done
seen=$([ -e "$hib/idle-hibernating" ] && echo yes || echo no)
t1=$(date +%s%N)
out=$(sbx exec "$id" -- cat /tmp/x 2>&1)
st=$?
is "$seen|$st|$out|$(state "$id")" "yes|0|kept|running" \
	"an exec made while the VMM writes its idle snapshot waits and wakes it ($(( ($(date +%s%N) - t1) / 1000000 )) ms)"
is "$(grep -c 'hibernated into' "$SBX_HOME/sandboxes/$id/vmm.log")" 2 "that hibernation did happen (the exec raced it)"
sbx rm -f "$id" >/dev/null 2>&1
exit $failed
