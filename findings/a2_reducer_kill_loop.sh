#!/usr/bin/env bash
# Attack 2: kill -9 the reducer at random points while it compacts often (--compact-bytes CB),
# restart it on its state dir; the job must end ok and exact, or fail loudly.
# usage: TALLY=... TALLY_SRC=... a2_reducer_kill_loop.sh DATA TRUTH.json [CB] [SPLIT] [KILLS]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; CB=${3:-4096}; SPLIT=${4:-256K}; KILLS=${5:-15}
S="$T/rstate"
start_reducer --state-dir "$S" --compact-bytes "$CB"
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size "$SPLIT"
start_mapper --slots 1 --rate-limit "${RATE:-600K}"
start_mapper --slots 1 --rate-limit "${RATE:-600K}"
k=0
while alive "$BRO" && [ $k -lt "$KILLS" ]; do
    rsleep 0.3 2.5
    alive "$BRO" || break
    kill -9 "$RED"; wait "$RED" 2>/dev/null || true
    k=$((k + 1))
    [ -n "${MANGLE:-}" ] && eval "$MANGLE"
    start_reducer --state-dir "$S" --compact-bytes "$CB"
done
echo "killed the reducer $k times"
brc=0; wait "$BRO" || brc=$?
echo "broker exit $brc"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
grep -h -E "ERROR|refus|corrupt|cut off" "$T"/reducer*.log | sort | uniq -c | head || true
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; KEEP=1; exit 1; }
fi
