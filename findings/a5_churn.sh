#!/usr/bin/env bash
# Attack 5/6: many tasks (SPLIT small: 10^4+), mappers SIGKILLed and replaced, SIGSTOPped past
# their lease and resumed (zombies), steals and backups; optionally (RESTARTS=1) the reducer and
# the broker killed -9 and restarted on their state. Any task lost (never ends) or counted twice?
# usage: a5_churn.sh DATA TRUTH.json [SPLIT] [SECS]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; SPLIT=${3:-3K}; SECS=${4:-60}
RARGS=(--state-dir "$T/rstate" --compact-bytes "${CB:-1M}")
BARGS=(--input "$D" --group-by "${BY:-tpep_pickup_datetime}" --split-size "$SPLIT" --state-dir "$T/bstate" --min-steal 4K)
start_reducer "${RARGS[@]}"
start_broker "${BARGS[@]}"
M=()
for i in 1 2 3 4; do start_mapper --slots 2 --rate-limit "${RATE:-150K}"; M+=($MAP); done
end=$((SECONDS + SECS)); ev=0
while alive "$BRO" && [ $SECONDS -lt $end ]; do
    rsleep 0.5 2
    alive "$BRO" || break
    i=$((RANDOM % ${#M[@]})); ev=$((ev + 1))
    case $((RANDOM % 8)) in
    0|1|2) kill -9 "${M[$i]}" 2>/dev/null || true; start_mapper --slots 2 --rate-limit "${RATE:-150K}"; M[$i]=$MAP ;;
    3|4) kill -STOP "${M[$i]}" 2>/dev/null; rsleep 0.5 2.5; kill -CONT "${M[$i]}" 2>/dev/null || true ;;
    5) start_mapper --slots 1 --rate-limit "${RATE5:-1M}"; M+=($MAP) ;;       # a faster one: steals
    6) [ -n "${RESTARTS:-}" ] && { kill -9 "$RED"; wait "$RED" 2>/dev/null || true; start_reducer "${RARGS[@]}"; } || true ;;
    7) [ -n "${RESTARTS:-}" ] && { kill -9 "$BRO"; wait "$BRO" 2>/dev/null || true; start_broker "${BARGS[@]}"; } || true ;;
    esac
done
echo "$ev events; $NM mappers started, $NR reducers, $NB brokers"
for m in "${M[@]}"; do kill -CONT "$m" 2>/dev/null || true; done
start_mapper --slots 2; M+=($MAP)     # at least one fast, live mapper for the rest
end=$((SECONDS + ${TAIL:-240})); while alive "$BRO" && [ $SECONDS -lt $end ]; do sleep 1; done
if alive "$BRO"; then echo "HANG: the broker still runs: $(grep progress "$T/broker$NB.log" | tail -1 | cut -c1-300)"; exit 1; fi
brc=0; wait "$BRO" || brc=$?; echo "broker exit $brc: $(grep -h -E 'ERROR' "$T/broker$NB.log" | tail -1 | cut -c1-300)"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
grep -h "done:" "$T"/reducer*.log | tail -1 | cut -c1-300 || true
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
