#!/bin/bash
# t30-agent.sh - sbx-init and sbx-agent in a real Debian guest under
# sbx-vmm, reached through the userspace virtio-vsock and the host agent
# client: boot to agent-ready, uname, exit codes 0/1/137, separate
# streams, stdin, 64 MiB both ways with sha256, 2 vCPUs, a PTY, a
# background process, and the system requests.
#
# The guest's initramfs is rig-prep's busybox one (kernel modules in load
# order) with sbx-init and sbx-agent appended as a second cpio archive;
# its /init only writes /etc/sbx/modules and execs sbx-init.
. "$(dirname "$0")/t1-vmm-common.sh"
cli=$top_build/tests/agent/agent-cli

agent_init() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /etc/sbx
while read -r m; do
	[ -n "$m" ] && echo "/modules/$m.ko"
done </modules/order >/etc/sbx/modules
exec /sbin/sbx-init
INIT
}

# Replaces prepare_guest of t1-vmm-common.sh (run_in_rig calls it): the
# vsock modules instead of the disk ones, and our binaries appended.
prepare_guest() {
	local rigcache cache prep out d stage
	rigcache=${SBX_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sbx/rig}
	cache=$rigcache-agent-guest
	prep=${SBX_RIG_PREP:-$top_build/tests/rig/rig-prep}
	[ -x "$prep" ] || skip_all "tests/rig/rig-prep is not built"
	mkdir -p "$cache/debs" || return 1
	if [ -d "$rigcache/debs" ]; then
		for d in "$rigcache"/debs/*; do
			[ -e "$cache/debs/${d##*/}" ] || cp -l "$d" "$cache/debs/" 2>/dev/null ||
				cp "$d" "$cache/debs/"
		done
	fi
	agent_init >"$cache/init.sh"
	printf '%s\n' virtio_mmio virtio_rng vsock \
		vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport \
		>"$cache/modules.list"
	out=$("$prep" all -q --cache "$cache" --init "$cache/init.sh" \
		--modules "$cache/modules.list") || return 1
	guest_kernel=$(dirname "$(echo "$out" | sed -n 's/^kernel=//p')")/vmlinuz
	stage=$work/stage
	mkdir -p "$stage/sbin"
	cp "$top_build/sbx-init" "$top_build/sbx-agent" "$stage/sbin/"
	cp "$(echo "$out" | sed -n 's/^initramfs=//p')" "$work/initrd"
	(cd "$stage" && find . | cpio -o -H newc --quiet) >>"$work/initrd" || return 1
	guest_initrd=$work/initrd
	[ -f "$guest_kernel" ]
}

if [ -z "${SBX_RIG:-}" ]; then
	command -v cpio >/dev/null || skip_all "cpio not installed (apt-get install cpio)"
	[ -x "$cli" ] || skip_all "tests/agent/agent-cli is not built (make check builds it)"
	"$vmm" --help 2>&1 | grep -q -- --vsock || skip_all "sbx-vmm has no --vsock option yet"
	work=$(mktemp -d "${TMPDIR:-/tmp}/sbxt-agent.XXXXXX") || exit 1
	trap 'rm -rf "$work"' EXIT
	head -c 67108864 /dev/urandom >"$work/big"
	echo "1..17"
	run_in_rig >"$work/rig.out" 2>&1
	st=$?
	# The TAP lines come back through the shared work directory.
	cat "$work/tap.out" 2>/dev/null || sed 's/^/# rig: /' "$work/rig.out"
	[ $st = 0 ] || exit 1
	exit 0
fi

# Inside the rig's L1 host.
exec >"$SBXT_WORK/tap.out" 2>&1
sock=/tmp/sbxt-vsock.sock
A="vsock:$sock"
"$vmm" --kernel "$SBXT_KERNEL" --initrd "$SBXT_INITRD" \
	--cmdline "console=ttyS0 reboot=k panic=-1 quiet sbx.root=none" \
	--serial-log "$SBXT_WORK/agent.log" --id sb-testagent \
	--vcpus 2 --memory 512M --rng --vsock "$sock" 2>"$SBXT_WORK/agent.err" &
vmm_pid=$!
t0=$(date +%s%N)
ready=
for i in $(seq 600); do
	if AGENT_CLI_ATTEMPTS=1 "$cli" "$A" ping >"$SBXT_WORK/ping" 2>&1; then
		ready=$((($(date +%s%N) - t0) / 1000000))
		break
	fi
	kill -0 $vmm_pid 2>/dev/null || break
	sleep 0.5
done
check "the agent answers over vsock after boot (${ready:-never} ms)" test -n "$ready"
if [ -z "$ready" ]; then
	sed 's/^/# console: /' "$SBXT_WORK/agent.log" | tail -40
	sed 's/^/# vmm: /' "$SBXT_WORK/agent.err"
	kill $vmm_pid; finish
fi
check "the agent runs as PID 1 ($(cat "$SBXT_WORK/ping"))" grep -q ' pid 1 ' "$SBXT_WORK/ping"
out=$("$cli" "$A" exec -- uname -r)
check "uname -r runs in the guest ($out)" test -n "$out"
"$cli" "$A" exec -- true; check "exit code 0 propagates" test $? = 0
"$cli" "$A" exec -- sh -c 'exit 1'; check "exit code 1 propagates" test $? = 1
"$cli" "$A" exec -- sh -c 'kill -9 $$'; st=$?
check "SIGKILL propagates as 137 (got $st)" test $st = 137
"$cli" "$A" exec -- sh -c 'echo o1; echo e1 >&2; echo o2' >"$SBXT_WORK/o" 2>"$SBXT_WORK/e"
check "stdout stays separate" test "$(cat "$SBXT_WORK/o")" = "o1
o2"
check "stderr stays separate" test "$(cat "$SBXT_WORK/e")" = "e1"
out=$(printf 'abc\n' | "$cli" "$A" exec -i -- tr a-z A-Z)
check "stdin is piped ($out)" test "$out" = ABC
out=$("$cli" "$A" exec -- nproc)
check "the guest sees 2 vCPUs ($out)" test "$out" = 2
want=$(sha256sum <"$SBXT_WORK/big" | cut -d' ' -f1)
t1=$(date +%s%N)
"$cli" "$A" put "$SBXT_WORK/big" /tmp/big
t2=$(date +%s%N)
got=$("$cli" "$A" exec -- sha256sum /tmp/big | cut -d' ' -f1)
check "64 MiB upload arrives intact ($((($t2 - $t1) / 1000000)) ms)" test "$got" = "$want"
t1=$(date +%s%N)
"$cli" "$A" get /tmp/big /tmp/sbxt-big.back
t2=$(date +%s%N)
got=$(sha256sum </tmp/sbxt-big.back | cut -d' ' -f1)
check "64 MiB download arrives intact ($((($t2 - $t1) / 1000000)) ms)" test "$got" = "$want"
rm -f /tmp/sbxt-big.back
out=$("$cli" "$A" exec -t -- tty | tr -d '\r')
check "a PTY command runs on a pseudo-terminal ($out)" grep -q '^/dev/pts/' <<<"$out"
out=$( (sleep 0.5; printf 'echo hi\n'; sleep 2) | "$cli" "$A" exec -i -t -- sh -c 'read x; echo got:$x' | tr -d '\r')
check "a PTY command reads the typed line" grep -q '^got:echo hi$' <<<"$out"
bg=$("$cli" "$A" exec -b -- sleep 300)
sleep 2
"$cli" "$A" exec -- kill -0 "$bg"
check "a background process survives its request (pid $bg)" test $? = 0
"$cli" "$A" hostname sbxt-guest && "$cli" "$A" clock && "$cli" "$A" entropy 64
check "hostname, clock and entropy requests succeed" test "$("$cli" "$A" exec -- hostname)" = sbxt-guest
"$cli" "$A" exec -- poweroff -f >/dev/null 2>&1
wait $vmm_pid
check "sbx-vmm exits when the guest powers off" test $? = 0
grep -a -E "WARNING|BUG|Oops|virtio.*error|vsock.*error" "$SBXT_WORK/agent.log" | sed 's/^/# guest: /'
sed 's/^/# vmm: /' "$SBXT_WORK/agent.err"
finish
