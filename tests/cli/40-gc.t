#!/bin/sh
# sbx gc: keeps what refs, sandboxes and manifests reach, removes the rest;
# --dry-run removes nothing; a corrupt root stops it before any removal.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
ST="$BUILD/tests/store-crash/store-test"
plan 22
H="$T/gc"
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

garbage=$("$ST" put "$H" "garbage")
orphan_mem=$("$ST" put "$H" "orphan memory")
orphan=$("$ST" manifest "$H" "{\"memory\": \"sha:$orphan_mem\"}")
tmpl=$("$ST" put "$H" "template manifest stand-in")
"$ST" ref "$H" templates base "$tmpl"
mem=$("$ST" put "$H" "snapshot memory")
parent=$("$ST" manifest "$H" "{\"memory\": \"sha:$mem\"}")
snap=$("$ST" manifest "$H" "{\"parent\": \"$parent\", \"message\": \"two\"}")
"$ST" ref "$H" snapshots s2 "$snap"
layer=$("$ST" put "$H" "disk layer")
sb=$("$ST" sandbox "$H" "{\"layers\": [\"sha:$layer\"]}")
like "$sb" '^sb-' "fixture sandbox created"

run sbx --home "$H" gc --dry-run
is "$rc" 0 "gc --dry-run exits 0"
like "$out" "^would remove object $garbage " "dry run lists the unreferenced blob"
like "$out" "^would remove object $orphan " "dry run lists the unreferenced manifest"
like "$out" "^would remove object $orphan_mem " "dry run lists what only that manifest used"
n=$(printf '%s\n' "$out" | grep -c '^would remove object')
is "$n" 3 "dry run lists exactly 3 objects"
like "$out" '^would remove 3 objects and 0 temporary files' "dry run prints the counts"
"$ST" exists "$H" "$garbage"; ok $? "dry run removed nothing"

run sbx --home "$H" --json gc --dry-run
is "$(printf '%s' "$out" | field objects_removed)" 3 "--json reports objects_removed"
is "$(printf '%s' "$out" | field objects_kept)" 5 "--json reports objects_kept"

run sbx --home "$H" gc
is "$rc" 0 "gc exits 0"
like "$out" '^removed 3 objects and 0 temporary files, .* freed; kept 5 objects' "gc prints counts and bytes freed"
gone=0
for o in "$garbage" "$orphan" "$orphan_mem"; do
	"$ST" exists "$H" "$o" && gone=1
done
is "$gone" 0 "the 3 unreachable objects are gone"
kept=0
for o in "$tmpl" "$mem" "$parent" "$snap" "$layer"; do
	"$ST" exists "$H" "$o" || kept=1
done
is "$kept" 0 "objects reached by refs, parents, manifests and sandboxes stay"
run "$ST" verify "$H"
is "$rc" 0 "the store is consistent after gc"

run sbx --home "$H" --json gc
is "$(printf '%s' "$out" | field objects_removed)" 0 "a second gc removes nothing"

# Stale temporary files go, fresh ones stay.
: >"$H/tmp/obj-fresh"
printf 'xxxx' >"$H/tmp/obj-stale"
touch -d '2 hours ago' "$H/tmp/obj-stale"
run sbx --home "$H" gc
like "$out" '^removed 0 objects and 1 temporary file' "gc removes a tmp/ file older than an hour"
[ ! -e "$H/tmp/obj-stale" ] && [ -e "$H/tmp/obj-fresh" ]; ok $? "only the stale tmp/ file is gone"

# A ref gc cannot read stops it before anything is removed.
g2=$("$ST" put "$H" "more garbage")
printf 'junk\n' >"$H/refs/templates/broken"
run sbx --home "$H" gc
is "$rc" 1 "a corrupt ref makes gc fail"
like "$err" "ref '.*/refs/templates/broken' is corrupt" "the error names the corrupt ref"
"$ST" exists "$H" "$g2"; ok $? "nothing was removed"

run sbx --home "$H" gc extra
is "$rc" 2 "an operand is a usage error"
