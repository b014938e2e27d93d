#!/usr/bin/env bash
# The applied-set exchange costs what changed (issue 16): a job of about 5,000 small tasks,
# rate-limited so that it lasts for many JOB rounds, and a reducer killed with SIGKILL and
# restarted from its state dir mid-job. The totals equal the generator's ground truth, and the reducer's metrics
# show that the ids it sent to the broker number about one per task plus one whole set per
# reducer process — where answering every JOB with the whole set sent them again each time.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 6 --rows 30000 --seed 77 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port); RM=$(free_port)
reducer () {
    bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" \
        --metrics-listen "127.0.0.1:$RM" --state-dir "$T/rstate"
    REDUCER=$LAST_PID
}
reducer
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count --split-size 4K
bg mapper1 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --rate-limit 4M
bg mapper2 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 2M
wait_for "$T/broker.log" "mapper .* joined"
sleep 2
kill -9 "$REDUCER"
sleep 0.5
mv "$T/reducer.log" "$T/reducer1.log"
reducer
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/final.json" ||
    fail "watch: $(tail -3 "$T/broker.log")"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals after a reducer SIGKILL"
grep -q "the reducer restarted" "$T/broker.log" || fail "the broker did not see the reducer restart"
sleep 0.5
curl -sf "http://127.0.0.1:$RM/metrics" > "$T/reducer.prom" || fail "reducer /metrics"
python3 - "$T/reducer.prom" "$T/broker.log" <<'PY' || fail "the applied-set exchange sent more than what changed"
import re, sys
m = {k: float(v) for k, v in re.findall(r'^(tally_\w+)\{role="reducer"\} (\S+)$', open(sys.argv[1]).read(), re.M)}
tasks, sent, full = m["tally_tasks"], m["tally_applied_ids_sent_total"], m["tally_applied_full_total"]
splits = len(re.findall(r"was applied for its first|the rest is task", open(sys.argv[2]).read()))
print(f"second reducer process: {tasks:.0f} tasks, {sent:.0f} ids sent to the broker, {full:.0f} whole-set "
      f"answer(s); the broker re-sent JOB for {splits} split(s) besides every 3 s")
assert tasks >= 1000, tasks
assert full <= 2, full          # one at the restart (and at most one more if a digest disagreed)
assert sent <= 2 * tasks + 100, (sent, tasks)
PY
pass "applied-set exchange: exact after a reducer SIGKILL; ids sent about once per task (see above)"
