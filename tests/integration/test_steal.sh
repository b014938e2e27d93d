#!/usr/bin/env bash
# Tail stealing: one fast mapper and one capped at a tenth of the speed. When the queue runs dry
# the fast one takes the unprocessed tails of the slow one's tasks, the job does not wait for
# the slow mapper, and the totals are exact. Times are printed for BENCHMARKS.md, not asserted.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 4 --rows 40000 --seed 8 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
START=$(date +%s.%N)
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --split-size 0 --min-steal 256K --hb-ms 200
BROKER=$LAST_PID
# The slow mapper joins first and takes a whole file; the fast one is limited too (so the run
# is long enough to measure on any machine), to ten times the slow one's rate.
bg slow "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name slow --rate-limit 400K
wait_for "$T/broker.log" "mapper slow joined"
bg fast "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name fast --rate-limit 4M
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/final.json"
END=$(date +%s.%N)
check_truth "$T/final.json" "$TRUTH" passenger_count || fail "totals with steals"
wait "$BROKER" || fail "broker exit code"
grep -q "steal: task .* cut at byte" "$T/broker.log" || fail "no tail was stolen"
steals=$(grep -c "steal: task .* cut at byte" "$T/broker.log")
pass "$steals tail steal(s) accepted; totals exact"
grep "job .* done in" "$T/broker.log" | sed 's/.*broker: //'
python3 - "$T/final.json" "$START" "$END" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
mb = r["bytes"] / 1e6
print(f"steal run: {mb:.1f} MB in {float(sys.argv[3]) - float(sys.argv[2]):.2f} s wall; "
      f"alone, the fast mapper needs about {mb / 4.0:.2f} s at 4 MB/s and the slow one {mb / 0.4:.1f} s at 0.4 MB/s; "
      "tasks per mapper: " + ", ".join("%s %d" % (m["name"], m["tasks"]) for m in r["mappers"]))
PY

# Backups: with nothing big enough to cut (--min-steal 1G), the idle fast mapper runs a second
# copy of the slow mapper's task; the first partial applied wins and the other is cancelled.
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer2 "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker2 "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --split-size 0 --min-steal 1G --hb-ms 200
BROKER=$LAST_PID
bg slow2 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name slow --rate-limit 200K
wait_for "$T/broker2.log" "mapper slow joined"
bg fast2 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name fast --rate-limit 8M
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/backup.json"
check_truth "$T/backup.json" "$TRUTH" passenger_count || fail "totals with backups"
wait "$BROKER" || fail "broker exit code"
grep -q "backup: a second copy of task" "$T/broker2.log" || fail "no backup copy was run"
grep "job .* done in" "$T/broker2.log" | sed 's/.*broker: //'
pass "backup copy of a straggling task: first one wins, totals exact"
