#!/usr/bin/env bash
# Attack 2c: a job half done on a reducer with --state-dir; the reducer is killed -9, its base or
# log damaged one way (MODE), and it is restarted. It must refuse (naming the file) or carry on
# to an exact total; the broker's verdict must not be ok with wrong numbers.
# usage: a2_mangle_once.sh DATA TRUTH.json MODE    (MODE: flip-log, flip-base, trunc-base, cut-log-last,
#        flip-log-last, zero-tail, drop-log, drop-base, swap-old-base)
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; MODE=$3
S="$T/rstate"; RARGS=(--state-dir "$S" --compact-bytes "${CB:-256K}")
start_reducer "${RARGS[@]}"
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size 512K
start_mapper --slots 2 --rate-limit 1M
sleep "${AT:-6}"
[ "$MODE" = swap-old-base ] && { cp "$S/reducer.ckpt" "$T/old.ckpt"; sleep 3; }
kill -9 "$RED"; wait "$RED" 2>/dev/null || true
ls -l "$S" | tail -n +2 | awk '{print "  " $5, $9}'
python3 - "$S" "$MODE" "$T" <<'PY'
import os, random, sys
s, mode, t = sys.argv[1], sys.argv[2], sys.argv[3]
log, base = os.path.join(s, "reducer.log"), os.path.join(s, "reducer.ckpt")
def flip(p, lo, hi):
    b = bytearray(open(p, "rb").read()); i = random.randint(lo, max(lo, min(hi, len(b) - 1)))
    b[i] ^= 1 << random.randint(0, 7); open(p, "wb").write(b); print(f"  flipped byte {i} of {os.path.basename(p)} ({len(b)} bytes)")
n = os.path.getsize(log)
if mode == "flip-log": flip(log, 8, n - 1)
elif mode == "flip-base": flip(base, 0, os.path.getsize(base) - 1)
elif mode == "trunc-base": os.truncate(base, os.path.getsize(base) // 2); print("  base cut in half")
elif mode == "cut-log-last": os.truncate(log, max(8, n - 7)); print("  log: 7 bytes cut off")
elif mode == "flip-log-last": flip(log, n - 30, n - 1)
elif mode == "zero-tail":
    open(log, "ab").write(b"\0" * 4096); print("  4096 zero bytes appended to the log")
elif mode == "drop-log": os.unlink(log); print("  log removed")
elif mode == "drop-base": os.unlink(base); print("  base removed")
elif mode == "swap-old-base":
    os.replace(os.path.join(t, "old.ckpt"), base); print("  an older base put back")
PY
start_reducer "${RARGS[@]}"
sleep 2
if ! alive "$RED"; then
    echo "reducer refused to start: $(grep -h -E 'ERROR|refus' "$T/reducer$NR.log" | tail -1 | cut -c1-300)"
    kill -9 "$BRO" 2>/dev/null || true
    exit 0
fi
echo "reducer started: $(grep -h -E 'resumed|cut off|emptied|WARN' "$T/reducer$NR.log" | grep -v unauth | head -2 | cut -c25-300)"
end=$((SECONDS + 120)); while alive "$BRO" && [ $SECONDS -lt $end ]; do sleep 1; done
alive "$BRO" && { echo "HANG: $(grep progress "$T/broker$NB.log" | tail -1 | cut -c1-300)"; exit 1; }
brc=0; wait "$BRO" || brc=$?; echo "broker exit $brc: $(grep -h -E 'ERROR' "$T/broker$NB.log" | tail -1 | cut -c1-300)"
rc=0; "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 60 > "$T/out.csv" 2> "$T/watch.err" || rc=$?
echo "watch exit $rc: $(tail -1 "$T/watch.err")"
if [ $rc = 0 ] || [ $brc = 0 ]; then
    python3 "$F13/cmp_csv.py" "$TRUTH" "$T/out.csv" || { echo "WRONG TOTAL with ok"; exit 1; }
fi
