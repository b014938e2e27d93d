#!/usr/bin/env bash
# A fleet whose reducer keeps no --state-dir, killed mid-job (kill -9) and started again afresh.
# The broker used to learn of it only by the "finished 8 times but never applied" rule (8 x 60 s)
# and then blamed the partials; and the new reducer, lacking what the old one had applied, made
# the job fail at its end ("incomplete: N of M task(s) were never applied"). Now the broker says
# the reducer is silent (it answers every JOB), holds the apply timeouts meanwhile, and re-runs
# the tasks the new reducer lacks: the totals are exact against the generator's ground truth.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 1 --rows 24000 --seed 7 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer1 "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
R1=$LAST_PID
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --split-size 64K
BROKER=$LAST_PID
# slow reads, so the job is still running when the reducer goes
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 200K
wait_for "$T/broker.log" "progress: [1-9][0-9]*/" 60
kill -9 "$R1"
wait_for "$T/broker.log" "has not answered for" 60
grep -Eq "has not answered for 1[0-9] s \(it is gone, cut off, or blocked[^)]*\): finished tasks wait for it" "$T/broker.log" \
    || fail "the silence line: $(grep 'not answered' "$T/broker.log")"
bg reducer2 "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/watch.json" \
    2> "$T/watch.log" || fail "watch: $(cat "$T/watch.log") $(tail -5 "$T/broker.log")"
check_truth "$T/watch.json" "$T/data.truth.json" passenger_count || fail "totals after a fresh reducer"
wait "$BROKER" || fail "broker exit code: $(tail -5 "$T/broker.log")"
grep -q "answers again" "$T/broker.log" || fail "no line when the reducer came back"
n=$(sed -n 's/.*holds \([0-9]*\) task(s) fewer than it had acknowledged.*/\1/p' "$T/broker.log" | head -1)
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "no re-run of the tasks the new reducer lacks: $(grep -i reducer "$T/broker.log")"
pass "a reducer restarted without a state dir: the broker said it was silent, re-ran the $n task(s) it lacked, exact"
