#!/bin/bash
# t20-sandbox.sh - sandboxes on the local kvm backend, end to end: sbx
# create boots the default image (Debian's kernel, sbx-init, sbx-agent, the
# base root disk) under sbx-vmm, exec/cp/shell work the way a user types
# them, and sbx notices a guest panic and a killed VMM.
#
# The image is made on the host before the rig boots (make check-rig runs
# `sbx image pull` into $SBX_RIG_HOME; L1 has no network).
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
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

kpkg=$(sbx image ls --json | python3 -c 'import json,sys; print([i for i in json.load(sys.stdin) if i["name"]=="default"][0]["kernel_package"])')
t0=$(date +%s%N)
id=$(sbx -v create --vcpus 2 --memory 512M 2>"$T/create.err")
st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sed 's/^/# /' "$T/create.err"
ok $st "create boots to agent-ready (${ms} ms)"
[ $st = 0 ] || { sbx ls; exit 1; }
echo "# bench: create (cold boot to agent ready) ${ms} ms"

is "$(sbx ls --json | python3 -c "import json,sys; print([s['state'] for s in json.load(sys.stdin) if s['id']=='$id'][0])")" running "ls shows it running"
is "$(sbx exec "$id" -- uname -r)" "${kpkg#linux-image-}" "uname -r is the Debian kernel of the image"
sbx exec "$id" -- true; is $? 0 "exit status 0 propagates"
sbx exec "$id" -- false; is $? 1 "exit status 1 propagates"
sbx exec "$id" -- sh -c 'kill -9 $$'; is $? 137 "death by SIGKILL is 137"
sbx exec "$id" -- sh -c 'echo to-out; echo to-err >&2' >"$T/o" 2>"$T/e"
is "$(cat "$T/o")|$(cat "$T/e")" "to-out|to-err" "stdout and stderr stay separate"
is "$(printf 'a\nb\n' | sbx exec -i "$id" -- wc -l)" 2 "stdin is piped"
is "$(sbx exec "$id" -- nproc)" 2 "nproc is 2 with --vcpus 2"
is "$(sbx exec -e GREETING=hi -w /tmp "$id" -- sh -c 'echo $GREETING $PWD')" "hi /tmp" "-e and -w reach the command"
is "$(sbx exec "$id" -- python3 -c 'print(6*7)')" 42 "python3 runs in the base image"

head -c 64M /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
t0=$(date +%s%N)
sbx cp "$T/big" "$id:/tmp/big"; ok $? "cp 64 MiB into the sandbox"
up_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(sbx exec "$id" -- sha256sum /tmp/big | cut -d' ' -f1)" "$want" "the guest sees the same sha256"
t0=$(date +%s%N)
sbx cp "$id:/tmp/big" "$T/back"; ok $? "cp 64 MiB out of the sandbox"
down_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
is "$(sha256sum <"$T/back" | cut -d' ' -f1)" "$want" "it comes back with the same sha256"
echo "# bench: cp in 64 MiB ${up_ms} ms, out ${down_ms} ms"
mkdir -p "$T/tree/sub"; echo one >"$T/tree/a"; echo two >"$T/tree/sub/b"
sbx cp "$T/tree" "$id:/tmp"
is "$(sbx exec "$id" -- cat /tmp/tree/sub/b)" two "cp copies a directory tree into an existing directory"
sbx cp "$id:/tmp/tree" "$T/out"
is "$(cat "$T/out/sub/b")" two "and back out"
is "$(echo piped | sbx cp - "$id:/tmp/p" && sbx cp "$id:/tmp/p" -)" piped "cp - works both ways"

# A PTY shell driven through tmux echoes what is typed.
if command -v tmux >/dev/null; then
	tmux -L sbxt new-session -d -x 100 -y 30 "sbx shell $id"
	sleep 5
	tmux -L sbxt send-keys 'echo pty-$((6*7))' Enter
	for i in $(seq 60); do
		tmux -L sbxt capture-pane -p | grep -q 'pty-42' && break
		sleep 1
	done
	tmux -L sbxt capture-pane -p | grep -q 'pty-42'; ok $? "sbx shell: typed command's output appears"
	tmux -L sbxt send-keys C-]
	sleep 2
	tmux -L sbxt kill-server 2>/dev/null
else
	ok 1 "tmux is installed (apt-get install tmux)"
fi

# resize of a running sandbox to more memory and fewer vCPUs waits for its
# next boot; stop drops memory and keeps the files written since boot
# (they are on the sandbox's data disk); start boots the disk clean with
# the new size.
state() { sbx ls --json | python3 -c "import json,sys; print([s['state'] for s in json.load(sys.stdin) if s['id']=='$1'][0])"; }
memmib() { sbx exec "$1" -- sh -c 'read -r _ kb _ </proc/meminfo; echo $((kb / 1024))'; }
sbx exec "$id" -- sh -c 'echo before-stop >/tmp/mark'
sbx resize --vcpus 1 --memory 768M "$id" >"$T/resize.out" 2>"$T/resize.err"
# (vCPUs, and memory above what it booted with, cannot change live;
# less memory would: t46.)
is "$?|$(cat "$T/resize.out")" "0|$id: 1 vCPUs at its next start (now 2)
$id: 768 MiB at its next start (booted with 512 MiB)" \
	"resize of a running sandbox to more memory is recorded for its next start"
is "$(sbx exec "$id" -- nproc)" 2 "the running guest keeps its vCPUs"
sbx stop "$id"
is "$?|$(state "$id")" "0|stopped" "sbx stop stops it"
t0=$(date +%s%N)
sbx start "$id" 2>"$T/start.err"
st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sed 's/^/# /' "$T/start.err"
is "$st|$(state "$id")" "0|running" "sbx start boots it again (${ms} ms)"
mem=$(memmib "$id")
is "$(sbx exec "$id" -- nproc)|$([ "${mem:-0}" -gt 600 ] && [ "${mem:-0}" -le 768 ] && echo sized)" "1|sized" \
	"it boots with the new size (nproc 1, MemTotal ${mem} MiB of 768)"
is "$(sbx exec "$id" -- sh -c 'cat /tmp/mark 2>/dev/null || echo gone')" before-stop \
	"files written before the stop are still there (the data disk)"

# A killed VMM is noticed.
pid=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
kill -9 "$pid"; sleep 1
is "$(sbx ls --json | python3 -c "import json,sys; print([s['state'] for s in json.load(sys.stdin) if s['id']=='$id'][0])")" error "a killed sbx-vmm makes the sandbox 'error'"
sbx rm "$id"; ok $? "the dead sandbox is removed"

# sbx run: create, exec, destroy.
out=$(sbx run -- python3 -c 'print(6*7)')
is "$out" 42 "sbx run -- python3 prints 42"
is "$(sbx ls --ids | wc -l)" 0 "sbx run leaves no sandbox behind"

# A guest panic marks the sandbox 'error' and sbx-vmm exits.
id=$(sbx create)
pid=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
sbx exec -d "$id" -- sh -c 'sleep 1; echo c > /proc/sysrq-trigger' >/dev/null
for i in $(seq 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
kill -0 "$pid" 2>/dev/null; ok $((! $?)) "sbx-vmm exits after a guest panic"
is "$(sbx ls --json | python3 -c "import json,sys; print([s['state'] for s in json.load(sys.stdin) if s['id']=='$id'][0])")" error "the panicked sandbox is 'error'"
sbx logs "$id" | grep -q "Kernel panic"; ok $? "sbx logs shows the panic"
sbx rm -f "$id"

echo "1..$n"
exit $failed
