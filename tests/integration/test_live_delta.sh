#!/usr/bin/env bash
# Live updates cost O(changes) (issue 16): a job of ~300 K groups (the pickup datetime of 320 K
# rows) with a state dir, two watchers from the start, one that joins half-way, and one that
# is stopped (SIGSTOP) while the job runs, so its queue at the reducer overflows and it loses
# updates; resumed, it must see the gap, ask for a snapshot and end exact. An independent
# follower (tests/tools/update_stream.py: pyzmq + msgpack, written from docs/PROTOCOL.md)
# checks every update on the way: parts in order, each delta on the seq before, one state per
# seq, and a replica that sums to the update's rows after each update. Every watcher's
# final table must equal an independent count (tests/tools/ref_query.py, Python's csv module
# over the same files), and what the reducer published must be far below publishing the whole
# table every time: total bytes < updates x the final snapshot's bytes / 4 (counted by the
# reducer itself, tally_published_* on its metrics endpoint). Nothing here is timed.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 8 --rows 40000 --eras 2015 --seed 16 2> "$T/gen.log"
MP=$(free_port)
# ipc:// (Unix sockets): small kernel buffers, so the stopped watcher's queue is the reducer's.
RE="ipc://$T/reducer"; PE="ipc://$T/publish"; BE="ipc://$T/broker"
metric () { curl -s "http://127.0.0.1:$MP/metrics" | awk -v m="$1" 'index($1, m "{") == 1 { print $2 }'; }
bg reducer "$TALLY" reducer --listen "$RE" --publish "$PE" --state-dir "$T/state" --metrics-listen "127.0.0.1:$MP"
wait_for "$T/reducer.log" "publishing on"
# early1 only prints the final table; early2 keeps a replica for its live lines.
bg early1 "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 300 -v
bg early2 "$TALLY" watch --subscribe "$PE" --until-done --format jsonl --top 5 --timeout 300 -v
W1=${PIDS[-2]}; W2=${PIDS[-1]}
# Two are stopped: one that keeps a replica for its live lines (jsonl, the top 5 each update,
# then the whole table) and one that only prints the final table (lib/wire/final.h).
bg stopped "$TALLY" watch --subscribe "$PE" --until-done --format jsonl --top 5 --timeout 300 -v
STOPPED=$LAST_PID
bg stopped_final "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 300 -v
STOPPED2=$LAST_PID
# An independent follower that checks every update against the protocol (and loses nothing).
bg stream /usr/bin/python3 "$TALLY_SRC/tests/tools/update_stream.py" "$PE" "$T/stream.json"
STREAM=$LAST_PID
wait_for "$T/stream.log" "subscribed" 10
sleep 0.5
bg broker "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/data" --group-by tpep_pickup_datetime \
    --split-size 256K
BROKER=$LAST_PID
# About 41 MB at 2 x 1 MB/s: some 20 s of partials, so ~100 deltas while the stopped watcher
# sleeps, well past its queue (64 messages and what the kernel's socket buffers hold, ~190 KB).
bg mapper "$TALLY" mapper --broker "$BE" --slots 2 --rate-limit 1000K
i=0
until [ "$(metric tally_tasks_applied)" != "" ] && [ "$(metric tally_tasks_applied)" -ge 3 ] 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "no task applied in 30 s"; sleep 0.1
done
kill -STOP "$STOPPED" "$STOPPED2"
total=$(metric tally_tasks)
until [ "$(metric tally_tasks_applied)" -ge $((total / 2)) ]; do
    i=$((i + 1)); [ $i -gt 1800 ] && fail "the job did not get half-way"; sleep 0.1
done
[ "$(metric tally_job_done)" = 0 ] || fail "the job was over before the late watcher: the mapper was not slow"
bg late "$TALLY" watch --subscribe "$PE" --until-done --format json --timeout 300 -v
LATE=$LAST_PID
wait "$BROKER" || fail "broker exit code"
# Resume it only once the final snapshot is out (and dropped from its full queue): resumed
# earlier, it may take that snapshot whole and end exact without ever seeing its gap.
wait_for "$T/reducer.log" "the final snapshot:" 60
sleep 0.3
kill -CONT "$STOPPED" "$STOPPED2"
for p in "$W1" "$W2" "$LATE" "$STOPPED" "$STOPPED2"; do wait "$p" || fail "a watcher failed (pid $p)"; done
wait "$STREAM" || { cat "$T/stream.log"; fail "the update stream broke the protocol"; }
cat "$T/stream.log"
also=()
for w in early1 early2 late stopped stopped_final; do
    # The result is the log's last JSON line (stderr's lines are tally watch's -v notes; jsonl
    # prints a line per update before it).
    grep '^{' "$T/$w.log" | tail -n 1 > "$T/$w.json"; [ -s "$T/$w.json" ] || fail "$w: no result"
    also+=(--also "$T/$w.json")
done
# One independent count for all six tables (Python reads the 320 K rows once, not six times);
# it prints a line per table, named by its file.
python3 "$TALLY_SRC/tests/tools/ref_query.py" "$T/stream.json" "$T/data" --group-by tpep_pickup_datetime \
    "${also[@]}" > "$T/ref.txt" 2>&1 || { cat "$T/ref.txt"; fail "a final table is not the independent count (above)"; }
pass "every update follows the protocol: parts in order, deltas on their base, one state per seq, each table sums to its rows"
groups=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["groups"]))' "$T/early1.json")
[ "$groups" -ge 100000 ] || fail "only $groups groups: not a many-group job"
grep -q "updates were lost" "$T/stopped.log" || fail "the stopped watcher saw no gap: its queue never overflowed"
grep -Eq "[1-9][0-9]* loss\(es\) repaired" "$T/stopped.log" || fail "the stopped watcher did not repair its loss"
# Whether it lost the final table depends on what its queue held when it was resumed (a
# snapshot another watcher asked for may reach it whole): exact either way, asked or not.
grep -q "asking the reducer for a snapshot" "$T/stopped_final.log" \
    && echo "note: the stopped final-table watcher lost the final table and asked for it again"
grep -q "the final table: $groups groups" "$T/stopped_final.log" || fail "the stopped final-table watcher: no final table"
grep -q "updates were lost" "$T/early1.log" "$T/early2.log" && echo "note: an early watcher lost updates too"
pass "$groups groups: two early watchers, a late one and two stopped mid-job (the replica one lost updates and asked for a snapshot) all end equal to Python's count"

# What was published, as the reducer counted it.
bytes=$(metric tally_published_bytes_total); snaps=$(metric tally_published_snapshots_total)
deltas=$(metric tally_published_deltas_total); full=$(metric tally_snapshot_bytes)
msgs=$(metric tally_published_messages_total)
echo "published: $((snaps + deltas)) updates ($snaps snapshots, $deltas deltas) in $msgs messages, $bytes bytes;" \
     "the whole table is $full bytes"
[ "$deltas" -ge 10 ] || fail "only $deltas deltas: the job was too short to tell"
python3 - "$bytes" "$snaps" "$deltas" "$full" <<'PY' || fail "published bytes are not far below whole tables"
import sys
b, s, d, full = map(float, sys.argv[1:])
bound = (s + d) * full / 4
print(f"published {b / 1e6:.1f} MB; {s + d:.0f} whole tables would be {(s + d) * full / 1e6:.1f} MB "
      f"({b / ((s + d) * full):.3f} of that; the bound is 0.25)")
assert b < bound
PY
pass "published bytes are under a quarter of a whole table per update"
