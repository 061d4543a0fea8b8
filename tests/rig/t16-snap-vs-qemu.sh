#!/bin/bash
# t16-snap-vs-qemu.sh - snapshot and restore of sbx-vmm against QEMU's
# migration to a file, on KVM in the rig's L1: the same Debian kernel and
# busybox initramfs (t1-vmm-common.sh, mode "touch": /init fills ~200 MiB
# of tmpfs with random data, prints SBXT_TOUCHED, then SBXT_TICK N every
# 0.2 s), the same command line, 2 vCPUs and 1 GiB for both.
#
# Per VMM: one boot, then SBXT_RUNS (default 3) saves of the paused guest
# (each after the guest ran on and printed a new tick) and as many restores
# of the last save, each in a new process; medians and their ratios are
# printed as "# bench:" lines.
# - save: sbx-vmm: control op "pause", then the timed op "snapshot" (full,
#   one memory file) until its reply; QEMU: QMP "stop", then the timed
#   "migrate" to "exec:cat > FILE" until the MIGRATION event "completed".
#   Bytes: the files' apparent size and their allocated blocks.
# - restore: from the process's start until the serial log has a tick
#   higher than the last one before the save; sbx-vmm `--restore DIR`
#   runs at once; QEMU starts with `-incoming defer` and is sent QMP
#   "migrate-incoming" "exec:cat FILE", then "cont" once the MIGRATION
#   event says "completed" (a VM saved paused loads paused). Then the
#   process's /proc/PID/io (rchar, read_bytes) and VmRSS are read: sbx-vmm
#   maps the memory file, QEMU reads the stream through a pipe.
# Checks: both VMMs boot, every save and restore succeeds, and each
# restored guest runs on: its first tick continues the saved count and a
# second tick follows.
#
# Opt-in (SBX_RIG_QEMU=1) like t15: QEMU on KVM inside L1 has crashed L1's
# kernel under TCG's nested SVM emulation.
if [ "${SBX_RIG_QEMU:-0}" != 1 ]; then
	echo "SBX_RIG_QEMU=1 runs this (QEMU on KVM in L1 can crash L1 under emulation)"
	exit 77
fi
. "$(dirname "$0")/t1-vmm-common.sh"

if [ -z "${SBX_RIG:-}" ]; then
	command -v python3 >/dev/null || skip_all "python3 not installed (the test's control and QMP client)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-snap-qemu.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	run_in_rig
	exit $?
fi

# Inside the rig's L1 host. Snapshots, the migration file and logs live in
# L1's /tmp (RAM), so neither side waits for a disk.
runs=${SBXT_RUNS:-3}
case $runs in ''|*[!0-9]*|0) echo "Bail out! SBXT_RUNS must be a positive integer, not '$runs'"; exit 1 ;; esac
qemu=$(command -v qemu-system-x86_64) || skip_all "qemu-system-x86_64 is not installed"
[ -e /dev/kvm ] || skip_all "no /dev/kvm in L1"
cmdline="console=ttyS0 reboot=k panic=-1 quiet sbxt.mode=touch"
snap=$logs/vmm-snap
qfile=$logs/qemu.mig
mkdir -p "$logs"
src_pid=
cleanup() {
	[ -n "$src_pid" ] && kill -9 "$src_pid" 2>/dev/null
	rm -rf "$logs"
}
trap cleanup EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a && b) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v b="$1" 'BEGIN { if (b == "") print "n/a"; else printf "%.1f MiB", b / 1048576 }'; }
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }	# kv LINE KEY
apparent() { local t=0 f; for f; do t=$((t + $(stat -c %s "$f"))); done; echo $t; }
allocated() { local t=0 f; for f; do t=$((t + $(stat -c %b "$f") * 512)); done; echo $t; }

# The timed steps, in one process each so that no fork of a helper lands
# inside a measurement. Prints one line of KEY=VALUE; on failure the reason
# on stderr and status 1.
cat >"$logs/drv.py" <<'PY'
import json, os, re, signal, socket, subprocess, sys, time

TICK = re.compile(rb"SBXT_TICK (\d+)\r?\n")

def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)

def ms_since(t0):
    return int((time.monotonic() - t0) * 1000)

def last_tick(log):
    try:
        with open(log, "rb") as f:
            t = TICK.findall(f.read())
    except OSError:
        return 0
    return int(t[-1]) if t else 0

def wait_tick(log, above, proc, timeout):
    """First tick in LOG higher than ABOVE (None on timeout or exit)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(log, "rb") as f:
                for m in TICK.finditer(f.read()):
                    if int(m.group(1)) > above:
                        return int(m.group(1))
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            return None
        time.sleep(0.01)
    return None

def connect(path, timeout, proc=None):
    end = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            s.settimeout(600)
            return s
        except OSError:
            s.close()
            if proc is not None and proc.poll() is not None:
                fail("the VMM exited (status %d) before %s accepted" % (proc.returncode, path))
            if time.monotonic() > end:
                fail("cannot connect to %s" % path)
            time.sleep(0.02)

class Qmp:
    def __init__(self, path, proc=None):
        self.f = connect(path, 300, proc).makefile("rw")
        self.events = []
        self.read()
        self.cmd("qmp_capabilities")
        self.cmd("migrate-set-capabilities",
                 capabilities=[{"capability": "events", "state": True}])

    def read(self):
        line = self.f.readline()
        if not line:
            fail("QEMU closed the QMP connection")
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            r = self.read()
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                fail("QMP %s: %s" % (name, r["error"].get("desc", r["error"])))
            else:
                return r.get("return")

    def migration_end(self):
        while True:
            for ev in self.events:
                if ev["event"] == "MIGRATION" and ev["data"]["status"] in (
                        "completed", "failed", "cancelled"):
                    return ev["data"]["status"]
            self.events = [self.read()]

def proc_io(pid):
    io = {}
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            k, v = line.split(":")
            io[k] = int(v)
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                io["rss"] = int(line.split()[1]) * 1024
    return io

def save_vmm(sock, snapdir, log):
    f = connect(sock, 60).makefile("rw")
    def req(o):
        f.write(json.dumps(o) + "\n")
        f.flush()
        r = json.loads(f.readline() or "{}")
        if not r.get("ok"):
            fail("sbx-vmm %s: %s" % (o["op"], r.get("error", "no reply")))
        return r
    req({"op": "hello", "proto": 1})
    req({"op": "pause"})
    tick = last_tick(log)
    t0 = time.monotonic()
    r = req({"op": "snapshot", "dir": snapdir})
    ms = ms_since(t0)
    print("ms=%d tick=%d vmm_ms=%d memory_bytes=%d state_bytes=%d" % (
        ms, tick, r["ms"], r["memory_bytes"], r["state_bytes"]))

def save_qemu(qsock, path, log):
    q = Qmp(qsock)
    q.cmd("stop")
    tick = last_tick(log)
    t0 = time.monotonic()
    q.cmd("migrate", uri="exec:cat > " + path)
    st = q.migration_end()
    ms = ms_since(t0)
    if st != "completed":
        info = q.cmd("query-migrate")
        fail("QEMU migration %s: %s" % (st, info.get("error-desc", info)))
    info = q.cmd("query-migrate")
    ram = info.get("ram", {})
    q.cmd("cont")
    print("ms=%d tick=%d qemu_ms=%d transferred=%d" % (
        ms, tick, info.get("total-time", -1), ram.get("transferred", -1)))

def restore(kind, log, above, err, qsock, path, cmd):
    t0 = time.monotonic()
    with open(err, "w") as e:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=e,
                             stderr=subprocess.STDOUT)
    out = ""
    try:
        if kind == "qemu":
            q = Qmp(qsock, p)
            q.cmd("migrate-incoming", uri="exec:cat " + path)
            st = q.migration_end()
            if st != "completed":
                fail("QEMU incoming migration %s" % st)
            out += " loaded_ms=%d" % ms_since(t0)
            q.cmd("cont")
        first = wait_tick(log, above, p, 300)
        if first is None:
            fail("no tick above %d in %s (VMM status %s)" % (above, log, p.poll()))
        ms = ms_since(t0)
        io = proc_io(p.pid)
        second = wait_tick(log, first, p, 30)
        print("ms=%d first=%d second=%s rchar=%d read_bytes=%d rss=%d%s" % (
            ms, first, second if second is not None else "none", io["rchar"],
            io["read_bytes"], io.get("rss", 0), out))
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

a = sys.argv[1:]
if a[0] == "save-vmm":
    save_vmm(a[1], a[2], a[3])
elif a[0] == "save-qemu":
    save_qemu(a[1], a[2], a[3])
elif a[0] == "restore-vmm":
    restore("vmm", a[1], int(a[2]), a[3], None, None, a[4:])
elif a[0] == "restore-qemu":
    restore("qemu", a[1], int(a[2]), a[3], a[4], a[5], a[6:])
else:
    fail("unknown step " + a[0])
PY
drv() { python3 "$logs/drv.py" "$@" 2>"$logs/drv.err"; }
drv_error() { sed 's/^/#   /' "$logs/drv.err"; }

# boot NAME COMMAND...: starts the source VM in the background (src_pid)
# and waits for SBXT_TOUCHED and a first tick (boot_ms, empty if never).
boot() {
	local name=$1 t0 i log=$logs/$1.log
	shift
	boot_ms=
	t0=$(date +%s%N)
	"$@" 2>"$logs/$name.err" &
	src_pid=$!
	for i in $(seq 960); do	# ~4 min: the rig boots it in ~1 min
		if grep -aq "SBXT_TICK [0-9]" "$log" 2>/dev/null; then
			boot_ms=$((($(date +%s%N) - t0) / 1000000))
			break
		fi
		kill -0 "$src_pid" 2>/dev/null || break
		sleep 0.25
	done
	[ -n "$boot_ms" ] && return 0
	echo "# $name did not reach its first tick; stderr and serial:"
	tail -5 "$logs/$name.err" | sed 's/^/#   /'
	tail -5 "$log" | sed 's/^/#   /'
	return 1
}
stop_src() {
	[ -n "$src_pid" ] || return 0
	kill "$src_pid" 2>/dev/null
	for i in $(seq 100); do kill -0 "$src_pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$src_pid" 2>/dev/null
	wait "$src_pid" 2>/dev/null
	src_pid=
}
# Waits up to 60 s for the source's tick to pass $2.
wait_tick() {
	local i
	for i in $(seq 600); do
		[ "$(grep -ao 'SBXT_TICK [0-9]*' "$logs/$1.log" | tail -n 1 | cut -d' ' -f2)" -gt "$2" ] 2>/dev/null &&
			return 0
		sleep 0.1
	done
	return 1
}
last_tick() { grep -ao 'SBXT_TICK [0-9]*' "$logs/$1.log" | tail -n 1 | cut -d' ' -f2; }

# save_runs VMM STEP ARGS...: N saves, each once the guest printed a new
# tick; appends "ms" to $logs/VMM.save, sets saved_tick to the last one's.
# Each save's line shows the size of $saved_files, apparent and allocated
# (kept in the log even when L1 dies before the summary).
save_runs() {
	local v=$1 r out t
	shift
	: >"$logs/$v.save"
	saved_tick=
	for r in $(seq "$runs"); do
		t=$(last_tick "$v-src")
		wait_tick "$v-src" "${t:-0}"
		if out=$(drv "$@"); then
			ok "$v save $r: $(kv "$out" ms) ms (tick $(kv "$out" tick))"
			# shellcheck disable=SC2086 # saved_files: paths without spaces
			echo "#   $out apparent=$(apparent $saved_files) allocated=$(allocated $saved_files)"
			kv "$out" ms >>"$logs/$v.save"
			saved_tick=$(kv "$out" tick)
			save_line=$out
		else
			not_ok "$v save $r"
			drv_error
			saved_tick=
			return 1
		fi
	done
}

# restore_runs VMM STEP ARGS-BEFORE-LOG... : N restores of the last save;
# the step's log, tick and stderr arguments are added per run.
restore_runs() {
	local v=$1 step=$2 r out n first second
	shift 2
	for r in $(seq "$runs"); do
		n=$v-r$r
		rm -f "$logs/$n.log" "$logs/qemu-in.sock"
		if ! out=$(drv "$step" "$logs/$n.log" "$saved_tick" "$logs/$n.err" "${@//@LOG@/$logs/$n.log}"); then
			not_ok "$v restore $r reached a tick above $saved_tick"
			drv_error
			tail -3 "$logs/$n.err" | sed 's/^/#   /'
			continue
		fi
		first=$(kv "$out" first) second=$(kv "$out" second)
		check "$v restore $r: tick $first (saved at $saved_tick) after $(kv "$out" ms) ms" \
			test "$first" -gt "$saved_tick" -a "$first" -le $((saved_tick + 3))
		check "$v restore $r: the restored guest runs on (tick $second after $first)" \
			test "$second" != none
		echo "#   $out"
		kv "$out" ms >>"$logs/$v.restore"
		kv "$out" rchar >>"$logs/$v.rchar"
		kv "$out" read_bytes >>"$logs/$v.rbytes"
		kv "$out" rss >>"$logs/$v.rss"
		kv "$out" loaded_ms >>"$logs/$v.loaded"
	done
}

for v in vmm qemu; do
	for f in save restore rchar rbytes rss loaded; do : >"$logs/$v.$f"; done
done
# --- sbx-vmm ---------------------------------------------------------------
# A second boot if the first fails: the same guest has died early under
# the rig's nested emulation (a triple fault before any console output in
# one L1, fine in the next); the failure is shown either way.
booted=
for attempt in 1 2; do
	rm -f "$logs/vmm-src.log"
	if boot vmm-src "$vmm" --kernel "$SBXT_KERNEL" --initrd "$SBXT_INITRD" \
		--cmdline "$cmdline" --vcpus 2 --memory 1G --control "$logs/vmm.sock" \
		--serial-log "$logs/vmm-src.log" --id sb-bench-src; then
		booted=$attempt
		break
	fi
	stop_src
done
if [ -n "$booted" ]; then
	ok "sbx-vmm boots and fills its memory ($boot_ms ms to the first tick, boot $booted)"
	grep -a SBXT_TOUCHED "$logs/vmm-src.log" | sed 's/^/#   /'
	saved_files="$snap/memory $snap/state"
	save_runs vmm save-vmm "$logs/vmm.sock" "$snap" "$logs/vmm-src.log"
	v_save_line=$save_line
	stop_src
	v_files=("$snap/memory" "$snap/state")
	v_app=$(apparent "${v_files[@]}") v_alloc=$(allocated "${v_files[@]}")
	[ -n "$saved_tick" ] && restore_runs vmm restore-vmm "$vmm" --restore "$snap" \
		--serial-log @LOG@ --id sb-bench-restore
	rm -rf "$snap"
else
	not_ok "sbx-vmm boots and fills its memory"
	stop_src
fi

# --- QEMU ------------------------------------------------------------------
qemu_args() { # qemu_args MACHINE LOG QMPSOCK
	echo "-M $1 -accel kvm -cpu host -smp 2 -m 1G -nodefaults -no-user-config"
	echo "-display none -no-reboot -serial file:$2 -qmp unix:$3,server=on,wait=off"
	echo "-kernel $SBXT_KERNEL -initrd $SBXT_INITRD"
}
machine=
for m in microvm pc; do
	rm -f "$logs/qemu-src.log"
	# shellcheck disable=SC2046 # qemu_args's words have no spaces
	if boot qemu-src "$qemu" $(qemu_args $m "$logs/qemu-src.log" "$logs/qemu.sock") \
		-append "$cmdline"; then
		machine=$m
		break
	fi
	stop_src
done
if [ -n "$machine" ]; then
	ok "qemu -M $machine boots and fills its memory ($boot_ms ms to the first tick)"
	saved_files=$qfile
	save_runs qemu save-qemu "$logs/qemu.sock" "$qfile" "$logs/qemu-src.log"
	q_save_line=$save_line
	stop_src
	q_app=$(apparent "$qfile") q_alloc=$(allocated "$qfile")
	# shellcheck disable=SC2046
	[ -n "$saved_tick" ] && restore_runs qemu restore-qemu "$logs/qemu-in.sock" "$qfile" \
		"$qemu" $(qemu_args $machine @LOG@ "$logs/qemu-in.sock") -append "$cmdline" \
		-incoming defer
	rm -f "$qfile"
else
	not_ok "qemu (-M microvm or pc) boots and fills its memory"
fi

# --- figures ---------------------------------------------------------------
vs=$(median <"$logs/vmm.save") qs=$(median <"$logs/qemu.save")
vr=$(median <"$logs/vmm.restore") qr=$(median <"$logs/qemu.restore")
echo "# bench: save of the paused 1 GiB guest (~200 MiB touched), median of $runs: sbx-vmm snapshot ${vs:-n/a} ms, qemu -M ${machine:-n/a} migrate exec:cat ${qs:-n/a} ms, sbx-vmm/qemu $(ratio "$vs" "$qs")"
echo "# bench: save, sbx-vmm reply: memory_bytes $(kv "$v_save_line" memory_bytes), state_bytes $(kv "$v_save_line" state_bytes), its own ms $(kv "$v_save_line" vmm_ms); qemu query-migrate: transferred $(kv "$q_save_line" transferred), total-time $(kv "$q_save_line" qemu_ms) ms"
echo "# bench: saved files, apparent/allocated: sbx-vmm memory+state $(mib "$v_app") / $(mib "$v_alloc"), qemu stream $(mib "$q_app") / $(mib "$q_alloc"), allocated sbx-vmm/qemu $(ratio "$v_alloc" "$q_alloc")"
echo "# bench: restore to a new tick, median of $runs: sbx-vmm --restore ${vr:-n/a} ms, qemu -incoming ${qr:-n/a} ms (of which until the stream was loaded $(median <"$logs/qemu.loaded") ms), sbx-vmm/qemu $(ratio "$vr" "$qr")"
vc=$(median <"$logs/vmm.rchar") qc=$(median <"$logs/qemu.rchar")
echo "# bench: restoring process at its first tick, median: rchar sbx-vmm $(mib "$vc"), qemu $(mib "$qc") (sbx-vmm/qemu $(ratio "$vc" "$qc")); read_bytes sbx-vmm $(median <"$logs/vmm.rbytes" | grep . || echo n/a), qemu $(median <"$logs/qemu.rbytes" | grep . || echo n/a); VmRSS sbx-vmm $(mib "$(median <"$logs/vmm.rss")"), qemu $(mib "$(median <"$logs/qemu.rss")")"
echo "1..$testno"
finish
