#!/bin/sh
# `sbx --remote URL templates ls|show`: the server's templates (GET
# /v1/templates[/NAME]), not this host's, shown as the local commands show
# theirs, without the server's file paths.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "1..0 # SKIP curl is not installed"; exit 0; }
plan 16
json() { printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# The server has a home of its own, with two user templates, one broken.
srv=$T/srv
mkdir -p "$srv/templates"
printf 'description: the server only\nfrom: {template: base}\nstart: python3 -m http.server 8000\nready: {port: 8000}\nports: [8000]\n' \
	>"$srv/templates/srvonly.yaml"
printf 'from: {template: base}\nrun: [\n' >"$srv/templates/broken.yaml"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
home=$SBX_HOME
SBX_HOME=$srv
serve_start
SBX_HOME=$home
SBX_TOKEN=$(SBX_HOME=$srv sbx token create --scope read 2>/dev/null | tail -n 1)
export SBX_TOKEN

run sbx templates ls
ok $(printf '%s\n' "$out" | grep -q '^srvonly ' && echo 1 || echo 0) "this host's listing does not have the server's template"
run sbx --remote "$url" templates ls
is "$rc" 0 "remote ls exits 0"
like "$out" "^srvonly +the server only +\(user\)\$" "remote ls lists the server's template, its origin as source"
like "$out" "^base +Debian bookworm" "and the shipped/builtin base"
like "$out" "^broken +\(invalid, see 'sbx templates validate'\) +\(user\)\$" "a broken server template is marked invalid"
ok $(printf '%s%s\n' "$out" "$err" | grep -q "$srv" && echo 1 || echo 0) "no server path appears, not even in the parser's message"

run sbx --remote "$url" --json templates ls
is "$(json '[(x["name"], x["origin"], x["valid"], "path" in x, x["built"]) for x in d if x["name"] in ("broken", "srvonly")]')" \
	"[('broken', 'user', False, False, None), ('srvonly', 'user', True, False, None)]" \
	"--json: name, origin, validity, nothing built, no path"

run sbx --remote "$url" templates show srvonly
is "$rc" 0 "remote show exits 0"
lout=$(SBX_HOME=$srv sbx templates show srvonly | grep -v '^source:')
is "$(printf '%s\n' "$out" | grep -v '^source:')" "$lout" "remote show prints what show prints on the server"
like "$out" "^source: +\(user\)\$" "with the origin for a source"
run sbx --remote "$url" --json templates show srvonly
is "$(json '(d["name"], d["origin"], d["ready"]["port"], d["ports"], "path" in d)')" \
	"('srvonly', 'user', 8000, [8000], False)" "show --json: the template's fields, its origin, no path"

run sbx --remote "$url" templates show nope
is "$rc" 1 "show of a template the server lacks fails"
like "$err" "no template 'nope'" "saying so"
run sbx --remote "$url" templates show ../etc/passwd
is "$rc" 2 "a path is not a server template name (usage error)"
like "$err" "not a template name" "and says why"
SBX_TOKEN=nope run sbx --remote "$url" templates ls
is "$rc" 1 "a bad token fails with the server's 401"
