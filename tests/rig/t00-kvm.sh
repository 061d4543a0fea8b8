#!/bin/bash
# t00-kvm.sh - L1's /dev/kvm is hardware-style KVM (kvm_amd, not PVM), has
# the capabilities sbx-vmm needs, and runs kvm-smoke's long-mode guest with
# the exact port and MMIO exits expected.
smoke=${SBX_TOP_BUILDDIR:?}/tests/rig/kvm-smoke
echo 1..5
if [ -c /dev/kvm ]; then
	echo "ok 1 - /dev/kvm is a character device"
else
	echo "not ok 1 - /dev/kvm missing or not a device"
fi
if [ -d /sys/module/kvm_amd ] && [ ! -d /sys/module/kvm_pvm ]; then
	echo "ok 2 - kvm_amd loaded, no kvm_pvm"
else
	echo "not ok 2 - want kvm_amd without kvm_pvm; modules: $(ls /sys/module | grep kvm | tr '\n' ' ')"
fi
if grep -qw svm /proc/cpuinfo; then
	echo "ok 3 - the L1 CPU has svm"
else
	echo "not ok 3 - no svm flag in /proc/cpuinfo"
fi
if caps=$("$smoke" --caps 2>&1); then
	echo "ok 4 - required KVM capabilities present"
else
	echo "not ok 4 - kvm-smoke --caps reports missing capabilities"
fi
printf '%s\n' "$caps" | sed 's/^/# cap /'
if out=$("$smoke" 2>&1); then
	echo "ok 5 - long-mode guest: out, in, MMIO write/read, out, hlt"
else
	echo "not ok 5 - kvm-smoke guest failed"
fi
printf '%s\n' "$out" | sed 's/^/#   /'
