#!/usr/bin/env bash
# Attack 4: kill -9 and restart the broker (journal) and the reducer (state dir) in random orders
# mid-job, many small tasks. Exactly-once must hold: ok and exact, or loud.
# usage: a4_restart_both.sh DATA TRUTH.json [SPLIT] [ROUNDS]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; SPLIT=${3:-64K}; ROUNDS=${4:-10}
RS="$T/rstate"; BS="$T/bstate"
RARGS=(--state-dir "$RS" --compact-bytes "${CB:-65536}")
BARGS=(--input "$D" --group-by tpep_pickup_datetime --split-size "$SPLIT" --state-dir "$BS")
start_reducer "${RARGS[@]}"
start_broker "${BARGS[@]}"
for i in $(seq 1 "${MAPPERS:-2}"); do start_mapper --slots 2 --rate-limit "${RATE:-400K}"; done
r=0
while alive "$BRO" && [ $r -lt "$ROUNDS" ]; do
    rsleep 0.5 3
    alive "$BRO" || break
    r=$((r + 1))
    case $((RANDOM % 5)) in
    0) echo "round $r: reducer"; kill -9 "$RED"; wait "$RED" 2>/dev/null || true; rsleep 0 1; start_reducer "${RARGS[@]}" ;;
    1) echo "round $r: broker"; kill -9 "$BRO"; wait "$BRO" 2>/dev/null || true; rsleep 0 1; start_broker "${BARGS[@]}" ;;
    2) echo "round $r: both, broker back first"; kill -9 "$RED" "$BRO"; wait "$RED" "$BRO" 2>/dev/null || true
       start_broker "${BARGS[@]}"; rsleep 0 2; start_reducer "${RARGS[@]}" ;;
    3) echo "round $r: both, reducer back first"; kill -9 "$BRO" "$RED"; wait "$RED" "$BRO" 2>/dev/null || true
       start_reducer "${RARGS[@]}"; rsleep 0 2; start_broker "${BARGS[@]}" ;;
    4) echo "round $r: reducer, then broker while the reducer is down"; kill -9 "$RED"; wait "$RED" 2>/dev/null || true
       rsleep 0 1; kill -9 "$BRO"; wait "$BRO" 2>/dev/null || true; start_broker "${BARGS[@]}"; rsleep 0 1; start_reducer "${RARGS[@]}" ;;
    esac
done
brc=0; wait "$BRO" || brc=$?
echo "broker exit $brc after $r rounds"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
grep -h -E "ERROR|refus|lost records|damaged" "$T"/reducer*.log "$T"/broker*.log | sed 's/^[^ ]* //' | sort | uniq -c | head || true
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
