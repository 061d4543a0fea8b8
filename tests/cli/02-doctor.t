#!/bin/sh
# sbx doctor names the kind of host, from the loaded KVM module.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
plan 12

fake() { # fake ROOT MODULE
	mkdir -p "$1/sys/module/$2" "$1/proc" "$1/dev"
	printf 'vendor_id\t: AuthenticAMD\nmodel name\t: Test CPU\nflags\t\t: fpu svm lm\n' >"$1/proc/cpuinfo"
	: >"$1/dev/kvm"
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

fake "$T/intel" kvm_intel
run sbx doctor --json --root "$T/intel"
is "$(printf '%s' "$out" | field virtualization)" hardware-intel "kvm_intel loaded means hardware-intel"
fake "$T/amd" kvm_amd
mkdir -p "$T/amd/sys/module/kvm_amd/parameters"; echo 1 >"$T/amd/sys/module/kvm_amd/parameters/nested"
run sbx doctor --json --root "$T/amd"
is "$(printf '%s' "$out" | field virtualization)" hardware-amd "kvm_amd loaded means hardware-amd"
is "$(printf '%s' "$out" | field nested)" True "nested parameter is read"
fake "$T/pvm" kvm_pvm
run sbx doctor --root "$T/pvm"
like "$out" '^virtualization: pvm \(kvm_pvm loaded\)' "kvm_pvm loaded means pvm"
like "$out" 'stock Debian guest kernels cannot run here' "pvm verdict explains stock kernels cannot run"
is "$rc" 1 "doctor exits 1 where guests cannot run directly"
mkdir -p "$T/none/proc"
run sbx doctor --json --root "$T/none"
is "$(printf '%s' "$out" | field virtualization)" none "no module and no /dev/kvm means none"
like "$(printf '%s' "$out" | field summary)" 'no KVM' "none verdict says there is no KVM"
is "$(printf '%s' "$out" | field kvm_present)" False "no /dev/kvm is reported"

# The real host: the answer must agree with what /sys/module says.
run sbx doctor --json
want=none
[ -d /sys/module/kvm_pvm ] && want=pvm
[ -d /sys/module/kvm_amd ] && want=hardware-amd
[ -d /sys/module/kvm_intel ] && want=hardware-intel
is "$(printf '%s' "$out" | field virtualization)" "$want" "this host is $want"
if [ -e /dev/kvm ]; then
	is "$(printf '%s' "$out" | field kvm_present)" True "/dev/kvm is seen"
else
	is "$(printf '%s' "$out" | field kvm_present)" False "/dev/kvm absence is seen"
fi
run sbx doctor
like "$out" '^qemu: ' "doctor reports qemu"
