#!/bin/sh
# sbx-vmm's data disk options without a VM: --make-layer turns a raw image
# into a layer of its non-zero blocks, and the option checks that come
# before any VM is built. Booting, snapshotting, restoring and forking a
# VM with a data disk: tests/rig/t47-data-disk.sh.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"

vmm=$BUILD/sbx-vmm
plan 12

truncate -s 64K "$T/raw"
printf 'hello' | dd of="$T/raw" bs=4096 seek=3 conv=notrunc 2>/dev/null
printf 'world' | dd of="$T/raw" bs=4096 seek=15 conv=notrunc 2>/dev/null
run "$vmm" --make-layer "$T/raw" "$T/layer"
is "$rc|$out" "0|2 blocks of 16" "--make-layer keeps the 2 non-zero blocks of 16"
is "$(stat -c %s "$T/layer")" $((4096 + 4096 + 2 * 4096)) \
	"the layer is header + bitmap + 2 blocks"
is "$(head -c 8 "$T/layer" | od -An -c | tr -d ' ')" 'SBXLAYR001' \
	"the layer starts with its magic"
truncate -s 5000 "$T/odd"
run "$vmm" --make-layer "$T/odd" "$T/odd.layer"
is "$rc" 1 "--make-layer of a raw image that is not whole blocks fails"
like "$err" "not a non-zero multiple of 4096" "saying why"
ok "$(test ! -e "$T/odd.layer" && test ! -e "$T/odd.layer.tmp"; echo $?)" \
	"and leaves no layer or temporary file"
run "$vmm" --make-layer "$T/missing" "$T/x"
like "$rc|$err" "^1\|.*cannot open raw image '.*missing'" "a missing raw image is named"

run "$vmm" --kernel /nonexistent --data-layer "$T/layer"
like "$rc|$err" "^2\|.*--data-layer and --data-size need --data-disk" \
	"--data-layer without --data-disk is a usage error"
run "$vmm" --kernel /nonexistent --data-disk "$T/top"
like "$rc|$err" "^2\|.*needs --data-size" "a data disk without layers needs a size"
run "$vmm" --kernel /nonexistent --data-disk "$T/top" --data-layer "$T/layer" --data-size 1M
like "$rc|$err" "^2\|.*size of a disk with --data-layer is its layers'" \
	"--data-size with layers is refused"
run "$vmm" --kernel /nonexistent --data-disk "$T/top" --data-size 6000
like "$rc|$err" "^2\|.*not a multiple of 4096" "a size that is not whole blocks is refused"
run "$vmm" --restore "$T/nosnap" --data-layer "$T/layer"
like "$rc|$err" "^2\|.*--data-layer needs --data-disk" \
	"--restore with --data-layer but no --data-disk is a usage error"
exit $_fail
