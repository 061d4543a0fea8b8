#!/bin/bash
# t48-disk-layers.sh - a sandbox's writes live on its data disk (/dev/vdb,
# the VMM's layered virtio-blk) through the sbx CLI: they survive stop +
# start; a snapshot freezes the disk's top into a layer object (its bytes
# count in the snapshot's size, and a second snapshot adds only the new
# blocks); create --from each snapshot sees exactly that snapshot's files;
# fork -n 2 gives each clone its own top over the frozen chain; hibernate
# + resume + stop + start keeps everything; gc keeps every layer a
# snapshot or sandbox reaches; a corrupted layer object is refused.
# One cold boot (plus the start after stop). Prints "# bench:" figures.
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
state() { sbx inspect --json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
obj() { echo "$SBX_HOME/objects/${1:0:2}/${1:2}"; }
# The layer refs of snapshot $1 (manifest "disk"), one per line.
layers() { python3 -c 'import json,sys; [print(r[4:]) for r in json.load(open(sys.argv[1]))["disk"]["layers"]]' "$(obj "$1")"; }
echo "1..20"

id=$(sbx create --memory 512M 2>"$SBX_HOME/t48-create.err")
st=$?
sed 's/^/# /' "$SBX_HOME/t48-create.err"
ok $st "create boots a sandbox"
[ $st = 0 ] || exit 1
is "$(sbx exec "$id" -- cat /sys/block/vdb/size)" $((2 << 30 >> 9)) "the guest has a 2 GiB data disk (vdb)"
sbx exec "$id" -- sh -c 'echo first >/root/a; mkdir -p /srv/data && echo kept >/srv/data/f'

t0=$(now_ms)
sbx stop "$id" >/dev/null 2>&1 && sbx start "$id" >/dev/null 2>"$SBX_HOME/t48-start.err"
st=$?
sed 's/^/# /' "$SBX_HOME/t48-start.err"
is "$st|$(sbx exec "$id" -- cat /root/a /srv/data/f 2>&1 | tr '\n' ' ')" "0|first kept " \
	"files written before stop are there after start ($(($(now_ms) - t0)) ms)"

# 64 MiB of noise, on disk (synced): the snapshot's layer holds it.
sum=$(sbx exec "$id" -- sh -c 'head -c 67108864 /dev/urandom >/root/big && sync && sha256sum </root/big' | cut -d' ' -f1)
ok $([ ${#sum} = 64 ] && echo 0 || echo 1) "64 MiB written to the data disk (sha256 ${sum:0:12})"
t0=$(now_ms)
s1=$(sbx snapshot --json -m one "$id")
st=$?
s1ms=$(($(now_ms) - t0))
s1id=$(jget "$s1" id) a1=$(jget "$s1" added_bytes)
ok $([ $st = 0 ] && [ "${a1:-0}" -gt 67108864 ] && echo 0 || echo 1) \
	"snapshot one stores the disk layer with the 64 MiB ($a1 bytes added, ${s1ms} ms)"
sbx exec "$id" -- sh -c 'echo second >/root/b && sync'
s2=$(sbx snapshot --json -m two "$id")
s2id=$(jget "$s2" id) a2=$(jget "$s2" added_bytes)
l1=$(layers "$s1id" | tr '\n' ' ') l2=$(layers "$s2id" | tr '\n' ' ')
ok $([ -n "$s2id" ] && [ "${l2#"$l1"}" != "$l2" ] && [ $(echo $l2 | wc -w) = $(($(echo $l1 | wc -w) + 1)) ] && echo 0 || echo 1) \
	"snapshot two's chain is snapshot one's plus one layer ($(echo $l2 | wc -w) layers)"
top2=$(echo $l2 | awk '{ print $NF }')
ok $([ "$(stat -c %s "$(obj "$top2")")" -lt 16777216 ] && echo 0 || echo 1) \
	"its new layer holds only the blocks written since ($(stat -c %s "$(obj "$top2")") bytes)"
top1=$(echo $l1 | awk '{ print $NF }')
echo "# bench: snapshot with 64 MiB on the data disk ${s1ms} ms, added $a1 bytes (memory and disk), its disk layer $(stat -c %s "$(obj "$top1")") bytes; next snapshot after a small write added $a2 bytes, its layer $(stat -c %s "$(obj "$top2")") bytes"

sbx gc >/dev/null 2>&1
ok $? "sbx gc runs"
r1=$(sbx create --from "$s1id" 2>"$SBX_HOME/t48-from1.err")
st=$?
sed 's/^/# /' "$SBX_HOME/t48-from1.err"
got=$(sbx exec "$r1" -- sh -c 'cat /root/a; sha256sum </root/big | cut -c1-64; test -e /root/b && echo has-b || echo no-b')
is "$st|$(echo $got)" "0|first $sum no-b" "create --from snapshot one sees its files, not later ones (after gc)"
r2=$(sbx create --from "$s2id" 2>/dev/null)
is "$(sbx exec "$r2" -- cat /root/b 2>&1)" second "create --from snapshot two sees /root/b"
sbx exec "$r1" -- sh -c 'echo r1 >/root/b && sync'
is "$(sbx exec "$r2" -- cat /root/b 2>&1)|$(sbx exec "$id" -- cat /root/b 2>&1)" "second|second" \
	"a restored sandbox's writes reach neither its sibling nor the source"
sbx rm -f "$r1" "$r2" >/dev/null 2>&1

t0=$(now_ms)
kids=$(sbx fork -n 2 "$id" 2>"$SBX_HOME/t48-fork.err")
st=$?
sed 's/^/# /' "$SBX_HOME/t48-fork.err"
ok $([ $st = 0 ] && [ $(echo $kids | wc -w) = 2 ] && echo 0 || echo 1) "fork -n 2 ($(($(now_ms) - t0)) ms)"
own=0
for k in $kids; do sbx exec "$k" -- sh -c "echo $k >/root/id && sync"; done
for k in $kids; do
	[ "$(sbx exec "$k" -- sh -c 'cat /root/id; cat /root/b' | tr '\n' ' ')" = "$k second " ] && own=$((own + 1))
done
is "$own" 2 "each clone sees the source's files and only its own /root/id"
sbx exec "$id" -- test -e /root/id
is $? 1 "the source does not see the clones' writes"
k1=$(echo $kids | cut -d' ' -f1)
sbx stop "$k1" >/dev/null 2>&1 && sbx start "$k1" >/dev/null 2>&1
is "$(sbx exec "$k1" -- cat /root/id 2>&1)" "$k1" "a clone's own write survives its stop + start"
sbx rm -f $kids >/dev/null 2>&1

sbx exec "$id" -- sh -c 'echo third >/root/c'
sbx hibernate "$id" >/dev/null 2>&1
is "$(sbx exec "$id" -- cat /root/c 2>&1)|$(state "$id")" "third|running" "hibernate + wake keeps an unsynced write"
sbx exec "$id" -- sh -c 'echo fourth >/root/d'
sbx stop "$id" >/dev/null 2>&1 && sbx start "$id" >/dev/null 2>&1
is "$(sbx exec "$id" -- cat /root/a /root/b /root/c /root/d 2>&1 | tr '\n' ' ')" "first second third fourth " \
	"after hibernate, resume, stop and start every write is there"

# A layer object damaged in place is refused when it is opened.
lo=$(obj "$(layers "$s2id" | tail -n 1)")
chmod u+w "$lo" && printf '\x00' | dd of="$lo" bs=1 seek=1 conv=notrunc 2>/dev/null
bad=$(sbx create --from "$s2id" 2>&1)
st=$?
echo "$bad" | sed 's/^/# /'
ok $([ $st != 0 ] && grep -qi 'layer' <<<"$bad" && echo 0 || echo 1) "a corrupted disk layer is refused with a clear error"
is "$(sbx ls --ids | grep -c .)" 1 "the failed create leaves no sandbox behind"

sbx rm -f "$id" >/dev/null 2>&1
ok $? "the sandbox is removed"
exit $failed
