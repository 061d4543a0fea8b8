#!/bin/sh
# Shell completion: `sbx __complete CWORD WORD...` candidates for verbs,
# options, sub-verbs, sandboxes and templates, and the bash wrapper.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
plan 31

lines() { printf '%s\n' "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }

run sbx __complete 1 sbx e
is "$rc" 0 "completing a verb exits 0"
is "$(lines "$out")" "exec" "'e' completes to exec"
run sbx __complete 1 sbx ""
like "$out" '^ps$' "aliases are offered (ps)"
like "$out" '^top$' "top is offered"
printf '%s\n' "$out" | grep -q '__complete'
is "$?" 1 "the hidden __complete is not offered"
run sbx __complete 1 sbx sh
is "$out" "shell" "'sh' completes to shell"

run sbx __complete 2 sbx exec -
like "$out" '^--tty$' "options of exec: --tty"
like "$out" '^-t$' "options of exec: -t"
like "$out" '^--workdir$' "options of exec: --workdir"
like "$out" '^--json$' "global options are offered too"
printf '%s\n' "$out" | grep -q -- '--once'
is "$?" 1 "options of other commands are not"
run sbx __complete 2 sbx exec --w
is "$out" "--workdir" "'--w' completes to --workdir"
run sbx __complete 3 sbx ls --state h
is "$out" "hibernated" "--state values are states"

run sbx __complete 2 sbx templates ""
is "$(lines "$out")" "list ls show validate" "sub-verbs of templates"
run sbx __complete 3 sbx templates show b
is "$out" "base" "templates show completes template names"
run sbx __complete 2 sbx create b
is "$out" "base" "create completes template names"

# No store yet: nothing to offer, and nothing gets created.
run sbx __complete 2 sbx rm ""
is "$out" "" "no sandboxes without a store"
test -e "$SBX_HOME"
is "$?" 1 "completion does not create the store"

# Sandbox records written by hand (no VM needed).
sbx ls >/dev/null 2>&1
mk() {
	mkdir -p "$SBX_HOME/sandboxes/$1"
	cat >"$SBX_HOME/sandboxes/$1/sandbox.json" <<JSON
{"version": 1, "id": "$1", "name": "$2", "state": "stopped",
 "spec": {"vcpus": 1, "memory": 536870912, "disk": 0},
 "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z"}
JSON
}
mk sb-aaaaaaaaaaaa web
mk sb-abbbbbbbbbbb db
run sbx __complete 2 sbx rm ""
is "$(lines "$out")" "db sb-aaaaaaaaaaaa sb-abbbbbbbbbbb web" \
	"rm completes sandbox ids and names"
run sbx __complete 2 sbx stop sb-ab
is "$out" "sb-abbbbbbbbbbb" "an id prefix narrows the ids"
run sbx __complete 3 sbx rm web ""
like "$out" '^db$' "rm ID... repeats"
run sbx __complete 4 sbx exec web -- ""
is "$out" "" "nothing after -- (the guest command)"
other="$T/other"
mv "$SBX_HOME" "$other"
run sbx __complete 4 sbx --home "$other" logs w
is "$out" "web" "--home in the words picks the store"
mv "$other" "$SBX_HOME"

run sbx __complete nope sbx
is "$rc" 2 "a malformed CWORD is a usage error"

# The bash wrapper, as bash calls it.
bcomp() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		_sbx; printf "%s\n" "${COMPREPLY[@]}"' bcomp \
		"$SRC/completions/sbx.bash" "$@"
}
is "$(lines "$(bcomp sbx in)")" "inspect" "bash: 'sbx in<TAB>'"
is "$(lines "$(bcomp sbx rm w)")" "web" "bash: 'sbx rm w<TAB>'"
is "$(lines "$(bcomp sbx exec --ti)")" "--timeout" "bash: 'sbx exec --ti<TAB>'"

# The zsh and fish wrappers, where those shells are installed.
if command -v zsh >/dev/null 2>&1; then
	zcomp() {
		zsh -c 'compadd() { print -l -- ${(P)${@[-1]}} }
			_files() { print _files }
			f=$1; shift; words=("$@"); CURRENT=$#; . "$f"' zcomp \
			"$SRC/completions/_sbx" "$@"
	}
	is "$(lines "$(zcomp sbx rm w)")" "web" "zsh: 'sbx rm w<TAB>'"
	is "$(zcomp sbx cp x)" "_files" "zsh: file names when sbx has none"
else
	echo "ok $((_n + 1)) # SKIP zsh is not installed"
	echo "ok $((_n + 2)) # SKIP zsh is not installed"
	_n=$((_n + 2))
fi
if command -v fish >/dev/null 2>&1; then
	fcomp() {
		fish -c 'source $argv[1]; complete -C "$argv[2]"' \
			"$SRC/completions/sbx.fish" "$1"
	}
	is "$(lines "$(fcomp 'sbx rm w')")" "web" "fish: 'sbx rm w<TAB>'"
	is "$(lines "$(fcomp 'sbx exec --ti')")" "--timeout" "fish: 'sbx exec --ti<TAB>'"
else
	echo "ok $((_n + 1)) # SKIP fish is not installed"
	echo "ok $((_n + 2)) # SKIP fish is not installed"
	_n=$((_n + 2))
fi
