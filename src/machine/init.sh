#!/bin/busybox sh
# init.sh - /init of the `sbx machine` L1 initramfs (packed by rig-prep with
# src/machine/modules.list; see doc/ARCHITECTURE.md, "sbx machine").
#
# Like the rig's init (tests/rig/init.sh): loads the modules, mounts the
# host's / (9p tag "host", read-only) under a tmpfs overlay and moves /dev
# /proc /sys into it. Then, from the kernel command line:
#   sbx.state=DIR  the host's $SBX_HOME/machine (9p tag "state", writable),
#                  mounted at the same path; DIR/store is the machine's
#                  SBX_HOME, DIR/serve.log its server's log
#   sbx.bin=PATH   the host's sbx binary (same path in L1)
#   sbx.port=N     the port `sbx serve` listens on (QEMU forwards to it)
# it configures eth0 for QEMU's user-mode network (10.0.2.15/24), starts
# `sbx serve` and serves `sbx machine ssh` on ttyS1 (see shell_loop).
# Failures print "machine-init: ..." on the console (ttyS0) and power off.

PATH=/bin
export PATH

die() {
	echo "machine-init: $*"
	sleep 1
	poweroff -f
	exit 1
}

/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt /newroot /tmp /run
mount -t proc proc /proc || die "cannot mount /proc"
mount -t sysfs sys /sys || die "cannot mount /sys"
mount -t devtmpfs dev /dev || die "cannot mount /dev"

state= bin= port=
for a in $(cat /proc/cmdline); do
	case $a in
	sbx.state=*) state=${a#*=} ;;
	sbx.bin=*) bin=${a#*=} ;;
	sbx.port=*) port=${a#*=} ;;
	esac
done
[ -n "$state" ] && [ -n "$bin" ] && [ -n "$port" ] ||
	die "sbx.state, sbx.bin and sbx.port must be on the kernel command line"

while read -r m; do
	[ -n "$m" ] || continue
	# kvm_amd or kvm_intel: only the one for this CPU loads.
	case $m in
	kvm_amd|kvm_intel) insmod "/modules/$m.ko" 2>/dev/null ;;
	*) insmod "/modules/$m.ko" || die "cannot load module '$m'" ;;
	esac
done </modules/order
[ -c /dev/kvm ] || echo "machine-init: no /dev/kvm in L1; sandboxes cannot start"

opts=trans=virtio,version=9p2000.L,msize=524288,cache=loose
mount -t 9p -o "$opts,ro" host /mnt || die "cannot mount the host's / (9p tag 'host')"
mount -t tmpfs -o mode=0755 rw /tmp || die "cannot mount tmpfs"
mkdir -p /tmp/upper /tmp/work
mount -t overlay -o lowerdir=/mnt,upperdir=/tmp/upper,workdir=/tmp/work \
	root /newroot || die "cannot mount the overlay root"
mkdir -p "/newroot$state"
mount -t 9p -o "$opts" state "/newroot$state" ||
	die "cannot mount the state directory '$state' (9p tag 'state')"

mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts 2>/dev/null ||
	{ mkdir -p /newroot/dev/pts && mount -t devpts devpts /newroot/dev/pts; }
mkdir -p /newroot/dev/shm && mount -t tmpfs shm /newroot/dev/shm
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr

# QEMU's user-mode network: guest 10.0.2.15, gateway 10.0.2.2, DNS 10.0.2.3.
ip link set lo up
ip link set eth0 up || die "no eth0 (virtio_net)"
ip addr add 10.0.2.15/24 dev eth0 || die "cannot configure eth0"
ip route add default via 10.0.2.2 || die "cannot add the default route"
rm -f /newroot/etc/resolv.conf
echo "nameserver 10.0.2.3" >/newroot/etc/resolv.conf
hostname sbx-machine

# The environment of the server and of `sbx machine ssh` sessions.
cat >/newroot/run/sbx-machine.env <<ENV
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root SBX_HOME='$state/store' SBX_REMOTE=local TERM=\${TERM:-linux}
cd /root 2>/dev/null || cd /
ENV
mkdir -p /newroot/root

chroot /newroot /bin/sh -c ". /run/sbx-machine.env; exec setsid '$bin' serve --listen 0.0.0.0:$port" \
	</dev/null >>"/newroot$state/serve.log" 2>&1 &
serve=$!

# `sbx machine ssh` (src/cli/cmd-machine.c) on ttyS1, which QEMU connects
# to a unix socket (mode 0600) on the host. One session at a time. The
# client sends one line, then the session's bytes follow:
#   run NONCE BASE64      runs the shell command BASE64 decodes to, stdin
#                         /dev/null, stdout and stderr to the port (raw)
#   tty NONCE ROWS COLS TERM   an interactive bash on a pty (script(1))
# Every session starts with "\036NONCE start\n" and ends with
# "\036NONCE exit STATUS\n"; the client shows only what is in between.
shell_loop() {
	tty=/newroot/dev/ttyS1
	exec 3<>$tty
	while :; do
		stty -F $tty raw -echo 2>/dev/null
		read -r kind nonce a b c <&3 || { sleep 1; continue; }
		case $nonce in ''|*[!0-9a-f]*) continue ;; esac
		printf '\036%s start\n' "$nonce" >&3
		st=0
		case $kind in
		run)
			cmd=$(echo "$a" | base64 -d 2>/dev/null) || { printf '\036%s exit 2\n' "$nonce" >&3; continue; }
			chroot /newroot /bin/bash -c ". /run/sbx-machine.env; $cmd" </dev/null >&3 2>&3
			st=$?
			;;
		tty)
			# script(1) gives bash a pty of its own (its controlling
			# terminal, sized like ttyS1) and relays it over the raw
			# serial port.
			stty -F $tty rows "$a" cols "$b" 2>/dev/null
			chroot /newroot /usr/bin/script -qefc "/bin/bash -c '. /run/sbx-machine.env; export TERM=$c; exec /bin/bash -i'" /dev/null <&3 >&3 2>&3
			st=$?
			;;
		*) st=2 ;;
		esac
		printf '\036%s exit %d\n' "$nonce" "$st" >&3
	done
}
shell_loop </dev/null >/dev/null 2>&1 &

# `sbx machine stop` on ttyS2 (control.sock on the host), apart from the
# shell so that a shell session left running cannot swallow it: the line
# "halt NONCE" stops the server, syncs and unmounts the state share,
# answers "\036NONCE start\n\036NONCE exit 0\n" and powers off.
control_loop() {
	tty=/newroot/dev/ttyS2
	exec 4<>$tty
	while :; do
		stty -F $tty raw -echo 2>/dev/null
		read -r kind nonce _ <&4 || { sleep 1; continue; }
		case $nonce in ''|*[!0-9a-f]*) continue ;; esac
		[ "$kind" = halt ] || continue
		printf '\036%s start\n' "$nonce" >&4
		kill -TERM $serve 2>/dev/null
		i=0
		while kill -0 $serve 2>/dev/null && [ $i -lt 20 ]; do sleep 0.5; i=$((i + 1)); done
		sync
		umount "/newroot$state" 2>/dev/null || sync
		printf '\036%s exit 0\n' "$nonce" >&4
		sleep 0.5
		poweroff -f
	done
}
control_loop </dev/null >/dev/null 2>&1 &

echo "machine-init: up; sbx serve on port $port (pid $serve)"
while :; do
	sleep 3600
done
