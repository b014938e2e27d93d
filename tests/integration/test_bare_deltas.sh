#!/usr/bin/env bash
# Deltas carry groups only while someone keeps a replica (docs/PROTOCOL.md, "Bare deltas";
# issue 16). A job of ~120 K groups over many small tasks, with a watcher that only prints the
# final table from the start: while it is the only subscriber, every delta must go out bare
# (the reducer's own counters: bare deltas > 0, groups in deltas = 0). Half-way a watcher that
# keeps a replica (jsonl, top 5) joins: from then on deltas carry groups, and it must end exact.
# When it has left, deltas go bare again. Both final tables must equal Python's csv count
# (tests/tools/ref_query.py). Nothing here is timed.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 4 --rows 30000 --eras 2015 --seed 8 2> "$T/gen.log"
MP=$(free_port)
RE="ipc://$T/reducer"; PE="ipc://$T/publish"; BE="ipc://$T/broker"
metric () { curl -s "http://127.0.0.1:$MP/metrics" | awk -v m="$1" 'index($1, m "{") == 1 { print $2 }'; }
bg reducer "$TALLY" reducer --listen "$RE" --publish "$PE" --metrics-listen "127.0.0.1:$MP"
wait_for "$T/reducer.log" "publishing on"
bg final "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 300 -v
FINAL=$LAST_PID
sleep 0.5
bg broker "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/data" --group-by tpep_pickup_datetime \
    --split-size 128K
BROKER=$LAST_PID
# About 15 MB at 2 x 500 KB/s: some 15 s of partials, a delta per 200 ms while they come.
bg mapper "$TALLY" mapper --broker "$BE" --slots 2 --rate-limit 500K
i=0
until [ "$(metric tally_tasks_applied)" != "" ] && [ "$(metric tally_tasks_applied)" -ge 5 ] 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && fail "no 5 tasks applied in 60 s"; sleep 0.1
done
[ "$(metric tally_job_done)" = 0 ] || fail "the job was over already: the mapper was not slow"
bare=$(metric tally_published_bare_deltas_total); dg=$(metric tally_published_delta_groups_total)
echo "with only the final-table watcher: $bare bare deltas, $dg groups in deltas"
[ "$bare" -ge 1 ] || fail "no bare delta while only a final-table watcher listened"
[ "$dg" = 0 ] || fail "$dg groups went out in deltas, though nobody kept a replica"
pass "while only a final-table watcher listens, deltas go out bare ($bare of them)"

bg replica "$TALLY" watch --subscribe "$PE" --until-done --format jsonl --top 5 --timeout 300 -v
REPLICA=$LAST_PID
wait "$BROKER" || fail "broker exit code"
for p in "$FINAL" "$REPLICA"; do wait "$p" || fail "a watcher failed (pid $p)"; done
dg=$(metric tally_published_delta_groups_total)
echo "after the replica joined: $dg groups in deltas"
[ "$dg" -ge 1 ] || fail "no groups in deltas after a replica subscribed"
grep -q "updates were lost" "$T/replica.log" && echo "note: the replica lost updates and asked for a snapshot"
for w in final replica; do
    grep '^{' "$T/$w.log" | tail -n 1 > "$T/$w.json"; [ -s "$T/$w.json" ] || fail "$w: no result"
done
# one independent count for both (a line per table, named by its file)
python3 "$TALLY_SRC/tests/tools/ref_query.py" "$T/final.json" "$T/data" --group-by tpep_pickup_datetime \
    --also "$T/replica.json" > "$T/ref.txt" 2>&1 || { cat "$T/ref.txt"; fail "a final table is not the independent count (above)"; }
lines=$(grep -c '^{' "$T/replica.log")
[ "$lines" -ge 3 ] || fail "the replica printed $lines lines: it saw no live updates"
pass "a replica that joined half-way got deltas with groups ($dg) and, like the final-table watcher, ends equal to Python's count"

# The replica has left (the XPUB passes the last holder's unsubscription): the heartbeats
# after the end (every 2 s, for 30 s) go out bare again.
b0=$(metric tally_published_bare_deltas_total)
i=0
until [ "$(metric tally_published_bare_deltas_total)" -gt "$b0" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "no bare delta in 10 s after the replica left"; sleep 0.1
done
pass "after the replica left, deltas go out bare again"

# One watcher joining costs one snapshot, whatever it subscribes to (review, session 8: a
# replica's two topics were two requests, and two whole snapshots sent to everyone).
for kind in final replica; do
    s0=$(metric tally_published_snapshots_total)
    if [ $kind = final ]; then
        "$TALLY" watch --subscribe "$PE" --until-done --format csv --timeout 60 > "$T/join_$kind.out" 2>/dev/null
    else
        "$TALLY" watch --subscribe "$PE" --once --format csv --timeout 60 > "$T/join_$kind.out" 2>/dev/null
    fi || fail "a $kind watcher joining after the end failed"
    sleep 2.5   # a second request would be answered after the snapshot spacing (>= 200 ms)
    s1=$(metric tally_published_snapshots_total)
    [ $((s1 - s0)) = 1 ] || fail "a $kind watcher joining after the end cost $((s1 - s0)) snapshots"
done
pass "a watcher joining after the end costs one snapshot, a replica as a final-table watcher"
