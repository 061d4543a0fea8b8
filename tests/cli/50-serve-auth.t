#!/bin/sh
# sbx serve and sbx token: every request needs a token; missing, wrong,
# forged, revoked and expired tokens get 401, a too-low scope gets 403.
# The server listens on loopback only, on a port the kernel picks.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl is not installed"; exit 0; }
plan 29

serve_pid=
trap '[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
sbx serve --listen 127.0.0.1:0 >"$T/serve.out" 2>"$T/serve.err" &
serve_pid=$!
url=
for i in $(seq 1 100); do
	url=$(sed -n 's/^sbx serve: listening on \(http:[^ ]*\).*/\1/p' "$T/serve.err")
	[ -n "$url" ] && break
	kill -0 "$serve_pid" 2>/dev/null || break
	sleep 0.1
done
like "$url" '^http://127\.0\.0\.1:[0-9]+$' "serve prints the loopback URL it listens on"
[ -n "$url" ] || { cat "$T/serve.err" >&2; exit 1; }

# req TOKEN METHOD PATH [curl args]: sets $code and $body.
req() {
	_tok=$1 _m=$2 _p=$3
	shift 3
	if [ -n "$_tok" ]; then
		code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$_m" \
			-H "Authorization: Bearer $_tok" "$@" "$url$_p")
	else
		code=$(curl -s -o "$T/body" -w '%{http_code}' -X "$_m" "$@" "$url$_p")
	fi
	body=$(cat "$T/body")
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }

run sbx token create --scope read --name reader
is "$rc" 0 "token create exits 0"
read_tok=$(printf '%s\n' "$out" | tail -n 1)
like "$read_tok" '^sbx_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$' "create prints the token alone on its last line"
write_tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)
admin_tok=$(sbx token create --scope admin 2>/dev/null | tail -n 1)

req "" GET /v1/meta
is "$code" 401 "no token: 401"
is "$(printf '%s' "$body" | field "['error']['code']")" unauthorized "no token: error code is unauthorized"
req "" GET /v1/meta -H "Authorization: Basic dXNlcjpwdw=="
is "$code" 401 "a non-bearer Authorization header: 401"
req "not-a-token" GET /v1/meta
is "$code" 401 "garbage token: 401"
# Same id, one character of the secret changed.
forged=$(python3 -c "import sys; t=sys.argv[1]; c='B' if t[30]=='A' else 'A'; print(t[:30]+c+t[31:])" "$read_tok")
req "$forged" GET /v1/meta
is "$code" 401 "right id, wrong secret: 401"
like "$body" 'unknown token' "a forged token is called unknown"

req "$read_tok" GET /v1/meta
is "$code" 200 "read token: GET /v1/meta is 200"
is "$(printf '%s' "$body" | field "['version']")" "$(sbx version | sed 's/^sbx //')" "meta reports the version of sbx"
like "$(printf '%s' "$body" | field "['capabilities']")" '^\[' "meta lists capabilities"
req "$read_tok" POST /v1/sandboxes -d '{}'
is "$code" 403 "read token cannot create a sandbox: 403"
like "$body" "scope 'write'" "the 403 names the scope needed"
req "$write_tok" GET /v1/tokens
is "$code" 403 "write token cannot list tokens: 403"
req "$admin_tok" GET /v1/tokens
is "$code" 200 "admin token lists tokens"
is "$(printf '%s' "$body" | field "['tokens'].__len__()")" 3 "the three tokens are listed"
if printf '%s' "$body" | grep -qF -- "$(printf '%s' "$read_tok" | cut -c22-)"; then r=1; else r=0; fi
ok $r "token listings never contain secrets"

# Revoking in another process takes effect on the running server.
read_id=$(printf '%s' "$read_tok" | cut -d_ -f2)
run sbx token revoke "$read_id"
is "$rc" 0 "token revoke exits 0"
req "$read_tok" GET /v1/meta
is "$code" 401 "revoked token: 401"
like "$body" 'revoked' "the 401 says the token was revoked"

exp_tok=$(sbx token create --scope admin --expires 1s 2>/dev/null | tail -n 1)
sleep 2
req "$exp_tok" GET /v1/meta
is "$code" 401 "expired token: 401"
like "$body" 'expired' "the 401 says the token expired"

run sbx token create --scope root
is "$rc" 2 "an unknown scope is a usage error"

run sbx --remote "$url" token ls
is "$rc" 2 "sbx token refuses --remote (tokens belong to the server)"
like "$err" "tokens of the server on this machine" "and says why"
for c in gc "image ls"; do
	run sbx --remote "$url" $c
	ok $([ "$rc" = 2 ] && printf '%s\n' "$err" | grep -q "works on the store of this machine, not on the server" && echo 0 || echo 1) \
		"sbx $c refuses --remote instead of answering for this machine"
done
run env SBX_REMOTE="$url" sbx templates validate "$SRC/templates/base.yaml"
is "$rc|$out" "0|$SRC/templates/base.yaml: ok" "templates validate (a file check) works with a remote set"
