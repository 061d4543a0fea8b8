#!/bin/bash
# t70-top.sh - sbx top over a sandbox whose sbx-vmm really runs a Debian
# guest in the rig: --once shows it running with host RSS/PSS, CPU % and
# uptime from the kvm backend's stats op (control socket + smaps_rollup);
# in tmux, 'f' forks it (or says the backend cannot yet), 'x' stops it
# (the VMM exits, the record says stopped) and 'q' quits.
#
# The sandbox record is written by hand around a VMM started the way
# t1-vmm-common.sh does, so this needs neither templates nor images.
. "$(dirname "$0")/t1-vmm-common.sh"

if [ -z "${SBX_RIG:-}" ]; then
	command -v tmux >/dev/null || skip_all "tmux not installed (apt-get install tmux)"
	[ -x "$top_build/sbx" ] || skip_all "sbx is not built"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-top.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	echo "1..8"
	run_in_rig
	exit $?
fi

sbx=$top_build/sbx
export SBX_HOME=/tmp/sbxt-top/home XDG_RUNTIME_DIR=/tmp/sbxt-top/run
id=sb-toptoptop234
rm -rf /tmp/sbxt-top
mkdir -p "$XDG_RUNTIME_DIR/sbx/$id"
"$sbx" ls >/dev/null 2>&1 || { echo "Bail out! sbx cannot open its store"; exit 1; }
start_vmm top idle --memory 256M --vcpus 2 \
	--control "$XDG_RUNTIME_DIR/sbx/$id/ctl.sock"
ms=$(wait_log top SBXT_IDLE) && echo "# boot: exec to idle guest ${ms} ms"
mkdir -p "$SBX_HOME/sandboxes/$id"
cat >"$SBX_HOME/sandboxes/$id/sandbox.json" <<JSON
{"version": 1, "id": "$id", "name": "live", "state": "running",
 "template": "rig", "spec": {"vcpus": 2, "memory": 268435456, "disk": 0},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
 "pid": $vmm_pid}
JSON

out=$("$sbx" top --once --interval 1s 2>&1)
echo "$out" | sed 's/^/# /'
row=$(grep "^$id " <<<"$out")
check "--once lists the sandbox as running" grep -Eq "^$id +live +rig +running +2 +256M " <<<"$row"
# RSS and PSS: sizes such as 180M; CPU % a number; uptime in seconds.
check "--once shows host RSS and PSS of the VMM" \
	grep -Eq " +256M +[0-9.]+[KMG] +[0-9.]+[KMG] +[0-9]+\.[0-9] " <<<"$row"
check "--once shows the uptime" grep -Eq " [0-9]+(s|m[0-9]+s) +[0-9]" <<<"$row"

TM="tmux -L sbxt-top-$$ -f /dev/null"
$TM new-session -d -s top -x 160 -y 30 \
	"env PATH='$PATH' SBX_HOME='$SBX_HOME' XDG_RUNTIME_DIR='$XDG_RUNTIME_DIR' \
	TERM=xterm-256color '$sbx' top --interval 1s; sleep 60"
screen() { $TM capture-pane -p -t top; }
wait_for() { # wait_for REGEX [SECONDS]
	local i
	for i in $(seq $((${2:-60} * 10))); do
		screen | grep -Eq -- "$1" && return 0
		sleep 0.1
	done
	screen | sed 's/^/# /'
	return 1
}
check "the dashboard shows the running sandbox" wait_for "$id +live .* running"
$TM send-keys -t top f
if wait_for "how many sandboxes|'fork' is not supported by backend 'kvm'"; then
	if screen | grep -q "how many"; then
		$TM send-keys -t top 2 Enter
		check "'f' forks two sandboxes" wait_for "forked $id: sb-[a-z2-7]+ sb-[a-z2-7]+" 300
	else
		ok "'f' says the kvm backend cannot fork yet"
	fi
else
	not_ok "'f' neither forks nor explains"
fi
$TM send-keys -t top g x
check "'x' stops the sandbox" wait_for "stopped $id" 120
sleep 0.5
check "its VMM is gone" bash -c "! kill -0 $vmm_pid 2>/dev/null || grep -q '^State:.*Z' /proc/$vmm_pid/status"
check "its record says stopped" \
	grep -q '"state": *"stopped"' "$SBX_HOME/sandboxes/$id/sandbox.json"
$TM send-keys -t top q
sleep 1
$TM kill-server 2>/dev/null
wait "$vmm_pid" 2>/dev/null
finish
