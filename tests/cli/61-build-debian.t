#!/bin/sh
# sbx build --rootfs-only on the shipped base template: the Debian root is
# resolved with the host's apt, fetched into the .deb cache and written
# straight into ext4. The image is e2fsck-clean and holds a dpkg database
# in "unpacked" state; as root the test also chroots into a copy of it:
# python3 and a shell work before configure, and `dpkg --configure -a`
# (what the first boot runs) configures every package.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
plan 14
H="$T/h"
# keep downloads between runs, in the build tree
export XDG_CACHE_HOME="$BUILD/tests/cache"
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
obj() { echo "$H/objects/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-)"; }
skip() { _report 0 "$1 # SKIP $2"; }

run sbx --home "$H" --json build --rootfs-only "$SRC/templates/base.yaml"
is "$rc" 0 "base rootfs builds"
like "$err" "resolving 5 packages with apt" "resolves the template's packages"
like "$err" "fetching [0-9]+ packages into '$XDG_CACHE_HOME/sbx/debs'" \
    "fetches into the cache"
img=$(obj "$(echo "$out" | field image)")
e2fsck -fn "$img" >"$T/fsck" 2>&1
ok $? "image is e2fsck -fn clean"
m=$(cat "$(obj "$(echo "$out" | field rootfs)")")
like "$m" '"packages":\[[^]]*"python3-minimal=' "manifest lists the installed versions"
dbg() { debugfs -R "$1" "$img" 2>/dev/null; }
like "$(dbg 'cat /var/lib/dpkg/status')" \
    'Package: python3-minimal
Status: install ok unpacked' "dpkg status has the packages, unpacked"
like "$(dbg 'stat /bin')" 'Fast link dest: "usr/bin"' "merged /usr"
like "$(dbg 'cat /etc/debian_version')" '^12\.' "base-files is there"

run sbx --home "$H" --json build --rootfs-only "$SRC/templates/base.yaml"
is "$(echo "$out" | field cached)" True "unchanged rebuild is cached"

if [ "$(id -u)" != 0 ] || ! command -v chroot >/dev/null; then
	for t in "python3 runs" "the shell runs" "dpkg --configure -a" \
	    "every package configured" "python3 after configure"; do
		skip "$t" "chroot needs root"
	done
	exit 0
fi
R="$T/root"
mkdir "$R"
debugfs -R "rdump / $R" "$img" >/dev/null 2>&1
is "$(chroot "$R" /usr/bin/python3 -c 'print(6*7)' 2>&1)" 42 "python3 runs"
is "$(chroot "$R" /bin/sh -c 'echo $((6*7))' 2>&1)" 42 "the shell runs"
chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive dpkg --configure -a >"$T/configure" 2>&1
st=$?
is "$st" 0 "dpkg --configure -a"
[ "$st" = 0 ] || sed 's/^/# /' "$T/configure" | tail -20
n=$(chroot "$R" dpkg-query -W -f '${db:Status-Abbrev}\n' | grep -vc '^ii')
is "$n" 0 "every package configured"
is "$(chroot "$R" /usr/bin/python3 -c 'print(6*7)' 2>&1)" 42 "python3 after configure"
