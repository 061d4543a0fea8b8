#!/bin/sh
# sbx serve's port proxy without a VM: authentication and scopes, a port
# out of range, an unknown sandbox, the tunnel's Upgrade check.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl is not installed"; exit 0; }
plan 17

pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
sbx serve --listen 127.0.0.1:0 --timeout 2s --tunnel-idle 90s >"$T/out" 2>"$T/err" &
pids=$!
url=
for i in $(seq 1 100); do
	url=$(sed -n 's/^sbx serve: listening on \([^ ]*\).*/\1/p' "$T/err")
	[ -n "$url" ] && break
	sleep 0.1
done
ok "$([ -n "$url" ]; echo $?)" "serve starts"
tok=$(sbx token create --scope admin 2>/dev/null | tail -n 1)
rtok=$(sbx token create --scope read 2>/dev/null | tail -n 1)
# req TOKEN METHOD PATH [curl args]: sets $code and $body.
req() {
	_t=$1 _m=$2 _p=$3
	shift 3
	code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$_m" \
		${_t:+-H "Authorization: Bearer $_t"} "$@" "$url$_p")
	body=$(cat "$T/body")
}

req "" GET /v1/sandboxes/sb-nosuchthing2/ports/8000/
is "$code" 401 "the proxy needs a token"
req "$tok" GET /v1/sandboxes/sb-nosuchthing2/ports/8000/index.html?a=1
is "$code" 404 "an unknown sandbox is 404"
like "$body" "sb-nosuchthing2" "naming it"
req "$tok" GET /v1/sandboxes/sb-nosuchthing2/ports/0/
is "$code" 400 "port 0 is 400"
like "$body" "1..65535" "naming the range"
req "$tok" GET /v1/sandboxes/sb-nosuchthing2/ports/70000
is "$code" 400 "port 70000 is 400"
req "$rtok" POST /v1/sandboxes/sb-nosuchthing2/ports/8000/x -d a=b
is "$code" 403 "a read token cannot POST through the proxy"
req "$rtok" GET /v1/sandboxes/sb-nosuchthing2/ports/8000/x
is "$code" 404 "but may GET"
req "$tok" GET /v1/sandboxes/sb-nosuchthing2/tunnel/8000
is "$code" 400 "a tunnel without 'Upgrade: sbx-tunnel' is 400"
like "$body" "sbx-tunnel" "saying what it needs"
SBX_TOKEN=$tok sbx --remote "$url" port sb-nosuchthing2 8000 >"$T/rp.out" 2>"$T/rp.err"
is "$?" 1 "sbx --remote port to an unknown sandbox fails"
like "$(cat "$T/rp.err")" "sb-nosuchthing2" "naming it"
req "$rtok" GET /v1/meta
like "$body" '"tunnel_idle_ms": *90000' "GET /v1/meta reports --tunnel-idle (90s)"
sbx serve --listen 127.0.0.1:0 --tunnel-idle 8d >"$T/o2" 2>"$T/e2"
is "$?" 2 "--tunnel-idle longer than 7d is a usage error"
like "$(cat "$T/e2")" "--tunnel-idle must be at most 7d" "naming the limit"
sbx serve --listen 127.0.0.1:0 --tunnel-idle soon >"$T/o2" 2>"$T/e2"
is "$?" 2 "a --tunnel-idle that is not a duration is a usage error"
