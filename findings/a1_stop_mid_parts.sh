#!/usr/bin/env bash
# Attack 1: a mapper SIGSTOPped between two parts of its partial until its lease lapses; the
# task is re-run on another mapper (parts interleaving with the first copy's after SIGCONT).
# usage: a1_stop_mid_parts.sh DATA TRUTH.json [PACE_MS] [STATE=1 to use --state-dir and kill the reducer too]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; PACE=${3:-1500}
RARGS=(); [ -n "${STATE:-}" ] && RARGS=(--state-dir "$T/rstate" --compact-bytes "${CB:-4096}")
start_reducer "${RARGS[@]}"
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size "${SPLIT:-0}"
bg mA env TALLY_PART_PACE_MS=$PACE "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name A -v
A=$LAST_PID
for i in $(seq 1 300); do [ "$(metric tally_partial_parts_total)" -ge 2 ] 2>/dev/null && break; sleep 0.1; done
echo "parts at the reducer before the stop: $(metric tally_partial_parts_total)"
kill -STOP "$A"
bg mB env TALLY_PART_PACE_MS=$PACE "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --name B -v
B=$LAST_PID
sleep "${HOLD:-4}"
if [ -n "${STATE:-}" ]; then kill -9 "$RED"; wait "$RED" 2>/dev/null || true; start_reducer "${RARGS[@]}"; fi
kill -CONT "$A"
brc=0; wait "$BRO" || brc=$?
echo "broker exit $brc"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
grep -h -E "dropped|duplicate|broken|applied its partial" "$T"/reducer*.log | sed 's/^[^ ]* //' | sort | uniq -c | head -20 || true
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
