#!/bin/sh
# sbx templates: validate (messages with positions, --json, exit status)
# and ls (shipped, user and builtin templates, shadowing).
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
plan 51

export XDG_CONFIG_HOME="$T/config"
BAD="$SRC/tests/data/templates/bad"
GOOD="$SRC/tests/data/templates/good"
json() { printf '%s' "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

run sbx templates validate "$SRC/templates/base.yaml" "$SRC/templates/python.yaml"
is "$rc" 0 "shipped templates validate"
is "$out" "$SRC/templates/base.yaml: ok
$SRC/templates/python.yaml: ok" "validate prints 'FILE: ok' per file"
is "$err" "" "nothing on stderr for valid files"

cd "$BAD" || exit 1
run sbx templates validate from-typo.yaml
is "$rc" 1 "a bad template exits 1"
is "$err" "from-typo.yaml:4:3: unknown key 'pakages' in 'from' (did you mean 'packages'?)" \
	"typo in 'from' is located and a fix suggested"
is "$out" "" "no 'ok' line for a bad file"

# One case per kind of problem, each with its exact message.
check() {
	run sbx templates validate "$1"
	is "$rc:$err" "1:$1:$2" "$1: $2"
}
check duplicate-key.yaml "5:1: duplicate key 'name' (first at line 1)"
check syntax.yaml "4:1: invalid YAML: found unexpected end of stream (while scanning a quoted scalar at line 3)"
check vcpus-range.yaml "4:10: 'resources.vcpus' must be from 1 to 64, not 100"
check memory-small.yaml "4:11: 'resources.memory' must be from 128M to 256G, not 64M"
check disk-units.yaml "4:9: 'resources.disk' must be a size like 512M or 2G, not '10 gigs'"
check port-range.yaml "3:15: 'ports' must be from 1 to 65535, not 70000"
check from-two.yaml "3:3: 'from' has both 'tar' and 'oci' (use exactly one)"
check from-missing.yaml "1:1: missing required key 'from'"
check idle-duration.yaml "3:15: 'idle_timeout' must be a duration like 30s or 5m, not 'soon'"
check network.yaml "8:7: 'network.deny' entry '192.168.0.0/33' is not a CIDR (like 10.0.0.0/8) or a domain (like example.com)"
check alias.yaml "7:10: YAML aliases are not supported"

run sbx templates validate "$SRC/templates/base.yaml" top-typo.yaml port-dup.yaml
is "$rc" 1 "one bad file among good ones exits 1"
is "$out" "$SRC/templates/base.yaml: ok" "the good file is still reported ok"
is "$(printf '%s\n' "$err" | wc -l | tr -d ' ')" 2 "every bad file gets its error line"

run sbx templates validate --json "$SRC/templates/base.yaml" top-typo.yaml
is "$rc" 1 "validate --json with a bad file exits 1"
is "$(json '[(x["file"], x["ok"]) for x in d]')" \
	"[('$SRC/templates/base.yaml', True), ('top-typo.yaml', False)]" \
	"--json lists {file, ok} per file"
is "$(json 'd[1]["error"]')" \
	"top-typo.yaml:3:1: unknown key 'resorces' (did you mean 'resources'?)" \
	"--json carries the error message"
like "$(json 'd[0]["hash"]')" '^[0-9a-f]{64}$' "--json gives the cache key of a valid template"

run sbx templates validate --json "$GOOD/hash-a.yaml" "$GOOD/hash-b.yaml"
is "$(json 'd[0]["hash"] == d[1]["hash"]')" True "reformatting a template keeps its hash"

run sbx templates validate
is "$rc" 2 "validate without files is a usage error"
run sbx templates validate "$T/missing.yaml"
is "$rc:$err" "1:$T/missing.yaml: cannot read template: No such file or directory" \
	"a missing file is named"
head -c 1100000 /dev/zero | tr '\0' '#' >"$T/huge.yaml"
run sbx templates validate "$T/huge.yaml"
is "$rc:$err" "1:$T/huge.yaml: template larger than the 1 MiB limit" "size cap"

run sbx templates frob
is "$rc" 2 "unknown sub-command exits 2"

# Listing: shipped templates from the source tree, then user ones.
cd "$T" || exit 1
run sbx templates ls
is "$rc" 0 "ls exits 0"
like "$out" "^base +Debian bookworm.* $SRC/templates/base.yaml\$" "ls shows base with its source"
like "$out" "^python +Python 3.* $SRC/templates/python.yaml\$" "ls shows python"

mkdir -p "$SBX_HOME/templates" "$XDG_CONFIG_HOME/sbx/templates"
printf 'description: my own python\nfrom: {template: base}\n' >"$SBX_HOME/templates/python.yaml"
printf 'description: from config\nfrom: {template: python}\n' >"$XDG_CONFIG_HOME/sbx/templates/web.yml"
printf 'from: {template: base}\nrun: [\n' >"$SBX_HOME/templates/broken.yaml"
run sbx templates ls
like "$out" "^python +my own python +$SBX_HOME/templates/python.yaml\$" "a user template shadows the shipped one"
like "$out" "^web +from config +$XDG_CONFIG_HOME/sbx/templates/web.yml\$" "templates in the config dir are listed"
like "$err" "^sbx: warning: $SBX_HOME/templates/broken.yaml:3:1: invalid YAML" "a broken user template is reported"
run sbx templates validate python web
is "$out" "python: ok
web: ok" "validate takes names too"

run sbx --json templates ls
is "$(json '[(x["name"], x["origin"], x["valid"]) for x in d]')" \
	"[('base', 'shipped', True), ('broken', 'user', False), ('python', 'user', True), ('web', 'user', True)]" \
	"ls --json: name, origin, validity"

run env -u SBX_TOP_SRCDIR sbx --home "$T/empty" templates ls
like "$out" '^base +Debian bookworm' "base is there without the source tree (builtin or installed)"
run sbx templates validate nope
is "$rc:$err" "1:sbx: no template 'nope'
hint: looked in $SBX_HOME/templates, $XDG_CONFIG_HOME/sbx/templates, $SRC/templates and the builtins; see 'sbx templates ls'" \
	"an unknown name says where it looked"

printf 'from: {template: gone}\n' >"$T/orphan.yaml"
run sbx templates validate "$T/orphan.yaml"
is "$rc:$(printf '%s\n' "$err" | head -1)" "1:$T/orphan.yaml:1:18: parent template 'gone': no template 'gone'" \
	"a missing parent template is located"
run sbx --json templates validate web
is "$(json 'd[0]["parents"]')" "['python', 'base']" "--json lists the parent chain"

# Host files must exist; paths are relative to the template's directory.
mkdir -p "$T/proj/app"
printf 'from: {template: base}\nfiles: [{src: app, dst: /srv/app}]\nkernel: vmlinuz\n' >"$T/proj/t.yaml"
run sbx templates validate "$T/proj/t.yaml"
is "$rc:$err" "1:$T/proj/t.yaml:3:9: 'kernel' '$T/proj/vmlinuz': No such file or directory" \
	"a missing host file is located, its path resolved against the template"
: >"$T/proj/vmlinuz"
run sbx templates validate "$T/proj/t.yaml"
is "$rc" 0 "valid once the file exists"

printf 'name: piped\nfrom: {template: python}\n' >"$T/in.yaml"
run sbx templates validate - <"$T/in.yaml"
is "$rc:$out" "0:-: ok" "validate - reads stdin"
printf 'from: {template: base}\nvcpus: 2\n' >"$T/in.yaml"
run sbx templates validate - <"$T/in.yaml"
is "$err" "<stdin>:2:1: unknown key 'vcpus' (it belongs in 'resources')" "stdin errors are located too, nested keys placed"

run sbx templates show web
like "$out" "^from: +template python \(parents: python, base\)\$" "show names the parent chain"
like "$out" "^resources: +2 vCPUs, 1G memory, 2G disk\$" "show gives the resources with defaults"
run sbx --json templates show "$GOOD/hash-b.yaml"
is "$(json '(d["name"], d["resources"]["memory"], d["ready"], d["ports"], d["env"])')" \
	"('hashed', 1073741824, {'timeout_ms': 120000, 'command': 'curl -sf localhost:8080'}, [443, 80], {'B': 'two', 'A': '1'})" \
	"show --json gives every field with defaults applied"
run sbx templates show nope
is "$rc" 1 "show of an unknown template fails"

# The man page documents every sub-verb that -h lists, and the options.
run sbx templates -h
verbs=$(printf '%s\n' "$out" | sed -n 's/^    \([a-z]*\) .*/\1/p')
missing=
for v in $verbs; do grep -q "^\.Cm templates $v\$" "$SRC/doc/sbx-templates.1" || missing="$missing $v"; done
is "$(echo $verbs | wc -w | tr -d ' '):$missing" "3:" "doc/sbx-templates.1 covers every sub-verb (ls show validate)"
grep -q 'Fl -json' "$SRC/doc/sbx-templates.1"; ok $? "doc/sbx-templates.1 documents --json"
