#!/usr/bin/env bash
# The streamed final table resumed after a lost part, in a real `tally watch` against a
# stand-in reducer (tests/tools/fake_final.py: pyzmq + msgpack) that leaves out one part of the
# done snapshot, then sends the table again cut into other parts when the watcher asks. The
# watcher has written the parts before it by then: it must skip what it wrote and go on, so that
# csv, json and --output are the whole table, once. A table sent again that differs at the
# resume point, or another job's, must end the watcher with exit 1 and a line that says where
# the table was cut, and leave no --output file.
. "$(dirname "$0")/lib.sh"
FAKE="$TALLY_SRC/tests/tools/fake_final.py"

# run NAME MODE WATCH-ARGS...: a stand-in reducer and one watcher; the watcher's exit code in $rc.
run () {
    local name=$1 mode=$2; shift 2
    local ep="ipc://$T/$name.pub"
    bg "fake_$name" /usr/bin/python3 "$FAKE" "$ep" 3000 4 3 "$mode" "$T/$name.want.csv"
    wait_for "$T/fake_$name.log" bound 10
    rc=0
    "$TALLY" watch --subscribe "$ep" --until-done --timeout 60 -v "$@" > "$T/$name.out" 2> "$T/$name.log" || rc=$?
    grep -q "sent again" "$T/fake_$name.log" || fail "$name: the stand-in never sent the table again"
    grep -q "updates were lost" "$T/$name.log" || fail "$name: the watcher did not see the lost part"
}

run csv same --format csv
[ $rc = 0 ] || fail "csv: exit $rc"
grep -q "written as its 5 parts came" "$T/csv.log" || fail "csv: not streamed"
cmp "$T/csv.out" "$T/csv.want.csv" || fail "csv: the resumed table is not the table"
pass "csv: part 3 of 4 lost after parts 1 and 2 were written; the table sent again in 5 parts resumed exactly"

run json same --format json --output "$T/json.file.json"
[ $rc = 0 ] || fail "json: exit $rc"
cmp "$T/json.out" "$T/json.file.json" || fail "json: --output differs from the printed json"
python3 - "$T/json.out" "$T/json.want.csv" <<'PY' || fail "json: the resumed table is not the table"
import json, sys
got = json.load(open(sys.argv[1]))
want = [l.rstrip("\n").split(",") for l in open(sys.argv[2])][1:]
assert [[g["key"], str(g["count"])] for g in got["groups"]] == want
assert got["ok"] and got["done"] and got["seq"] == 8, got
PY
pass "json and --output: resumed exactly, one JSON object with the totals of the table sent again"

for mode in differs other; do
    run "$mode" "$mode" --format csv --output "$T/$mode.file.csv"
    [ $rc = 1 ] || fail "$mode: exit $rc, not 1"
    grep -q "tally watch: the final table was cut short at group [0-9]* and .*: the result printed is incomplete" \
        "$T/$mode.log" || { cat "$T/$mode.log"; fail "$mode: no line saying where the table was cut"; }
    [ ! -e "$T/$mode.file.csv" ] && [ ! -e "$T/$mode.file.csv.tmp" ] || fail "$mode: an --output file was left"
done
# --job j: the reducer moves on to job k while j's table is cut short: j's table can never come,
# so the watcher ends (exit 1, a line naming both jobs, no --output) instead of waiting for it.
run otherjob other --format csv --job j --output "$T/otherjob.file.csv"
[ $rc = 1 ] || fail "otherjob: exit $rc, not 1: $(tail -3 "$T/otherjob.log")"
grep -q "the reducer moved on to job k before job j's final table came in" "$T/otherjob.log" \
    || fail "otherjob: no line naming the job that came instead: $(tail -3 "$T/otherjob.log")"
grep -q "the result printed is incomplete" "$T/otherjob.log" || fail "otherjob: the cut table is not called incomplete"
[ ! -e "$T/otherjob.file.csv" ] && [ ! -e "$T/otherjob.file.csv.tmp" ] || fail "otherjob: an --output file was left"

grep -q "differs there" "$T/differs.log" || fail "differs: the line does not say the table differs"
grep -q "job 'k'" "$T/other.log" || fail "other: the line does not name the other job"
pass "a table sent again that differs at the resume point, or another job's (with or without --job): exit 1, where it was cut, no --output"
