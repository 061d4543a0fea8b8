#!/bin/sh
# image-write.sh - ext4 image write throughput of sbx's libext2fs writer
# (`sbx build --rootfs-only` from a tar) against the classic way, `tar -x`
# into a directory then `mke2fs -d`, on the same input in the same run.
# Both include formatting; sbx's figure also includes its sizing pass and
# moving the image into the store. Prints MB/s of each and the ratio, and
# checks both images with e2fsck -fn. A figure, not a pass/fail test.
#
#   tests/bench/image-write.sh [-b] [-i INPUT.tar] [-r ROUNDS] [-s PATH/TO/sbx]
#
# Without -i the input is a tar of /usr/include and /usr/lib/python3 of
# this host (many small files, like a root file system). It also times a
# no-change rebuild (served from the cache); -b builds the shipped base
# template too (network, apt) and prints its image size and no-change
# rebuild time.
set -eu
sbx=${SBX:-sbx}
input=
rounds=3
base=
while getopts bi:r:s: o; do
	case $o in
	b) base=1 ;;
	i) input=$OPTARG ;;
	r) rounds=$OPTARG ;;
	s) sbx=$OPTARG ;;
	*) echo "usage: $0 [-b] [-i INPUT.tar] [-r ROUNDS] [-s SBX]" >&2; exit 2 ;;
	esac
done
PATH=$PATH:/usr/sbin:/sbin
for t in tar mke2fs e2fsck; do
	command -v $t >/dev/null || { echo "image-write: needs $t" >&2; exit 2; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/sbx-imgbench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
export SBX_HOME="$T/home"
if [ -z "$input" ]; then
	input=$T/input.tar
	tar -C / -cf "$input" usr/include usr/lib/python3 2>/dev/null || true
fi
[ -s "$input" ] || { echo "image-write: empty input '$input'" >&2; exit 2; }
input=$(cd "$(dirname "$input")" && pwd)/$(basename "$input")
mb=$(( $(stat -c %s "$input") / 1048576 ))
files=$(tar -tf "$input" | wc -l)
printf 'name: bench\nfrom:\n  tar: %s\nresources:\n  disk: 256M\n' \
    "$input" >"$T/bench.yaml"

now() { date +%s.%N; }
rate() { echo "$1 $2" | awk '{ printf "%.1f", $1 / $2 }'; }

echo "input: $input ($mb MiB, $files entries), $rounds rounds"
best_sbx=0 best_ref=0
i=0
while [ $i -lt "$rounds" ]; do
	i=$((i + 1))
	sync
	t0=$(now)
	json=$("$sbx" -q build --rootfs-only --no-cache --json "$T/bench.yaml")
	t1=$(now)
	size=$(echo "$json" | sed -n 's/.*"size": *\([0-9]*\).*/\1/p')
	image=$(echo "$json" | sed -n 's/.*"image": *"\([0-9a-f]*\)".*/\1/p')
	obj=$SBX_HOME/objects/$(echo "$image" | cut -c1-2)/$(echo "$image" | cut -c3-)
	e2fsck -fn "$obj" >/dev/null 2>&1 || { echo "sbx image not clean" >&2; exit 1; }

	rm -rf "$T/dir" "$T/ref.img"
	mkdir "$T/dir"
	sync
	t2=$(now)
	tar -xf "$input" -C "$T/dir"
	mke2fs -q -F -t ext4 -b 4096 -m 0 -d "$T/dir" "$T/ref.img" \
	    "$((size / 1024))k" >/dev/null 2>&1
	sync -f "$T/ref.img" 2>/dev/null || sync
	t3=$(now)
	e2fsck -fn "$T/ref.img" >/dev/null 2>&1 || { echo "mke2fs -d image not clean" >&2; exit 1; }

	s=$(echo "$t1 $t0" | awk '{ print $1 - $2 }')
	r=$(echo "$t3 $t2" | awk '{ print $1 - $2 }')
	echo "round $i: sbx $(rate $mb $s) MB/s (${s}s), tar -x + mke2fs -d $(rate $mb $r) MB/s (${r}s)"
	best_sbx=$(echo "$best_sbx $s" | awk '{ print ($1 == 0 || $2 < $1) ? $2 : $1 }')
	best_ref=$(echo "$best_ref $r" | awk '{ print ($1 == 0 || $2 < $1) ? $2 : $1 }')
	rm -rf "$SBX_HOME/objects" "$SBX_HOME/refs"
done
echo "best: sbx $(rate $mb $best_sbx) MB/s, tar -x + mke2fs -d $(rate $mb $best_ref) MB/s, ratio $(echo "$best_ref $best_sbx" | awk '{ printf "%.2f", $1 / $2 }')x (>1: sbx faster)"

# no-change rebuilds: the second build of each is served from the cache
rebuild() {
	"$sbx" -q build --rootfs-only "$1" >/dev/null
	t0=$(now)
	json=$("$sbx" -q build --rootfs-only --json "$1")
	t1=$(now)
	echo "$json" | grep -q '"cached": true' || { echo "rebuild of '$1' was not cached" >&2; exit 1; }
	echo "$json"
	echo "$t1 $t0" | awk '{ printf "no-change rebuild: %.3fs\n", $1 - $2 }' >&2
}
rebuild "$T/bench.yaml" >/dev/null
if [ -n "$base" ]; then
	top=$(cd "$(dirname "$0")/../.." && pwd)
	json=$(rebuild "$top/templates/base.yaml")
	image=$(echo "$json" | sed -n 's/.*"image": *"\([0-9a-f]*\)".*/\1/p')
	obj=$SBX_HOME/objects/$(echo "$image" | cut -c1-2)/$(echo "$image" | cut -c3-)
	echo "base image: $(stat -c %s "$obj") bytes apparent, $(du -k "$obj" | cut -f1) KiB allocated"
fi
