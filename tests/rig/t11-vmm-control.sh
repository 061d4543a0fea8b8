#!/bin/bash
# t11-vmm-control.sh - sbx-vmm's control socket (hello, status, stats,
# pause, resume, events, stop) against a running Debian guest, and a guest
# kernel panic ending sbx-vmm with the documented status 4 and events.
. "$(dirname "$0")/t1-vmm-common.sh"

if [ -z "${SBX_RIG:-}" ]; then
	command -v python3 >/dev/null || skip_all "python3 not installed (the test's control client)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-vmm-ctl.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	echo "1..14"
	run_in_rig
	exit $?
fi

# The control client: one request per argument, prints "REPLY <json>";
# "sleep:N" pauses, "events" subscribes and prints "EVENT <json>" lines
# until sbx-vmm closes the connection.
client() {
	python3 - "$@" <<'PY'
import json, socket, sys, time
path = sys.argv[1]
print("STARTED", flush=True)
for _ in range(3000):
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
    if a.startswith("sleep:"):
        time.sleep(float(a[6:]))
        continue
    f.write(a + "\n")
    f.flush()
    print("REPLY", f.readline().strip(), flush=True)
    if a == '{"op":"events"}':
        for line in f:
            print("EVENT", line.strip(), flush=True)
PY
}
# JSON fields by pattern (python starts slowly under the rig's emulation).
field() { # field JSON-LINE KEY -> first value of KEY
	grep -o '"'"$2"'":"\{0,1\}[^,"}]*' <<<"$1" | head -n 1 | sed 's/^"[^"]*":"\{0,1\}//'
}
cpu_ns() { field "$1" cpu_ns; }
sum_exits() { grep -o '"exits":[0-9]*' <<<"$1" | awk -F: '{ s += $2 } END { print s + 0 }'; }

sock=/tmp/sbxt-ctl.sock
start_vmm ctl idle --memory 256M --control "$sock"
ms=$(wait_log ctl SBXT_IDLE) && echo "# boot: exec to idle guest ${ms} ms"
out=$(client "$sock" '{"op":"hello","proto":1}' '{"op":"status"}' \
	'{"op":"stats"}' '{"op":"pause"}' '{"op":"status"}' '{"op":"stats"}' \
	sleep:1.5 '{"op":"stats"}' '{"op":"resume"}' '{"op":"status"}' \
	'{"op":"bogus"}' 'not json' '{"op":"hello","proto":2}')
# (no process substitution: the rig's /dev has no /dev/fd)
mapfile -t r <<<"$(sed -n 's/^REPLY //p' <<<"$out")"
check "hello answers protocol 1 (${r[0]})" test "$(field "${r[0]}" proto)" = 1
check "status of a booted guest is running" test "$(field "${r[1]}" state)" = running
echo "# stats: ${r[2]}"
check "stats report host RSS and KVM exits" \
	test "$(field "${r[2]}" rss)" -gt 1000000 -a "$(sum_exits "${r[2]}")" -gt 0
check "pause succeeds and status says paused" \
	test "$(field "${r[3]}" state)" = paused -a "$(field "${r[4]}" state)" = paused
a=$(cpu_ns "${r[5]}") b=$(cpu_ns "${r[6]}")
check "a paused vCPU uses no CPU (+$(((b - a) / 1000)) us in 1.5 s)" test $((b - a)) -lt 20000000
check "resume makes it running again" \
	test "$(field "${r[7]}" state)" = running -a "$(field "${r[8]}" state)" = running
check "unknown op is refused by name" grep -q "unknown op 'bogus'" <<<"${r[9]}"
check "a line that is not JSON gets an error reply" test "$(field "${r[10]}" ok)" = false
check "a client speaking protocol 2 is refused" grep -q "version mismatch" <<<"${r[11]}"
client "$sock" '{"op":"events"}' >"$logs/events" &
evpid=$!
for i in $(seq 600); do grep -q REPLY "$logs/events" && break; sleep 0.5; done
client "$sock" '{"op":"stop"}' >/dev/null
wait "$vmm_pid"
st=$?
wait "$evpid"
check "stop ends sbx-vmm with status 5 (got $st)" test "$st" = 5
check "event subscribers get the exit event" \
	grep -q '"event":"exit","reason":"stopped","status":5' "$logs/events"
check "the control socket is removed" test ! -e "$sock"

sock=/tmp/sbxt-panic.sock
# The client is up and polling for the socket before the VM starts, so it
# subscribes long before the guest panics.
client "$sock" '{"op":"events"}' >"$logs/events2" &
evpid=$!
for i in $(seq 600); do grep -q STARTED "$logs/events2" && break; sleep 0.5; done
start_vmm panic panic --memory 256M --control "$sock"
wait "$vmm_pid"
st=$?
wait "$evpid"
check "a guest kernel panic (reboot=k panic=-1) exits with status 4 (got $st)" test "$st" = 4
check "panic and exit events reach subscribers" \
	bash -c "grep -q '\"event\":\"panic\"' '$logs/events2' &&
		grep -q '\"reason\":\"panic\",\"status\":4' '$logs/events2'"
sed 's/^/# /' "$logs/ctl.err" "$logs/panic.err"
finish
