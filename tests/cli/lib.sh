# lib.sh - TAP helpers for the CLI tests (sourced by tests/cli/*.t).
#
#   plan N                 print the TAP plan
#   ok COND-STATUS NAME    "ok"/"not ok" from the previous command's status
#   is GOT WANT NAME       string equality, showing both on failure
#   like GOT REGEX NAME    grep -E match
#   run CMD...             runs CMD capturing $out, $err and $rc
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
