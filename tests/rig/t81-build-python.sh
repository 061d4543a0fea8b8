#!/bin/bash
# t81-build-python.sh - `sbx build python` runs the template's steps in a real
# guest and snapshots the ready sandbox; `sbx run python -- python3 -c
# 'print(6*7)'` then restores that snapshot (no boot) and prints 42, with
# the steps' /opt/venv there. A second build is a cache hit; a template
# whose step fails stops with the step's status and output and leaves the
# good build in place. The image itself is made on the host (make
# rig-image: sbx build --image-only python), since L1 has no network.
#
# The venv step takes seconds: it uses Debian's pip through
# --system-site-packages (ensurepip, which copies pip in and byte-compiles
# it, took over 10 minutes under the rig's emulation).
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
echo "1..13"

t0=$(now_ms)
snap=$(sbx build python 2>"$T/build.err")
st=$?
build_ms=$(($(now_ms) - t0))
sed 's/^/# /' "$T/build.err"
ok $st "sbx build python runs the steps in a VM and snapshots it (${build_ms} ms)"
grep -q "step 1/2: python3 -m venv " "$T/build.err"
ok $? "the build names each step as it runs it"
grep -q "^3\.[0-9]" "$T/build.err"
ok $? "the steps' output streams to the terminal (python's version)"
is "$(echo "$snap" | grep -cE '^[0-9a-f]{64}$')" 1 "it prints the template snapshot's id"

out=$(sbx templates ls)
echo "$out" | sed 's/^/# /'
echo "$out" | grep -Eq '^python +.* ready [0-9]+[smhd] ago '
ok $? "sbx templates ls shows python built"

t0=$(now_ms)
got=$(sbx run python -- python3 -c 'print(6*7)' 2>"$T/run.err")
st=$?
run_ms=$(($(now_ms) - t0))
sed 's/^/# /' "$T/run.err"
is "$st|$got" "0|42" "sbx run python -- python3 -c 'print(6*7)' prints 42 (${run_ms} ms)"

id=$(sbx create python 2>"$T/create.err")
st=$?
sed 's/^/# /' "$T/create.err"
ok $st "sbx create python"
is "$(sbx exec "$id" -- /opt/venv/bin/python -c 'import sys; print(sys.prefix)' 2>&1)" /opt/venv \
	"the sandbox has the venv the build's step made"
# pip installs into the venv (offline: a local package), not the system.
sbx exec "$id" -- sh -c 'mkdir -p /tmp/pkg && cd /tmp/pkg &&
	printf "from setuptools import setup\nsetup(name=\"hello42\", version=\"1.0\", py_modules=[\"hello42\"])\n" >setup.py &&
	printf "def answer():\n    return 42\n" >hello42.py' >/dev/null 2>&1
sbx exec "$id" -- sh -c 'cd / && pip install -q --no-index --no-build-isolation /tmp/pkg' >"$T/pip.out" 2>&1
st=$?
sed 's/^/# /' "$T/pip.out" | tail -n 5
is "$st|$(sbx exec "$id" -- sh -c 'cd / && python -c "import hello42; print(hello42.answer(), hello42.__file__)"; /usr/bin/python3 -c "import hello42" 2>/dev/null || echo not-in-system' 2>&1)" \
	"0|42 /opt/venv/lib/python3.11/site-packages/hello42.py
not-in-system" "pip install puts a package in the venv, not in the system's python"
head=$(sbx inspect "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("head", ""))')
is "$head" "$snap" "it was restored from the template snapshot, not booted"
sbx rm -f "$id" >/dev/null 2>&1

t0=$(now_ms)
again=$(sbx build python 2>"$T/again.err")
again_ms=$(($(now_ms) - t0))
is "$again" "$snap" "an unchanged template is not built again (${again_ms} ms)"

# A step that fails: same image (only the steps differ), so no rebuild
# of it; the build stops and the good template stays.
mkdir -p "$T/bad"
sed 's|^  - /opt/venv/bin/python .*|  - echo about to fail; exit 7|' \
	"$SBX_TOP_SRCDIR/templates/python.yaml" >"$T/bad/python.yaml"
out=$(sbx build "$T/bad/python.yaml" 2>&1)
st=$?
echo "$out" | tail -n 4 | sed 's/^/# /'
ok $([ $st = 1 ] && grep -q "step 2 ('echo about to fail; exit 7') failed with exit status 7" <<<"$out" &&
	grep -q "about to fail" <<<"$out" && echo 0 || echo 1) \
	"a failing step stops the build with its status and output"
is "$(sbx run python -- sh -c 'test -d /opt/venv && echo kept')" kept \
	"the last good build of python is still the template"
echo "# bench: sbx build python (boot + 2 steps + snapshot) ${build_ms} ms; run python (restore + exec + rm) ${run_ms} ms; cached rebuild ${again_ms} ms"
exit $failed
