#!/bin/sh
# `sbx port ID GUESTPORT --close` without a VM: a fake sbx-vmm (a python3
# named sbx-vmm, on the sandbox's control socket) answers {"op":"port"} by
# listening on a loopback port and {"op":"unport"} by closing it, as
# slirp does for the real one. Closing stops the listener, drops the
# forward from the record (`sbx ls --json`, `sbx port ID`), can pick one
# forward by --host, says when there is nothing to close, and works
# through `sbx serve` (DELETE /v1/sandboxes/{id}/ports?guest=N).
# With a real guest: tests/rig/t50-net.sh.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
[ -n "$py" ] || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
plan 19

id=sb-portclose234
cat >"$T/fake-vmm.py" <<'PY'
import json, os, socket, sys, threading
ops = open(sys.argv[2], "a")
listeners = {}

def guest(ls):
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            return
        c.sendall(b"guest\n")
        c.close()

s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
while True:
    c, _ = s.accept()
    f = c.makefile("rwb")
    for line in f:
        req = json.loads(line)
        rep = {"ok": True}
        if req["op"] != "hello":
            ops.write(json.dumps(req, sort_keys=True) + "\n"); ops.flush()
        if req["op"] == "hello":
            rep.update(proto=1, vmm="fake", pid=os.getpid())
        elif req["op"] == "port":
            ls = socket.socket()
            ls.bind((req["host"], req.get("host_port", 0)))
            ls.listen(8)
            port = ls.getsockname()[1]
            listeners[(req["host"], port)] = ls
            threading.Thread(target=guest, args=(ls,), daemon=True).start()
            rep.update(host=req["host"], host_port=port, guest=req["guest"])
        elif req["op"] == "unport" and req["host_port"] == 2:
            c.shutdown(socket.SHUT_RDWR)   # a VMM that goes silent: the connection closes
            break
        elif req["op"] == "unport":
            ls = listeners.pop((req["host"], req["host_port"]), None)
            if ls is None:
                rep = {"ok": False, "error": "no forward listens there"}
            else:
                ls.shutdown(socket.SHUT_RDWR)
                ls.close()
                rep.update(host=req["host"], host_port=req["host_port"])
        f.write((json.dumps(rep) + "\n").encode())
        f.flush()
    c.close()
PY
fake_vmm "$id" "$T/fake-vmm.py"
{"version": 1, "id": "$id", "name": "web", "state": "running", "template": "base",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0}, "pid": $fake,
 "extra": {"network": {"enabled": true, "allow": [], "deny": [], "forwards": []}},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}
JSON
# What a TCP connect to 127.0.0.1:$1 reads, or "refused".
dial() {
	python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    print(s.recv(64).decode().strip())
except OSError:
    print("refused")
PY
}
# Records a forward of guest port $1 on host port $2 that the fake VMM
# does not hold (one from before a restart).
record_forward() {
	python3 - "$SBX_HOME/sandboxes/$id/sandbox.json" "$1" "$2" <<'PY'
import json, sys
p, g, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(p))
d["extra"]["network"]["forwards"].append({"host": "127.0.0.1", "host_port": h, "guest": g})
d["ports"] = d.get("ports", []) + [{"host": h, "guest": g, "proto": "tcp"}]
json.dump(d, open(p, "w"))
PY
}
ports() { sbx ls --json | python3 -c 'import json,sys; print([p["host"] for s in json.load(sys.stdin) for p in s.get("ports", [])])'; }

hp=$(sbx port "$id" 8000 | sed 's/.*://')
hp2=$(sbx port "$id" 8000 | sed 's/.*://')
hp3=$(sbx port "$id" 9000 | sed 's/.*://')
is "$(dial "$hp")|$(dial "$hp2")|$(dial "$hp3")" "guest|guest|guest" "three forwards (8000 twice, 9000) reach the fake guest"
is "$(ports)" "[$hp, $hp2, $hp3]" "sbx ls --json lists them"

run sbx port --close "$id" 8000 --host "127.0.0.1:$hp2"
is "$rc|$out" "0|closed 1 forward of guest port 8000" "--close --host closes that one forward"
is "$(dial "$hp2")|$(dial "$hp")" "refused|guest" "its host port stops listening; the other 8000 forward stays"
is "$(tail -n 1 "$T/ops")" "{\"host\": \"127.0.0.1\", \"host_port\": $hp2, \"op\": \"unport\"}" \
	"the VMM was asked to unport it"
is "$(ports)" "[$hp, $hp3]" "and it leaves the record"

run sbx port "$id" 8000 --close
is "$rc|$out" "0|closed 1 forward of guest port 8000" "--close without --host closes the rest of guest port 8000"
is "$(dial "$hp")|$(dial "$hp3")|$(sbx port "$id")" "refused|guest|9000/tcp -> $hp3" \
	"port 9000 is untouched, and sbx port ID lists only it"

run sbx port "$id" 8000 --close
is "$rc" 1 "closing a port with no forward fails"
is "$err" "sbx: sandbox '$id' has no forward of guest port 8000" "and says so"
run sbx port "$id" --close
is "$rc" 2 "--close without a guest port is a usage error"

# A forward the VMM no longer has (it was restarted) leaves the record.
record_forward 7000 1
run sbx port --json "$id" 7000 --close
is "$rc|$out" '0|{"guest":7000,"closed":1}' "a forward the VMM no longer holds is closed all the same (--json)"

# A VMM that does not answer keeps the forward, in the record too.
record_forward 6000 2
run sbx port "$id" 6000 --close
is "$rc|$err" "1|sbx: the VMM of '$id' closed the control connection" "a VMM that does not answer: the close fails, saying so"
is "$(sbx port "$id" | grep -c '^6000/tcp')" 1 "and the forward stays recorded"
d=$SBX_HOME/sandboxes/$id/sandbox.json
python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["extra"]["network"]["forwards"]=[f for f in d["extra"]["network"]["forwards"] if f["guest"]!=6000]; d["ports"]=[x for x in d["ports"] if x["guest"]!=6000]; json.dump(d,open(p,"w"))' "$d"

# Through sbx serve: the remote backend's DELETE .../ports?guest=N.
serve_start
pids="$pids $pid"
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)
rtok=$(sbx token create --scope read 2>/dev/null | tail -n 1)
SBX_TOKEN=$rtok run sbx --remote "$url" port "$id" 9000 --close
is "$rc" 1 "a read token may not close a forward"
like "$err" "scope" "the error names the scope"
SBX_TOKEN=$tok run sbx --remote "$url" port "$id" 9000 --close
is "$rc|$out" "0|closed 1 forward of guest port 9000" "sbx --remote port --close closes the server's forward"
is "$(dial "$hp3")|$(ports)" "refused|[]" "which stops listening and leaves the record"
SBX_TOKEN=$tok run sbx --remote "$url" port "$id" 9000 --close
is "$rc|$err" "1|sbx: sandbox '$id' has no forward of guest port 9000" "a second close: not found, with the same words"
