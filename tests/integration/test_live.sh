#!/usr/bin/env bash
# Live behaviour with real processes over TCP: a mapper that joins mid-job gets tasks and
# contributes (and the broker logs it); a watcher that joins mid-job sees the full table at
# once; a watcher that comes after the end still gets the final result; a mapper killed with
# SIGKILL mid-job loses nothing.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 40 --rows 2500 --seed 5 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --hb-ms 200 --lease-ms 1000
BROKER=$LAST_PID
# A slow first mapper: about 0.4 s per file, so the job lasts long enough to join it.
bg slow "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name slow --rate-limit 750K
wait_for "$T/broker.log" "mapper slow joined"

# Wait until some tasks are applied, then look at the live state.
mid () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 20; }
for i in $(seq 1 100); do
    mid > "$T/mid.json"
    python3 -c "import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))['tasks'] >= 2 else 1)" "$T/mid.json" && break
    sleep 0.2
done
python3 - "$T/mid.json" <<'PY' || fail "mid-job watcher did not get the full table at once"
import json, sys
r = json.load(open(sys.argv[1]))
assert not r["done"], "job already done: the slow mapper was not slow"
assert r["tasks"] >= 2 and r["tasks"] < r["tasks_total"], r
assert sum(g["count"] for g in r["groups"]) == r["rows"] > 0, "table does not hold every row applied so far"
print(f"mid-job snapshot: {r['tasks']}/{r['tasks_total']} tasks, {r['rows']} rows in {len(r['groups'])} groups")
PY
pass "watch started mid-job shows the full table at once"

# A victim mapper that is killed while it holds tasks, and a fast mapper that joins late.
bg victim "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name victim --rate-limit 300K
VICTIM=$LAST_PID
wait_for "$T/broker.log" "mapper victim joined"
sleep 1
kill -9 "$VICTIM"
wait_for "$T/broker.log" "mapper victim lost" 10
pass "SIGKILLed mapper detected by lease; its tasks re-queued"

bg fast "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name fast
wait_for "$T/broker.log" "mapper fast joined"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/final.json"
check_truth "$T/final.json" "$TRUTH" passenger_count || fail "totals after a late join and a kill"
python3 - "$T/final.json" <<'PY' || fail "late mapper did not contribute"
import json, sys
r = json.load(open(sys.argv[1]))
by = {m["name"]: m["tasks"] for m in r["mappers"]}
print("tasks applied per mapper:", by)
assert by.get("fast", 0) > 0 and by.get("slow", 0) > 0, by
PY
wait "$BROKER" || fail "broker exit code"
grep -E "mapper fast: [0-9]+ task\(s\) assigned" "$T/broker.log"
pass "mapper joined mid-job, took tasks and contributed; totals exact"

# After the end, a late watcher still gets the final result from the reducer.
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 10 > "$T/late.json"
check_truth "$T/late.json" "$TRUTH" passenger_count || fail "late watcher after the job"
pass "watcher after the job ended gets the final result"
