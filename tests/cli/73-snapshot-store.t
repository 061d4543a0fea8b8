#!/bin/sh
# Snapshots in the store without a VM: `sbx log` walks a chain of
# snapshot manifests written here by hand (newest first, --json), and
# `sbx snapshot` / `sbx log` / `sbx create --from` refuse what they must
# with clear errors - a stopped sandbox, a missing or non-snapshot object,
# a manifest without memory, a bad chunk offset, a chunk or page delta
# missing from the store, a bad or missing data disk layer - leaving no
# sandbox behind; gc keeps a head's page delta and the data disk layers a
# sandbox record reaches. Real snapshots: tests/rig/t41, t48.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
plan 26

sbx ls >/dev/null 2>&1		# creates the store
# put FILE: stores FILE as an object (BLAKE2b-256 name), prints its id.
put() {
	id=$(python3 -c 'import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=32).hexdigest())' "$1")
	mkdir -p "$SBX_HOME/objects/$(echo "$id" | cut -c1-2)"
	cp "$1" "$SBX_HOME/objects/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-)"
	echo "$id"
}
mk() { # mk ID STATE [HEAD]
	mkdir -p "$SBX_HOME/sandboxes/$1"
	head=""
	[ -n "${3:-}" ] && head=", \"head\": \"$3\""
	cat >"$SBX_HOME/sandboxes/$1/sandbox.json" <<JSON
{"version": 1, "id": "$1", "state": "$2", "template": "base",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"$head}
JSON
}
printf 'chunk' >"$T/chunk"; chunk=$(put "$T/chunk")
printf 'state' >"$T/state"; state=$(put "$T/state")
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunk": 2097152, "chunks": {"0000000000000000": "sha:%s"}}, "message": "first", "time": 1764000000, "added_bytes": 3145728, "sandbox": "sb-histhist2345"}' \
	"$state" "$chunk" >"$T/s1"; s1=$(put "$T/s1")
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunk": 2097152, "chunks": {"0000000000000000": "sha:%s"}}, "parent": "sha:%s", "message": "second", "time": 1764000100, "added_bytes": 1048576, "sandbox": "sb-histhist2345"}' \
	"$state" "$chunk" "$s1" >"$T/s2"; s2=$(put "$T/s2")
mk sb-histhist2345 stopped "$s2"
mk sb-nonenone2345 stopped

run sbx log sb-histhist2345
is "$rc" 0 "sbx log exits 0"
is "$(echo "$out" | awk '{ print $1 }' | tr '\n' ' ')" "$(echo "$s2" | cut -c1-12) $(echo "$s1" | cut -c1-12) " \
	"the chain, newest first"
like "$(echo "$out" | head -n 1)" ' 1\.0 MiB  second$' "each line has the size added and the message"
run sbx --json log sb-histhist2345
is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(" ".join(s["parent"][:4] or "-" for s in json.load(sys.stdin)))')" \
	"$(echo "$s1" | cut -c1-4) -" "--json links each snapshot to its parent"
run sbx log sb-nonenone2345
is "$rc|$out" "0|" "a sandbox without snapshots has an empty log"
run sbx log
is "$rc" 2 "log needs a sandbox"

run sbx snapshot sb-histhist2345
is "$rc" 1 "a stopped sandbox cannot be snapshotted"
like "$err" "is stopped, not running" "and the error says why"

mk sb-lostlost2345 stopped "$(echo "$s2" | tr '0-9a-f' 'f0-9a-e')"
run sbx log sb-lostlost2345
is "$rc" 1 "a head naming a missing object is an error"
printf '{"type": "image"}' >"$T/img"; img=$(put "$T/img")
mk sb-notsnapx2345 stopped "$img"
run sbx log sb-notsnapx2345
like "$err" "is not a snapshot" "a head that is not a snapshot is named as such"

run sbx create --from 0123456789ab
is "$rc" 1 "create --from an unknown id fails"
printf '{"type": "snapshot", "state": "sha:%s", "message": "", "time": 1}' "$state" >"$T/b1"; b1=$(put "$T/b1")
run sbx create --from "$b1"
like "$err" "no valid 'memory'" "a snapshot without memory is refused"
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunks": {"../../etc": "sha:%s"}}}' "$state" "$chunk" >"$T/b2"; b2=$(put "$T/b2")
run sbx create --from "$b2"
like "$err" "is not an offset" "a chunk key that is not an offset is refused (no path games)"
missing=$(echo "$chunk" | tr '0-9a-f' '1-9a-f0')
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunks": {"0000000000000000": "sha:%s"}}}' "$state" "$missing" >"$T/b3"; b3=$(put "$T/b3")
run sbx create --from "$b3"
like "$err" "memory chunk object $(echo "$missing" | cut -c1-12) is missing from the store" \
	"a chunk missing from the store is named"
# A diff snapshot names its page delta as memory.delta.
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunks": {"0000000000000000": "sha:%s"}, "delta": "sha:%s"}}' "$state" "$chunk" "$missing" >"$T/b4"; b4=$(put "$T/b4")
run sbx create --from "$b4"
like "$err" "memory delta object $(echo "$missing" | cut -c1-12) is missing from the store" \
	"a page delta missing from the store is named"
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunks": {}, "delta": 7}}' "$state" >"$T/b5"; b5=$(put "$T/b5")
run sbx create --from "$b5"
like "$err" "no valid memory delta" "a page delta that is not an object reference is refused"
printf 'SBXDLTA-not-really' >"$T/delta"; delta=$(put "$T/delta")
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunk": 2097152, "chunks": {"0000000000000000": "sha:%s"}, "delta": "sha:%s"}, "message": "diff", "time": 1764000200, "sandbox": "sb-deltadel2345"}' \
	"$state" "$chunk" "$delta" >"$T/s3"; s3=$(put "$T/s3")
mk sb-deltadel2345 stopped "$s3"
run sbx gc
obj() { echo "$SBX_HOME/objects/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-)"; }
is "$rc|$(test -f "$(obj "$delta")" && echo kept)|$(test -f "$(obj "$b5")" || echo swept)" "0|kept|swept" \
	"gc keeps the page delta a head reaches (and sweeps what none does)"
run sbx create --from "$img"
like "$err" "is not a snapshot" "create --from an image manifest is refused"
# What a create from a snapshot cannot change: the machine.
run sbx create --vcpus 2 --from "$s1"
like "$rc|$err" "^1|.*has the snapshot's vCPUs, memory and disk" "create --from refuses another size"
run sbx create --allow 10.0.0.0/8 --from "$s1"
like "$rc|$err" "^1|.*no network device: '--allow' and '--deny' do not apply" \
	"egress rules for a snapshot of a machine without network are refused"
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunk": 2097152, "chunks": {"0000000000000000": "sha:%s"}}, "extra": {"network": {"enabled": true, "allow": [], "deny": []}}}' \
	"$state" "$chunk" >"$T/s3"; s3=$(put "$T/s3")
run sbx create --no-network --from "$s3"
like "$rc|$err" "^1|.*'--no-network' cannot take the network device out" \
	"--no-network cannot take the device out of a snapshot's machine"
# The data disk: "disk" {"size", "layers"} in manifests, and the chain in
# a sandbox's extra.data_disk (backends/kvm/disk.h).
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunk": 2097152, "chunks": {"0000000000000000": "sha:%s"}}, "disk": {"size": 0, "layers": []}}' \
	"$state" "$chunk" >"$T/d1"; d1=$(put "$T/d1")
run sbx create --from "$d1"
like "$rc|$err" "^1|.*no valid 'disk' (want size and layers)" "a snapshot whose disk has no size or layers is refused"
printf '{"type": "snapshot", "state": "sha:%s", "memory": {"size": 536870912, "chunk": 2097152, "chunks": {"0000000000000000": "sha:%s"}}, "disk": {"size": 2147483648, "layers": ["sha:%s"]}}' \
	"$state" "$chunk" "$missing" >"$T/d2"; d2=$(put "$T/d2")
run sbx create --from "$d2"
like "$rc|$err" "^1|.*data disk layer $(echo "$missing" | cut -c1-12) is missing from the store" \
	"a data disk layer missing from the store is named"
printf 'SBXLAYR-not-really' >"$T/layer"; layer=$(put "$T/layer")
printf 'unreferenced' >"$T/junk"; junk=$(put "$T/junk")
mkdir -p "$SBX_HOME/sandboxes/sb-diskdisk2345"
cat >"$SBX_HOME/sandboxes/sb-diskdisk2345/sandbox.json" <<JSON
{"version": 1, "id": "sb-diskdisk2345", "state": "stopped", "template": "base",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
 "extra": {"data_disk": {"size": 2147483648, "layers": ["sha:$layer"]}}}
JSON
run sbx gc
is "$rc|$(test -f "$(obj "$layer")" && echo kept)|$(test -f "$(obj "$junk")" || echo swept)" "0|kept|swept" \
	"gc keeps the data disk layers a sandbox's chain reaches"
run sbx ls --ids
is "$out" "$(printf 'sb-deltadel2345\nsb-diskdisk2345\nsb-histhist2345\nsb-lostlost2345\nsb-nonenone2345\nsb-notsnapx2345')" \
	"no failed create left a sandbox behind"
is "$(ls -A "$XDG_RUNTIME_DIR/sbx" 2>/dev/null)" "" "nor a runtime directory"
exit $_fail
