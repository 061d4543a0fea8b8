#!/bin/sh
# demo.sh - the README's main job: a sandbox from the default image, a
# command run in it, a short Python line, a live fork into two copies that
# each see the parent's files but not each other's, then removal. On a
# host whose KVM cannot boot stock guest kernels (PVM, none) the same
# commands go through `sbx machine` (a Linux VM under QEMU running sbx
# serve, the default remote while it runs), and it says so;
# SBX_DEMO_RIG=1 runs them inside the test rig instead.
#
#   tests/demo.sh [--inside]     (make demo)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${SBX_TOP_BUILDDIR:-$PWD}
export PATH="$build:$PATH"
export SBX_LIBEXECDIR="${SBX_LIBEXECDIR:-$build}"
export SBX_HOME="${SBX_DEMO_HOME:-$build/demo-home}"

if [ "${1:-}" != "--inside" ]; then
	# Images are made on this host (it downloads): neither the machine
	# nor the rig has a network of its own.
	if sbx --remote local doctor >/dev/null 2>&1; then
		sbx --remote local image pull
		exec "$0" --inside
	fi
	why=$(sbx --remote local doctor --json | sed -n 's/.*"virtualization": "\(.*\)".*/\1/p')
	if [ -n "${SBX_DEMO_RIG:-}" ]; then
		echo "demo: this host cannot boot stock guest kernels itself ($why); running inside the rig"
		sbx --remote local image pull
		exec "$top/tests/rig/run" -- "$0" --inside
	fi
	echo "demo: this host cannot boot stock guest kernels itself ($why); running through 'sbx machine'"
	SBX_HOME=$SBX_HOME/machine/store sbx --remote local image pull
	sbx machine stop >/dev/null 2>&1 || true
	t0=$(date +%s)
	sbx machine start --memory 2G
	echo "demo: machine started in $(( $(date +%s) - t0 )) s; sbx commands now go to it"
	st=0
	"$0" --inside || st=$?
	sbx machine stop
	exit $st
fi

t0=$(date +%s)
id=$(sbx create --vcpus 2)
echo "demo: created $id in $(( $(date +%s) - t0 )) s"
trap 'sbx rm -f "$id" >/dev/null 2>&1 || true' EXIT
sbx exec "$id" -- uname -a
sbx exec "$id" -- python3 -c 'import platform; print("python", platform.python_version(), "says", 6 * 7)'
sbx exec "$id" -- sh -c 'echo "written before the fork" > /tmp/note'
t0=$(date +%s)
forks=$(sbx fork -n 2 "$id")
echo "demo: forked into $(echo $forks) in $(( $(date +%s) - t0 )) s"
trap 'sbx rm -f "$id" $forks >/dev/null 2>&1 || true' EXIT
for f in $forks; do
	sbx exec "$f" -- sh -c "echo $f > /tmp/me; echo \"\$(hostname): \$(cat /tmp/note), I am \$(cat /tmp/me)\""
done
sbx ls
sbx rm -f "$id" $forks
trap - EXIT
echo "demo: done"
