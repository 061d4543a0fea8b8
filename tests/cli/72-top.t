#!/bin/sh
# sbx top: --once output, and the dashboard driven through tmux over
# sandbox records in a temporary store (stopped, hibernated, error: no VM
# needed): the table, colours and NO_COLOR, the filter, delete with
# confirmation, resize, a missing backend op, quit. A fake control socket
# server standing in for sbx-vmm checks the stats path (CPU %, RSS, PSS).
# Running sandboxes for real: tests/rig/t70-top.sh.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"

if ! command -v tmux >/dev/null 2>&1; then
	echo "1..0 # SKIP tmux is not installed (apt-get install tmux)"
	exit 0
fi
plan 31

run sbx top --once
is "$rc" 0 "--once on an empty store exits 0"
like "$out" "no sandboxes" "--once says there are no sandboxes"
run sbx top --interval 10ms --once
is "$rc" 2 "--interval below 100ms is refused"
run sbx top extra
is "$rc" 2 "top takes no operands"

sbx ls >/dev/null 2>&1
mk() {
	mkdir -p "$SBX_HOME/sandboxes/$1"
	cat >"$SBX_HOME/sandboxes/$1/sandbox.json" <<JSON
{"version": 1, "id": "$1", "name": "$2", "state": "$3", "template": "base",
 "spec": {"vcpus": 2, "memory": 536870912, "disk": 4294967296},
 "created": "2026-01-0$4T00:00:00Z", "updated": "2026-01-01T00:00:00Z"${5:-}}
JSON
}
mk sb-stopstop2345 alpha stopped 1
mk sb-hibehibe2345 beta hibernated 2 ', "ports": [{"host": 8080, "guest": 80, "proto": "tcp"}]'
mk sb-errorerr2345 gamma error 3 ', "parent": "sb-hibehibe2345"'

run sbx top --once
like "$out" '^3 sandboxes: 1 hibernated, 1 stopped, 1 error' "--once summary counts states"
like "$out" '^ID +NAME +TEMPLATE +STATE +VCPU +MEM +RSS +PSS +CPU% +HISTORY +UPTIME +IDLE +PARENT +PORTS$' \
	"--once prints the header"
like "$out" '^sb-stopstop2345 +alpha +base +stopped +2 +512M +- +- +- +- +- ' "--once row of the stopped sandbox"
like "$out" '^sb-hibehibe2345 .* 8080->80$' "--once shows ports"
like "$out" '^sb-errorerr2345 .* sb-hibehibe2345 +-$' "--once shows the parent"
first=$(printf '%s\n' "$out" | sed -n 3p | cut -c1-15)
is "$first" "sb-stopstop2345" "--once rows are oldest first"
run sbx top --once --json
got=$(printf '%s' "$out" | python3 -c 'import json, sys
v = json.load(sys.stdin)
print(" ".join(s["id"] + ":" + s["state"] + ":" + str(s["live"]["cpu_history"]) for s in v))' 2>&1)
is "$got" "sb-stopstop2345:stopped:[] sb-hibehibe2345:hibernated:[] sb-errorerr2345:error:[]" \
	"--once --json lists the records with their live figures"

# The dashboard in a detached tmux session on a private server.
TM="tmux -L sbx-top-$$ -f /dev/null"
trap '$TM kill-server 2>/dev/null; rm -rf "$T"' EXIT
start() {
	$TM kill-session -t top 2>/dev/null
	rm -f "$T/exit"
	$TM new-session -d -s top -x 150 -y 30 \
		"env PATH='$PATH' SBX_HOME='$SBX_HOME' TERM=xterm-256color $1 \
		sbx top --interval 300ms; echo \$? >'$T/exit'; sleep 60"
}
screen() { $TM capture-pane -p -t top ${1:-}; }
# Waits up to 10 s for the screen to match (or, with !, not match).
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		if [ "$1" = "!" ]; then
			screen | grep -Eq -- "$2" || return 0
		else
			screen | grep -Eq -- "$1" && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
keys() { $TM send-keys -t top "$@"; }

start ""
wait_for 'sb-errorerr2345'
ok $? "the dashboard shows the sandboxes"
s=$(screen)
like "$s" 'sb-stopstop2345 +alpha +base +stopped' "the stopped sandbox's row"
like "$s" 'sb-hibehibe2345 +beta +base +hibernated' "the hibernated sandbox's row"
like "$s" '3 sandboxes: 1 hibernated, 1 stopped, 1 error' "the title counts states"
screen -e | grep -q "$(printf '\033\\[31m')sb-errorerr2345"
ok $? "an error sandbox is red"

keys / b e t a Enter
wait_for '!' 'sb-stopstop2345'
ok $? "'/' filter hides what does not match"
like "$(screen)" 'sb-hibehibe2345' "the filter keeps what matches"
keys / C-u Enter
wait_for 'sb-stopstop2345'
ok $? "an empty filter shows everything again"

keys / a l p h a Enter
wait_for '!' 'sb-errorerr2345'
keys d
wait_for 'delete sb-stopstop2345\? \[y/N\]'
ok $? "'d' asks for confirmation"
keys n
wait_for 'not deleted'
ok $? "'n' keeps the sandbox"
test -f "$SBX_HOME/sandboxes/sb-stopstop2345/sandbox.json"
ok $? "the record is still there after 'n'"
keys d
wait_for '\[y/N\]'
keys y
wait_for 'deleted sb-stopstop2345'
ok $? "'y' deletes it"
test -e "$SBX_HOME/sandboxes/sb-stopstop2345"
is "$?" 1 "the deleted sandbox's record is gone"
keys / C-u Enter
wait_for '2 sandboxes: 1 hibernated, 1 error'
ok $? "the dashboard counts what is left"

$TM resize-window -t top -x 60 -y 12 2>/dev/null
wait_for '^ID '
s=$(screen)
like "$s" 'sb-hibehibe2345' "after a resize the table is redrawn"
keys q
i=0; while [ ! -f "$T/exit" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "$(cat "$T/exit" 2>/dev/null)" 0 "'q' quits with status 0"

start "NO_COLOR=1"
wait_for 'sb-errorerr2345'
screen -e | grep -q "$(printf '\033\\[3[0-7]m')"
is "$?" 1 "NO_COLOR turns colours off"
keys q

# Live figures through the stats op, from a stand-in for sbx-vmm's control
# socket (the real one runs in the rig): CPU %, RSS, PSS, uptime.
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
if [ -z "$py" ]; then
	for i in 1 2 3; do echo "ok $((_n + i)) # SKIP python3 missing"; done
	exit 0
fi
export XDG_RUNTIME_DIR="$T/run"
id=sb-runrunrun234
mkdir -p "$XDG_RUNTIME_DIR/sbx/$id" "$T/bin"
# kvm_vmm_alive wants a process named sbx-vmm.
ln -s "$py" "$T/bin/sbx-vmm"
cat >"$T/fake-vmm.py" <<'PY'
import json, os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
t0 = time.time()
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    for line in f:
        op = json.loads(line)["op"]
        up = int((time.time() - t0) * 1000)
        rep = {"ok": True}
        if op == "hello":
            rep.update(proto=1, vmm="fake", pid=os.getpid())
        elif op == "stats":
            # Each of 2 vCPUs busy a quarter of the time: 50% of a CPU.
            rep.update(uptime_ms=up, rss=1, console_bytes=0, devices=[],
                       vcpus=[{"index": i, "cpu_ns": up * 250000}
                              for i in range(2)])
        elif op == "status":
            rep.update(state="running", uptime_ms=up, vcpus=2)
        f.write((json.dumps(rep) + "\n").encode())
        f.flush()
    c.close()
PY
"$T/bin/sbx-vmm" "$T/fake-vmm.py" "$XDG_RUNTIME_DIR/sbx/$id/ctl.sock" &
fake=$!
trap 'kill $fake 2>/dev/null; $TM kill-server 2>/dev/null; rm -rf "$T"' EXIT
i=0; while [ ! -S "$XDG_RUNTIME_DIR/sbx/$id/ctl.sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
mk $id web running 4 ", \"pid\": $fake"
run sbx top --once --interval 500ms
like "$out" "^$id +web +base +running +2 +512M +[0-9.]+[KM] +[0-9.]+[KM] +(4[5-9]|5[0-5])\.[0-9] " \
	"stats: CPU % from two samples, host RSS and PSS"
like "$out" "^$id .* [0-9]+s +0s +- +-$" "stats: uptime and idle time"
run sbx top --once --json --interval 500ms
got=$(printf '%s' "$out" | python3 -c 'import json, sys
l = [s for s in json.load(sys.stdin) if s["id"] == sys.argv[1]][0]["live"]
print(l["rss"] > 0, l["pss"] > 0, 45 <= l["cpu_percent"] <= 55, l["uptime_ms"] > 0)' $id 2>&1)
is "$got" "True True True True" "stats: --json has rss, pss, cpu_percent, uptime_ms"
