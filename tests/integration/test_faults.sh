#!/usr/bin/env bash
# S3 faults between mapper and moto: 503 SlowDown, connections reset mid-body, stalled bodies.
# Every request's SigV4 signature is checked by the proxy. The totals must match ground truth,
# with the retries visible in the logs and the proxy's counters. Then the errors an operator
# must be able to act on: a wrong secret, an unknown access key, a prefix with no objects.
. "$(dirname "$0")/lib.sh"
start_moto
"$TALLY" gen --out "$T/data" --files 6 --rows 8000 --seed 23 2> "$T/gen.log"
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" nyc-tlc "trip data/" "$T/data" --folder-marker
start_proxy --access "$AWS_ACCESS_KEY_ID" --secret "$AWS_SECRET_ACCESS_KEY" --slowdown 5 --reset 7 --stall 11 --stall-secs 6

TALLY_STALL_SECS=2 "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count --endpoint-url "$PROXY" \
    --mappers 2 --slots 2 --split-size 400K --range-size 64K --concurrency 4 --format json -v \
    > "$T/faults.json" 2> "$T/faults.log"
check_truth "$T/faults.json" "$T/data.truth.json" passenger_count || fail "totals through faults"
slowdown=$(stat_of slowdown); reset=$(stat_of reset); stall=$(stat_of stall); badsig=$(stat_of bad_signature)
echo "proxy: $(cat "$PROXY_STATS")"
[ "$slowdown" -ge 1 ] && [ "$reset" -ge 1 ] && [ "$stall" -ge 1 ] || fail "not every fault was injected"
[ "$badsig" -eq 0 ] || fail "$badsig request(s) had a bad signature"
[ "$(stat_of gets)" -gt 60 ] || fail "objects were not read as many ranged GETs"
grep -q "request(s) retried" "$T/faults.log" || fail "retries not visible in the logs"
grep -q "resumed mid-body" "$T/faults.log" || fail "no resume logged"
grep "request(s) retried" "$T/faults.log" | sed 's/.*mapper: /mapper: /' | head -5
pass "$slowdown SlowDown, $reset reset, $stall stall injected; every signature valid; totals exact"

# A wrong secret: S3 (here the proxy) refuses the signature; one line names the prefix, status and code.
set +e
AWS_SECRET_ACCESS_KEY=not-the-secret "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count \
    --endpoint-url "$PROXY" > /dev/null 2> "$T/wrong.log"
rc=$?
set -e
[ $rc -eq 1 ] || fail "wrong secret exited $rc"
grep -E "ERROR .*s3://nyc-tlc/trip data/.*HTTP 403 SignatureDoesNotMatch" "$T/wrong.log" || fail "wrong secret not explained"
grep -q "not-the-secret" "$T/wrong.log" && fail "the secret appeared in a log"
AWS_ACCESS_KEY_ID=AKIANOSUCHKEY0000000 "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count \
    --endpoint-url "$PROXY" > /dev/null 2> "$T/badkey.log" && fail "unknown key accepted"
grep -E "HTTP 403 InvalidAccessKeyId" "$T/badkey.log" || fail "unknown key not explained"
"$TALLY" run --input "s3://nyc-tlc/trip data/no-such-file.csv" --group-by passenger_count \
    --endpoint-url "$PROXY" > /dev/null 2> "$T/nokey.log" && fail "missing key counted as success"
grep -E "no objects to count" "$T/nokey.log" || fail "missing key not explained"
pass "wrong secret, unknown access key, missing key: one clear line each, no secret in the logs"
