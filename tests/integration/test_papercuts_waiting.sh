#!/usr/bin/env bash
# No silent waiting (issue 17, papercut 3). tally watch against a reducer that is not there, and
# tally mapper against a broker that is not there, each say after a few seconds what they wait
# for and where, say it again only rarely, and keep trying: when the reducer and the broker come
# up on those ports, the mapper joins, does the job, and the watcher gets the exact result. A
# watcher of a reducer that is there but has no job says that instead.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 2 --rows 20000 --seed 9 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)

bg watch "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json
WATCH=$LAST_PID
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name m1
wait_for "$T/watch.log" "no answer from the reducer at tcp://127.0.0.1:$PP: is it running, and is the port open?" 30
wait_for "$T/mapper.log" "no answer from the broker at tcp://127.0.0.1:$BP: is it running, and is the port open?" 30
pass "watch and mapper say what they wait for and where"

# Rarely: a few seconds on, still once each.
sleep 4
[ "$(grep -c 'no answer from the reducer' "$T/watch.log")" = 1 ] || fail "watch repeats itself: $(cat "$T/watch.log")"
[ "$(grep -c 'no answer from the broker' "$T/mapper.log")" = 1 ] || fail "mapper repeats itself: $(cat "$T/mapper.log")"
pass "said once, not on every retry"

# They kept trying: bring the reducer and the broker up where they looked.
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count
wait "$WATCH" || fail "watch did not finish: $(cat "$T/watch.log")"
grep -q "joined job" "$T/mapper.log" || fail "the mapper did not join: $(cat "$T/mapper.log")"
sed -n '/^{/,$p' "$T/watch.log" > "$T/out.json"
check_truth "$T/out.json" "$T/data.truth.json" passenger_count || fail "totals"
pass "both kept trying: the mapper joined when the broker came, the watcher got the exact result"

# A reducer that is there but has no job: watch says so, not "no answer".
RP2=$(free_port); PP2=$(free_port)
bg reducer2 "$TALLY" reducer --listen "tcp://127.0.0.1:$RP2" --publish "tcp://127.0.0.1:$PP2"
wait_for "$T/reducer2.log" "listening on"
bg idle "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP2" --until-done
wait_for "$T/idle.log" "connected to the reducer at tcp://127.0.0.1:$PP2, but it has no job yet" 30
grep -q "no answer" "$T/idle.log" && fail "an idle reducer taken for a missing one: $(cat "$T/idle.log")"
pass "a reducer without a job: 'connected ..., but it has no job yet'"
