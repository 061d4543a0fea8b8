#!/bin/bash
# t80-build.sh - the VM stage of `sbx build` on tests/rig/webapp.yaml:
# its steps run in a real guest booted from its image (made on the host by
# make rig-image), their output streams, `start` launches a server and the
# `ready` port check waits for it, and the ready sandbox becomes the
# template: `sbx run webapp -- python3 -c 'print(6*7)'` prints 42 from a
# restore (no boot), with the steps' files there and the server already
# answering. A second build is a cache hit; changing step 2 restores the
# cached state after step 1 and runs only step 2, which here fails: the
# build stops with its status and output and leaves the good build.
set -u
if [ -z "${SBX_RIG:-}" ] && [ ! -e /dev/kvm -o -e /sys/module/kvm_pvm ]; then
	exec "${SBX_TOP_SRCDIR:-.}/tests/rig/run" -- bash "$0" "$@"
fi
export SBX_HOME=${SBX_RIG_HOME:?SBX_RIG_HOME is not set (make check-rig sets it)}
export SBX_LIBEXECDIR=${SBX_LIBEXECDIR:-$SBX_TOP_BUILDDIR}
export SBX_BOOT_TIMEOUT=${SBX_BOOT_TIMEOUT:-3m}
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { [ "$1" = "$2" ]; ok $? "$3"; [ "$1" = "$2" ] || printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
tpl=$SBX_TOP_SRCDIR/tests/rig/webapp.yaml
get8000='import socket; s=socket.create_connection(("127.0.0.1", 8000)); s.sendall(b"GET / HTTP/1.0\r\n\r\n"); print(s.recv(300).decode().split("\r\n\r\n")[1].strip())'
echo "1..25"

t0=$(now_ms)
snap=$(sbx build "$tpl" 2>"$T/build.err")
st=$?
build_ms=$(($(now_ms) - t0))
sed 's/^/# /' "$T/build.err"
ok $st "sbx build webapp: image reused, steps run in a VM, ready snapshot taken (${build_ms} ms)"
grep -q "image: 'webapp' is up to date" "$T/build.err"
ok $? "the image made on the host is reused (the steps are not part of it)"
grep -q "step 2/2: python3 answer.py" "$T/build.err"
ok $? "the build names each step as it runs it"
grep -qx "42" "$T/build.err"
ok $? "the steps' output streams to the terminal"
grep -qx "egress: ConnectionRefusedError fast" "$T/build.err"
ok $? "a build step (booted image) runs under the template's egress rule: the denied address fails at once"
grep -q "waiting for port 8000" "$T/build.err"
ok $? "it waits for the ready port"
is "$(echo "$snap" | grep -cE '^[0-9a-f]{64}$')" 1 "it prints the template snapshot's id"

out=$(sbx templates ls)
echo "$out" | sed 's/^/# /'
echo "$out" | grep -Eq '^webapp .* ready [0-9]+[smhd] ago +[0-9.]+[KMG] '
ok $? "sbx templates ls shows webapp built, with its age and size"

t0=$(now_ms)
got=$(sbx run webapp -- python3 -c 'print(6*7)' 2>"$T/run.err")
st=$?
run_ms=$(($(now_ms) - t0))
sed 's/^/# /' "$T/run.err"
is "$st|$got" "0|42" "sbx run webapp -- python3 -c 'print(6*7)' prints 42 (${run_ms} ms)"

id=$(sbx create webapp 2>"$T/create.err")
sed 's/^/# /' "$T/create.err"
head=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("head", ""))')
is "$head" "$snap" "sbx create webapp restores the template snapshot instead of booting"
is "$(sbx exec "$id" -- python3 -c "$get8000" 2>&1)|$(sbx exec "$id" -- python3 /srv/app/answer.py 2>&1)" \
	"hello-from-the-template|42" "the started server answers at once and the steps' files are there"

# The template's settings reach its sandboxes: idle timeout, egress rule,
# environment; create options add to them or override them.
settings() {
	sbx inspect "$1" | python3 -c 'import json,sys
d = json.load(sys.stdin)
x = d.get("extra", {})
print(x.get("idle_timeout_ms", "never"), ",".join(x["network"]["deny"]), ",".join(x.get("env", [])))'
}
is "$(settings "$id")" "45000 192.0.2.0/24 LANG=C.UTF-8,GREETING=hello-from-the-template" \
	"a sandbox of webapp records the template's idle timeout, egress rule and environment"
vmm_args=$(tr '\0' ' ' </proc/"$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"/cmdline)
case $vmm_args in
*--idle-timeout=45000ms*--net=*) ok 0 "its restored VMM runs with the template's idle timeout and egress policy" ;;
*) ok 1 "its restored VMM runs with the template's idle timeout and egress policy"; echo "# $vmm_args" ;;
esac
refused='import socket, time
t = time.monotonic()
try:
    socket.create_connection(("192.0.2.1", 80), timeout=10)
    print("connected")
except OSError as e:
    print(type(e).__name__, "fast" if time.monotonic() - t < 3 else "slow")'
is "$(sbx exec "$id" -- sh -c 'echo $GREETING')|$(sbx exec "$id" -- python3 -c "$refused" 2>&1)" \
	"hello-from-the-template|ConnectionRefusedError fast" \
	"commands get the template's env; the template's denied CIDR fails at once"
sbx rm -f "$id" >/dev/null 2>&1
id=$(sbx create --idle-timeout 0 --deny 198.51.100.0/24 --env GREETING=from-create webapp 2>"$T/create2.err")
sed 's/^/# /' "$T/create2.err"
is "$(settings "$id")|$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("head", ""))')" \
	"never 192.0.2.0/24,198.51.100.0/24 LANG=C.UTF-8,GREETING=from-create|$snap" \
	"create options override the idle timeout and env, add deny rules, and still restore"
is "$(sbx exec "$id" -- sh -c 'echo $GREETING')|$(sbx exec -e GREETING=from-exec "$id" -- sh -c 'echo $GREETING')|$(sbx exec "$id" -- python3 -c "${refused/192.0.2.1/198.51.100.1}" 2>&1)" \
	"from-create|from-exec|ConnectionRefusedError fast" \
	"exec's env wins over the sandbox's; the added rule is enforced"
sbx rm -f "$id" >/dev/null 2>&1

t0=$(now_ms)
again=$(sbx build "$tpl" 2>"$T/again.err")
again_ms=$(($(now_ms) - t0))
is "$again" "$snap" "an unchanged template is not built again (${again_ms} ms)"
events() { python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in sys.stdin))'; }
is "$(sbx --json build "$tpl" 2>/dev/null | events)" "image up_to_date done" \
	"--json prints the build as events, one JSON object per line"

# A step that fails: same image (only the steps differ), no rebuild of
# it; the build stops and the good template stays.
# On a terminal (script(1)), with the step's progress meter.
sed 's|^  - python3 answer.py|  - echo about to fail; exit 7|' "$tpl" >"$T/webapp.yaml"
out=$(script -qec "sbx build '$T/webapp.yaml'" /dev/null 2>&1)
st=$?
echo "$out" | tail -n 4 | tr -d '\r' | sed 's/^/# /'
ok $([ $st = 1 ] && grep -q "step 2 ('echo about to fail; exit 7') failed with exit status 7" <<<"$out" &&
	grep -q "about to fail" <<<"$out" && echo 0 || echo 1) \
	"a failing step stops the build with its status and output"
ok $(grep -q $'\r\e\[Kabout to fail' <<<"$out" && grep -q $'\rstep 2/2 [0-9]' <<<"$out" && echo 0 || echo 1) \
	"on a terminal the step's meter (step 2/2, bytes, time) is drawn under its output"
grep -q "step 1 cached; restoring the sandbox after it" <<<"$out" && ! grep -q "step 1/2" <<<"$out"
ok $? "only the changed step ran: the build restored the cached state after step 1"
is "$(sbx run webapp -- python3 /srv/app/answer.py 2>&1)" 42 \
	"the last good build of webapp is still the template"
# A good change of step 2: built from the cached step 1; the old step 2
# entry of the step cache is dropped, step 1's kept.
before=$(ls "$SBX_HOME/refs/build" | sort)
# This step also fetches a file from a web server on L1's loopback
# through 10.0.2.2, as apt-get or pip would fetch from a mirror.
mkdir -p "$T/www"; echo "package-from-L1" >"$T/www/pkg.txt"
(cd "$T/www" && exec python3 -m http.server --bind 127.0.0.1 18082 >/dev/null 2>&1) &
www=$!
fetch='import socket; s=socket.create_connection(("10.0.2.2", 18082), timeout=30); s.sendall(b"GET /pkg.txt HTTP/1.0\r\n\r\n"); d=b""
while True:
    b=s.recv(4096)
    if not b: break
    d+=b
print("fetched:", d.split(b"\r\n\r\n", 1)[1].decode().strip())'
python3 - "$tpl" "$T/webapp.yaml" "$fetch" <<'PY'
import sys
src, dst, code = sys.argv[1:]
step = "  - |\n    python3 answer.py && echo again\n" + \
    "".join("    " + l + "\n" for l in ("python3 -c '" + code + "'").split("\n"))
s = open(src).read()
assert "  - python3 answer.py\n" in s
open(dst, "w").write(s.replace("  - python3 answer.py\n", step))
PY
ev=$(sbx --json build "$T/webapp.yaml" 2>"$T/b3.err")
st=$?
after=$(ls "$SBX_HOME/refs/build" | sort)
is "$st|$(echo "$after" | wc -l)|$(comm -12 <(echo "$before") <(echo "$after") | wc -l)" "0|2|1" \
	"a changed step rebuilds from the cache and drops the step cache entry it replaced"
is "$(echo "$ev" | events)" "image restore step step_done start wait_ready snapshot done" \
	"its events: restore after step 1, step 2, start, ready, snapshot"
kill "$www" 2>/dev/null
is "$(grep '^fetched:' "$T/b3.err")" "fetched: package-from-L1" \
	"a build step (restored after step 1) fetches a file from L1 through 10.0.2.2"
echo "# bench: sbx build webapp (boot + 2 steps + start + ready + snapshot) ${build_ms} ms; run webapp (restore + exec + rm) ${run_ms} ms; cached rebuild ${again_ms} ms"
exit $failed
