#!/usr/bin/env bash
# A reducer that restarts without tasks it had acknowledged (rt13): its state dir lost its log
# (or the log was cut at a record's end, which reads as a shorter log), so its whole applied set
# lacks tasks the broker counts applied. The broker never runs those again, so the job must
# fail; it used to run to its end and then fail with "incomplete: N task(s) were never applied",
# blaming the tasks. Now the broker says at once that the reducer restarted without N task(s) it
# had acknowledged, naming the state dir as the cause, and its last line says so too.
# Exact or loud still: the watcher exits non-zero with ok:false, the broker exits 1.
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
wait_for "$T/broker.log" "restarted without [0-9]* task(s) it had acknowledged" 30
# Said while the job still runs, not at its end.
grep -q "job .* FAILED\|the reducer failed the job" "$T/broker.log" && fail "the loss was said only at the job's end"
pass "the broker says at once that the reducer restarted without tasks it had acknowledged"
rc=0; "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 120 > "$T/final.json" 2> "$T/watch.log" || rc=$?
[ "$rc" -ne 0 ] || fail "watch exited 0 for a job whose reducer lost acknowledged tasks"
grep -q '"ok":false' "$T/final.json" || fail "the job was published ok"
brc=0; wait "$BROKER" || brc=$?
[ "$brc" -ne 0 ] || fail "the broker exited 0"
grep "ERROR" "$T/broker.log" | grep -q "incomplete: .*; the reducer at .* restarted without [0-9]* task(s) it had acknowledged .*state dir lost records" \
    || { grep ERROR "$T/broker.log" >&2; fail "the broker's last line does not name the cause"; }
pass "the job failed (watch exit $rc, broker exit $brc), its last line naming the reducer's lost acknowledgements"
