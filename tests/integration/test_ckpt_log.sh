#!/usr/bin/env bash
# The reducer's checkpoint as a base plus an append-only log (reducer/ckptfile.h), with a tiny
# --compact-bytes so that the log is compacted many times in one job:
#   1. SIGKILL the reducer three times mid-job and restart it on the same state dir; the
#      restarts replay log records over the base, and at least one compaction happens.
#      The job ends exact (the generator's ground truth) without a broker restart, which would
#      re-issue whatever a bad replay lost and hide it.
#   2. A torn tail (a second job): with the broker and the reducer both killed, the log is cut
#      short by a few bytes; the reducer cuts the incomplete record off (and says so) and the
#      restarted broker re-issues what that lost. That job ends exact too.
#   3. A byte flipped in the middle of a saved log: the reducer refuses to start, naming the
#      file, the offset and the cause; the same log unflipped is accepted.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 30 --rows 3000 --seed 29 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port); RM=$(free_port)
R="$T/rstate"
REDUCER_CMD=("$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" --state-dir "$R"
             --compact-bytes 4K --metrics-listen "127.0.0.1:$RM")
BROKER_CMD=("$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data"
            --group-by passenger_count --split-size 60K --hb-ms 200 --lease-ms 1000 --apply-timeout-ms 5000
            --state-dir "$T/bstate")
nr=1
bg reducer1 "${REDUCER_CMD[@]}"
REDUCER=$LAST_PID
bg broker1 "${BROKER_CMD[@]}"
BROKER=$LAST_PID
for i in 1 2 3; do
    bg "mapper$i" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name "m$i" --rate-limit 100K
done

state () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 20 2>/dev/null || true; }
tasks_done () { state | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"])' 2>/dev/null || echo 0; }
wait_tasks () {   # wait_tasks N: until at least N tasks are applied
    for i in $(seq 1 300); do [ "$(tasks_done)" -ge "$1" ] && return 0; sleep 0.2; done
    fail "stuck below $1 tasks applied"
}
log_size () { stat -c %s "$R/reducer.log" 2>/dev/null || echo 0; }
wait_log () {     # wait_log N: until the log holds more than N bytes of records
    for i in $(seq 1 300); do [ "$(log_size)" -gt "$1" ] && return 0; sleep 0.1; done
    fail "the checkpoint log never held more than $1 bytes"
}
restart_reducer () {
    nr=$((nr + 1))
    bg "reducer$nr" "${REDUCER_CMD[@]}"
    REDUCER=$LAST_PID
    [ -f "$R/reducer.ckpt" ] && wait_for "$T/reducer$nr.log" "resumed job" 10
    wait_for "$T/reducer$nr.log" "listening on" 10
}

# 1. Kill the reducer three times mid-job; each restart resumes from base + log.
target=4
for round in 1 2 3; do
    wait_tasks "$target"
    wait_log 200
    kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true
    [ "$round" = 2 ] && { rm -rf "$T/saved"; cp -r "$R" "$T/saved"; }    # a log with records, for part 3
    restart_reducer
    grep "resumed job" "$T/reducer$nr.log" | sed 's/.*reducer: //'
    target=$(( $(tasks_done) + 4 ))
done
replayed=$(cat "$T"/reducer[2-9].log | sed -n 's/.*(\([0-9]*\) log record(s) replayed.*/\1/p' | awk '{s+=$1} END {print s+0}')
[ "$replayed" -gt 0 ] || fail "no restart replayed a log record (the kills all fell right after a compaction?)"
pass "reducer killed 3 times mid-job and resumed from base + log ($replayed log record(s) replayed in all)"

"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 240 > "$T/final.json" || fail "watch: the job did not end ok (after the reducer kills)"
check_truth "$T/final.json" "$TRUTH" passenger_count || fail "totals after the reducer kills"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r.get("ok", True) and r["tasks"] == r["tasks_total"] else 1)' \
    "$T/final.json" || fail "the job did not end ok"
wait "$BROKER" || fail "broker exit code"
compactions=$(cat "$T"/reducer*.log | grep -c "compacted the checkpoint" || true)
curl -sf "http://127.0.0.1:$RM/metrics" > "$T/reducer.prom" || fail "reducer /metrics"
grep -E "^tally_checkpoint_(base|log)_bytes_total|^tally_checkpoint_compactions_total" "$T/reducer.prom"
[ "$compactions" -gt 0 ] || fail "no compaction happened with --compact-bytes 4K"
pass "exact totals after 3 reducer kills (the broker kept running) and $compactions compaction(s)"
kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true

# 2. A torn tail, in a second job. The broker goes first: a restarted broker takes the
#    reducer's applied set as the truth, so cutting the reducer's last record (maybe acked)
#    loses nothing that is not re-done. (Part 1 kept its broker, so that a restart that lost
#    acked work shows there as a job that cannot end ok.)
R="$T/rstate2"
REDUCER_CMD=("$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" --state-dir "$R"
             --compact-bytes 4K)
BROKER_CMD=("$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data"
            --group-by passenger_count --split-size 120K --hb-ms 200 --lease-ms 1000 --apply-timeout-ms 5000
            --state-dir "$T/bstate2")
restart_reducer
bg broker2 "${BROKER_CMD[@]}"
BROKER=$LAST_PID
for i in 4 5 6; do
    bg "mapper$i" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name "m$i" --rate-limit 150K
done
wait_tasks 6
wait_log 200
kill -9 "$BROKER"; wait "$BROKER" 2>/dev/null || true
kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true
size=$(log_size)
truncate -s $((size - 5)) "$R/reducer.log"
restart_reducer
grep -q "reducer.log: cut off an incomplete last record at offset" "$T/reducer$nr.log" \
    || { cat "$T/reducer$nr.log"; fail "the torn tail was not reported"; }
bg broker3 "${BROKER_CMD[@]}"
BROKER=$LAST_PID
wait_for "$T/broker3.log" "reducer .* ready" 15
pass "a log cut short by 5 bytes ($size -> $((size - 5))) is accepted: the incomplete record is cut off"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 240 > "$T/final2.json" || fail "watch: the job did not end ok (after the torn tail)"
check_truth "$T/final2.json" "$TRUTH" passenger_count || fail "totals after the torn tail"
wait "$BROKER" || fail "broker exit code"
pass "exact totals after the torn tail"

# 3. Damage in the middle of the log: refused, loudly. The saved log, unchanged, is accepted.
lsize=$(stat -c %s "$T/saved/reducer.log")
[ "$lsize" -gt 100 ] || fail "the saved log is too short to damage in the middle ($lsize bytes)"
start_saved () {  # start_saved DIR NAME: a reducer on DIR; it either keeps running or exits
    bg "$2" "$TALLY" reducer --listen "tcp://127.0.0.1:$(free_port)" --publish "tcp://127.0.0.1:$(free_port)" \
        --state-dir "$1"
}
rm -rf "$T/ok"; cp -r "$T/saved" "$T/ok"
start_saved "$T/ok" saved_ok
wait_for "$T/saved_ok.log" "resumed job" 10
grep -q "([1-9][0-9]* log record(s) replayed" "$T/saved_ok.log" || { cat "$T/saved_ok.log"; fail "saved log: nothing replayed"; }
kill -9 "$LAST_PID"
for off in $((lsize / 2)) $((lsize / 3)) 12; do
    rm -rf "$T/bad"; cp -r "$T/saved" "$T/bad"
    python3 -c 'import sys; p,o=sys.argv[1],int(sys.argv[2]); b=bytearray(open(p,"rb").read()); b[o]^=0x10; open(p,"wb").write(b)' \
        "$T/bad/reducer.log" "$off"
    start_saved "$T/bad" "bad$off"
    rc=0
    for i in $(seq 1 100); do kill -0 "$LAST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$LAST_PID" 2>/dev/null && fail "a log damaged at offset $off: the reducer started"
    wait "$LAST_PID" || rc=$?
    [ "$rc" -ne 0 ] || fail "a log damaged at offset $off: exit code 0"
    grep -q "reducer.log is damaged at offset [0-9]*: " "$T/bad$off.log" || { cat "$T/bad$off.log"; fail "no line naming the damage"; }
    sed -n 's/.*reducer: //p' "$T/bad$off.log" | grep damaged | cut -c1-150
done
pass "a flipped byte in the log (3 places) makes the reducer refuse to start, naming file, offset and cause"
