#!/bin/sh
# Fails when a C source outside banned.h calls a function STYLE.md bans.
top=${1:-.}
cd "$top" || exit 1
pat='\b(strcpy|strcat|sprintf|vsprintf|strtok|gets|atoi|system|popen)[[:space:]]*\('
hits=$(git ls-files '*.c' '*.h' 2>/dev/null || find src backends tests -name '*.[ch]')
bad=$(grep -H -n -E "$pat" $hits 2>/dev/null | grep -v 'banned\.h' | grep -v -E ':[0-9]+:[[:space:]]*(\*|/\*|//)')
if [ -n "$bad" ]; then
	printf 'banned calls (see STYLE.md 3):\n%s\n' "$bad" >&2
	exit 1
fi
echo "check-style: no banned calls"
