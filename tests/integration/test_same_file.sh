#!/usr/bin/env bash
# Exact or loud, inputs (red team, session 9): one local file named twice in other words
# (dd/x.csv and ./dd/x.csv, an absolute path, dd//x.csv, file://, a folder and a file in it
# written otherwise, a symlink, a hard link) was counted once per name by tally run (the broker
# only merged equal URIs), and tally scan counted even equal URIs twice: a wrong total, exit 0.
# Both now count the file once and say so on stderr.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/dd"
printf 'a\n1\n2\n2\n' > "$T/dd/x.csv"
printf 'a\n3\n' > "$T/dd/y.csv"
ln -s "$T/dd/x.csv" "$T/link.csv"
ln "$T/dd/y.csv" "$T/hard.csv"
cd "$T"
check () {    # check WANT-ROWS INPUT...
    local want=$1; shift
    local args=() cmd
    for i in "$@"; do args+=(--input "$i"); done
    for cmd in "scan" "run -q"; do
        # shellcheck disable=SC2086
        "$TALLY" $cmd "${args[@]}" --group-by a --format json > "$T/o.json" 2> "$T/o.log" || fail "$cmd $*: exit $?"
        got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["rows"])' "$T/o.json")
        [ "$got" = "$want" ] || fail "$cmd $*: $got rows, want $want ($(cat "$T/o.log"))"
        [ $# -eq 1 ] || grep -q "counted once" "$T/o.log" || fail "$cmd $*: no warning ($(cat "$T/o.log"))"
    done
}
check 3 dd/x.csv
check 3 dd/x.csv dd/x.csv
check 3 dd/x.csv ./dd/x.csv
check 3 dd/x.csv "$T/dd/x.csv"
check 3 dd/x.csv dd//x.csv
check 3 dd/x.csv "file://$T/dd/x.csv"
check 3 dd/x.csv link.csv
check 4 ./dd dd/./x.csv dd/y.csv
check 4 dd hard.csv
pass "a local file under several names (./, absolute, //, file://, a folder, a symlink, a hard link): counted once by scan and run"
