#!/bin/bash
# t61-port-proxy.sh - sbx serve's port proxy against a real guest: an HTTP
# server and a WebSocket echo server in the guest (tests/rig/proxy-guest.py),
# sbx serve on loopback in L1, and then: GET and HEAD through
# /v1/sandboxes/{id}/ports/{port}/, a POST body intact, 401 without a token,
# the caller's token not seen by the guest, a WebSocket echo (and the
# server closing it once silent for --tunnel-idle), the raw /tunnel/ endpoint, 502 for a closed port, and a hibernated sandbox woken
# by a proxied GET, and `sbx --remote URL port` tunnelling a local port.
set -u
if [ -z "${SBX_RIG:-}" ] && [ ! -e /dev/kvm -o -e /sys/module/kvm_pvm ]; then
	exec "${SBX_TOP_SRCDIR:-.}/tests/rig/run" -- bash "$0" "$@"
fi
export SBX_HOME=${SBX_RIG_HOME:?SBX_RIG_HOME is not set (make check-rig sets it)}
builddir=${SBX_TOP_BUILDDIR:-$PWD}
srcdir=${SBX_TOP_SRCDIR:-.}
export SBX_LIBEXECDIR=${SBX_LIBEXECDIR:-$builddir}
[ -x "$builddir/sbx" ] && export PATH="$builddir:$PATH"
export SBX_BOOT_TIMEOUT=${SBX_BOOT_TIMEOUT:-3m}
unset SBX_TOKEN SBX_REMOTE
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { [ "$1" = "$2" ]; ok $? "$3"; [ "$1" = "$2" ] || printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; }
T=$(mktemp -d)
spid= id=
cleanup() {
	[ -n "$id" ] && sbx rm -f "$id" >/dev/null 2>&1
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
now() { date +%s%N; }

sbx serve --listen 127.0.0.1:0 --timeout 5m --tunnel-idle 10s >"$T/serve.out" 2>"$T/serve.err" &
spid=$!
url=
for i in $(seq 300); do
	url=$(sed -n 's/^sbx serve: listening on \(http:[^ ]*\).*/\1/p' "$T/serve.err")
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ]; ok $? "sbx serve listens (${url:-no URL})"
[ -n "$url" ] || { echo "1..$n"; exit 1; }
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)

id=$(sbx create --memory 512M 2>"$T/create.err")
ok $? "create a sandbox"
[ -n "$id" ] || { sed 's/^/# /' "$T/create.err"; echo "1..$n"; exit 1; }
sbx cp "$srcdir/tests/rig/proxy-guest.py" "$id:/tmp/pg.py"
ok $? "copy the guest servers in"
sbx exec -d "$id" -- sh -c 'python3 /tmp/pg.py http 8000 >/tmp/http.log 2>&1' >/dev/null &&
	sbx exec -d "$id" -- sh -c 'python3 /tmp/pg.py ws 8001 >/tmp/ws.log 2>&1' >/dev/null
ok $? "start the HTTP and WebSocket servers in the guest"
up=1
for i in $(seq 30); do
	sbx exec "$id" -- python3 -c "import socket; socket.create_connection(('127.0.0.1', 8000), 2); socket.create_connection(('127.0.0.1', 8001), 2)" 2>/dev/null && { up=0; break; }
	sleep 1
done
ok $up "the guest's servers listen (after ${i} tries)"
[ $up = 0 ] || { sbx exec "$id" -- sh -c 'cat /tmp/http.log /tmp/ws.log; ps ax' 2>&1 | sed 's/^/#   /'; }
hp0=$(sbx port "$id" 8000)
r=$(curl -s -m 30 "http://$hp0/direct")
case $r in "hello from the guest path=/direct "*) ok 0 "the page through plain sbx port ($hp0)" ;;
	*) ok 1 "the page through plain sbx port ($hp0): $r" ;; esac

P="$url/v1/sandboxes/$id/ports"
# get URL [curl args]: body to $T/body, status in $code.
get() {
	local u=$1; shift
	code=$(curl -s -m 120 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $tok" "$@" "$u")
}
t0=$(now)
get "$P/8000/some/page?x=1&y=%2F"
ms=$((($(now) - t0) / 1000000))
is "$code" 200 "GET through the proxy is 200 (${ms} ms)"
# It went through a unix socket in the sandbox's private runtime
# directory, not a TCP port on loopback (kvm_rundir).
if [ -n "${XDG_RUNTIME_DIR:-}" ] && [ -d "$XDG_RUNTIME_DIR" ] && [ -w "$XDG_RUNTIME_DIR" ]; then
	rd=$XDG_RUNTIME_DIR/sbx/$id
else
	rd=/tmp/sbx-$(id -u)/$id
fi
[ -S "$rd/port-8000.sock" ] && [ "$(stat -c %a "$rd")" = 700 ]
ok $? "the proxy's forward is the unix socket $rd/port-8000.sock (directory mode 700)"
like() { case $1 in *$2*) ok 0 "$3" ;; *) ok 1 "$3"; printf '#   got: %s\n' "$1" ;; esac; }
body=$(cat "$T/body")
like "$body" "hello from the guest path=/some/page?x=1&y=%2F " "the guest's page, path and query passed through unchanged"
like "$body" "auth=none" "the caller's Authorization is not forwarded"
like "$body" "prefix=/v1/sandboxes/$id/ports/8000" "X-Forwarded-Prefix names the proxy path"
get "$P/8000/" -I
is "$code" 200 "HEAD through the proxy is 200"
head -c 3000000 /dev/urandom >"$T/post"
want=$(sha256sum <"$T/post" | cut -d' ' -f1)
get "$P/8000/upload" --data-binary @"$T/post" -H "Content-Type: application/octet-stream"
is "$code" 200 "POST of 3 MB through the proxy is 200"
is "$(cat "$T/body")" "len=3000000 sha256=$want" "the POST body arrives intact"
code=$(curl -s -o /dev/null -w '%{http_code}' "$P/8000/")
is "$code" 401 "no token: 401"
get "$P/8009/"
is "$code" 502 "a port nothing listens on: 502"
like "$(cat "$T/body")" '"bad_gateway"' "with a JSON error"

# WebSocket echo and the raw tunnel, with a hand-made handshake.
r=$(python3 - "$url" "$id" "$tok" <<'PY' 2>&1
import base64, os, socket, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1]); sid, tok = sys.argv[2], sys.argv[3]
def head(s):
    d = b""
    while b"\r\n\r\n" not in d:
        c = s.recv(1)
        if not c: break
        d += c
    return d.decode(errors="replace")
s = socket.create_connection((u.hostname, u.port), timeout=60)
key = base64.b64encode(os.urandom(16)).decode()
s.sendall(("GET /v1/sandboxes/%s/ports/8001/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
           "Authorization: Bearer %s\r\n\r\n" % (sid, key, tok)).encode())
h = head(s)
if not h.startswith("HTTP/1.1 101"):
    print("ws handshake:", h.splitlines()[:1]); sys.exit(1)
msg = b"ping through sbx"
mask = os.urandom(4)
s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(msg)))
f = s.recv(2)
while len(f) < 2 + f[1]:
    f += s.recv(64)
print("ws", f[2:2 + f[1]].decode())
# Left silent, the server closes it after its --tunnel-idle (10 s).
import time
t = time.monotonic()
try:
    c = s.recv(1)
except OSError as e:
    c = repr(e).encode()
print("ws idle close %r after %.1f s" % (c, time.monotonic() - t))
s.close()
s = socket.create_connection((u.hostname, u.port), timeout=60)
s.sendall(("GET /v1/sandboxes/%s/tunnel/8000 HTTP/1.1\r\nHost: x\r\nUpgrade: sbx-tunnel\r\n"
           "Connection: Upgrade\r\nAuthorization: Bearer %s\r\n\r\n" % (sid, tok)).encode())
h = head(s)
if not h.startswith("HTTP/1.1 101"):
    print("tunnel handshake:", h.splitlines()[:1]); sys.exit(1)
s.sendall(b"GET /tunneled HTTP/1.0\r\n\r\n")
d = b""
while True:
    c = s.recv(4096)
    if not c: break
    d += c
print("tunnel", d.split(b"\r\n\r\n", 1)[-1].decode().strip())
PY
)
like "$r" "ws ping through sbx" "a WebSocket echo round trip through the proxy"
idle=$(echo "$r" | sed -n "s/^ws idle close b'' after \([0-9.]*\) s$/\1/p")
echo "$r" | grep '^ws idle' | sed 's/^/# /'
awk -v t="${idle:-0}" 'BEGIN { exit !(t >= 9 && t < 20) }'
ok $? "a silent WebSocket is closed by the server after --tunnel-idle 10s (${idle:-not closed} s)"
like "$r" "tunnel hello from the guest path=/tunneled" "an HTTP request through the raw tunnel"

# sbx --remote port: a local port tunnelled through the server.
SBX_TOKEN=$tok sbx --remote "$url" port "$id" 8000 >"$T/rport.out" 2>"$T/rport.err" &
rpid=$!
hp=
for i in $(seq 100); do
	hp=$(head -n 1 "$T/rport.out" 2>/dev/null)
	[ -n "$hp" ] && break
	sleep 0.1
done
case $hp in 127.0.0.1:[0-9]*) ok 0 "sbx --remote port prints a local address ($hp)" ;;
	*) ok 1 "sbx --remote port prints a local address ($hp)"; sed 's/^/#   /' "$T/rport.err" ;; esac
r=$(curl -s -m 60 "http://$hp/via-remote-port" 2>&1)
like "$r" "hello from the guest path=/via-remote-port " "the local port serves the guest's page"
r=$(curl -s -m 60 "http://$hp/again" 2>&1)
like "$r" "path=/again " "and a second connection too"
kill $rpid 2>/dev/null; wait $rpid 2>/dev/null

# Wake on connection.
sbx hibernate "$id" >/dev/null 2>"$T/hib.err"
ok $? "hibernate the sandbox"
st=$(sbx ls --json | python3 -c "import json,sys; print([s['state'] for s in json.load(sys.stdin) if s['id']=='$id'][0])")
is "$st" hibernated "it is hibernated"
t0=$(now)
curl -s -m 120 -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $tok" "$P/8000/woken" >"$T/code1" &
g1=$!
code2=$(curl -s -m 120 -o "$T/body2" -w '%{http_code}' -H "Authorization: Bearer $tok" "$P/8000/woken2")
wait $g1
code=$(cat "$T/code1")
ms=$((($(now) - t0) / 1000000))
is "$code" 200 "a proxied GET wakes the hibernated sandbox (${ms} ms)"
is "$code2" 200 "and a concurrent first GET succeeds too"
like "$(cat "$T/body")" "path=/woken " "with the guest's page"
st=$(sbx ls --json | python3 -c "import json,sys; print([s['state'] for s in json.load(sys.stdin) if s['id']=='$id'][0])")
is "$st" running "the sandbox is running again"
echo "# bench: proxied GET waking a hibernated sandbox ${ms} ms"
t0=$(now)
for i in 1 2 3 4 5; do get "$P/8000/"; done
echo "# bench: proxied GET (warm, mean of 5) $((($(now) - t0) / 5000000)) ms"
echo "1..$n"
exit $failed
