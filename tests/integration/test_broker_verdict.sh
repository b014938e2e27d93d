#!/usr/bin/env bash
# Exact or loud, the broker's exit (found by a red-team run in session 7): the reducer checks
# the applied set against the broker's task list at END, and the broker now waits for that
# verdict and exits with it. Here a reducer without --state-dir is SIGKILLed mid-job and
# restarted empty: the tasks the dead one had acknowledged are gone, so the job cannot be whole.
# The watcher must end ok:false, and the broker must exit non-zero naming the reducer's cause
# (it exited 0 before, having counted every task applied). A whole job still exits 0.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 3 --rows 25000 --seed 7 2> "$T/gen.log"
RE="ipc://$T/red"; PE="ipc://$T/pub"; BE="ipc://$T/brk"
bg reducer "$TALLY" reducer --listen "$RE" --publish "$PE" -v
REDUCER=$LAST_PID
wait_for "$T/reducer.log" "publishing on"
bg broker "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    --split-size 300K --hb-ms 200 --lease-ms 1000
BROKER=$LAST_PID
for i in 1 2; do bg "mapper$i" "$TALLY" mapper --broker "$BE" --slots 1 --name "m$i" --rate-limit 500K; done
for _ in $(seq 300); do grep -q "progress: [1-9]" "$T/broker.log" && break; sleep 0.1; done
grep -q "progress: [1-9]" "$T/broker.log" || fail "no task applied in 30 s"
kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true
bg reducer2 "$TALLY" reducer --listen "$RE" --publish "$PE" -v
rc=0; "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 120 > "$T/final.json" 2> "$T/watch.log" || rc=$?
[ "$rc" -ne 0 ] || fail "watch exited 0 for a job that lost applied tasks"
grep -q '"ok":false' "$T/final.json" || fail "the job was published ok"
brc=0; wait "$BROKER" || brc=$?
[ "$brc" -ne 0 ] || { tail -5 "$T/broker.log"; fail "the broker exited 0 for a job its reducer failed"; }
grep -q "the reducer failed the job: incomplete: .* task(s) were never applied" "$T/broker.log" \
    || { tail -5 "$T/broker.log"; fail "the broker's log does not name the reducer's cause"; }
pass "a job its reducer cannot vouch for: watch exit $rc, broker exit $brc, naming the missing tasks"

# A whole job on the same reducer: the verdict is ok, and the broker exits 0.
bg broker2 "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    --split-size 300K --hb-ms 200
B2=$LAST_PID
bg mapper3 "$TALLY" mapper --broker "$BE" --slots 2 --name m3
wait_for "$T/broker2.log" "reducer .* ready" 20   # else the watcher could take job 1's final table
"$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 120 > "$T/final2.json" 2> "$T/watch2.log" \
    || fail "the second job failed"
wait "$B2" || { tail -5 "$T/broker2.log"; fail "the broker exited non-zero for a whole job"; }
grep -q "did not confirm" "$T/broker2.log" && fail "the reducer's verdict did not reach the broker"
check_truth "$T/final2.json" "$T/data.truth.json" passenger_count || fail "the second job's totals"
pass "a whole job: broker exit 0 after the reducer's verdict, totals equal the generator's truth"
