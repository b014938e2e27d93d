#!/usr/bin/env bash
# --verify-fraction turned on when a crashed job is resumed (red team, session 10). Since JOB
# says whether the job verifies, the reducer keeps no digest of what it applies while it does
# not; a broker resumed from its journal with --verify-fraction 1 then found every task
# applied before the restart "cannot be verified here" (a warning each), and the job ended ok
# on what it was asked to check: with a mapper that lied before the crash, wrong totals and
# exit 0. Verifying or not is now part of the job's definition: such a resume is refused, and
# the same job resumed as it was started still ends exact.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 8 --rows 3000 --seed 7 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
broker_args () {
    echo --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" --group-by passenger_count \
        --split-size 40K --hb-ms 200 --lease-ms 1000 --state-dir "$T/bstate" "$@"
}
state_tasks () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 10 2>/dev/null |
                 python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"])' 2>/dev/null || echo 0; }

# A job without verification, on one slow mapper; the broker crashes a few tasks in.
# shellcheck disable=SC2046
bg broker1 "$TALLY" broker $(broker_args)
B1=$LAST_PID
bg slow "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name slow --rate-limit 100K
SLOW=$LAST_PID
for i in $(seq 1 300); do [ "$(state_tasks)" -ge 3 ] && break; sleep 0.1; done
[ "$(state_tasks)" -ge 3 ] || fail "the job never got 3 tasks applied"
kill -9 "$B1"; wait "$B1" 2>/dev/null || true
kill -9 "$SLOW"; wait "$SLOW" 2>/dev/null || true

# Resumed with verification turned on: refused, loudly (no mapper is up: nothing can run).
# shellcheck disable=SC2046
if timeout 10 "$TALLY" broker $(broker_args --verify-fraction 1) > "$T/verify.log" 2>&1; then
    fail "resumed with --verify-fraction 1 and ended ok"
fi
grep -q "is another job .*--verify-fraction turned on or off" "$T/verify.log" ||
    fail "a resume with verification turned on was not refused ($(tail -3 "$T/verify.log"))"
pass "a job started without verification is not resumed with --verify-fraction 1 (its applied tasks kept no digest)"

# Resumed as it was started: it ends exact.
# shellcheck disable=SC2046
bg broker2 "$TALLY" broker $(broker_args)
B2=$LAST_PID
bg m1 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name m1
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 60 > "$T/final.json" ||
    fail "the resumed job did not end ok"
wait "$B2" || fail "broker exit code"
check_truth "$T/final.json" "$TRUTH" passenger_count || fail "the resumed job's totals"
pass "the same job resumed without --verify-fraction ends exact"
