#!/usr/bin/env bash
# Attack 2b: the reducer's state dir on a small tmpfs (SIZE), filled by the checkpoint; the reducer
# is also killed (-9) and restarted a few times while the disk is full. Must be loud, never
# ok-and-wrong. With GROW=1 the tmpfs is grown to 200M after a while (the job must then finish exact).
# usage: a2_tmpfs_full.sh DATA TRUTH.json SIZE [CB] [SPLIT]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; SIZE=$3; CB=${4:-4096}; SPLIT=${5:-512K}
MNT=/mnt/rt13-$$; mkdir -p "$MNT"; mount -t tmpfs -o size="$SIZE" tmpfs "$MNT"
ON_EXIT="$ON_EXIT; umount $MNT; rmdir $MNT"
RARGS=(--state-dir "$MNT/s" --compact-bytes "$CB")
start_reducer "${RARGS[@]}"
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size "$SPLIT" ${BEXTRA:-}
start_mapper --slots 2 --rate-limit "${RATE:-1M}"
end=$((SECONDS + ${WAIT:-40})); k=0
while alive "$BRO" && [ $SECONDS -lt $end ]; do
    rsleep 2 6
    alive "$BRO" || break
    if [ $k -lt "${KILLS:-3}" ]; then
        kill -9 "$RED"; wait "$RED" 2>/dev/null || true; k=$((k + 1)); echo "killed the reducer ($(df --output=used,avail "$MNT" | tail -1))"
        start_reducer "${RARGS[@]}"
    fi
done
if [ -n "${GROW:-}" ]; then mount -o remount,size=200M "$MNT"; echo "grown"; fi
end=$((SECONDS + 90)); while alive "$BRO" && [ $SECONDS -lt $end ]; do sleep 1; done
if alive "$BRO"; then
    echo "broker still running (hang): its last lines:"; grep -v DEBUG "$T/broker$NB.log" | tail -3 | cut -c1-300
    echo "reducer: $(grep -c WARN "$T/reducer$NR.log") warnings; $(grep WARN "$T/reducer$NR.log" | tail -1 | cut -c1-300)"
    rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json > "$T/once.json" 2>/dev/null || rc=$?
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('watch --once: done', r.get('done'), 'ok', r.get('ok'), 'rows', r['rows'])" "$T/once.json" || true
    exit 0
fi
brc=0; wait "$BRO" || brc=$?; echo "broker exit $brc"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -2 "$T/watch.err")"
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
