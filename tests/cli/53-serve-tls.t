#!/bin/sh
# sbx serve --tls-cert/--tls-key serves HTTPS; the remote backend checks
# the certificate (SBX_CACERT for a private CA). Loopback only.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl is not installed"; exit 0; }
command -v openssl >/dev/null 2>&1 || { echo "1..0 # SKIP openssl is not installed (needed to make a test certificate)"; exit 0; }
plan 10

pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
start_server() {
	_sn=$1
	shift
	sbx serve "$@" >"$T/$_sn.out" 2>"$T/$_sn.err" &
	pids="$pids $!"
	url=
	for i in $(seq 1 100); do
		url=$(sed -n 's/^sbx serve: listening on \([^ ]*\).*/\1/p' "$T/$_sn.err")
		[ -n "$url" ] && return 0
		sleep 0.1
	done
	cat "$T/$_sn.err" >&2
	return 1
}
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" \
	-out "$T/cert.pem" >/dev/null 2>&1
ok $? "a self-signed certificate for 127.0.0.1 is made"
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)

start_server tls --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
like "$url" '^https://127\.0\.0\.1:[0-9]+$' "serve reports an https URL"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/cert.pem" \
	-H "Authorization: Bearer $tok" "$url/v1/meta")
is "$code" 200 "the API answers over TLS"
code=$(curl -s -o /dev/null -w '%{http_code}' "http${url#https}/v1/meta")
[ "$code" != 200 ]
ok $? "plain HTTP to the TLS port gets no answer (got '$code')"
SBX_TOKEN=$tok SBX_CACERT="$T/cert.pem" run sbx --remote "$url" ls --json
is "$out" "[]" "sbx --remote https://... works with SBX_CACERT"
SBX_TOKEN=$tok run sbx --remote "$url" ls
like "$err" "^sbx: cannot reach sbx server at $url: .*certificate" "an untrusted certificate is refused"
like "$err" "hint: .*SBX_CACERT" "with a hint about SBX_CACERT"

run sbx serve --tls-cert "$T/cert.pem"
is "$rc" 2 "--tls-cert without --tls-key is a usage error"
run sbx serve --listen 127.0.0.1:0 --tls-cert "$T/key.pem" --tls-key "$T/cert.pem.missing"
is "$rc" 1 "a missing key file is an error"
grep -q 'warning' "$T/tls.err"
[ $? != 0 ]
ok $? "HTTPS on loopback draws no warning"
