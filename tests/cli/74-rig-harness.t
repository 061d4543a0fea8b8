#!/bin/bash
# 74-rig-harness.t - tests/rig/check and tests/rig/suite themselves, with a
# stand-in for tests/rig/run that runs the suite here instead of in L1 and
# three stand-in rig scripts: one passes, one fails only its first time,
# one always fails. Checks the reruns in a fresh "L1", the FLAKY verdict,
# the recap of failed checks at the end, the closing verdict line, and
# SBX_RIG_RETRIES.
. "$(dirname "$0")/lib.sh"
plan 42

fake=$T/src
mkdir -p "$fake/tests/rig"
cp "$SRC/tests/rig/check" "$SRC/tests/rig/suite" "$fake/tests/rig/"
cat >"$fake/tests/rig/run" <<'EOF'
#!/bin/bash
# Stand-in for the rig: counts boots, runs the command after "--" here.
echo boot >>"$RIGLOG"
t=3600
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	[ "$1" = --timeout ] && t=$2
	shift
done
shift
timeout -k 2 "$t" "$@"
st=$?
# A script that "killed L1" (t06) makes this an L1 death.
[ -e "$T_DIE.now" ] && { rm -f "$T_DIE.now"; exit 125; }
exit $st
EOF
cat >"$fake/tests/rig/t01-good.sh" <<'EOF'
echo "ok 1 - fine"
EOF
cat >"$fake/tests/rig/t02-flaky.sh" <<'EOF'
if [ ! -e "$MARK" ]; then
	: >"$MARK"
	echo "not ok 1 - first time"
	echo "#   got:  a"
	echo "#   want: b"
	exit 1
fi
echo "ok 1 - second time"
EOF
cat >"$fake/tests/rig/t03-broken.sh" <<'EOF'
echo "ok 1 - something"
echo "not ok 2 - always broken"
echo "# diagnosis: stuck"
EOF
cat >"$fake/tests/rig/t00-slow-fails.sh" <<'EOF'
sleep 2
echo "not ok 1 - slow and broken"
EOF
cat >"$fake/tests/rig/t08-flaky-twice.sh" <<'EOF'
# Fails its first two runs, passes its third.
n=$(($(cat "$MARK.8" 2>/dev/null || echo 0) + 1))
echo "$n" >"$MARK.8"
[ "$n" -ge 3 ] || { echo "not ok 1 - run $n"; exit 1; }
echo "ok 1 - run $n"
EOF
cat >"$fake/tests/rig/t04-slow.sh" <<'EOF'
echo "ok 1 - started"
sleep 60
EOF
cat >"$fake/tests/rig/t05-orphan.sh" <<'EOF'
sleep 30 &
echo "ok 1 - left a child holding stdout"
EOF
# Their temporary files go under $T: runs killed at their budget below
# cannot clean up after themselves.
cat >"$fake/tests/rig/t06-dies.sh" <<'EOF'
# The first time, "L1 dies" here: the suite and all it runs are killed.
if [ ! -e "$T_DIE" ]; then
	: >"$T_DIE"
	: >"$T_DIE.now"
	suite=$(ps -o ppid= -p "$PPID" | tr -d ' ')
	kill -9 -- "-$(ps -o pgid= -p "$suite" | tr -d ' ')"
	sleep 5
fi
echo "ok 1 - L1 lived this time"
EOF
cat >"$fake/tests/rig/t07-fails-then-dies.sh" <<'EOF'
# Fails its first run; "L1 dies" in its second; passes its third.
n=$(($(cat "$T_DIE.7" 2>/dev/null || echo 0) + 1))
echo "$n" >"$T_DIE.7"
case $n in
1) echo "not ok 1 - first run"; exit 1 ;;
2) : >"$T_DIE.now"
   suite=$(ps -o ppid= -p "$PPID" | tr -d ' ')
   kill -9 -- "-$(ps -o pgid= -p "$suite" | tr -d ' ')"
   sleep 5 ;;
esac
echo "ok 1 - run $n"
EOF
export RIGLOG=$T/boots MARK=$T/mark TMPDIR=$T T_DIE=$T/die
unset SBX_RIG SBX_RIG_HOME SBX_RIG_RETRIES SBX_RIG_RETRY_BEFORE SBX_RIG_BUDGET \
	SBX_RIG_DEADLINE SBX_RIG_MIN_LEFT SBX_RIG_TEST_TIMEOUT
rig() { : >"$RIGLOG"; SBX_TOP_SRCDIR=$fake SBX_TOP_BUILDDIR=$T run bash "$fake/tests/rig/check"; }

SBX_RIG_TESTS="t01 t02" rig
is "$rc" 0 "a script that fails once and passes in a fresh L1 does not fail the run"
like "$out" "FLAKY: t02-flaky failed and then passed" "it is reported as FLAKY"
is "$(wc -l <"$RIGLOG")" 2 "the retry boots a second L1"
like "$out" "# recap: t02-flaky.sh \(exit status 1\):" "the first failure is repeated at the end"
like "$(grep -B3 '^# rig verdict' <<<"$out")" "# recap: #   got:  a" "with its got/want lines"
like "$(tail -n 1 <<<"$out")" "^# rig verdict: 2 passed, 0 failed, 0 skipped, of 2; flaky: t02-flaky$" \
	"the verdict line counts each script once, by its last run"

rm -f "$MARK"
SBX_RIG_TESTS="t01 t03" rig
ok $([ "$rc" != 0 ] && echo 0 || echo 1) "a script that fails twice fails the run (status $rc)"
like "$out" "# recap \(retry\): not ok 2 - always broken" "the retry's failure is in the recap too"
like "$out" "# recap: # diagnosis: stuck" "and the lines after a failed check"
is "$(grep -c '^# recap: t01' <<<"$out")" 0 "passing scripts are not recapped"
is "$(wc -l <"$RIGLOG")|$(tail -n 1 <<<"$out")" "3|# rig verdict: 1 passed, 1 failed, 0 skipped, of 2" \
	"two reruns (3 boots), and the verdict counts the broken script once"

# L1 dying in a batch after a script failed: the failure stands (and
# gets its second run), the rest of the batch runs in a new L1.
SBX_RIG_TESTS="t03 t06" rig
ok $([ "$rc" != 0 ] && echo 0 || echo 1) "a failure before L1 died in its batch still fails the run (status $rc)"
like "$out" "# rig: t03-broken failed; running them again in a fresh L1 \(rerun 1 of 2" "and that script gets its reruns"
is "$(wc -l <"$RIGLOG")|$(grep -c '^ok [0-9]* - t06-dies.sh' <<<"$out")" "4|1" \
	"the script L1 died in ran in a second L1, the reruns in a third and fourth"

# ... and L1 dying in the second run boots another for what is left.
SBX_RIG_TESTS="t07" rig
is "$rc|$(wc -l <"$RIGLOG")" "0|3" "L1 dying in the second run boots a third L1, where the script passes"
like "$out" "FLAKY: t07-fails-then-dies failed and then passed" "and it is FLAKY"

rm -f "$MARK"
SBX_RIG_RETRIES=0 SBX_RIG_TESTS="t02" rig
ok $([ "$rc" != 0 ] && echo 0 || echo 1) "SBX_RIG_RETRIES=0: no second run, the failure stands"
is "$(wc -l <"$RIGLOG")" 1 "and only one L1 boot"
like "$(tail -n 3 <<<"$out")" "# recap: no further run: SBX_RIG_RETRIES=0" "the recap says why there was no second run"

rm -f "$MARK"
SBX_RIG_RETRY_BEFORE=0 SBX_RIG_TESTS="t02" rig
ok $([ "$rc" != 0 ] && echo 0 || echo 1) "no retry once the run has used its time"
# A script that fails twice and then passes: FLAKY with the default two
# reruns, a failure with one.
rm -f "$MARK.8"
SBX_RIG_TESTS="t08" rig
is "$rc|$(wc -l <"$RIGLOG")" "0|3" "a script failing two runs passes in its third (3 boots)"
like "$out" "# rig: FLAKY: t08-flaky-twice failed and then passed" "and is FLAKY"
rm -f "$MARK.8"
SBX_RIG_RETRIES=1 SBX_RIG_TESTS="t08" rig
like "$rc|$(wc -l <"$RIGLOG")|$(tail -n 1 <<<"$out")" "^[1-9][0-9]*\|2\|# rig verdict: 0 passed, 1 failed" \
	"SBX_RIG_RETRIES=1: one rerun, and the script fails"
like "$out" "# recap: no further run: they failed 2 runs \(SBX_RIG_RETRIES=1\)" "the recap says why"
# Reruns go quickest first: what the budget leaves is spent on the most
# scripts.
SBX_RIG_RETRIES=1 SBX_RIG_TESTS="t00 t03" rig
like "$out" "# rig: t03-broken t00-slow-fails failed; running them again" "the rerun takes the quicker failure first"
like "$(sed -n '/running them again/,$p' <<<"$out" | grep -m1 '^not ok 1 - ')" "^not ok 1 - t03-broken\.sh " \
	"and the suite runs it first"
# No rerun starts without SBX_RIG_MIN_LEFT seconds of the budget left.
SBX_RIG_BUDGET=250 SBX_RIG_MIN_LEFT=249 SBX_RIG_TESTS="t00" rig
like "$rc|$(wc -l <"$RIGLOG")" "^[1-9][0-9]*\|1$" "no rerun without the time for one (1 boot, failed)"
like "$out" "# recap: no further run: no time left \(run at [0-9]+ s of 250 s\)" "and the recap says so"
t0=$SECONDS
SBX_RIG_TESTS="t05" rig
is "$rc" 0 "a script leaving a child that holds its output passes"
ok $([ $((SECONDS - t0)) -lt 15 ] && echo 0 || echo 1) "and the suite does not wait for that child ($((SECONDS - t0)) s)"

t0=$SECONDS
SBX_RIG_BUDGET=4 SBX_RIG_MIN_LEFT=1 SBX_RIG_TESTS="t04 t01" rig
ok $([ "$rc" != 0 ] && echo 0 || echo 1) "a run past its time budget fails (status $rc)"
ok $([ $((SECONDS - t0)) -lt 20 ] && echo 0 || echo 1) "and stops at the budget ($((SECONDS - t0)) s)"

SBX_RIG_DEADLINE=$(($(date +%s) + 30)) SBX_RIG_MIN_LEFT=60 SBX_RIG_TESTS="t01" rig
ok $([ "$rc" != 0 ] && echo 0 || echo 1) "a deadline too close to boot an L1 fails the run"
like "$out" "time budget .* is used up; not run: t01-good" "naming the scripts not run"
is "$(wc -l <"$RIGLOG")" 0 "without booting"
# lockup-watch: a "QEMU" (sleep) whose kernel log reports a long soft
# lockup is stopped and the line kept; a short one is tolerated.
klog=$T/kernel.log mark=$T/locked-up
: >"$klog"
sleep 60 & qpid=$!
echo "$qpid" >"$T/qemu.pid"
SBX_RIG_LOCKUP_POLL=0.2 bash "$SRC/tests/rig/lockup-watch" "$klog" "$T/qemu.pid" "$mark" &
wpid=$!
echo "[  60.1] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [sbx-vmm:908]" >>"$klog"
sleep 1
ok $(kill -0 "$qpid" 2>/dev/null && [ ! -e "$mark" ] && echo 0 || echo 1) "a 22 s soft lockup is tolerated"
echo "[ 100.7] watchdog: BUG: soft lockup - CPU#0 stuck for 64s! [kworker/0:2:54]" >>"$klog"
for i in $(seq 50); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
ok $(kill -0 "$qpid" 2>/dev/null && echo 1 || echo 0) "one of 60 s or more stops QEMU"
is "$(cat "$mark" 2>/dev/null)" "soft lockup - CPU#0 stuck for 64s! [kworker/0:2:54]" "and the line is kept for the report"
wait "$wpid" 2>/dev/null
kill "$qpid" 2>/dev/null
# ... and one whose heartbeat file stops changing (L1 hung with no
# kernel message) is stopped after SBX_RIG_STALE seconds; a fresh one is
# left alone.
hb=$T/heartbeat
rm -f "$mark"
echo "[ 227.3] Sending NMI from CPU 1 to CPUs 0:" >"$klog"
echo 227.01 >"$hb"
sleep 60 & qpid=$!
echo "$qpid" >"$T/qemu.pid"
SBX_RIG_STALE=3 SBX_RIG_LOCKUP_POLL=0.2 bash "$SRC/tests/rig/lockup-watch" "$klog" "$T/qemu.pid" "$mark" "$hb" &
wpid=$!
for i in 1 2 3 4 5; do sleep 1; echo "22$i.5" >"$hb"; done
ok $(kill -0 "$qpid" 2>/dev/null && [ ! -e "$mark" ] && echo 0 || echo 1) "a heartbeat that keeps changing is left alone"
for i in $(seq 60); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
ok $(kill -0 "$qpid" 2>/dev/null && echo 1 || echo 0) "one that stops for SBX_RIG_STALE seconds stops QEMU"
like "$(cat "$mark" 2>/dev/null)" "^no heartbeat for [3-9] s \(L1 uptime then 225.5 s; last kernel line: \[ 227.3\] Sending NMI from CPU 1 to CPUs 0:\)$" \
	"and says so, with L1's uptime then and the last kernel line"
wait "$wpid" 2>/dev/null
kill "$qpid" 2>/dev/null
# A rig run reports it as a lockup (tests/rig/run reads the marker).
grep -q 'locked-up" "$rundir/heartbeat"' "$SRC/tests/rig/run"
ok $? "tests/rig/run hands lockup-watch L1's heartbeat file"
exit $_fail
