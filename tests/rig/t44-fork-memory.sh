#!/bin/bash
# t44-fork-memory.sh - what a fork costs in host memory, measured the way
# issue #6 asks: a 1 GiB guest with 200 MiB touched (a file in its tmpfs,
# whose pages are guest RAM), `sbx fork -n 4`, each clone writes 1 MiB of
# its own; then the PSS (smaps_rollup) of the source's and every clone's
# sbx-vmm. PSS splits a shared page among its users, so the five add up to
# what they use together: with copy-on-write that is one copy of the 200
# MiB plus what each clone made its own. The test fails if a clone adds
# more than an eighth of the touched memory, or does not see the data.
set -u
. "$(dirname "$0")/lib.sh"
src= kids=
cleanup() {
	for k in $kids $src; do sbx rm -f "$k" >/dev/null 2>&1; done
	rm -rf "$T"
}
trap cleanup EXIT
pid_of() { sbx inspect "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }

src=$(sbx create --memory 1G 2>"$T/create.err")
ok $? "a 1 GiB sandbox boots"
[ -n "$src" ] || { sed 's/^/# /' "$T/create.err"; echo "1..$n"; exit 1; }
# 200 MiB of data that does not compress or dedupe: guest RAM (tmpfs).
sbx exec "$src" -- sh -c 'head -c 200M /dev/urandom >/dev/shm/touched && sha256sum </dev/shm/touched | cut -d" " -f1' >"$T/sum"
ok $? "the guest fills 200 MiB of its RAM"
spid=$(pid_of "$src")
before=$(pss_kib "$spid")
echo "# source sbx-vmm PSS before the fork: $before KiB"

t0=$(now_ms)
kids=$(sbx fork -n 4 "$src" 2>"$T/fork.err")
st=$?
fork_ms=$(($(now_ms) - t0))
sed 's/^/# /' "$T/fork.err"
is "$st|$(echo $kids | wc -w)" "0|4" "fork -n 4 of the 1 GiB guest (${fork_ms} ms)"

seen=0
for k in $kids; do
	sbx exec "$k" -- sh -c 'head -c 1M /dev/urandom >/dev/shm/mine' || true
	[ "$(sbx exec "$k" -- sh -c 'sha256sum </dev/shm/touched | cut -d" " -f1')" = "$(cat "$T/sum")" ] &&
		seen=$((seen + 1))
done
is "$seen" 4 "every clone reads the source's 200 MiB intact, after writing 1 MiB of its own"

total=0 list=
for k in $kids; do
	p=$(pss_kib "$(pid_of "$k")")
	total=$((total + p))
	list="$list $p"
done
after=$(pss_kib "$spid")
sum=$((total + after))
extra=$(((sum - before) / 4))
echo "# clone sbx-vmm PSS (KiB):$list; source $before -> $after KiB; all five $sum KiB"
echo "# bench: fork -n 4 of a 1 GiB guest with 200 MiB touched: $((fork_ms / 4)) ms per clone; PSS per clone after writing 1 MiB: $((total / 4 / 1024)) MiB (shared pages counted 1/5 each); host memory added per clone: $((extra / 1024)) MiB (sum of the five PSS $((sum / 1024)) MiB, source alone before $((before / 1024)) MiB)"
# PSS splits shared pages among their users, so the five VMMs' PSS add
# up to the memory they use together: one copy of the 200 MiB plus what
# each clone made its own.
[ "$extra" -lt $((200 * 1024 / 8)) ]
ok $? "each clone adds less than an eighth of the touched memory to the host ($((extra / 1024)) MiB < 25 MiB)"
echo "1..$n"
exit $failed
