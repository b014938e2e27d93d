#!/usr/bin/env bash
# Crash recovery with kill -9: random mappers several times, then the broker (restarted with
# the same --state-dir), then the reducer (likewise), all mid-job. The totals must equal the
# ground truth, and only what was not yet applied is re-done.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 30 --rows 3000 --seed 13 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
REDUCER_CMD=("$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" --state-dir "$T/rstate")
BROKER_CMD=("$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data"
            --group-by passenger_count --split-size 120K --hb-ms 200 --lease-ms 1000 --apply-timeout-ms 5000
            --state-dir "$T/bstate")
bg reducer "${REDUCER_CMD[@]}"
REDUCER=$LAST_PID
bg broker "${BROKER_CMD[@]}"
BROKER=$LAST_PID
MAPPERS=()
LOGS=()     # the logs of the mappers in MAPPERS, in step
n=0
add_mapper () {
    n=$((n + 1))
    bg "mapper$n" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name "m$n" --rate-limit 150K
    MAPPERS+=("$LAST_PID")
    LOGS+=("$T/mapper$n.log")
}
for i in 1 2 3; do add_mapper; done

state () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 20 2>/dev/null || true; }
tasks_done () { state | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"])' 2>/dev/null || echo 0; }
wait_tasks () {   # wait_tasks N: until at least N tasks are applied
    for i in $(seq 1 300); do [ "$(tasks_done)" -ge "$1" ] && return 0; sleep 0.2; done
    fail "stuck below $1 tasks applied"
}

# Kill a random mapper three times, replacing it each time.
for round in 1 2 3; do
    wait_tasks $((round * 4))
    victim=$((RANDOM % ${#MAPPERS[@]}))
    kill -9 "${MAPPERS[$victim]}"
    echo "killed mapper pid ${MAPPERS[$victim]} (round $round)"
    unset "MAPPERS[$victim]" "LOGS[$victim]"
    MAPPERS=("${MAPPERS[@]}")
    LOGS=("${LOGS[@]}")
    add_mapper
done
wait_for "$T/broker.log" "lost (silent past its lease)" 10
pass "3 mappers killed with SIGKILL mid-job"

# SIGTERM: the mapper hands its unfinished tasks back at once (no lease wait).
bg polite "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name polite --rate-limit 100K
POLITE=$LAST_PID
wait_for "$T/broker.log" "mapper polite joined"
sleep 1
kill -TERM "$POLITE"
wait "$POLITE" || fail "SIGTERM'd mapper exited non-zero"
grep -q "unfinished work handed back" "$T/polite.log" || fail "mapper did not hand back"
wait_for "$T/broker.log" "mapper polite left: [1-9][0-9]* task(s) re-queued" 5
pass "SIGTERM'd mapper handed its tasks back"

# The broker: kill -9, then restart from its journal.
wait_tasks 16
kill -9 "$BROKER"
wait "$BROKER" 2>/dev/null || true
# Down longer than a mapper waits before it makes a new broker socket (5 heartbeats): the
# mappers must keep trying, not stop (a new socket at the old one's address was never polled).
for m in "${LOGS[@]}"; do wait_for "$m" "no word from the broker" 15; done
bg broker2 "${BROKER_CMD[@]}"
BROKER=$LAST_PID
wait_for "$T/broker2.log" "resumed job" 10
wait_for "$T/broker2.log" "reducer .* ready" 15
wait_for "$T/broker2.log" "mapper m[0-9]* joined" 20
! grep -l "stopping:" "${LOGS[@]}" || fail "a mapper stopped while the broker was down"
for p in "${MAPPERS[@]}"; do kill -0 "$p" || fail "mapper pid $p exited while the broker was down"; done
pass "broker killed, down past the mappers' reconnect, and resumed from its journal; the mappers rejoined"

# The reducer: kill -9, then restart from its checkpoint.
before=$(tasks_done)
wait_tasks $((before + 3))
kill -9 "$REDUCER"
wait "$REDUCER" 2>/dev/null || true
sleep 0.5
bg reducer2 "${REDUCER_CMD[@]}"
wait_for "$T/reducer2.log" "resumed job" 10
pass "reducer killed and resumed from its checkpoint"

"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 240 > "$T/final.json"
check_truth "$T/final.json" "$TRUTH" passenger_count || fail "totals after the crashes"
wait "$BROKER" || fail "restarted broker exit code"
grep "job .* done in" "$T/broker2.log" | sed 's/.*broker: //'
python3 - "$T/final.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['tasks']}/{r['tasks_total']} tasks applied, {r['duplicates_ignored']} duplicate partial(s) ignored")
PY
pass "kill -9 of mappers, broker and reducer: totals exact"
