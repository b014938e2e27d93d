#!/usr/bin/env bash
# Attack 3b: after the job, final-table watchers (csv, json, jsonl) start while the reducer is
# killed -9 and restarted on its state dir at random moments (mid final snapshot), or are
# SIGSTOPped mid-snapshot. Each must print the exact table or exit non-zero.
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2
RARGS=(--state-dir "$T/rstate")
start_reducer "${RARGS[@]}"
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size 4M
start_mapper --slots 2
wait "$BRO" || echo "broker exit $?"
bad=0
for i in $(seq 1 "${N:-8}"); do
    fmt=$(echo csv json jsonl | tr ' ' '\n' | shuf -n1); ext=$fmt; [ $fmt = jsonl ] && ext=jsonl
    "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format $fmt --timeout 60 -v > "$T/w$i.$ext" 2> "$T/w$i.err" &
    W=$!; PIDS+=($W)
    rsleep 0.0 0.15
    if [ $((RANDOM % 2)) = 0 ]; then
        kill -9 "$RED"; wait "$RED" 2>/dev/null || true; rsleep 0 0.5; start_reducer "${RARGS[@]}"; what="reducer restarted"
    else
        kill -STOP "$W" 2>/dev/null || true; rsleep 0.5 3; kill -CONT "$W" 2>/dev/null || true; what="watcher stopped"
    fi
    rc=0; wait "$W" || rc=$?
    f="$T/w$i.$ext"; [ $fmt = jsonl ] && { tail -1 "$f" > "$f.json"; f="$f.json"; }
    res=$(python3 "$F13/cmp_csv.py" "$TRUTH" "$f" 2>&1) || { [ $rc = 0 ] && { echo "WRONG with exit 0"; bad=1; }; }
    echo "$i $fmt ($what): exit $rc, $(echo "$res" | tail -1 | cut -c1-200) $(grep -i -c "gap\|snapshot\|lost" "$T/w$i.err" || true)"
done
[ $bad = 0 ]
