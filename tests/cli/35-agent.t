#!/bin/sh
# sbx-agent on the host (--listen unix:), driven through the real host
# agent client (tests/agent/agent-cli): exec, streams, PTY, files, system.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
AGENT="$BUILD/sbx-agent"
CLI="$BUILD/tests/agent/agent-cli"
if [ ! -x "$AGENT" ] || [ ! -x "$CLI" ]; then
	echo "1..0 # SKIP sbx-agent or tests/agent/agent-cli not built"
	exit 0
fi
plan 43

SOCK="$T/agent.sock"
"$AGENT" --listen "unix:$SOCK" 2>"$T/agent.log" &
apid=$!
trap 'kill $apid 2>/dev/null; rm -rf "$T"' EXIT
A="unix:$SOCK"
i=0
while [ ! -S "$SOCK" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

run "$CLI" "$A" ping
like "$out" '^version 1 pid [0-9]+ uptime [0-9]+$' "ping answers with the protocol version"

run "$CLI" "$A" exec -- true
is "$rc" 0 "exit code 0 propagates"
run "$CLI" "$A" exec -- sh -c 'exit 1'
is "$rc" 1 "exit code 1 propagates"
run "$CLI" "$A" exec -- sh -c 'kill -9 $$'
is "$rc" 137 "a command killed by SIGKILL reports 137"
run "$CLI" "$A" exec -- sh -c 'exit 42'
is "$rc" 42 "exit code 42 propagates"

run "$CLI" "$A" exec -- sh -c 'echo to-out; echo to-err >&2; echo more-out'
is "$out" "to-out
more-out" "stdout carries only stdout"
is "$err" "to-err" "stderr carries only stderr"

printf 'line one\nline two\n' >"$T/in"
run "$CLI" "$A" exec -i -- tr a-z A-Z <"$T/in"
is "$out" "LINE ONE
LINE TWO" "stdin is piped to the command"
run "$CLI" "$A" exec -- cat </dev/null
is "$out" "" "without -i the command's stdin is empty"
head -c 3000000 /dev/urandom >"$T/bin"
"$CLI" "$A" exec -i -- cat <"$T/bin" >"$T/bin.out" 2>"$T/err"
cmp -s "$T/bin" "$T/bin.out"
ok $? "3 MB of binary stdin comes back unchanged through cat"

run "$CLI" "$A" exec -e FOO=bar -e HOME=/nowhere -w /tmp -- sh -c 'echo $FOO $HOME; pwd'
is "$out" "bar /nowhere
/tmp" "env entries and the working directory are applied"
run "$CLI" "$A" exec -- no-such-command-xyz
is "$rc" 1 "a missing command is an error"
like "$err" "command 'no-such-command-xyz' not found" "the error names the command"
run "$CLI" "$A" exec -w /no/such/dir -- true
like "$err" "working directory '/no/such/dir'" "a bad working directory is named"
run "$CLI" "$A" exec -u no-such-user-xyz -- true
like "$err" "unknown user 'no-such-user-xyz'" "an unknown user is named"
if [ "$(id -u)" = 0 ] && grep -q '^nobody:' /etc/passwd; then
	run "$CLI" "$A" exec -u nobody -- sh -c 'id -u; echo $HOME'
	is "$out" "$(awk -F: '$1 == "nobody" { print $3; print $6 }' /etc/passwd)" "-u runs as the user from /etc/passwd, with its home"
else
	ok 0 "-u runs as the user from /etc/passwd # SKIP needs root"
fi

# 64 MiB round trip
head -c 67108864 /dev/urandom >"$T/big"
want=$(sha256sum <"$T/big" | cut -d' ' -f1)
run "$CLI" "$A" put "$T/big" "$T/guest/dir/big"
is "$rc" 0 "put of 64 MiB succeeds (creating parents)"
is "$(sha256sum <"$T/guest/dir/big" | cut -d' ' -f1)" "$want" "the uploaded 64 MiB file has the same sha256"
run "$CLI" "$A" get "$T/guest/dir/big" "$T/big.back"
is "$rc" 0 "get of 64 MiB succeeds"
is "$(sha256sum <"$T/big.back" | cut -d' ' -f1)" "$want" "the downloaded 64 MiB file has the same sha256"
rm -f "$T/big" "$T/big.back"
ls -a "$T/guest/dir" >"$T/ls"
is "$(cat "$T/ls" | tr '\n' ' ')" ". .. big " "no temporary files are left behind"

run "$CLI" "$A" put "$T/in" "$T/guest/mode" 0600
run "$CLI" "$A" stat "$T/guest/mode"
is "$out" "f 0600 18 $T/guest/mode" "put sets the mode; stat reports type, mode, size"
run "$CLI" "$A" get "$T/guest/nope" "$T/nope"
like "$err" "No such file" "get of a missing file says so"
run "$CLI" "$A" mkdir -p "$T/guest/a/b/c"
run "$CLI" "$A" ls "$T/guest/a"
like "$out" "^d 0755 [0-9]+ b$" "mkdir -p creates the chain; ls lists it"
run "$CLI" "$A" mv "$T/guest/a" "$T/guest/z"
[ -d "$T/guest/z/b/c" ]; ok $? "rename moves a directory"
run "$CLI" "$A" rm "$T/guest/z"
is "$rc" 1 "rm of a non-empty directory without -r fails"
run "$CLI" "$A" rm -r "$T/guest/z"
[ ! -e "$T/guest/z" ]; ok $? "rm -r removes a tree"
run "$CLI" "$A" rm -f "$T/guest/z"
is "$rc" 0 "rm -f of a missing path succeeds"

# PTY
(sleep 0.3; printf 'echo hi-from-pty\n'; sleep 1) | "$CLI" "$A" exec -i -t -- sh -c 'read x; echo got:$x' >"$T/pty" 2>&1
like "$(tr -d '\r' <"$T/pty")" '^got:echo hi-from-pty$' "a PTY command reads the typed line"
like "$(tr -d '\r' <"$T/pty")" '^echo hi-from-pty$' "the PTY echoes typed input"
run "$CLI" "$A" exec -t -- tty
like "$out" '^/dev/pts/[0-9]+' "the command runs on a pseudo-terminal"

# background
run "$CLI" "$A" exec -b -l "$T/bg.log" -- sh -c 'echo started; sleep 30'
bg=$out
like "$bg" '^[0-9]+$' "background exec prints a pid"
sleep 1
kill -0 "$bg" 2>/dev/null; ok $? "the background process survives the request"
is "$(cat "$T/bg.log")" "started" "background output goes to the log file"
run "$CLI" "$A" kill "$bg" 15
sleep 0.3
kill -0 "$bg" 2>/dev/null; [ $? -ne 0 ]; ok $? "kill stops the background process"

# malformed frames do not take the agent down
python3 - "$SOCK" <<'PY' >"$T/garbage" 2>&1
import socket, sys
for junk in (b"\x09\x02\x00\x00\x00\x00\x00\x00", b"\x01\x02\x00\x00\x06\x00\x00\x00\x02\x00\xff\xff\xff\xff",
             b"\x01\x02\x00\x00\xff\xff\xff\x7f"):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(junk)
    s.shutdown(socket.SHUT_WR); print(s.recv(4096)[8:].decode('latin1')); s.close()
PY
like "$(cat "$T/garbage")" "unsupported protocol version 9" "a wrong protocol version is answered with an error"
like "$(cat "$T/garbage")" "field longer than its frame" "a field longer than its frame is refused"
like "$(cat "$T/garbage")" "frame longer than the protocol maximum" "an oversized frame is refused"
run "$CLI" "$A" ping
is "$rc" 0 "the agent still answers after malformed requests"

# A dropped exec connection is retried with the same request id: the agent
# reattaches (flag REATTACHED), delivers the output kept meanwhile and the
# exit status, and the command runs once.
python3 - "$SOCK" "$T/count" <<'PY' >"$T/reattach" 2>&1
import socket, struct, sys, time
path, count = sys.argv[1], sys.argv[2]
def tlv(tag, val): return struct.pack("<HI", tag, len(val)) + val
def frame(t, flags, payload): return struct.pack("<BBHI", 1, t, flags, len(payload)) + payload
def recv_frame(s):
    h = b""
    while len(h) < 8:
        c = s.recv(8 - len(h))
        if not c: return None
        h += c
    v, t, fl, n = struct.unpack("<BBHI", h)
    p = b""
    while len(p) < n: p += s.recv(n - len(p))
    return t, fl, p
rid = b"0123456789abcdef"
cmd = "echo x >> %s; sleep 0.5; echo done" % count
req = frame(0x02, 0, tlv(1, rid) + tlv(2, b"sh") + tlv(2, b"-c") + tlv(2, cmd.encode()))
s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(req)
t, fl, p = recv_frame(s); print("first", hex(t), fl); s.close()
time.sleep(1)
s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(req)
out = b""
while True:
    f = recv_frame(s)
    if f is None: break
    t, fl, p = f
    if t == 0x53: print("second started flags", fl)
    if t == 0x50: out += p
    if t == 0x52: print("exit", p.hex()); break
print("out", out.decode().strip())
PY
like "$(cat "$T/reattach")" "second started flags 1" "a retried exec reattaches to the running job"
like "$(cat "$T/reattach")" "out done" "output produced while detached is delivered"
like "$(cat "$T/reattach")" "exit 0a000400000000000000" "the retried exec gets the exit code"
is "$(cat "$T/count" 2>/dev/null)" "x" "the command ran exactly once"
