#!/bin/bash
# t62-serve-load.sh - a bounded load test of `sbx serve` with real
# sandboxes: one sandbox is booted and snapshotted, then N clients on
# loopback (keep-alive connections, a write token each) loop "create a
# sandbox from the snapshot, list sandboxes, delete it" for two rounds of D
# seconds. After each round the server's open fds, threads and RSS, the
# sbx-vmm processes and the sandboxes left are recorded; the test fails
# when a round leaves a sandbox or a VMM behind, when an answer is not the
# expected 201/200/204, or when the second round grows the server's fds,
# threads or RSS (a leak). Prints requests/s and p50/p99 per operation
# (doc/BENCHMARKS.md records them).
#
#   SBXT_LOAD_CLIENTS (default 2), SBXT_LOAD_SECONDS (default 15); kept small:
# L1's kernel has crashed under heavier VM churn (tests/rig/README.md)
set -u
. "$(dirname "$0")/lib.sh"
clients=${SBXT_LOAD_CLIENTS:-2}
secs=${SBXT_LOAD_SECONDS:-15}
spid= src=
cleanup() {
	[ -n "$src" ] && sbx rm -f "$src" >/dev/null 2>&1
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

src=$(sbx create 2>"$T/create.err")
ok $? "the source sandbox boots"
snap=$(sbx snapshot -m "load test" "$src" 2>"$T/snap.err")
ok $? "and is snapshotted"
[ -n "$snap" ] || { sed 's/^/# /' "$T/create.err" "$T/snap.err"; echo "1..$n"; exit 1; }

serve_start --timeout 5m --max-conns $((clients + 8))
[ -n "$url" ]; ok $? "sbx serve listens on loopback"
[ -n "$url" ] || { sed 's/^/# /' "$T/serve.err"; echo "1..$n"; exit 1; }
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)

# "fds threads rss-KiB vmms sandboxes" of the server and the store now.
probe() {
	printf '%s %s %s %s %s\n' "$(ls /proc/$spid/fd | wc -l)" \
	    "$(sed -n 's/^Threads:[^0-9]*\([0-9]*\).*/\1/p' /proc/$spid/status)" \
	    "$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' /proc/$spid/status)" \
	    "$(pgrep -c -x sbx-vmm)" "$(sbx ls --ids | wc -l)"
}

# One round: prints "create|list|delete COUNT RPS P50 P99" lines and
# "errors N" (answers other than 201/200/204, with the first few shown).
round() {
	python3 - "$url" "$tok" "$clients" "$secs" "$snap" <<'PY'
import http.client, json, sys, threading, time
url, tok, n, dur, snap = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
host, port = url.split("//")[1].rsplit(":", 1)
hdr = {"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
lat = {"create": [], "list": [], "delete": []}
errs, lock = [], threading.Lock()
def call(c, method, path, body, want):
    t = time.monotonic()
    c.request(method, path, body=body, headers=hdr)
    r = c.getresponse()
    data = r.read()
    ms = (time.monotonic() - t) * 1000
    if r.status != want:
        with lock:
            try:	# the whole message: it carries the VMM's last lines
                msg = json.loads(data)["error"]["message"]
            except Exception:
                msg = repr(data[:400])
            errs.append("%s %s: %d %s" % (method, path, r.status, msg[:2000]))
        return None, ms
    return data, ms
def client(i):
    c = http.client.HTTPConnection(host, int(port), timeout=120)
    end = time.monotonic() + dur
    while time.monotonic() < end:
        data, ms = call(c, "POST", "/v1/sandboxes", json.dumps({"snapshot": snap}), 201)
        if data is None:
            time.sleep(1)
            continue
        sid = json.loads(data)["id"]
        with lock: lat["create"].append(ms)
        data, ms = call(c, "GET", "/v1/sandboxes", None, 200)
        if data is not None:
            with lock: lat["list"].append(ms)
        data, ms = call(c, "DELETE", "/v1/sandboxes/%s?force=1" % sid, None, 204)
        if data is not None:
            with lock: lat["delete"].append(ms)
t0 = time.monotonic()
ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
for t in ts: t.start()
for t in ts: t.join()
wall = time.monotonic() - t0
for op in ("create", "list", "delete"):
    v = sorted(lat[op])
    if v:
        print("%s %d %.2f %.0f %.0f" % (op, len(v), len(v) / wall, v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))]))
    else:
        print("%s 0 0 0 0" % op)
print("errors %d" % len(errs))
for e in errs[:3]:
    for line in e.splitlines():
        print("# " + line)
PY
}

before=$(probe)
echo "# before: fds threads rss-KiB vmms sandboxes = $before"
for r in 1 2; do
	out=$(round)
	echo "$out" | sed "s/^/# round $r: /"
	sleep 1	# the server sees the clients' connections close
	after=$(probe)
	echo "# after round $r: $after"
	eval "p$r=\"$after\""
	creates=$(echo "$out" | awk '$1 == "create" { print $2 }')
	errors=$(echo "$out" | awk '$1 == "errors" { print $2 }')
	[ "${creates:-0}" -gt 0 ] && [ "$errors" = 0 ]
	ok $? "round $r: $clients clients created, listed and deleted ${creates:-0} sandboxes with no error answer"
	set -- $after
	is "$4 $5" "1 1" "round $r leaves only the source's VMM and sandbox"
	[ "$r" = 1 ] && echo "$out" | awk -v c="$clients" -v d="$secs" \
		'$1 != "errors" && $1 !~ /^#/ { printf "# bench: serve load (%s clients, %s s, real sandboxes): %s %s ops, %s/s, p50 %s ms, p99 %s ms\n", c, d, $1, $2, $3, $4, $5 }'
done
set -- $p1
f1=$1 t1=$2 m1=$3
set -- $p2
# fds and threads back to where they were; RSS may wobble by allocator
# caching but not grow by more than 4 MiB per round.
[ "$1" -le "$f1" ] && [ "$2" -le "$t1" ] && [ "$3" -le $((m1 + 4096)) ]
ok $? "no growth in round 2: fds $f1 -> $1, threads $t1 -> $2, RSS $m1 -> $3 KiB"
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
spid=
echo "1..$n"
exit $failed
