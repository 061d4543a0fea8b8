# fish completion for sbx: a thin wrapper; `sbx __complete CWORD WORD...`
# knows the verbs, options, sandboxes and templates.
function __sbx_complete
	set -l words (commandline -opc) (commandline -ct)
	set -l cword (math (count $words) - 1)
	command $words[1] __complete $cword $words 2>/dev/null
end
complete -c sbx -f -a '(__sbx_complete)'
