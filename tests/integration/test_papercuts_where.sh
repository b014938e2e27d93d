#!/usr/bin/env bash
# A likely typo in --where is an error that shows how it was read (issue 17, papercut 5):
# 'passenger_count >> 3' would compare with the text "> 3" and keep no row. A value that starts
# with an operator character, or an operator split or doubled, is refused at parse time by run,
# broker and scan (exit 2, one line, nothing started); a quoted value ('>3') is meant, and runs.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 2 --rows 2000 --seed 2 2> "$T/gen.log"

bad () {  # bad WHERE MESSAGE: run, broker and scan refuse it with MESSAGE, before starting anything
    local w=$1 msg=$2 cmd
    for cmd in "run --input $T/nowhere --group-by passenger_count" \
               "broker --listen tcp://127.0.0.1:1 --reducer tcp://127.0.0.1:2 --input $T/nowhere --group-by passenger_count" \
               "scan --input $T/nowhere --group-by passenger_count"; do
        set +e
        # shellcheck disable=SC2086
        "$TALLY" $cmd --where "$w" > "$T/out.txt" 2> "$T/err.txt"
        local rc=$?
        set -e
        [ $rc -eq 2 ] || fail "tally ${cmd%% *} --where '$w' exited $rc: $(cat "$T/err.txt")"
        grep -qF -- "$msg" "$T/err.txt" || fail "tally ${cmd%% *} --where '$w': want '$msg', got: $(cat "$T/err.txt")"
        # Nothing started: the input does not exist, and no child said so.
        [ "$(wc -l < "$T/err.txt")" = 1 ] || fail "tally ${cmd%% *} --where '$w' started something: $(cat "$T/err.txt")"
        [ ! -s "$T/out.txt" ] || fail "output from a refused query: $(cat "$T/out.txt")"
    done
}
bad 'passenger_count >> 3' "--where 'passenger_count >> 3': a value cannot start with '>' (this reads as passenger_count > '> 3'"
bad 'passenger_count =< 3' "a value cannot start with '<'"
bad 'passenger_count <> 3' "a value cannot start with '>'"
bad 'passenger_count === 3' "a value cannot start with '='"
bad 'passenger_count != !3' "a value cannot start with '!'"
bad 'passenger_count ! = 3' "a column name cannot end with '!'"
pass "operator typos: exit 2 at parse time, the message shows how it was read"

# Quoted, the value is meant: a byte-wise comparison with '>3' (every digit sorts below '>').
"$TALLY" run --input "$T/data" --group-by passenger_count --where "passenger_count < '>3'" --format json \
    > "$T/q.json" 2> "$T/q.log" || fail "a quoted '>3' was refused: $(cat "$T/q.log")"
check_truth "$T/q.json" "$T/data.truth.json" passenger_count || fail "quoted value: not every row kept"
"$TALLY" run --input "$T/data" --group-by passenger_count --where 'passenger_count >= 0' --format json \
    > "$T/ge.json" 2> "$T/ge.log" || fail "'>= 0' refused: $(cat "$T/ge.log")"
pass "a quoted value starting with '>' runs; two-character operators still work"
