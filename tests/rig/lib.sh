# tests/rig/lib.sh - the common start of a rig test script, sourced first
# thing: `. "$(dirname "$0")/lib.sh"`.
#
# On a host without hardware KVM it runs the script again inside the rig
# (tests/rig/run); there it points sbx at the rig's store and this build
# tree, and defines the TAP helpers ok/is/skip, the counters n and failed
# (end with `echo "1..$n"; exit $failed`), now_ms, and T, a temporary
# directory the script's own EXIT trap removes.
if [ -z "${SBX_RIG:-}" ] && [ ! -e /dev/kvm -o -e /sys/module/kvm_pvm ]; then
	exec "${SBX_TOP_SRCDIR:-.}/tests/rig/run" -- bash "$0" "$@"
fi
export SBX_HOME=${SBX_RIG_HOME:?SBX_RIG_HOME is not set (make check-rig sets it)}
builddir=${SBX_TOP_BUILDDIR:-$PWD}
export SBX_LIBEXECDIR=${SBX_LIBEXECDIR:-$builddir}
[ -x "$builddir/sbx" ] && export PATH="$builddir:$PATH"
export SBX_BOOT_TIMEOUT=${SBX_BOOT_TIMEOUT:-3m}
unset SBX_TOKEN SBX_REMOTE
n=0 failed=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi; }
is() { [ "$1" = "$2" ]; ok $? "$3"; [ "$1" = "$2" ] || printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; }
skip() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
T=$(mktemp -d)

# serve_start ARGS...: `sbx serve --listen 127.0.0.1:0 ARGS` in the
# background (its stderr in $T/serve.err); sets spid and url (empty when
# it never said where it listens).
serve_start() {
	sbx serve --listen 127.0.0.1:0 "$@" >"$T/serve.out" 2>"$T/serve.err" &
	spid=$!
	url=
	for _ in $(seq 300); do
		url=$(sed -n 's/^sbx serve: listening on \(http:[^ ]*\).*/\1/p' "$T/serve.err")
		[ -n "$url" ] && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
}
