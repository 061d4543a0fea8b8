#!/bin/sh
# Man pages: every command `sbx help` lists has doc/sbx-<verb>.1; its
# SYNOPSIS has every option of the usage line(s) `sbx <verb> -h` prints
# (and no option sbx does not know), its OPTIONS list every option of the
# option table(s) (and no unknown one); no skeleton marker from
# doc/mkman.sh is left; sbx(1) names every command; `mandoc -Tlint` finds
# nothing at warning level or above when mandoc is installed.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"

verbs=$(sbx help | awk '/^    [a-z]/ { print $1 }')
nverbs=$(printf '%s\n' "$verbs" | wc -l)
plan $((nverbs * 4 + 3))

GLOBALS="--json -q --quiet -v --verbose --remote --home -h --help"

# Sub-verbs listed under "commands:" in -h output.
subverbs() { sbx "$1" -h | awk '/^commands:/ { c = 1; next }
	c && /^    [a-z]/ { print $1 } c && /^$/ { c = 0 }'; }
# Options on the usage line(s) of a verb (and of its sub-verbs).
usage_opts() {
	{ sbx "$1" -h | sed -n 1p
	  for s in $(subverbs "$1"); do sbx "$1" "$s" -h | sed -n 1p; done
	} | sed 's/^usage: //' | tr ' [|]' '\n\n\n\n' |
	grep -E '^--?[A-Za-z]' | sed 's/=.*//' | sort -u
}
# Options of the option table(s): the long name, else the short one;
# with $2, every name.
table_opts() {
	{ sbx "$1" -h
	  for s in $(subverbs "$1"); do sbx "$1" "$s" -h; done
	} | awk -v all="${2:-}" '/^options:/ { o = 1; next } /^[^ ]/ { o = 0 }
	o && /^    / { s = $0; sub(/^ +/, "", s); split(s, p, /   +/)
		n = split(p[1], t, /[ ,]+/); name = ""
		for (i = 1; i <= n; i++)
			if (t[i] ~ /^-/) { name = t[i]; if (all) print name }
		if (!all) print name }' | sort -u
}
# Flags in the mdoc lines of section $2 of page $1 ("Fl a b" = -a -b);
# with $3, only from ".It" lines, the long name else the short one.
page_flags() {
	awk -v sec="$2" -v items="${3:-}" '
	/^\.Sh / { in_sec = ($0 == ".Sh " sec); next }
	!in_sec { next }
	items && !/^\.It / { next }
	/^\./ {
		n = split($0, t, /[ \t]+/); fl = 0; last = ""
		for (i = 1; i <= n; i++) {
			if (t[i] == "Fl") { fl = 1; continue }
			if (t[i] ~ /^\.?[A-Z][a-z][a-z]?$/) { fl = 0; continue }
			if (!fl || t[i] == "|" || t[i] == "," || t[i] == "-")
				continue
			f = "-" t[i]
			if (items) { if (last == "" || f ~ /^--/) last = f }
			else print f
		}
		if (items && last != "") print last
	}' "$1" | sort -u
}
missing() {	# words of $1 not in $2
	for w in $1; do
		case " $(printf '%s ' $2)" in *" $w "*) ;; *) printf '%s ' "$w" ;; esac
	done
}

for v in $verbs; do
	page="$SRC/doc/sbx-$v.1"
	if [ ! -f "$page" ]; then
		for i in 1 2 3 4; do
			_report 1 "sbx-$v.1 exists"
		done
		echo "# write it: doc/mkman.sh $BUILD/sbx $v > doc/sbx-$v.1"
		continue
	fi
	_report 0 "sbx-$v.1 exists"
	u=$(usage_opts "$v"); syn=$(page_flags "$page" SYNOPSIS)
	tab=$(table_opts "$v"); its=$(page_flags "$page" OPTIONS 1)
	known="$u $(table_opts "$v" all) $GLOBALS"
	m="$(missing "$u" "$syn")$(missing "$syn" "$known")"
	is "$m" "" "sbx-$v.1 SYNOPSIS matches 'sbx $v -h' (missing or unknown: $m)"
	m="$(missing "$tab" "$its")$(missing "$its" "$known")"
	is "$m" "" "sbx-$v.1 OPTIONS match the option table (missing or unknown: $m)"
	grep -q '@PROSE@' "$page"
	is "$?" 1 "sbx-$v.1 has no skeleton marker left"
done

page="$SRC/doc/sbx.1"
test -f "$page"
ok $? "sbx.1 exists"
m=""
for v in $verbs; do
	grep -q "Xr sbx-$v 1" "$page" 2>/dev/null || m="$m $v"
done
is "$m" "" "sbx.1 refers to every command's page"

if command -v mandoc >/dev/null 2>&1; then
	out=$(cd "$SRC/doc" && mandoc -Tlint -Wwarning sbx.1 sbx-*.1 2>&1)
	is "$out" "" "mandoc -Tlint finds nothing"
else
	echo "ok $((_n + 1)) # SKIP mandoc is not installed"
	_n=$((_n + 1))
fi

