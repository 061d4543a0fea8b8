#!/bin/sh
# The dispatcher: help, version, unknown verbs, plugins, global options.
. "${SBX_TOP_SRCDIR:-.}/tests/cli/lib.sh"
plan 22

run sbx help
is "$rc" 0 "sbx help exits 0"
like "$out" '^    doctor +check what this host' "help lists doctor with its summary"
like "$out" '^    version +print the version' "help lists version"
n=$(printf '%s\n' "$out" | grep -c '^    [a-z]')
[ "$n" -ge 3 ]; ok $? "help lists every verb on its own line ($n)"

run sbx
is "$rc" 2 "no verb is a usage error"
like "$err" '^commands:' "no verb lists the commands"

run sbx frobnicate
is "$rc" 2 "unknown verb exits 2"
like "$err" "'frobnicate' is not an sbx command" "unknown verb is named"
like "$err" '^    help ' "unknown verb lists the commands"

run sbx version
like "$out" '^sbx [0-9]+\.[0-9]+\.[0-9]+$' "version prints 'sbx X.Y.Z'"
run sbx version --json
v=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
like "$v" '^[0-9]+\.[0-9]+\.[0-9]+$' "version --json has a version field"
run sbx --json version
is "$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["name"])')" sbx "global --json before the verb"

run sbx version -h
is "$rc" 0 "-h exits 0"
like "$out" '^usage: sbx version' "-h prints the usage line"
run sbx help doctor
like "$out" '^usage: sbx doctor' "help COMMAND prints that command's usage"

run sbx version --frob
is "$rc" 2 "unknown option exits 2"
like "$err" "unknown option '--frob'" "unknown option is named"
run sbx --home
is "$rc" 2 "--home without a value is a usage error"

mkdir -p "$T/bin"
cat >"$T/bin/sbx-hello" <<'PLUG'
#!/bin/sh
echo "plugin args: $* home=$SBX_HOME"
PLUG
chmod +x "$T/bin/sbx-hello"
run env PATH="$T/bin:$PATH" sbx --home "$T/h2" hello a b
is "$rc" 0 "plugin runs"
is "$out" "plugin args: a b home=$T/h2" "plugin gets its args and SBX_HOME"
run env PATH="$T/bin:$PATH" sbx ../bin/sbx-hello
is "$rc" 2 "a verb with a slash never runs a program"

run sbx version extra
is "$rc" 2 "extra operands are a usage error"
