#!/bin/sh
# Template builds through `sbx serve` (POST /v1/templates/build and
# /v1/templates/{name}/build) and `sbx --remote URL build`: image-only
# builds of a small `tar:` template (no VM needed) by upload and by name,
# the event stream, tokens, unsafe uploads refused with the entry named,
# template files outside the template's directory refused by the client,
# template errors with their location.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl is not installed"; exit 0; }
plan 45

pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
serve_start
tok=$(sbx token create --scope write 2>/dev/null | tail -n 1)
read_tok=$(sbx token create --scope read 2>/dev/null | tail -n 1)
C="$T/client"		# the client's own home
rsbx() { SBX_HOME="$C" SBX_TOKEN=$tok sbx --remote "$url" "$@"; }
jfield() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
# post FILE QUERY: uploads FILE as a build context; sets $code and $body.
post() {
	code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
		--data-binary @"$1" "$url/v1/templates/build?$2")
	body=$(cat "$T/body")
}

# The build context: a template, its root tarball and a `files` entry.
X="$T/ctx"
mkdir -p "$X/root/etc" "$X/conf"
echo "hello from the image" >"$X/root/etc/motd"
tar -C "$X/root" -czf "$X/root.tar.gz" .
rm -rf "$X/root"
echo "greeting" >"$X/conf/greeting"
mkdir -p "$X/conf/tree/sub"
echo "deep" >"$X/conf/tree/sub/deep"
ln -s sub/deep "$X/conf/tree/link"
printf 'name: mini\nfrom:\n  tar: root.tar.gz\nresources:\n  disk: 256M\nfiles:\n  - src: conf/greeting\n    dst: /etc/greeting\n  - src: conf/tree\n    dst: /etc/tree\n' >"$X/mini.yaml"

run rsbx build --image-only "$X/mini.yaml"
is "$rc" 0 "remote image-only build of an uploaded template exits 0"
like "$out" '^[0-9a-f]{64}$' "it prints the image id"
id=$out
like "$err" "image: reading 'root.tar.gz'" "progress lines come to stderr, naming files as uploaded"
run sbx image ls
like "$out" "^mini +$(echo "$id" | cut -c1-12) " "the server's 'image ls' shows the image"
rootfs=$(sbx --json image ls | jfield '[0]["rootfs"]')
run env SBX_HOME="$T/local" sbx --json build --image-only "$X/mini.yaml"
is "$rc" 0 "a local build of the same template in another store works"
is "$(SBX_HOME="$T/local" sbx --json image ls | jfield '[0]["rootfs"]')" "$rootfs" \
	"local and remote builds give the same root disk"
for i in $(seq 1 50); do [ -e "$SBX_HOME/tmp/build-context" ] || break; sleep 0.1; done
ok "$([ ! -e "$SBX_HOME/tmp/build-context" ]; echo $?)" "the uploaded context is removed after the build"
run rsbx build --image-only "$X/mini.yaml"
is "$out" "$id" "an unchanged upload is cached: same id"
like "$err" "image: 'mini' is up to date" "and says so"

run rsbx --json build --image-only --no-cache "$X/mini.yaml"
is "$rc" 0 "--json --no-cache build exits 0"
echo "$out" >"$T/events"
ok "$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    assert isinstance(json.loads(l)["event"], str)' "$T/events" >/dev/null 2>&1; echo $?)" \
	"every line of --json output is an event object"
is "$(echo "$out" | tail -n 1 | jfield '["event"]+" "+d["template"]')" "done mini" "the last event is done"
like "$out" '"event":"image","image":"[0-9a-f]{64}","cached":false' "an image event, not cached"
like "$out" '"event":"log","line":"image: root disk' "progress lines come as log events"
is "$err" "" "nothing on stderr with --json"

# By name: a template the server has in its template directory.
mkdir -p "$SBX_HOME/templates"
sed "s|root.tar.gz|$X/root.tar.gz|; s|src: conf/|src: $X/conf/|g; s|name: mini|name: named|" \
	"$X/mini.yaml" >"$SBX_HOME/templates/named.yaml"
run rsbx build --image-only named
is "$rc" 0 "remote build of a server template by name exits 0"
like "$out" '^[0-9a-f]{64}$' "it prints the image id"
run sbx image ls
like "$out" "^named " "the server has the image"
run rsbx --json build --image-only named
like "$(echo "$out" | tail -n 1)" '"event":"done","template":"named"' "--json by name ends with done"
run rsbx build nope
is "$rc" 1 "an unknown name fails"
like "$err" "^sbx: no template 'nope'" "with the server's message"

# Tokens.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/v1/templates/named/build")
is "$code" 401 "no token: 401"
run env SBX_HOME="$C" SBX_TOKEN=$read_tok sbx --remote "$url" build --image-only named
like "$err" "server refused \(403\): .*scope 'write'" "a read token: 403 naming the scope"
SBX_TOKEN=$read_tok run sbx --remote "$url" build --image-only "$X/mini.yaml"
like "$err" "\(403\)" "a read token cannot upload either"

# Unsafe uploads (tarballs made by python so they can hold anything).
mk() { python3 - "$@" <<'EOF'
import io, sys, tarfile
out, kind, name = sys.argv[1], sys.argv[2], sys.argv[3]
with tarfile.open(out, "w") as t:
    y = b"name: y\nfrom:\n  tar: root.tar.gz\n"
    i = tarfile.TarInfo("y.yaml"); i.size = len(y); t.addfile(i, io.BytesIO(y))
    i = tarfile.TarInfo(name)
    if kind == "file":
        i.size = 2; t.addfile(i, io.BytesIO(b"x\n"))
    elif kind == "symlink":
        i.type = tarfile.SYMTYPE; i.linkname = sys.argv[4]; t.addfile(i)
    elif kind == "chr":
        i.type = tarfile.CHRTYPE; i.devmajor = 1; i.devminor = 3; t.addfile(i)
EOF
}
mk "$T/dotdot.tar" file ../x
post "$T/dotdot.tar" "template=y.yaml"
is "$code" 400 "an entry '../x' is refused with 400"
like "$body" "tar entry '../x': '..' is not allowed" "naming the entry"
mk "$T/abs.tar" file /etc/evil
post "$T/abs.tar" "template=y.yaml"
like "$code $body" "^400 .*tar entry '/etc/evil': absolute names are not allowed" "an absolute entry: 400 naming it"
mk "$T/link.tar" symlink up ../../etc
post "$T/link.tar" "template=y.yaml"
like "$code $body" "^400 .*tar entry 'up': symbolic link to '../../etc' points outside" "an escaping symlink: 400 naming it"
mk "$T/dev.tar" chr null
post "$T/dev.tar" "template=y.yaml"
like "$code $body" "^400 .*tar entry 'null': device nodes are not allowed" "a device node: 400 naming it"
post "$X/mini.yaml" "template=mini.yaml"
like "$code $body" "^400 .*not a tar archive" "a body that is no tar: 400"
ok "$([ ! -e "$SBX_HOME/tmp/build-context" ]; echo $?)" "refused uploads leave nothing behind"

# Files outside the template's directory are refused before sending.
mkdir -p "$T/outside/in"
cp "$X/root.tar.gz" "$T/outside/root.tar.gz"
printf 'name: o\nfrom:\n  tar: ../root.tar.gz\n' >"$T/outside/in/o.yaml"
run rsbx build --image-only "$T/outside/in/o.yaml"
is "$rc" 2 "a path outside the template's directory is refused"
like "$err" "'from.tar' '../root.tar.gz' is outside the template's directory" "naming it"
printf 'name: o\nfrom:\n  tar: %s\n' "$X/root.tar.gz" >"$T/outside/in/abs.yaml"
run rsbx build --image-only "$T/outside/in/abs.yaml"
like "$rc $err" "^2 .*'from.tar' '$X/root.tar.gz' is an absolute path" "an absolute path is refused"
ln -s ../root.tar.gz "$T/outside/in/sneaky.tar.gz"
printf 'name: o\nfrom:\n  tar: sneaky.tar.gz\n' >"$T/outside/in/link.yaml"
run rsbx build --image-only "$T/outside/in/link.yaml"
like "$rc $err" "^2 .*'from.tar' 'sneaky.tar.gz' leads outside the template's directory" \
	"a symlink leading outside is refused"

# Template errors keep their location.
printf 'name: b\nfrom:\n  tar: root.tar.gz\nresources:\n  disk: 1M\n' >"$X/bad.yaml"
run rsbx build --image-only "$X/bad.yaml"
like "$rc $err" "^1 sbx: $X/bad.yaml:5:9: 'resources.disk' must be from 256M" "the client reports a bad template with its location"
tar -C "$X" -cf "$T/bad.tar" bad.yaml root.tar.gz
post "$T/bad.tar" "template=bad.yaml&image_only=1"
like "$code $body" "^400 .*\"bad.yaml:5:9: 'resources.disk' must be from 256M" "the server too, as 400 naming the file as uploaded"
post "$T/bad.tar" "template=other.yaml"
like "$code $body" "^400 .*the upload has no 'other.yaml'" "a missing template file: 400"

# A failure during the build comes through the stream.
printf 'name: orphan\nfrom:\n  template: no-such-parent\n' >"$X/orphan.yaml"
run rsbx --json build --image-only "$X/orphan.yaml"
is "$rc" 1 "a build failing on the server exits 1"
like "$out" '"code": "not_supported"' "with the server's error code in --json"

# One build at a time; a client that goes away does not leave a mess.
tar -C "$X" -czf "$T/mini.tgz" mini.yaml root.tar.gz conf
curl -sN -H "Authorization: Bearer $tok" --data-binary @"$T/mini.tgz" \
	"$url/v1/templates/build?template=mini.yaml&image_only=1&no_cache=1" >"$T/first" &
cpid=$!
for i in $(seq 1 100); do [ -s "$T/first" ] && break; sleep 0.05; done
code=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $tok" -X POST \
	"$url/v1/templates/named/build?image_only=1")
like "$code $(cat "$T/body")" '^409 .*"busy".*another template build is running' "a second build while one runs: 409 busy"
wait "$cpid"
is "$(tail -n 1 "$T/first" | jfield '["event"]')" "done" "the first build ends with done"
manifest() { sbx --json image ls | python3 -c 'import json,sys; print([i["manifest"] for i in json.load(sys.stdin) if i["name"] == "mini"][0])'; }
before=$(manifest)
echo "changed" >"$X/conf/greeting"	# so the new image differs
tar -C "$X" -czf "$T/mini.tgz" mini.yaml root.tar.gz conf
curl -sN -H "Authorization: Bearer $tok" --data-binary @"$T/mini.tgz" \
	"$url/v1/templates/build?template=mini.yaml&image_only=1&no_cache=1" >"$T/gone" &
cpid=$!
for i in $(seq 1 100); do [ -s "$T/gone" ] && break; sleep 0.05; done
kill "$cpid"; wait "$cpid" 2>/dev/null
ok "$([ -e "$SBX_HOME/tmp/build-context" ]; echo $?)" "a client that went away: the build goes on"
for i in $(seq 1 300); do [ -e "$SBX_HOME/tmp/build-context" ] || break; sleep 0.1; done
ok "$([ ! -e "$SBX_HOME/tmp/build-context" ]; echo $?)" "and its context is removed when it ends"
after=$(manifest)
ok "$([ -n "$after" ] && [ "$after" != "$before" ]; echo $?)" "and its result is stored"
