#!/bin/sh
# Sandbox commands without a VM: argument checking, empty lists, missing
# sandboxes, and a sandbox whose VMM died is reported as 'error'.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
plan 38

run sbx ls
is "$rc" 0 "ls on an empty store exits 0"
like "$out" '^ID +NAME +STATE' "ls prints a header"
run sbx ls --json
is "$out" "[]" "ls --json on an empty store is []"
run sbx ps --ids
is "$rc" 0 "ps is an alias of ls"

run sbx inspect sb-nothing00000
is "$rc" 1 "inspect of a missing sandbox fails"
like "$err" "no sandbox 'sb-nothing00000'" "the missing sandbox is named"
run sbx rm nothing
is "$rc" 1 "rm of a missing sandbox fails"

run sbx exec
is "$rc" 2 "exec without arguments is a usage error"
run sbx exec sb-x -d -t -- true
is "$rc" 2 "exec -d -t is refused"
run sbx exec a b -- c
is "$rc" 2 "exec with two operands before -- is refused"
run sbx exec -e 'BAD KEY=1' sb-x -- true
like "$err" "invalid environment entry 'BAD KEY=1'" "bad -e entries are named"
run sbx cp a b
is "$rc" 2 "cp between two host paths is refused"
run sbx cp sb-x:rel /tmp
like "$err" "must be absolute" "cp needs an absolute guest path"
run sbx cp sb-x:/a sb-y:/b
is "$rc" 2 "cp between two sandboxes is refused"
run sbx create --vcpus 0
is "$rc" 2 "--vcpus 0 is out of range"
run sbx create --memory lots
like "$err" "option '--memory': invalid size 'lots'" "bad --memory is named"
run sbx create --memory 16M
like "$err" "memory must be between 64M and 256G" "tiny memory is refused"
run sbx create --idle-timeout soon
like "$err" "option '--idle-timeout'" "bad --idle-timeout is named"
run sbx create --image "$T/noimage"
is "$rc" 1 "create from a missing image directory fails"
like "$err" "has no kernel" "the missing kernel is named"
run sbx run --image "$T/noimage" tmpl -- true
is "$rc" 2 "run with both --image and a template is refused"

# A sandbox recorded as running whose VMM is gone becomes 'error'.
id=sb-deadbeef2345
mkdir -p "$SBX_HOME/sandboxes/$id"
sbx ls >/dev/null 2>&1   # creates the store layout
cat >"$SBX_HOME/sandboxes/$id/sandbox.json" <<JSON
{"version": 1, "id": "$id", "state": "running",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z",
 "pid": 999999999}
JSON
printf 'booted\nrestored 1 vCPUs\nvCPU 0: triple fault (KVM_EXIT_SHUTDOWN) at rip 0x1\nguest reboot (exit status 3)\n' \
	>"$SBX_HOME/sandboxes/$id/vmm.log"
run sbx ls --json
st=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["state"])')
is "$st" error "a running sandbox with a dead VMM is listed as error"
run sbx inspect dead
like "$out" 'is gone' "inspect says why (prefix lookup works)"
like "$out" 'its log ends: restored 1 vCPUs / vCPU 0: triple fault \(KVM_EXIT_SHUTDOWN\) at rip 0x1 / guest reboot \(exit status 3\)' \
	"with the last three lines of the VMM's log"
run sbx rm "$id"
is "$rc" 0 "a dead sandbox can be removed without -f"

# sbx resize: a stopped sandbox takes the size at once; one with a VMM
# (a hibernated record here) gets it as pending, for its next boot.
mkrec() { # mkrec ID STATE
	mkdir -p "$SBX_HOME/sandboxes/$1"
	cat >"$SBX_HOME/sandboxes/$1/sandbox.json" <<JSON
{"version": 1, "id": "$1", "state": "$2",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}
JSON
}
mkrec sb-stopstop2345 stopped
mkrec sb-hibehibe2345 hibernated
spec() { sbx inspect "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); r=d.get("extra",{}).get("resize"); print(d["spec"]["vcpus"], d["spec"]["memory"] >> 20, (r.get("vcpus", "-"), r["memory"] >> 20 if "memory" in r else "-") if r else "-")'; }
run sbx resize --vcpus 2 --memory 1G sb-stopstop2345
is "$rc|$out|$(spec sb-stopstop2345)" "0|sb-stopstop2345: 2 vCPUs, 1024 MiB|2 1024 -" \
	"resize of a stopped sandbox changes its spec"
run sbx resize --memory 768M sb-hibehibe2345
is "$rc|$(spec sb-hibehibe2345)" "0|1 512 ('-', 768)" "resize of a hibernated sandbox is pending (memory only)"
like "$out|$err" "768 MiB at its next start.*applies when it boots again" "and says so"
run sbx resize --vcpus 3 sb-hibehibe2345
is "$(spec sb-hibehibe2345)" "1 512 (3, 768)" "a second resize adds to the pending one"
# A live balloon target (extra.memory_target) is what ls shows; a stopped
# sandbox given a memory size drops it.
python3 - "$SBX_HOME/sandboxes/sb-hibehibe2345/sandbox.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["extra"]["memory_target"] = 268435456
json.dump(d, open(sys.argv[1], "w"))
PY
like "$(sbx ls | grep sb-hibehibe2345)" " 256M " "ls shows the live memory target"
python3 - "$SBX_HOME/sandboxes/sb-stopstop2345/sandbox.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d.setdefault("extra", {})["memory_target"] = 268435456
json.dump(d, open(sys.argv[1], "w"))
PY
run sbx resize --memory 768M sb-stopstop2345
is "$rc|$(sbx inspect sb-stopstop2345 | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["spec"]["memory"] >> 20, d.get("extra", {}).get("memory_target", "-"))')" \
	"0|768 -" "a stopped sandbox's new memory replaces a live target"
run sbx resize sb-stopstop2345
is "$rc" 2 "resize without a size is a usage error"
run sbx resize --vcpus 65 sb-stopstop2345
is "$rc" 2 "--vcpus 65 is out of range"
run sbx resize --memory 1T sb-stopstop2345
like "$rc|$err" "^2|.*memory must be between 64M and 256G" "too much memory is refused"
sbx rm sb-stopstop2345 sb-hibehibe2345 >/dev/null 2>&1

# sbx image: what can become an image is decided before any download.
run sbx image pull -t python
is "$rc" 1 "a template with build steps is refused by image pull (sbx build runs them)"
like "$err" "template 'python' has build steps" "the reason is given"
run sbx image pull --no-rootfs -t base
is "$rc" 2 "--no-rootfs and --template exclude each other"
run sbx image ls --json
is "$out" "[]" "no images in a new store"
