#!/bin/sh
# The same commands give the same answers locally and through
# `sbx --remote` against `sbx serve` (on loopback, fronting the same
# home), and the remote backend's own failures read clearly.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"

set -- "ls" "ls --json" "inspect nope" "exec nope -- true" \
	"exec nope -- sh -c 'exit 3'" "rm nope" "stop nope" "start nope" \
	"logs nope" "cp nope:/etc/hostname $T/x" "cp $SRC/README.md nope:/tmp/r"
plan $(($# * 3 + 10))

pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_start
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)

for c in "$@"; do
	eval "set -- $c"
	run sbx "$@"
	lrc=$rc lout=$out lerr=$err
	SBX_TOKEN=$tok run sbx --remote "$url" "$@"
	is "$rc" "$lrc" "sbx $c: same exit status remotely ($lrc)"
	is "$out" "$lout" "sbx $c: same output remotely"
	is "$err" "$lerr" "sbx $c: same errors remotely"
done

# Interactive sessions ("Upgrade: sbx-exec") on a terminal: with no VM
# here the sandbox is missing, which must read the same as locally.
cat >"$T/ptyrun.py" <<'PY'
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace").replace("\r", ""))
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
PY
for c in "exec -it nope -- sh" "shell nope"; do
	run python3 "$T/ptyrun.py" sbx $c
	lrc=$rc lout=$out
	SBX_TOKEN=$tok run python3 "$T/ptyrun.py" sbx --remote "$url" $c
	is "$rc" "$lrc" "sbx $c on a terminal: same exit status remotely ($lrc)"
	is "$out" "$lout" "sbx $c on a terminal: same messages remotely"
done

SBX_TOKEN=$tok run sbx --remote "$url/" ls --json
is "$out" "[]" "a URL with a trailing slash works"
SBX_TOKEN="sbx_0123456789abcdef_x" run sbx --remote "$url" ls
like "$err" "^sbx: server rejected the token \(401\)" "a bad token is reported as such"
like "$err" "hint: set SBX_TOKEN" "with a hint about SBX_TOKEN"
run sbx --remote "$url" ls
like "$err" "no API token for the sbx server at $url" "no token at all is reported before connecting"
read_tok=$(sbx token create --scope read 2>/dev/null | tail -n 1)
SBX_TOKEN=$read_tok run sbx --remote "$url" rm nope
like "$err" "server refused \(403\): .*scope 'write'" "a read token cannot remove: 403 names the scope"
# A port nothing listens on: bind one, then close it.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SBX_TOKEN=$tok run sbx --remote "http://127.0.0.1:$port" ls
is "$err" "sbx: cannot reach sbx server at http://127.0.0.1:$port: connection refused" "an unreachable server is reported plainly"
