#!/usr/bin/env bash
# Attack 7: SIGSTOP the reducer (or the broker) for longer than the lease mid-job, with partials
# in parts and many small tasks, then SIGCONT. Must end ok and exact (or loud).
# usage: a7_stop_roles.sh DATA TRUTH.json [SPLIT] [WHO=reducer|broker|both] [HOLD]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; SPLIT=${3:-2M}; WHO=${4:-reducer}; HOLD=${5:-8}
start_reducer --state-dir "$T/rstate"
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size "$SPLIT" --state-dir "$T/bstate"
start_mapper --slots 2 --rate-limit "${RATE:-1M}"
start_mapper --slots 2 --rate-limit "${RATE:-1M}"
for r in $(seq 1 "${ROUNDS:-3}"); do
    rsleep 1 3; alive "$BRO" || break
    case $WHO in reducer) P="$RED" ;; broker) P="$BRO" ;; both) P="$RED $BRO" ;; esac
    kill -STOP $P; echo "stopped $WHO"; sleep "$HOLD"; kill -CONT $P
done
end=$((SECONDS + 240)); while alive "$BRO" && [ $SECONDS -lt $end ]; do sleep 1; done
alive "$BRO" && { echo "HANG: $(grep progress "$T/broker$NB.log" | tail -1 | cut -c1-300)"; exit 1; }
brc=0; wait "$BRO" || brc=$?; echo "broker exit $brc: $(grep -h -E 'ERROR' "$T/broker$NB.log" | tail -1 | cut -c1-300)"
grep -h "done in" "$T"/broker*.log | cut -c60-330 || true
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
