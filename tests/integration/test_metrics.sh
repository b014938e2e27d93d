#!/usr/bin/env bash
# Prometheus metrics: broker, reducer and mapper serve /metrics (--metrics-listen) with real
# HTTP requests. Mid-job, the broker reports a connected mapper and tasks under way. After the
# job, the reducer's counters equal the ground truth.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 8 --rows 4000 --seed 59 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port); RM=$(free_port); BM=$(free_port); MM=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" --metrics-listen "127.0.0.1:$RM"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count --metrics-listen "127.0.0.1:$BM"
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 1M --metrics-listen "127.0.0.1:$MM"
wait_for "$T/broker.log" "mapper .* joined"
sleep 1
curl -sf "http://127.0.0.1:$BM/metrics" > "$T/broker.prom" || fail "broker /metrics"
curl -sf "http://127.0.0.1:$MM/metrics" > "$T/mapper.prom" || fail "mapper /metrics"
grep -q '^# TYPE tally_tasks_applied gauge$' "$T/broker.prom" || fail "broker metrics not in Prometheus format"
grep -q '^tally_mappers{role="broker"} 1$' "$T/broker.prom" || fail "broker does not count its mapper: $(grep mappers "$T/broker.prom")"
grep -q '^tally_tasks{role="broker"} 8$' "$T/broker.prom" || fail "broker task count"
grep -q '^tally_slots_busy{role="mapper"} 1$' "$T/mapper.prom" || fail "mapper busy slot not reported"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$BM/other")" = 404 ] || fail "unknown path should be 404"
pass "broker and mapper serve /metrics mid-job (mappers, tasks, busy slots)"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 60 > "$T/final.json"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals"
sleep 0.5
curl -sf "http://127.0.0.1:$RM/metrics" > "$T/reducer.prom" || fail "reducer /metrics"
python3 - "$T/reducer.prom" "$T/data.truth.json" <<'PY' || fail "reducer metrics disagree with ground truth"
import json, re, sys
m = {k: float(v) for k, v in re.findall(r'^(tally_\w+)\{role="reducer"\} (\S+)$', open(sys.argv[1]).read(), re.M)}
t = json.load(open(sys.argv[2]))
assert m["tally_tasks_applied"] == 8 and m["tally_job_done"] == 1, m
assert m["tally_rows_total"] == t["rows"] and m["tally_bad_rows_total"] == t["bad_rows"], (m, t["rows"], t["bad_rows"])
print("reducer metrics:", {k: m[k] for k in ("tally_tasks_applied", "tally_rows_total", "tally_bad_rows_total")})
PY
pass "reducer /metrics after the job: tasks, rows and bad rows equal the ground truth"
