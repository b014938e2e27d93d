#!/usr/bin/env bash
# Attack 6: tail steals of tasks whose partials go in parts (many groups), with --verify-fraction,
# a slow mapper stopped past its lease, and the reducer killed -9 and restarted on its state dir.
# usage: a6_steal_parts_verify.sh DATA TRUTH.json [SPLIT] [VERIFY]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; SPLIT=${3:-16M}; VF=${4:-1}
RARGS=(--state-dir "$T/rstate" --compact-bytes "${CB:-1M}")
start_reducer "${RARGS[@]}"
BARGS=(--input "$D" --group-by tpep_pickup_datetime --split-size "$SPLIT" --min-steal 64K --verify-fraction "$VF" --state-dir "$T/bstate")
start_broker "${BARGS[@]}"
start_mapper --slots 2 --rate-limit "${RATE:-1M}"; A=$MAP
sleep "${T1:-3}"
start_mapper --slots 2 --rate-limit "${RATEB:-4M}"; B=$MAP
sleep "${T2:-2}"
[ -n "${STOPA:-}" ] && { kill -STOP "$A"; sleep 2.5; kill -CONT "$A"; }
[ -n "${KILLR:-}" ] && { kill -9 "$RED"; wait "$RED" 2>/dev/null || true; start_reducer "${RARGS[@]}"; }
for k in $(seq 1 "${BKILLS:-0}"); do
    rsleep 0.2 1.5; alive "$BRO" || break
    kill -9 "$BRO"; wait "$BRO" 2>/dev/null || true; echo "broker killed"; start_broker "${BARGS[@]}"
done
start_mapper --slots 2
end=$((SECONDS + 180)); while alive "$BRO" && [ $SECONDS -lt $end ]; do sleep 1; done
alive "$BRO" && { echo "HANG"; exit 1; }
brc=0; wait "$BRO" || brc=$?; echo "broker exit $brc: $(grep -h -E 'ERROR' "$T/broker$NB.log" | tail -1 | cut -c1-400)"
grep -h "job .* done in" "$T"/broker*.log | cut -c1-400 || true
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
