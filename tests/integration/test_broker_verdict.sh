#!/usr/bin/env bash
# Exact or loud, the broker's exit (found by a red-team run in session 7): the reducer checks
# the applied set against the broker's task list at END, and its totals (no sum out of a
# double's range), and the broker waits for that verdict and exits with it. The red team's case,
# a reducer without --state-dir killed and restarted empty, now heals (the broker re-runs what
# the new reducer lacks: test_reducer_fresh); a sum that overflows is one the reducer still
# cannot vouch for. The watcher must end ok:false, and the broker must exit non-zero naming the
# reducer's cause (it exited 0 before, having counted every task applied). A whole job still
# exits 0.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 3 --rows 25000 --seed 7 2> "$T/gen.log"
mkdir -p "$T/big"
python3 - "$T/big/x.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("k,v\n")
    f.write("big,1.7976931348623157e308\nbig,1.7976931348623157e308\n")   # overflows to inf
    for i in range(1000):
        f.write(f"small,{i}\n")
PY
RE="ipc://$T/red"; PE="ipc://$T/pub"; BE="ipc://$T/brk"
bg reducer "$TALLY" reducer --listen "$RE" --publish "$PE" -v
wait_for "$T/reducer.log" "publishing on"
bg broker "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/big" --group-by k --agg sum:v \
    --hb-ms 200 --lease-ms 1000
BROKER=$LAST_PID
bg mapper1 "$TALLY" mapper --broker "$BE" --slots 1 --name m1
rc=0; "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 120 > "$T/final.json" 2> "$T/watch.log" || rc=$?
[ "$rc" -ne 0 ] || fail "watch exited 0 for a job whose sum overflowed"
grep -q '"ok":false' "$T/final.json" || fail "the job was published ok"
brc=0; wait "$BROKER" || brc=$?
[ "$brc" -ne 0 ] || { tail -5 "$T/broker.log"; fail "the broker exited 0 for a job its reducer failed"; }
grep -q "the reducer failed the job: .*overflow" "$T/broker.log" \
    || { tail -5 "$T/broker.log"; fail "the broker's log does not name the reducer's cause"; }
pass "a job its reducer cannot vouch for: watch exit $rc, broker exit $brc, naming the reducer's cause"
kill "${PIDS[@]: -1}" 2>/dev/null || true

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
