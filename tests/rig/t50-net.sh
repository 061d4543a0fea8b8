#!/bin/bash
# t50-net.sh - sandbox networking end to end in one sandbox boot: the guest
# reaches a web server on L1's loopback through 10.0.2.2 (sbx-vmm's
# virtio-net + libslirp, eth0 configured by sbx-init), names resolve
# through the sandbox's DNS (10.0.2.3, forwarded to a DNS server this test
# runs on L1), a denied CIDR and a denied domain fail at once (< 2 s: a
# RST or NXDOMAIN made by the VMM, not a timeout) while a neighbour that is
# not denied works, and a server started in the guest is reachable from L1
# through `sbx port` (and no longer once `sbx port --close` closed the
# forward); networking works again after hibernate + resume and in
# each of 4 fork clones. A restored copy with an allow list naming a
# domain behind a CNAME to round-robin addresses (a CDN) reaches the
# address the guest's DNS answer gave, which the VMM's own lookup never
# saw, also when the guest asked over TCP, and nothing else. Figures:
# guest->host TCP throughput, connect and request latency through the
# port forward.
#
# Only loopback and 10.0.2.x are ever contacted: the extra addresses
# (192.0.2.1, 198.51.100.1, .7 and .21-.29) are put on L1's lo here.
set -u
if [ -z "${SBX_RIG:-}" ] && [ ! -e /dev/kvm -o -e /sys/module/kvm_pvm ]; then
	exec "${SBX_TOP_SRCDIR:-.}/tests/rig/run" -- bash "$0" "$@"
fi
export SBX_HOME=${SBX_RIG_HOME:?SBX_RIG_HOME is not set (make check-rig sets it)}
export SBX_LIBEXECDIR=${SBX_LIBEXECDIR:-$SBX_TOP_BUILDDIR}
export SBX_BOOT_TIMEOUT=${SBX_BOOT_TIMEOUT:-3m}
src=${SBX_TOP_SRCDIR:-.}/tests/rig
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { [ "$1" = "$2" ]; ok $? "$3"; [ "$1" = "$2" ] || printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; }
T=$(mktemp -d)
pids=()
id= rid=
cleanup() {
	[ -n "$id" ] && sbx rm -f "$id" >/dev/null 2>&1
	[ -n "$rid" ] && sbx rm -f "$rid" >/dev/null 2>&1
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

# L1: extra local addresses, a DNS server on 127.0.0.1:53 that slirp
# forwards the guest's queries to, /etc/hosts for the VMM's own lookup of
# the denied domain, a web server and a byte sink.
for a in 192.0.2.1 198.51.100.1 198.51.100.7 198.51.100.2{1..9}; do ip addr add "$a/32" dev lo 2>/dev/null; done
rm -f /etc/resolv.conf; echo "nameserver 127.0.0.1" >/etc/resolv.conf
echo "198.51.100.7 blocked.test" >>/etc/hosts
python3 "$src/net-host.py" dns 53 allowed.test=10.0.2.2 blocked.test=198.51.100.1 \
	cdn.test=@edge.cdnnet.test "edge.cdnnet.test=$(echo 198.51.100.2{1..8} | tr ' ' '|')" &
pids+=($!)
mkdir -p "$T/www"; echo "hello from L1" >"$T/www/hello.txt"
(cd "$T/www" && exec python3 -m http.server --bind 0.0.0.0 18080 >/dev/null 2>&1) &
pids+=($!)
python3 "$src/net-host.py" sink 18081 &
pids+=($!)
sleep 1

t0=$(date +%s%N)
id=$(sbx -v create --memory 512M --deny 192.0.2.0/24 --deny blocked.test 2>"$T/create.err")
st=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
sed 's/^/# /' "$T/create.err"
ok $st "create with --deny boots (${ms} ms)"
[ $st = 0 ] || { sbx ls; exit 1; }
sbx cp "$src/net-guest.py" "$id:/tmp/net.py"; ok $? "copy the guest helper in"
g() { sbx exec "$id" -- python3 /tmp/net.py "$@"; }

is "$(sbx exec "$id" -- cat /etc/resolv.conf)" "nameserver 10.0.2.3" "sbx-init wrote resolv.conf"
is "$(g get 10.0.2.2 18080 /hello.txt)" "hello from L1" "the guest fetches a page from L1's loopback through 10.0.2.2"

# A denied CIDR fails at once; a neighbour that is not denied works.
r=$(g connect 198.51.100.1 18080)
is "${r% *}" "ok" "198.51.100.1 (not denied) is reachable"
r=$(g connect 192.0.2.1 18080); t=${r##* }
is "${r% *}" "error ECONNREFUSED" "192.0.2.1 (--deny 192.0.2.0/24) is refused"
[ "${t:-9999}" -lt 2000 ]; ok $? "and at once (${t} ms < 2000)"

# Names: through the sandbox's DNS; a denied domain fails at once.
r=$(g resolve allowed.test)
is "${r% *}" "ok 10.0.2.2" "allowed.test resolves through 10.0.2.3"
is "$(g get allowed.test 18080 /hello.txt)" "hello from L1" "and is fetched by name"
r=$(g resolve www.blocked.test); t=${r##* }
case $r in error*) ok 0 "www.blocked.test (--deny blocked.test) does not resolve: $r" ;;
	*) ok 1 "www.blocked.test (--deny blocked.test) does not resolve: $r" ;; esac
[ "${t:-9999}" -lt 2000 ]; ok $? "and at once (${t} ms < 2000)"
r=$(g connect 198.51.100.7 18080); t=${r##* }
is "${r% *}" "error ECONNREFUSED" "blocked.test's address (resolved by the VMM) is refused"
[ "${t:-9999}" -lt 2000 ]; ok $? "and at once (${t} ms < 2000)"

# Throughput guest -> host through slirp.
r=$(g send 10.0.2.2 18081 64)
set -- $r
is "$1 $4" "sent 67108864" "64 MiB reach L1 (sink counted ${4:-?} bytes)"
[ "${3:-0}" -gt 0 ] && echo "# bench: guest->host TCP 64 MiB in $3 ms ($(awk -v ms="$3" 'BEGIN { printf "%.2f", 64000 / ms }') MiB/s)"

# A server in the guest, reachable through sbx port.
sbx exec -d "$id" -- python3 /tmp/net.py serve 8000 >/dev/null
ok $? "start a server in the guest"
sleep 2
hp=$(sbx port "$id" 8000)
ok $? "sbx port $id 8000 -> $hp"
is "$(python3 -c "
import socket,sys
h,p=sys.argv[1].rsplit(':',1)
s=socket.create_connection((h,int(p)),timeout=20); s.sendall(b'GET / HTTP/1.0\r\n\r\n')
d=b''
while True:
    b=s.recv(4096)
    if not b: break
    d+=b
print(d.split(b'\r\n\r\n',1)[1].decode().strip())" "$hp")" "hello from guest" "the guest's server answers on $hp"
is "$(sbx ls --json | python3 -c "import json,sys; print([s['ports'] for s in json.load(sys.stdin) if s['id']=='$id'][0])")" \
    "[{'host': ${hp##*:}, 'guest': 8000, 'proto': 'tcp'}]" "sbx ls --json lists the port"
hp2=$(sbx port --host 127.0.0.1:18090 "$id" 8000)
is "$hp2" "127.0.0.1:18090" "--host ADDR:PORT binds that port"
sbx port "$id" 8000 --host 127.0.0.1:18090 >/dev/null 2>&1
ok $((! $?)) "a port in use is refused"
r=$(python3 "$src/net-host.py" latency 127.0.0.1 "${hp##*:}" 20)
set -- $r
[ -n "${2:-}" ]; ok $? "20 requests through the port forward"
echo "# bench: port forward: connect ${1:-?} ms, connect+request ${2:-?} ms (mean of 20)"

is "$(sbx exec "$id" -- cat /sys/class/net/eth0/address)" "52:54:00:12:34:56" "eth0 has the VMM's MAC"

# Hibernate + resume: a new sbx-vmm, a new slirp; the guest keeps its
# address, the policy comes back with the snapshot, the forward is re-made.
sbx hibernate "$id" >/dev/null 2>&1 && sbx resume "$id" >/dev/null 2>&1
ok $? "hibernate and resume"
is "$(g get 10.0.2.2 18080 /hello.txt)" "hello from L1" "after resume the guest still reaches L1"
r=$(g connect 192.0.2.1 18080)
is "${r% *}" "error ECONNREFUSED" "after resume the denied CIDR is still refused"
is "$(python3 "$src/net-host.py" latency 127.0.0.1 "${hp##*:}" 1 >/dev/null 2>&1 && echo up)" up \
    "after resume the port forward $hp works again"

# sbx port --close: the VMM's slirp stops listening (slirp_remove_hostfwd)
# and the record forgets the forward; the other forward of 8000 goes on.
up() { python3 "$src/net-host.py" latency 127.0.0.1 "$1" 1 >/dev/null 2>&1 && echo up || echo down; }
is "$(sbx port --close --host 127.0.0.1:18090 "$id" 8000)" "closed 1 forward of guest port 8000" \
	"sbx port --close --host closes the 18090 forward"
is "$(up 18090)|$(up "${hp##*:}")|$(sbx port "$id")" "down|up|8000/tcp -> ${hp##*:}" \
	"18090 no longer listens, $hp still does, and only it is listed"
is "$(sbx port --close "$id" 8000)" "closed 1 forward of guest port 8000" "sbx port --close closes the last one"
is "$(up "${hp##*:}")|$(sbx ls --json | python3 -c "import json,sys; print([s.get('ports', []) for s in json.load(sys.stdin) if s['id']=='$id'][0])")" \
	"down|[]" "$hp no longer listens and sbx ls --json lists no port"

# Four fork clones: each has its own slirp and reaches L1 by itself.
kids=$(sbx fork -n 4 "$id" 2>"$T/fork.err")
ok $? "fork -n 4"
sed 's/^/# /' "$T/fork.err"
nk=0
for k in $kids; do
	[ "$(sbx exec "$k" -- python3 /tmp/net.py get 10.0.2.2 18080 /hello.txt)" = "hello from L1" ] && nk=$((nk + 1))
done
is "$nk" 4 "each of the 4 clones fetches from L1"
k1=$(echo $kids | cut -d' ' -f1)
r=$(sbx exec "$k1" -- python3 /tmp/net.py connect 192.0.2.1 18080)
is "${r% *}" "error ECONNREFUSED" "a clone keeps the denied CIDR refused"
is "$(g get 10.0.2.2 18080 /hello.txt)" "hello from L1" "the source still reaches L1 after the fork"
for k in $kids; do sbx rm -f "$k" >/dev/null 2>&1; done

# An allow list with a domain whose answers rotate: cdn.test is a CNAME
# to edge.cdnnet.test, which answers 198.51.100.21, .22, ... in turn. The
# VMM resolves cdn.test itself when it starts and gets one address; the
# guest asks later and gets another, which is allowed because the VMM
# reads the DNS answer it hands the guest. .29 is never given out.
snap=$(sbx snapshot "$id" 2>"$T/snap.err")
ok $? "snapshot the sandbox"
rid=$(sbx create --from "$snap" --allow cdn.test 2>"$T/rcreate.err")
ok $? "a copy restored with --allow cdn.test (an allow list)"
sed 's/^/# /' "$T/rcreate.err"
r=$(sbx exec "$rid" -- python3 /tmp/net.py resolve www.cdn.test)
set -- $r
case ${2:-} in 198.51.100.2[2-8]) ok 0 "www.cdn.test resolves in the guest to a rotated address ($2)" ;;
	*) ok 1 "www.cdn.test resolves in the guest to a rotated address ($r)" ;; esac
gip=${2:-none}
r=$(sbx exec "$rid" -- python3 /tmp/net.py connect "$gip" 18080)
is "${r% *}" "ok" "the guest reaches the address its DNS answer gave ($gip)"
is "$(sbx exec "$rid" -- python3 /tmp/net.py get www.cdn.test 18080 /hello.txt)" "hello from L1" \
	"and fetches by name (a new answer, a new address)"
# The same over TCP (what a resolver does after a truncated answer): the
# VMM reads the answers of the guest's TCP connection to 10.0.2.3:53 too.
r=$(sbx exec "$rid" -- python3 /tmp/net.py resolve-tcp www.cdn.test)
set -- $r
tip=${2:-none}
ok $([ "${1:-}" = ok ] && [ "$tip" != "$gip" ] && echo 0 || echo 1) \
	"www.cdn.test resolves over TCP to another rotated address ($r; over UDP it was $gip)"
r=$(sbx exec "$rid" -- python3 /tmp/net.py connect "$tip" 18080)
is "${r% *}" "ok" "the guest reaches the address the answer over TCP gave ($tip)"
r=$(sbx exec "$rid" -- python3 /tmp/net.py connect 198.51.100.29 18080); t=${r##* }
is "${r% *}" "error ECONNREFUSED" "an address no answer gave is refused"
[ "${t:-9999}" -lt 2000 ]; ok $? "and at once (${t} ms < 2000)"
r=$(sbx exec "$rid" -- python3 /tmp/net.py connect 10.0.2.2 18080)
is "${r% *}" "error ECONNREFUSED" "so is L1's loopback, which the allow list does not name"
sbx rm -f "$rid" >/dev/null 2>&1; rid=

echo "1..$n"
exit $failed
