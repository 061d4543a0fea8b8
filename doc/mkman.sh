#!/bin/sh
# mkman.sh - writes the skeleton of an mdoc page for an sbx command from
# what `sbx VERB -h` prints (usage line, summary, sub-verbs, option table),
# so a new command's page starts with a SYNOPSIS and OPTIONS that match its
# option table. DESCRIPTION and EXAMPLES come out as @PROSE@ markers to be
# written by hand; tests/cli/71-manpages.t fails while a marker is left.
#
#   doc/mkman.sh [-n] SBX VERB    print the skeleton of sbx-VERB.1
#   doc/mkman.sh -m SBX DOCDIR    create the pages of commands that have
#                                 none yet (`sbx help` lists them)
#   doc/mkman.sh -s SBX VERB      print only the SYNOPSIS lines (to paste
#                                 into a page after the usage changed)
set -eu

# Converts one usage line (after "usage: sbx ") into mdoc macro lines.
usage_to_mdoc() {
	printf '%s\n' "$1" | awk -v subs="$2" '
	function flush() { if (line != "") print "." line; line = "" }
	function emit(m) { line = line == "" ? m : line " " m }
	function word(w,   dots) {
		dots = ""
		if (w ~ /\.\.\.$/) { dots = " ..."; sub(/\.\.\.$/, "", w) }
		if (w == "--") { emit("Fl -"); return }
		if (w ~ /^--?[A-Za-z]/) { sub(/^-/, "", w); emit("Fl " w dots); return }
		if (w == "|") { emit("|"); return }
		if (index(" " subs " ", " " w " ")) { emit("Cm " w dots); return }
		emit("Ar " tolower(w) dots)
	}
	{
		s = $0
		gsub(/\[/, " [ ", s); gsub(/\]/, " ] ", s)
		n = split(s, t, /[ \t]+/)
		depth = 0
		for (i = 1; i <= n; i++) {
			if (t[i] == "") continue
			if (t[i] == "[") {
				if (depth == 0) flush()
				emit("Oo"); depth++; continue
			}
			if (t[i] == "]") {
				emit("Oc"); depth--
				if (depth == 0) flush()
				continue
			}
			if (depth == 0) flush()
			word(t[i])
			if (depth == 0) flush()
		}
		flush()
	}' | sed 's/^\.Oo \(.*\) Oc$/.Op \1/' |
	awk '/^\.Op / && / Oo / { sub(/^\.Op /, ".Oo "); $0 = $0 " Oc" } { print }'
}

# The SYNOPSIS block(s) of VERB: one per sub-verb when it has them.
synopsis() {
	sbx=$1 verb=$2
	help=$("$sbx" "$verb" -h)
	subs=$(printf '%s\n' "$help" | awk '/^commands:/ { c = 1; next }
		c && /^    [a-z]/ { print $1 } c && /^$/ { c = 0 }')
	if [ -n "$subs" ]; then
		for s in $subs; do
			u=$("$sbx" "$verb" "$s" -h | sed -n '1s/^usage: sbx [^ ]* [^ ]* *//p')
			echo ".Nm sbx"
			echo ".Cm $verb $s"
			[ -z "$u" ] || usage_to_mdoc "$u" ""
		done
	else
		u=$(printf '%s\n' "$help" | sed -n '1s/^usage: sbx [^ ]* *//p')
		echo ".Nm sbx"
		echo ".Cm $verb"
		[ -z "$u" ] || usage_to_mdoc "$u" ""
	fi
}

# The OPTIONS list from the option tables ("    -i, --interactive  help").
options() {
	sbx=$1 verb=$2
	help=$("$sbx" "$verb" -h)
	subs=$(printf '%s\n' "$help" | awk '/^commands:/ { c = 1; next }
		c && /^    [a-z]/ { print $1 } c && /^$/ { c = 0 }')
	{
		printf '%s\n' "$help"
		for s in $subs; do "$sbx" "$verb" "$s" -h; done
	} | awk '
	/^options:/ { o = 1; next }
	/^[^ ]/ { o = 0 }
	o && /^    / {
		s = $0; sub(/^ +/, "", s)
		# Split "-i, --interactive ARG" from the help text (2+ spaces).
		split(s, parts, /   +/); left = parts[1]; txt = parts[2]
		n = split(left, t, /[ ,]+/); it = ""; arg = ""
		for (i = 1; i <= n; i++) {
			if (t[i] ~ /^-/) {
				f = t[i]; sub(/^-/, "", f)
				it = it == "" ? "Fl " f : it " , Fl " f
			} else if (t[i] != "") arg = t[i]
		}
		if (seen[it]++) next
		if (arg != "") it = it " Ar " tolower(arg)
		txt = toupper(substr(txt, 1, 1)) substr(txt, 2)
		if (txt !~ /[.]$/) txt = txt "."
		print ".It " it; print txt
	}'
}

skeleton() {
	sbx=$1 verb=$2
	summary=$("$sbx" "$verb" -h | sed -n 3p)
	upper=$(printf '%s' "$verb" | tr a-z A-Z)
	cat <<EOF
.Dd $(LC_ALL=C date -u '+%B %-d, %Y')
.Dt SBX-$upper 1
.Os
.Sh NAME
.Nm sbx-$verb
.Nd $summary
.Sh SYNOPSIS
$(synopsis "$sbx" "$verb")
.Sh DESCRIPTION
@PROSE@
EOF
	opts=$(options "$sbx" "$verb")
	if [ -n "$opts" ]; then
		printf '.Sh OPTIONS\n.Bl -tag -width Ds\n%s\n.El\n' "$opts"
	fi
	cat <<EOF
.Sh EXIT STATUS
.Nm sbx Cm $verb
exits 0 on success, 1 when it failed and 2 for a usage error.
.Sh EXAMPLES
@PROSE@
.Sh SEE ALSO
.Xr sbx 1
EOF
}

case ${1:-} in
-s)
	synopsis "$2" "$3"
	;;
-m)
	sbx=$2 dir=$3
	for v in $("$sbx" help | awk '/^    [a-z]/ { print $1 }'); do
		[ -e "$dir/sbx-$v.1" ] && continue
		skeleton "$sbx" "$v" >"$dir/sbx-$v.1"
		echo "wrote $dir/sbx-$v.1: write its DESCRIPTION and EXAMPLES"
	done
	;;
-n)
	skeleton "$2" "$3"
	;;
*)
	[ $# -eq 2 ] || { echo "usage: $0 [-n|-s] SBX VERB | -m SBX DOCDIR" >&2; exit 2; }
	skeleton "$1" "$2"
	;;
esac
