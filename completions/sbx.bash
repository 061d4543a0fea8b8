# bash completion for sbx: a thin wrapper; `sbx __complete CWORD WORD...`
# knows the verbs, options, sandboxes and templates.
_sbx() {
	local IFS=$'\n' sbx=${COMP_WORDS[0]}
	# A path typed with ~ is not expanded inside COMP_WORDS.
	[[ $sbx == "~/"* ]] && sbx=$HOME/${sbx#"~/"}
	COMPREPLY=($(command "$sbx" __complete "$COMP_CWORD" \
		"${COMP_WORDS[@]}" 2>/dev/null))
}
complete -o default -o nosort -F _sbx sbx 2>/dev/null ||
	complete -o default -F _sbx sbx
