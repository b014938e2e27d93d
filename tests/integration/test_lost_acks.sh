#!/usr/bin/env bash
# A reducer that restarts without tasks it had acknowledged (rt13): its state dir lost its log
# (or the log was cut at a record's end, which reads as a shorter log), so its whole applied set
# lacks tasks the broker counts applied, and its totals lack their rows. The job used to run to
# its end and then fail with "incomplete: N task(s) were never applied", blaming the tasks.
# What the reducer holds is consistent (the set and the totals lose the same tasks), so the
# broker now says at once how many it lacks and runs them again: the job ends ok and exact.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 2 --rows 40000 --seed 3 2> "$T/gen.log"
RE="ipc://$T/red"; PE="ipc://$T/pub"; BE="ipc://$T/brk"; S="$T/rstate"
bg reducer "$TALLY" reducer --listen "$RE" --publish "$PE" --state-dir "$S" -v
REDUCER=$LAST_PID
wait_for "$T/reducer.log" "publishing on"
bg broker "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    --split-size 256K --hb-ms 200 --lease-ms 1000
BROKER=$LAST_PID
bg mapper "$TALLY" mapper --broker "$BE" --slots 1 --name m1 --rate-limit 400K
for _ in $(seq 300); do grep -q "progress: [1-9]" "$T/broker.log" && break; sleep 0.1; done
grep -q "progress: [1-9]" "$T/broker.log" || fail "no task applied in 30 s"
kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true
[ -s "$S/reducer.log" ] || fail "the reducer wrote no checkpoint log"
rm "$S/reducer.log"     # the acknowledged tasks since the base (the job's start) are gone
bg reducer2 "$TALLY" reducer --listen "$RE" --publish "$PE" --state-dir "$S" -v
wait_for "$T/broker.log" "holds [0-9]* task(s) fewer than it had acknowledged" 30
grep -q "its state dir lost records): they are run again" "$T/broker.log" || fail "the cause is not named"
"$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 120 > "$T/final.json" 2> "$T/watch.log" \
    || fail "watch: $(cat "$T/watch.log"); $(grep -E 'WARN|ERROR' "$T/broker.log" | tail -3)"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals after the reducer lost acknowledged tasks"
wait "$BROKER" || fail "the broker exited $?"
n=$(sed -n 's/.*holds \([0-9]*\) task(s) fewer.*/\1/p' "$T/broker.log" | head -1)
pass "a reducer whose state dir lost its log: the broker re-ran the $n task(s) it lacked, said so at once, exact"
