#!/usr/bin/env bash
# Clear errors, never a silently short total: wrong flags, --help, a missing column, missing
# credentials, a missing bucket, a missing path, an unreachable endpoint, and garbage sent to
# the ports.
. "$(dirname "$0")/lib.sh"

"$TALLY" --version | grep -q '^tally [0-9]' || fail "--version"
for cmd in broker mapper reducer watch run gen; do
    "$TALLY" $cmd --help | grep -q "usage: tally $cmd" || fail "$cmd --help"
done
pass "--version and --help on every subcommand"

expect_fail () {  # expect_fail RC PATTERN CMD...: exits RC and says PATTERN on stderr
    local want=$1 pat=$2; shift 2
    set +e; "$@" > "$T/out.txt" 2> "$T/err.txt"; local rc=$?; set -e
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, want $want: $(cat "$T/err.txt")"
    grep -q -- "$pat" "$T/err.txt" || fail "'$*' did not say '$pat': $(cat "$T/err.txt")"
}
expect_fail 2 "unknown command" "$TALLY" frobnicate
expect_fail 2 "required" "$TALLY" broker --listen tcp://127.0.0.1:1
expect_fail 2 "unrecognized option" "$TALLY" run --input x --group-by y --bogus
expect_fail 2 "slots wants" "$TALLY" mapper --broker tcp://127.0.0.1:1 --slots zero
expect_fail 2 "format is table, csv, json or jsonl, not 'xml'" "$TALLY" run --input x --group-by y --format xml
expect_fail 2 "split-size wants" "$TALLY" broker --listen a --reducer b --input c --group-by d --split-size lots
pass "wrong flags: exit 2 with a message"

"$TALLY" gen --out "$T/data" --files 2 --rows 500 2> "$T/gen.log"
expect_fail 1 "column 'no_such_col' not found in header" "$TALLY" run --input "$T/data" --group-by no_such_col
grep -q "yellow_tripdata" "$T/err.txt" || fail "column error does not name the object"
# Cut into many ranges, each object fails every task with the same message: said once per
# object (and once in the summary, with the count), not once per task.
expect_fail 1 "column 'no_such_col' not found in header" "$TALLY" run --input "$T/data" --group-by no_such_col \
    --split-size 4K
n=$(grep -c "failed for good" "$T/err.txt" || true)
[ "$n" -le 2 ] || fail "a missing column was logged $n times for 2 objects"
grep -q "task(s) failed: .*(1[0-9] tasks)" "$T/out.txt" "$T/err.txt" || fail "the summary does not count repeats: $(tail -2 "$T/err.txt")"
expect_fail 1 "No such file" "$TALLY" run --input "$T/nowhere" --group-by passenger_count
pass "missing column and missing path: exit 1, named"

start_moto
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" nyc-tlc "trip data/" "$T/data"
expect_fail 1 "NoSuchBucket" "$TALLY" run --input "s3://no-such-bucket/x/" --group-by passenger_count --endpoint-url "$ENDPOINT"
grep -q "no-such-bucket" "$T/err.txt" || fail "bucket not named"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY HOME="$T" "$TALLY" run --input "s3://nyc-tlc/trip data/" \
    --group-by passenger_count --endpoint-url "$ENDPOINT" > "$T/out.txt" 2> "$T/err.txt" && fail "ran without credentials"
grep -q "no AWS credentials" "$T/err.txt" || fail "missing credentials not explained: $(cat "$T/err.txt")"
DEAD=$(free_port)
expect_fail 1 "127.0.0.1:$DEAD" "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count \
    --endpoint-url "http://127.0.0.1:$DEAD"
pass "missing bucket, missing credentials, unreachable endpoint: one clear line each"

# A private bucket refuses anonymous reads: the job fails and names the objects.
expect_fail 1 "HTTP 403" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$TALLY" run \
    --input "s3://nyc-tlc/trip data/" --group-by passenger_count --endpoint-url "$ENDPOINT" --no-sign-request
grep -q "2 task(s) failed" "$T/err.txt" || fail "failed keys not listed"
# --no-sign-request reads a public-read bucket without credentials.
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" public-tlc "trip data/" "$T/data" --public
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY "$TALLY" run --input "s3://public-tlc/trip data/" \
    --group-by passenger_count --endpoint-url "$ENDPOINT" --no-sign-request --format json > "$T/anon.json" 2> "$T/anon.log"
check_truth "$T/anon.json" "$T/data.truth.json" passenger_count || fail "anonymous read"
pass "--no-sign-request: public bucket read without credentials; private bucket fails loudly (HTTP 403, keys listed)"

# Garbage at every port while a job runs: dropped and logged, totals exact.
GARBAGE="/usr/bin/python3 $TALLY_SRC/tests/tools/zmtp_garbage.py"
raw () { for i in 1 2 3; do head -c 300 /dev/urandom > "/dev/tcp/127.0.0.1/$1" || fail "port $1 closed"; done; }
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
REDUCER=$LAST_PID
wait_for "$T/reducer.log" "listening on"
raw "$RP"; raw "$PP"
$GARBAGE "127.0.0.1:$RP" 200 > "$T/garbage.log" 2>&1 || fail "garbage sender failed"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count
wait_for "$T/broker.log" "reducer .* ready"
raw "$BP"
$GARBAGE "127.0.0.1:$BP" 200 >> "$T/garbage.log" 2>&1 || fail "garbage sender failed"
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 60 > "$T/final.json"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals after garbage"
grep -q "dropped .* bad message" "$T/reducer.log" || fail "reducer did not log the garbage"
grep -q "dropped .* bad message" "$T/broker.log" || fail "broker did not log the garbage"
kill -0 "$REDUCER" || fail "reducer died"
pass "garbage at every port: logged, dropped, totals exact"
