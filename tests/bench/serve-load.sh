#!/bin/sh
# serve-load.sh - a bounded load test of `sbx serve` on loopback (not part
# of make check). N clients with keep-alive connections list sandboxes and
# read /v1/meta for D seconds, three rounds; prints requests/s and p50/p99
# latency per round, and fails when the server's open fds or RSS keep
# growing after the first round (a leak).
#
#   tests/bench/serve-load.sh [-n CLIENTS] [-d SECONDS] [-s PATH/TO/sbx]
set -eu
n=16
d=5
sbx=${SBX:-sbx}
while getopts n:d:s: o; do
	case $o in
	n) n=$OPTARG ;;
	d) d=$OPTARG ;;
	s) sbx=$OPTARG ;;
	*) echo "usage: $0 [-n CLIENTS] [-d SECONDS] [-s SBX]" >&2; exit 2 ;;
	esac
done
command -v python3 >/dev/null || { echo "serve-load: needs python3" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-load.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT INT TERM
export SBX_HOME="$T/home"
tok=$("$sbx" token create --scope read 2>/dev/null | tail -n 1)
"$sbx" -q serve --listen 127.0.0.1:0 --max-conns $((n + 16)) 2>"$T/serve.err" &
pid=$!
url=
for i in $(seq 1 100); do
	url=$(sed -n 's/^sbx serve: listening on \(http:[^ ]*\).*/\1/p' "$T/serve.err")
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { cat "$T/serve.err" >&2; exit 1; }

# fds RSS-KiB threads of the server
probe() {
	printf '%s %s %s\n' "$(ls /proc/$pid/fd | wc -l)" \
	    "$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' /proc/$pid/status)" \
	    "$(sed -n 's/^Threads:[^0-9]*\([0-9]*\).*/\1/p' /proc/$pid/status)"
}

round() {
	python3 - "$url" "$tok" "$n" "$d" <<'PY'
import http.client, sys, threading, time
url, tok, n, dur = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
host, port = url.split("//")[1].rsplit(":", 1)
lat, errs, lock = [], [0], threading.Lock()
def client(i):
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    mine, bad = [], 0
    end = time.time() + dur
    paths = ["/v1/sandboxes", "/v1/meta", "/v1/sandboxes?limit=10"]
    k = i
    while time.time() < end:
        t = time.perf_counter()
        try:
            c.request("GET", paths[k % 3], headers={"Authorization": "Bearer " + tok})
            r = c.getresponse(); r.read()
            if r.status != 200: bad += 1
        except Exception:
            bad += 1; c.close()
            c = http.client.HTTPConnection(host, int(port), timeout=10)
        mine.append(time.perf_counter() - t); k += 1
    c.close()
    with lock:
        lat.extend(mine); errs[0] += bad
ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
t0 = time.time()
for t in ts: t.start()
for t in ts: t.join()
el = time.time() - t0
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print("%d clients %.0fs: %d requests, %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors"
      % (n, el, len(lat), len(lat) / el, q(0.50), q(0.99), errs[0]))
sys.exit(1 if errs[0] else 0)
PY
}

echo "server $url (pid $pid); fds rss-KiB threads at start: $(probe)"
status=0
round || status=1
sleep 1
base=$(probe)
echo "after round 1: $base"
round || status=1
round || status=1
sleep 1
last=$(probe)
echo "after round 3: $last"
set -- $base $last
if [ "$4" -gt $(($1 + 4)) ]; then
	echo "serve-load: open fds grew from $1 to $4" >&2
	status=1
fi
if [ "$5" -gt $(($2 + 8192)) ]; then
	echo "serve-load: RSS grew from $2 KiB to $5 KiB" >&2
	status=1
fi
if [ "$6" -gt $(($3 + 2)) ]; then
	echo "serve-load: threads grew from $3 to $6 (connections not closed)" >&2
	status=1
fi
[ $status = 0 ] && echo "serve-load: no growth of fds, memory or threads"
exit $status
