#!/bin/busybox sh
# init.sh - /init of the rig's L1 initramfs (packed by `rig-prep initramfs`).
#
# Runs on the L1 kernel with busybox only. It loads the modules listed in
# /modules/order (already in dependency order), mounts the host's / (9p tag
# "host", read-only) under an overlay with a tmpfs upper, mounts the per-run
# directory (9p tag "rig", writable) at /run/rig inside it, moves /dev /proc
# /sys over, and runs /run/rig/cmd (written by tests/rig/run) chrooted with
# the host's bash. The command's status goes to /run/rig/status; then the
# machine powers off. Any failure before the command prints "rig-init: ..."
# and powers off without a status file, which tests/rig/run reports.
#
# Consoles: the kernel's console (/dev/console) is ttyS1, which QEMU writes
# to a log file; the command talks to ttyS0, the caller's terminal.
#
# Extra writable shares: /run/rig/shares lists "TAG PATH" lines; each is
# mounted over PATH inside the new root.

PATH=/bin
export PATH

die() {
	echo "rig-init: $*" >&2
	[ -c /dev/ttyS0 ] && echo "rig-init: $*" >/dev/ttyS0
	[ -c /newroot/dev/ttyS0 ] && echo "rig-init: $*" >/newroot/dev/ttyS0
	[ -e /run/rig-keep ] && /bin/sh
	poweroff -f
	exit 1
}

/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt /newroot /tmp /run
mount -t proc proc /proc || die "cannot mount /proc"
mount -t sysfs sys /sys || die "cannot mount /sys"
mount -t devtmpfs dev /dev || die "cannot mount /dev"

while read -r m; do
	[ -n "$m" ] || continue
	insmod "/modules/$m.ko" || die "cannot load module '$m'"
done </modules/order

opts=trans=virtio,version=9p2000.L,msize=524288,cache=loose
mount -t 9p -o "$opts,ro" host /mnt || die "cannot mount the host's / (9p tag 'host')"
mount -t tmpfs -o mode=0755 rw /tmp || die "cannot mount tmpfs"
mkdir -p /tmp/upper /tmp/work
mount -t overlay -o lowerdir=/mnt,upperdir=/tmp/upper,workdir=/tmp/work \
	root /newroot || die "cannot mount the overlay root"

mkdir -p /newroot/run/rig
mount -t 9p -o "$opts" rig /newroot/run/rig || die "cannot mount the run directory (9p tag 'rig')"
if [ -f /newroot/run/rig/shares ]; then
	while read -r tag path; do
		mkdir -p "/newroot$path" &&
		mount -t 9p -o "$opts" "$tag" "/newroot$path" ||
			die "cannot mount share '$tag' at '$path'"
	done </newroot/run/rig/shares
fi
[ -e /newroot/run/rig/keep ] && : >/run/rig-keep

mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts 2>/dev/null ||
	{ mkdir -p /newroot/dev/pts && mount -t devpts devpts /newroot/dev/pts; }
mkdir -p /newroot/dev/shm && mount -t tmpfs shm /newroot/dev/shm
# What udev would add: /dev/fd (bash process substitution) and friends.
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
# Loopback for tests that talk TCP on 127.0.0.1; a name instead of "(none)".
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
hostname sbx-rig

read -r up _ </newroot/proc/uptime
echo "$up" >/newroot/run/rig/ready

# A heartbeat the host watches (tests/rig/lockup-watch): L1's uptime in
# /run/rig/heartbeat every 10 s, for as long as L1 still schedules a
# process. An L1 whose CPUs hang in KVM writes nothing more anywhere.
(
	while :; do
		read -r up _ </newroot/proc/uptime
		echo "$up" >/newroot/run/rig/heartbeat.tmp &&
			mv /newroot/run/rig/heartbeat.tmp /newroot/run/rig/heartbeat
		sleep 10
	done
) </dev/null >/dev/null 2>&1 &

tty=/newroot/dev/ttyS0
chroot /newroot /bin/bash /run/rig/cmd <$tty >$tty 2>&1
echo "$?" >/newroot/run/rig/status
if [ -e /run/rig-keep ]; then
	echo "rig-init: command exited with status $(cat /newroot/run/rig/status); shell on the console, 'exit' powers off" >$tty
	chroot /newroot /usr/bin/setsid -c /bin/bash -c '. /run/rig/env; exec /bin/bash -i' <$tty >$tty 2>&1
fi
sync
umount /newroot/run/rig 2>/dev/null
# Port 0xf4 is QEMU's isa-debug-exit: QEMU exits at once, without the
# kernel's shutdown messages. poweroff is the fallback.
printf "\\000" | dd of=/newroot/dev/port bs=1 seek=244 count=1 2>/dev/null
poweroff -f
