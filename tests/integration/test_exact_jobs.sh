#!/usr/bin/env bash
# Exact or loud, jobs and peers (issue 12, items 2, 3, 6, 12): two brokers on one reducer, a
# stray partial carried into the next job, "done" while incomplete, and forged partials from a
# peer that may connect but was given no task. Rogue peers are tests/tools/rogue.py (pyzmq).
. "$(dirname "$0")/lib.sh"
ROGUE=(/usr/bin/python3 "$TALLY_SRC/tests/tools/rogue.py")

"$TALLY" gen --out "$T/data" --files 4 --rows 15000 --seed 31 2> "$T/gen.log"
"$TALLY" gen --out "$T/other" --files 2 --rows 4000 --seed 32 2> "$T/gen2.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port); BP2=$(free_port); MP=$(free_port)
RE="tcp://127.0.0.1:$RP"
bg reducer "$TALLY" reducer --listen "$RE" --publish "tcp://127.0.0.1:$PP" --metrics-listen "127.0.0.1:$MP"
final () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$1"; }
metric () { curl -s "http://127.0.0.1:$MP/metrics" | awk -v m="$1" '{ split($1, a, "{") } a[1] == m { print $2 }'; }

# 6. Done while incomplete: a broker (rogue) says END ok after 1 of 3 tasks were applied.
"${ROGUE[@]}" fake-broker "$RE" --tasks 3 --apply 1 > "$T/fake1.out" || fail "fake broker"
rc=0; final "$T/fake1.json" || rc=$?
[ "$rc" -ne 0 ] || fail "watch exited 0 for an incomplete job"
grep -q '"ok":false' "$T/fake1.json" || fail "incomplete job published ok"
grep -q 'incomplete: 2 of 3 task(s) were never applied (task 1, 2)' "$T/fake1.json" || { cat "$T/fake1.json"; fail "no reason given"; }
pass "a job ended with 1/3 tasks applied is ok:false, exit $rc, naming tasks 1 and 2"

# 3. A stray partial (valid token, task id past the end) is held for its own job only; the next
# job's totals do not include its million rows.
"${ROGUE[@]}" fake-broker "$RE" --tasks 2 --apply 2 --stray 7 --rows 1000000 > "$T/fake2.out" || fail "fake broker 2"
final "$T/fake2.json" || fail "a complete fake job should end ok"
grep -q '"rows":20,' "$T/fake2.json" || { cat "$T/fake2.json"; fail "fake job rows"; }
bg broker1 "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    --split-size 256K --hb-ms 200
B1=$LAST_PID
bg m1 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name m1 --rate-limit 400K
wait_for "$T/broker1.log" "reducer .* ready" 20

# 2. A second broker on the same reducer while job 1 runs: refused, loudly; job 1 stays exact.
rc=0
timeout 30 "$TALLY" broker --listen "tcp://127.0.0.1:$BP2" --reducer "$RE" --input "$T/other" \
    --group-by passenger_count > "$T/broker2.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "the second broker exited 0"
grep -q "refused job .*serving job .*which has not ended" "$T/broker2.log" || { cat "$T/broker2.log"; fail "second broker: no reason"; }
pass "a second broker on a busy reducer fails (exit $rc) and says which job holds it"

# 12. Forged partials: an allowed peer pushes partials for tasks it was never given (past and
# future ids, a million rows each). None counts.
job=$(grep -o "job [0-9a-f]\{16\}" "$T/broker1.log" | head -1 | cut -d' ' -f2)
"${ROGUE[@]}" forge "$RE" "$job" 0 40 --rows 1000000 > "$T/forge.out" || fail "forger"
final "$T/final1.json" || fail "job 1 did not end ok"
wait "$B1" || fail "broker 1 exit"
check_truth "$T/final1.json" "$TRUTH" passenger_count || fail "job 1's totals after a second broker, a stray and forgeries"
forged=$(metric tally_partials_forged_total)
[ "${forged%.*}" -ge 41 ] || fail "forged partials counted: '$forged'"
grep -q "token is not one the broker gave" "$T/reducer.log" || fail "forgery not logged"
pass "41 forged partials dropped ($forged counted); the stray held for a finished job was never applied; totals exact"

# A partial of a finished job arriving late is dropped, not kept for the next job.
"${ROGUE[@]}" forge "$RE" "$job" 0 3 --rows 5 > /dev/null
bg broker3 "$TALLY" broker --listen "tcp://127.0.0.1:$BP2" --reducer "$RE" --input "$T/other" --group-by passenger_count
B3=$LAST_PID
bg m3 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP2" --slots 2 --name m3
wait_for "$T/broker3.log" "reducer .* ready" 20
final "$T/final3.json" || fail "job 3 did not end ok"
wait "$B3" || fail "broker 3 exit"
check_truth "$T/final3.json" "$T/other.truth.json" passenger_count || fail "job 3's totals"
pass "the next job on the same reducer is exact"

# A watcher started between two jobs would print the last job's table: the result names its job,
# and --job waits for the one asked for. Job 3 is done here: a watcher for another job times out
# (exit 3) instead of printing job 3's table.
job3=$(grep -o "job [0-9a-f]\{16\}" "$T/broker3.log" | head -1 | cut -d' ' -f2)
grep -q "\"job\":\"$job3\"" "$T/final3.json" || fail "the result does not name job $job3"
rc=0
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 2 --job 0123456789abcdef \
    > "$T/other_job.json" 2> "$T/other_job.log" || rc=$?
[ "$rc" -eq 3 ] || fail "a watcher of another job exited $rc with $(head -c 200 "$T/other_job.json")"
[ ! -s "$T/other_job.json" ] || fail "a watcher of another job printed job 3's table"
grep -q "the reducer published job $job3 (ended), never job 0123456789abcdef" "$T/other_job.log" \
    || fail "a watcher of another job does not say which job the reducer serves: $(cat "$T/other_job.log")"
bg broker5 "$TALLY" broker --listen "tcp://127.0.0.1:$BP2" --reducer "$RE" --input "$T/data" --group-by passenger_count
B5=$LAST_PID
wait_for "$T/broker5.log" "job [0-9a-f]\{16\}" 20
job5=$(grep -o "job [0-9a-f]\{16\}" "$T/broker5.log" | head -1 | cut -d' ' -f2)
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 --job "$job5" \
    > "$T/final5.json" 2> "$T/final5.log" &
W5=$!
bg m5 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP2" --slots 2 --name m5
wait "$W5" || fail "the watcher of job 5 exited non-zero: $(tail -2 "$T/final5.log")"
wait "$B5" || fail "broker 5 exit"
grep -q "\"job\":\"$job5\"" "$T/final5.json" || fail "job 5's result names another job"
check_truth "$T/final5.json" "$TRUTH" passenger_count || fail "job 5's totals (watch --job)"
pass "the result names its job; watch --job skips other jobs' tables (another job's watcher times out, naming the job it heard), and job 5 is exact"

# --verify-fraction: honest mappers agree; a mapper that lies about the tasks it was given is
# caught by a copy on another mapper, and the job fails naming both.
BP4=$(free_port)
bg m4a "$TALLY" mapper --broker "tcp://127.0.0.1:$BP4" --slots 2 --name honest-a --rate-limit 3M
bg m4b "$TALLY" mapper --broker "tcp://127.0.0.1:$BP4" --slots 2 --name honest-b --rate-limit 3M
bg broker4 "$TALLY" broker --listen "tcp://127.0.0.1:$BP4" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    --split-size 512K --verify-fraction 0.5
B4=$LAST_PID
wait_for "$T/broker4.log" "reducer .* ready" 20
final "$T/final4.json" || fail "verified job did not end ok"
wait "$B4" || fail "broker 4 exit"
check_truth "$T/final4.json" "$TRUTH" passenger_count || fail "verified job's totals"
grep -q "verification: \([1-9][0-9]*\) of \1 copies agreed" "$T/broker4.log" || { grep verif "$T/broker4.log"; fail "copies did not all agree"; }
pass "--verify-fraction 0.5 with honest mappers: $(grep -o 'verification: [0-9]* of [0-9]*' "$T/broker4.log"), totals exact"

BP5=$(free_port)
bg m5 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP5" --slots 1 --name honest --rate-limit 2M
bg broker5 "$TALLY" broker --listen "tcp://127.0.0.1:$BP5" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    --split-size 512K --verify-fraction 1
B5=$LAST_PID
wait_for "$T/broker5.log" "mapper honest joined" 20
bg liar "${ROGUE[@]}" mapper "tcp://127.0.0.1:$BP5" liar
rc=0; final "$T/final5.json" || rc=$?
[ "$rc" -ne 0 ] || fail "a job with a lying mapper ended ok"
grep -q '"ok":false' "$T/final5.json" || fail "lying mapper: not ok:false"
grep -q "counted differently by mapper .*liar.* and mapper .*honest\|counted differently by mapper .*honest.* and mapper .*liar" "$T/final5.json" ||
    { cat "$T/final5.json"; fail "the mismatch does not name both mappers"; }
wait "$B5" && fail "broker 5 exited 0"
pass "a mapper that lies about its tasks is caught by --verify-fraction: ok:false, exit $rc, both mappers named"
