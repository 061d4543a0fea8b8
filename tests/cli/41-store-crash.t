#!/bin/sh
# Crash safety of the store (DESIGN.md 7): writers SIGKILLed at random
# moments never leave a torn object, ref or sandbox.json behind, and
# concurrent writers of one sandbox.json serialize under its lock, and gc
# running in a loop never removes an object stored but not yet referenced.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
ST="$BUILD/tests/store-crash/store-test"
plan 12

seed=${SBX_CRASH_SEED:-$(date +%s)}
echo "# seed $seed (rerun with SBX_CRASH_SEED=$seed)"
run "$ST" crash "$T/crash" 300 "$seed"
printf '%s\n' "$out" | sed -n 's/^max-delay-us /# kills up to this many us after start: /p'
is "$rc" 0 "300 writers killed at random points leave the store consistent"
[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | head -20
like "$out" '^iterations 300$' "all 300 iterations ran"
mid=$(printf '%s\n' "$out" | sed -n 's/^killed-mid-update //p')
[ "${mid:-0}" -ge 10 ]; ok $? "kills landed between object write and commit (${mid:-0} of 300)"
done=$(printf '%s\n' "$out" | sed -n 's/^committed //p')
[ "${done:-0}" -ge 10 ]; ok $? "writers made progress between kills (${done:-0} commits)"
run "$ST" verify "$T/crash"
is "$rc" 0 "every object left behind rehashes to its name"

# Two processes x 200 increments of one counter under the sandbox lock.
id=$("$ST" sandbox "$T/inc" '{"counter": 0}')
like "$id" '^sb-[a-z2-7]{12}$' "a sandbox for the counter ($id)"
"$ST" incr "$T/inc" "$id" 200 & p1=$!
"$ST" incr "$T/inc" "$id" 200 & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
is "$r1 $r2" "0 0" "both incrementing processes succeed"
is "$("$ST" counter "$T/inc" "$id")" 400 "2 x 200 locked increments end at exactly 400"
run "$ST" verify "$T/inc"
is "$rc" 0 "the counter's store is consistent"

# gc in a loop against a writer that references each object ~1 ms after
# storing it (and leaves some garbage).
run "$ST" gcrace "$T/race" 200
is "$rc" 0 "gc racing a writer removes no object that gets referenced"
[ "$rc" = 0 ] || printf '%s\n' "$err" | sed 's/^/# /' | head -20
runs=$(printf '%s\n' "$out" | sed -n 's/^gc-runs //p')
[ "${runs:-0}" -ge 10 ]; ok $? "gc really ran during the writes (${runs:-0} times)"
like "$out" '^objects 200$' "exactly the 200 referenced objects remain, garbage gone"
