#!/bin/sh
# sbx build --rootfs-only: a template's `from: tar:` becomes an ext4 image
# object (e2fsck-clean, content readable with debugfs) and a rootfs
# manifest; an unchanged rebuild is cached; bad sources fail with exact
# messages and leave nothing in the store.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
PATH=$PATH:/usr/sbin:/sbin
plan 29
H="$T/h"
D="$SRC/tests/data/image"
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
obj() { echo "$H/objects/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-)"; }
tpl() { printf 'name: t\nfrom:\n  %s: %s\nresources:\n  disk: 256M\n' "$1" "$2" >"$T/$3"; }

# a root with a file, a directory, a symlink and a hard link
mkdir -p "$T/root/etc" "$T/root/usr/bin"
echo "hello from the image" >"$T/root/etc/motd"
ln -s ../etc/motd "$T/root/usr/bin/motd-link"
ln "$T/root/etc/motd" "$T/root/etc/motd.hard"
tar -C "$T/root" -czf "$T/root.tar.gz" .
tpl tar "$T/root.tar.gz" ok.yaml

run sbx --home "$H" build --rootfs-only "$T/ok.yaml"
is "$rc" 0 "build --rootfs-only exits 0"
like "$out" '^[0-9a-f]{64}$' "prints the rootfs manifest id"
like "$err" "reading '$T/root.tar.gz'" "progress names the source"
id=$out
m=$(cat "$(obj "$id")")
like "$m" '"type":"rootfs"' "manifest type is rootfs"
img=$(echo "$m" | sed -n 's/.*"image":"sha:\([0-9a-f]*\)".*/\1/p')
like "$img" '^[0-9a-f]{64}$' "manifest names the image"
e2fsck -fn "$(obj "$img")" >"$T/fsck" 2>&1
ok $? "image is e2fsck -fn clean"
is "$(debugfs -R 'cat /etc/motd' "$(obj "$img")" 2>/dev/null)" \
    "hello from the image" "file content reads back"
like "$(debugfs -R 'stat /usr/bin/motd-link' "$(obj "$img")" 2>/dev/null)" \
    'Fast link dest: "../etc/motd"' "symlink kept"
like "$(debugfs -R 'stat /etc/motd.hard' "$(obj "$img")" 2>/dev/null)" \
    'Links: 2' "hard link kept"
size=$(echo "$m" | sed -n 's/.*"size":\([0-9]*\).*/\1/p')
[ "$size" -ge 268435456 ]
ok $? "image holds at least the template's disk (256M)"
free=$(dumpe2fs -h "$(obj "$img")" 2>/dev/null | sed -n 's/^Free inodes: *//p')
[ "${free:-0}" -ge 16384 ]
ok $? "free inodes for the disk space too (one per 16K of 256M; got $free)"

run sbx --home "$H" --json build --rootfs-only "$T/ok.yaml"
is "$rc" 0 "rebuild exits 0"
is "$(echo "$out" | field cached)" True "unchanged rebuild is cached"
is "$(echo "$out" | field rootfs)" "$id" "cached rebuild gives the same id"
like "$err" "root file system is cached" "and says so"
run sbx --home "$H" --json build --rootfs-only --no-cache "$T/ok.yaml"
is "$(echo "$out" | field cached)" False "--no-cache builds again"
is "$(echo "$out" | field image)" "$img" "and writes a byte-identical image"

# bad sources: exact messages, nothing stored
H2="$T/h2"
tpl tar "$D/escape.tar" esc.yaml
run sbx --home "$H2" build --rootfs-only "$T/esc.yaml"
is "$rc" 1 "escaping entry fails with status 1"
is "$err" "reading '$D/escape.tar'
sbx: '$D/escape.tar': entry '../../etc/cron.d/evil': path leaves the root" \
    "escaping entry is named"
tpl tar "$D/corrupt.tar.gz" bad.yaml
run sbx --home "$H2" build --rootfs-only "$T/bad.yaml"
is "$rc" 1 "corrupt archive fails with status 1"
like "$err" "^sbx: '$D/corrupt.tar.gz': " "corrupt archive is named"
tpl tar "$T/missing.tar" miss.yaml
run sbx --home "$H2" build --rootfs-only "$T/miss.yaml"
is "$rc" 1 "missing tar fails with status 1"
is "$err" "sbx: cannot open '$T/missing.tar': no such file or directory" \
    "missing tar is named"
tpl oci "$D" oci.yaml
run sbx --home "$H2" build --rootfs-only "$T/oci.yaml"
is "$err" "reading '$D'
sbx: '$D': no 'index.json' (not an OCI image layout)" "a directory that is not an OCI layout"
n=$(find "$H2/objects" "$H2/tmp" -type f 2>/dev/null | wc -l)
is "$n" 0 "failed builds leave nothing in the store"

printf 'name: t\nfrom:\n  debian: sbx-nonexistent-suite\n  packages: [bash]\n' >"$T/deb.yaml"
run sbx --home "$H2" build --rootfs-only "$T/deb.yaml"
is "$rc" 1 "another suite than the host's fails"
like "$err" "^sbx: debian suite 'sbx-nonexistent-suite' is not supported on this host: only '[a-z]+' \(the host's own suite\) can be installed" \
    "and says only the host's suite works"

printf 'name: c\nfrom:\n  template: base\n' >"$T/child.yaml"
run sbx --home "$H2" build --rootfs-only "$T/child.yaml"
is "$err" "sbx: 'from: template: base' has no root file system of its own: it builds on the parent template's finished image
hint: build the parent with 'sbx build --rootfs-only base'" "from: template is explained"

run sbx --home "$H2" build --rootfs-only --image-only "$T/ok.yaml"
is "$rc" 2 "--rootfs-only and --image-only exclude each other"
