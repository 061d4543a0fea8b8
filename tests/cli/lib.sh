# lib.sh - TAP helpers for the CLI tests (sourced by tests/cli/*.t).
#
#   plan N                 print the TAP plan
#   ok COND-STATUS NAME    "ok"/"not ok" from the previous command's status
#   is GOT WANT NAME       string equality, showing both on failure
#   like GOT REGEX NAME    grep -E match
#   run CMD...             runs CMD capturing $out, $err and $rc
#   fake_vmm ID SCRIPT     a running sandbox ID ("web") whose sbx-vmm is
#                          python3 SCRIPT CONTROL-SOCKET $T/ops
#
# Each test gets a fresh $SBX_HOME under $T (removed at exit).
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export SBX_HOME="$T/home"
# sbx-vmm runtime directories (sockets) go under $T too, not /tmp/sbx-UID.
mkdir -m 700 "$T/xdg"
export XDG_RUNTIME_DIR="$T/xdg"
unset SBX_REMOTE SBX_TOKEN
_n=0
_fail=0
# Canonical paths (a VPATH build passes ".../_build/sub/../.."), so they
# compare equal to the cleaned paths sbx prints.
SRC=$(cd "${SBX_TOP_SRCDIR:-$(dirname "$0")/../..}" && pwd)
BUILD=$(cd "${SBX_TOP_BUILDDIR:-$SRC}" && pwd)
export SBX_TOP_SRCDIR="$SRC" SBX_TOP_BUILDDIR="$BUILD"

plan() { echo "1..$1"; }
_report() {
	_n=$((_n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_fail=$((_fail + 1))
	fi
}
ok() { _report "$1" "$2"; }
is() {
	if [ "$1" = "$2" ]; then _report 0 "$3"; else
		_report 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2" | head -40
	fi
}
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _report 0 "$3"; else
		_report 1 "$3"
		printf '#   got:  %s\n#   want match: %s\n' "$1" "$2" | head -40
	fi
}
run() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
	return 0
}
# serve_start [ARGS...]: `sbx serve --listen 127.0.0.1:0 ARGS` in the
# background (its pid in $pid; stdout and stderr in $T/serve.out and
# $T/serve.err), then the URL it prints in $url. Without a URL after 10 s
# the test stops with the server's stderr.
serve_start() {
	sbx serve --listen 127.0.0.1:0 "$@" >"$T/serve.out" 2>"$T/serve.err" &
	pid=$!
	url=
	for _i in $(seq 1 100); do
		url=$(sed -n 's/^sbx serve: listening on \(http:[^ ]*\).*/\1/p' "$T/serve.err")
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { cat "$T/serve.err" >&2; exit 1; }
}

# fake_vmm ID SCRIPT: a running sandbox ID, named "web", with networking,
# whose sbx-vmm is python3 running SCRIPT with its control socket path and
# $T/ops as arguments (a symlink named sbx-vmm: kvm_vmm_alive checks the
# name). Sets $rd (its runtime directory), $fake (the pid) and adds it to
# $pids, which the exit trap kills.
fake_vmm() {
	local py _i=0
	py=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
	rd=$XDG_RUNTIME_DIR/sbx/$1
	mkdir -p "$rd" "$T/bin"
	chmod 700 "$XDG_RUNTIME_DIR" "$XDG_RUNTIME_DIR/sbx" "$rd"
	ln -sf "$py" "$T/bin/sbx-vmm"
	"$T/bin/sbx-vmm" "$2" "$rd/ctl.sock" "$T/ops" &
	fake=$!
	pids="${pids:-} $fake"
	trap 'for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
	while [ ! -S "$rd/ctl.sock" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	sbx ls >/dev/null 2>&1
	mkdir -p "$SBX_HOME/sandboxes/$1"
	cat >"$SBX_HOME/sandboxes/$1/sandbox.json" <<JSON
{"version": 1, "id": "$1", "name": "web", "state": "running", "template": "base",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0}, "pid": $fake,
 "extra": {"network": {"enabled": true, "allow": [], "deny": [], "forwards": []}},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}
JSON
}
