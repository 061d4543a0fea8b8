#!/bin/bash
# t85-remote-build.sh - a template with run steps, a start command and a
# ready check, built through `sbx serve` with `sbx --remote URL build
# FILE`: the client uploads the template, the server runs the steps in a
# VM and streams the build back; a sandbox created remotely from the
# result restores its ready snapshot with the service answering; a second
# build is up to date; --json streams the events. Runs after t80, which
# builds the same webapp.yaml locally: the server builds its upload under
# its own path, so neither sees the other's cache.
set -u
. "$(dirname "$0")/lib.sh"
spid=
trap '[ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$T"' EXIT
get8000='import socket; s=socket.create_connection(("127.0.0.1", 8000)); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); print(s.recv(300).decode().split("\r\n\r\n")[1].strip())'
# The build's events without the server's "log" lines (its stderr).
events() { python3 -c 'import json,sys; print(" ".join(e["event"] for e in map(json.loads, sys.stdin) if e.get("event", "log") != "log"))'; }

serve_start --timeout 15m
[ -n "$url" ]; ok $? "sbx serve listens on loopback (${url:-no URL})"
[ -n "$url" ] || { sed 's/^/# /' "$T/serve.err"; echo "1..$n"; exit 1; }
export SBX_TOKEN=$(sbx token create --scope write 2>/dev/null | tail -n 1)
R() { sbx --remote "$url" "$@"; }

t0=$(now_ms)
snap=$(R build "$SBX_TOP_SRCDIR/tests/rig/webapp.yaml" 2>"$T/build.err")
st=$?
build_ms=$(($(now_ms) - t0))
tail -n 8 "$T/build.err" | sed 's/^/# /'
is "$st|${#snap}" "0|64" "a remote build of webapp.yaml (steps, start, ready) prints its snapshot id (${build_ms} ms)"
grep -q "step 2/2: python3 answer.py" "$T/build.err"
ok $? "the steps' progress reaches the client's stderr"
grep -qx 42 "$T/build.err"
ok $? "and so does their output (python3 answer.py printed 42)"

# The server's listing shows the build (it is in the server's store only).
R --json templates ls >"$T/ls.json" 2>&1
is "$(python3 -c "import json,sys; print([(t['origin'], t['built']['snapshot'].split(':')[-1]) for t in json.load(open(sys.argv[1])) if t['name'] == 'webapp'])" "$T/ls.json" 2>&1)" \
	"[('store', '$snap')]" "sbx --remote templates ls lists webapp as built, with its snapshot"
t0=$(now_ms)
id=$(R create webapp 2>"$T/create.err")
st=$?
sed 's/^/# /' "$T/create.err"
ok $st "a remote create of webapp restores the server's build ($(($(now_ms) - t0)) ms)"
is "$(R exec "$id" -- python3 -c "$get8000" 2>&1)" hello-from-the-template \
	"the service started by the build answers in the new sandbox"
R rm -f "$id" >/dev/null 2>&1

t0=$(now_ms)
again=$(R build "$SBX_TOP_SRCDIR/tests/rig/webapp.yaml" 2>"$T/again.err")
st=$?
is "$st|$again" "0|$snap" "an unchanged template uploaded again is up to date ($(($(now_ms) - t0)) ms)"
is "$(R --json build "$SBX_TOP_SRCDIR/tests/rig/webapp.yaml" 2>/dev/null | events)" \
	"image up_to_date done" "--json streams the build's events"
echo "# bench: remote build of webapp (upload + boot + 2 steps + start + ready + snapshot) ${build_ms} ms"
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
spid=
echo "1..$n"
exit $failed
