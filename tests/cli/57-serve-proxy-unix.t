#!/bin/sh
# How sbx serve's port proxy reaches a guest port, without a VM: a fake
# sbx-vmm (a python3 named sbx-vmm, on the sandbox's control socket)
# answers {"op":"port","unix":PATH} by listening on PATH and serving HTTP
# as the guest would. The proxy asks once per port, connects to the unix
# socket in the sandbox's private runtime directory (not a TCP port other
# users could reach), replaces a socket left by an earlier VMM, and a
# runtime directory others may enter is refused before a VMM starts. An
# sbx-vmm older than this (still running after an upgrade) answers with a
# loopback TCP forward, which the proxy then uses.
# With a real guest: tests/rig/t61-port-proxy.sh.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl is not installed"; exit 0; }
py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null)
[ -n "$py" ] || { echo "1..0 # SKIP python3 is not installed"; exit 0; }
plan 14

id=sb-proxyunix234
cat >"$T/fake-vmm.py" <<'PY'
import json, os, socket, sys, threading
ops = open(sys.argv[2], "a")

def guest(ls, port):
    while True:
        c, _ = ls.accept()
        req = c.recv(4096).split(b"\r\n")[0].decode()
        body = "guest port %d: %s" % (port, req)
        c.sendall(("HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
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
        if req["op"] == "hello":
            rep.update(proto=1, vmm="fake", pid=os.getpid())
        elif req["op"] == "port" and req["guest"] == 8002:
            # What an sbx-vmm older than unix forwards answers.
            ops.write(json.dumps(req) + "\n"); ops.flush()
            ls = socket.socket()
            ls.bind(("127.0.0.1", 0))
            ls.listen(8)
            threading.Thread(target=guest, args=(ls, 8002), daemon=True).start()
            rep.update(host="127.0.0.1", host_port=ls.getsockname()[1], guest=8002)
        elif req["op"] == "port":
            ops.write(json.dumps(req) + "\n"); ops.flush()
            path = req["unix"]
            if os.path.exists(path):
                os.unlink(path)
            ls = socket.socket(socket.AF_UNIX)
            ls.bind(path)
            ls.listen(8)
            threading.Thread(target=guest, args=(ls, req["guest"]), daemon=True).start()
            rep.update(unix=path, guest=req["guest"])
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

serve_start
pids="$pids $pid"
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)
get() {
	code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $tok" "$url$1")
	body=$(cat "$T/body")
}

get /v1/sandboxes/$id/ports/8000/hello
is "$code|$body" "200|guest port 8000: GET /hello HTTP/1.0" "a proxied GET reaches the guest port"
is "$(python3 -c 'import json,sys; print([(o["guest"], o["unix"]) for o in map(json.loads, open(sys.argv[1]))])' "$T/ops")" \
	"[(8000, '$rd/port-8000.sock')]" "the proxy asked the VMM for a unix-socket forward in the runtime directory"
[ -S "$rd/port-8000.sock" ]; ok $? "the forward is a socket there"
is "$(stat -c %a "$rd")" 700 "in a directory only its owner may enter"
get /v1/sandboxes/web/ports/8000/again
is "$code|$body" "200|guest port 8000: GET /again HTTP/1.0" "a second GET (by name) works"
is "$(wc -l <"$T/ops" | tr -d ' ')" 1 "and reuses the forward: the VMM was asked once"

# A socket an earlier VMM left (nobody listens there) is replaced.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$rd/port-8001.sock"
get /v1/sandboxes/$id/ports/8001/x
is "$code|$body" "200|guest port 8001: GET /x HTTP/1.0" "a stale socket from an earlier VMM is replaced"
is "$(wc -l <"$T/ops" | tr -d ' ')" 2 "by asking the running VMM for a new forward"
# An sbx-vmm from before unix forwards answers with a loopback port.
get /v1/sandboxes/$id/ports/8002/old
is "$code|$body" "200|guest port 8002: GET /old HTTP/1.0" "a VMM that answers with a loopback forward (older sbx-vmm) still works"
get /v1/sandboxes/$id/ports/8002/old2
is "$code|$body|$(wc -l <"$T/ops" | tr -d ' ')" "200|guest port 8002: GET /old2 HTTP/1.0|3" \
	"and its forward is asked for once"

# A runtime directory other users may enter is refused before any VMM
# starts (its sockets would be theirs to use), and nothing is left.
mkdir -p "$T/img" "$T/run2/sbx"
echo k >"$T/img/vmlinuz"
echo i >"$T/img/initrd.img"
chmod 755 "$T/run2" "$T/run2/sbx"
XDG_RUNTIME_DIR=$T/run2 SBX_LIBEXECDIR=$T/bin run sbx create --image "$T/img"
is "$rc" 1 "create with a runtime directory others may enter fails"
like "$err" "runtime directory '$T/run2/sbx' is not a private directory of this user \(owner [0-9]+, mode 755\)" \
	"naming the directory, its owner and mode"
like "$err" "hint: remove it, or set XDG_RUNTIME_DIR" "with a hint"
is "$(sbx ls --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 1 \
	"and leaves no sandbox behind"
