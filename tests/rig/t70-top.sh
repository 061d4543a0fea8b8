#!/bin/bash
# t70-top.sh - sbx top over a real sandbox (the default image, booted by
# sbx create in the rig): --once shows it running with host RSS/PSS, CPU %
# and uptime from the kvm backend's stats op; in tmux every action changes
# the sandbox's state: 'f' forks two copies, 'h' hibernates, 'r' resumes,
# 'x' stops (the VMM exits), 'd' + 'y' removes a fork; 'q' quits.
set -u
if [ -z "${SBX_RIG:-}" ] && [ ! -e /dev/kvm -o -e /sys/module/kvm_pvm ]; then
	exec "${SBX_TOP_SRCDIR:-.}/tests/rig/run" -- bash "$0" "$@"
fi
command -v tmux >/dev/null || { echo "1..0 # SKIP tmux not installed (apt-get install tmux)"; exit 77; }
export SBX_HOME=${SBX_RIG_HOME:?SBX_RIG_HOME is not set (make check-rig sets it)}
export SBX_LIBEXECDIR=${SBX_LIBEXECDIR:-$SBX_TOP_BUILDDIR}
export SBX_BOOT_TIMEOUT=${SBX_BOOT_TIMEOUT:-3m}
testno=0 failures=0
ok() { testno=$((testno + 1)); echo "ok $testno - $*"; }
not_ok() { testno=$((testno + 1)); failures=$((failures + 1)); echo "not ok $testno - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
state_of() { sbx inspect "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' 2>/dev/null; }

id=$(sbx create --vcpus 2 --memory 512M --name live) || { echo "Bail out! sbx create failed"; exit 1; }
vmm_pid=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
sleep 2
out=$(sbx top --once --interval 1s 2>&1)
echo "$out" | sed 's/^/# /'
row=$(grep "^$id " <<<"$out")
check "--once lists the sandbox as running" grep -Eq "^$id +live +default +running +2 +512M " <<<"$row"
check "--once shows host RSS and PSS of the VMM" \
	grep -Eq " +512M +[0-9.]+[KMG] +[0-9.]+[KMG] +[0-9]+\.[0-9] " <<<"$row"
check "--once shows the uptime" grep -Eq " [0-9]+(s|m[0-9]+s) +[0-9]" <<<"$row"

TM="tmux -L sbxt-top-$$ -f /dev/null"
$TM new-session -d -s top -x 170 -y 30 \
	"env PATH='$PATH' SBX_HOME='$SBX_HOME' SBX_LIBEXECDIR='$SBX_LIBEXECDIR' \
	SBX_BOOT_TIMEOUT='$SBX_BOOT_TIMEOUT' XDG_RUNTIME_DIR='${XDG_RUNTIME_DIR:-}' \
	TERM=xterm-256color sbx top --interval 1s; sleep 60"
trap '$TM kill-server 2>/dev/null' EXIT
screen() { $TM capture-pane -p -t top; }
wait_for() { # wait_for REGEX [SECONDS], by the clock: under emulation
	local end=$((SECONDS + ${2:-60}))  # each capture takes a while
	while [ $SECONDS -lt $end ]; do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	screen | sed 's/^/# /'
	return 1
}
check "the dashboard shows the running sandbox" wait_for "$id +live .* running"

# f: two live copies, both running with their parent shown.
$TM send-keys -t top g f
check "'f' asks how many" wait_for "how many"
$TM send-keys -t top C-u 2 Enter
check "'f' forks two sandboxes" wait_for "forked $id: sb-[a-z2-7]+ sb-[a-z2-7]+" 300
forks=$(sbx ls --json | python3 -c "import json,sys; print(' '.join(s['id'] for s in json.load(sys.stdin) if s.get('parent') == '$id'))")
n=0; for f in $forks; do [ "$(state_of "$f")" = running ] && n=$((n + 1)); done
check "both copies are running with '$id' as parent ($forks)" test "$n" = 2

# h: hibernated, VMM gone; r: running again and the agent answers.
$TM send-keys -t top g h
check "'h' hibernates the sandbox" wait_for "hibernated $id" 300
check "its record says hibernated" test "$(state_of "$id")" = hibernated
check "its VMM is gone" bash -c "! kill -0 $vmm_pid 2>/dev/null"
$TM send-keys -t top g r
check "'r' resumes it" wait_for "resumed $id" 300
check "the dashboard shows it running again" wait_for "$id +live .* running" 120
check "its record says running" test "$(state_of "$id")" = running
check "the resumed guest answers" test "$(sbx exec "$id" -- echo back)" = back

# x: stopped, VMM gone.
vmm_pid=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
$TM send-keys -t top g x
check "'x' stops the sandbox" wait_for "stopped $id" 120
sleep 0.5
check "its VMM is gone after stop" bash -c "! kill -0 $vmm_pid 2>/dev/null || grep -q '^State:.*Z' /proc/$vmm_pid/status"
check "its record says stopped" test "$(state_of "$id")" = stopped

# d + y: a fork is removed (it is the last row: sorted by creation).
victim=${forks##* }
$TM send-keys -t top G d
check "'d' asks before removing" wait_for "remove|delete" 30
$TM send-keys -t top y
for i in $(seq 300); do sbx inspect "$victim" >/dev/null 2>&1 || break; sleep 0.2; done
check "'d' + 'y' removed the fork $victim" bash -c "! sbx inspect $victim >/dev/null 2>&1"
$TM send-keys -t top q
sleep 1
sbx rm -f "$id" $forks >/dev/null 2>&1
echo "1..$testno"
[ $failures = 0 ]
