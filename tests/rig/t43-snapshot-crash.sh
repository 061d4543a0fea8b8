#!/bin/bash
# t43-snapshot-crash.sh - SIGKILL at random moments of `sbx snapshot`
# leaves the history intact: killing the CLI (at a random point of the
# pause, the memory write, the hashing, the store) never leaves the head
# naming something incomplete, never leaves the guest paused and never
# loses what the data disk held (checked by a stop + start); killing
# the VMM at a random point of a snapshot marks the sandbox error and
# leaves a head that is complete and restores. Uses one boot.
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
field() { sbx inspect "$1" | python3 -c "import json,sys; print(json.load(sys.stdin).get('$2', ''))"; }
# Every snapshot sbx log lists has its manifest, state, chunks, page
# delta and data disk layers stored.
complete() {
	sbx --json log "$1" | python3 -c '
import json, os, sys
home = os.environ["SBX_HOME"]
obj = lambda h: os.path.join(home, "objects", h[:2], h[2:])
for s in json.load(sys.stdin):
    m = json.load(open(obj(s["id"])))
    refs = [m["state"]] + list(m["memory"]["chunks"].values())
    refs += [m["memory"]["delta"]] if "delta" in m["memory"] else []
    refs += m.get("disk", {}).get("layers", [])
    missing = [r for r in refs if not os.path.exists(obj(r[4:]))]
    if missing:
        sys.exit("snapshot %s lacks %s" % (s["id"][:12], missing[0]))
'
}
echo "1..11"

id=$(sbx create --memory 512M) || { echo "Bail out! create failed"; exit 1; }
sbx exec "$id" -- sh -c 'echo before >/tmp/x'
s1=$(sbx snapshot -m base "$id")
ok $? "a first, complete snapshot"
# On the data disk (synced, so in the disk's top when the killed
# snapshots freeze it): it must survive a stop + start after them.
sbx exec "$id" -- sh -c 'echo synced >/root/kept && sync'

# Kill the CLI at three random points of a snapshot (a diff: since page
# deltas about a second here: pause, write, hash, store).
for round in 1 2 3; do
	delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + (r % 120) / 100 }')
	sbx snapshot -m "killed $round" "$id" >/dev/null 2>&1 &
	p=$!
	sleep "$delay"
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	complete "$id"
	ok $? "CLI killed after ${delay} s: every snapshot in the log is complete"
done
t0=$SECONDS
out=$(timeout 120 sbx exec "$id" -- cat /tmp/x 2>&1)
is "$out|$(field "$id" state)" "before|running" "the guest runs on, not left paused ($((SECONDS - t0)) s)"
# A CLI killed after the VMM froze the disk's top but before the record
# listed the layer leaves the record behind the VMM; stop notices (the
# disk marks differ) and saves the whole disk first.
sbx stop "$id" >/dev/null 2>"$SBX_HOME/t43-stop.err"
sed 's/^/# /' "$SBX_HOME/t43-stop.err"
sbx start "$id" >/dev/null 2>&1
is "$(sbx exec "$id" -- cat /root/kept 2>&1)" synced "after the killed snapshots, stop + start keeps what was on the disk"
head=$(field "$id" head)
sbx log "$id" | sed 's/^/# /'

# Kill the VMM at a random point of a snapshot. Its own part (pause,
# write the chunks) takes about a second here; the rest is sbx hashing
# and storing what it wrote. Either the snapshot fails and the head stays,
# or the VMM had finished and the new snapshot is complete.
pid=$(field "$id" pid)
delay=$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.1 + (r % 140) / 100 }')
sbx snapshot -m doomed "$id" >"$SBX_HOME/t43.out" 2>"$SBX_HOME/t43.err" &
p=$!
sleep "$delay"
kill -9 "$pid"
wait $p
st=$?
sed 's/^/# /' "$SBX_HOME/t43.err"
if [ $st = 0 ]; then
	want=$(cat "$SBX_HOME/t43.out") why="it had finished: the new snapshot is the head"
else
	want=$head why="it failed: the head is unchanged"
fi
ok 0 "VMM killed ${delay} s into a snapshot (status $st)"
is "$(field "$id" state)" error "the sandbox is marked error"
is "$(field "$id" head)" "$want" "$why"
head=$want
complete "$id"
ok $? "and every snapshot in its log is complete"
r=$(sbx create --from "$head" 2>&1)
st=$?
is "$st|$(sbx exec "$r" -- cat /tmp/x 2>&1)" "0|before" "the head still restores"
sbx rm -f "$r" "$id" >/dev/null 2>&1
exit $failed
