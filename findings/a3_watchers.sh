#!/usr/bin/env bash
# Attack 3: watchers that join mid-snapshot, are SIGSTOPped to fall behind (HWM drops), are
# restarted; each final table must equal the truth, or the watcher must exit non-zero. jsonl's
# last line must equal the final table.
# usage: a3_watchers.sh DATA TRUTH.json [SPLIT]
. "$(dirname "$0")/lib13.sh"
D=$1; TRUTH=$2; SPLIT=${3:-256K}
start_reducer ${RARGS:-}
start_broker --input "$D" --group-by tpep_pickup_datetime --split-size "$SPLIT"
start_mapper --slots 2 --rate-limit "${RATE:-500K}"
W=(); WN=()
watch_bg () {   # NAME ARGS...
    local n=$1; shift
    "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --timeout 300 -v "$@" > "$T/$n.out" 2> "$T/$n.err" &
    W+=($!); WN+=("$n"); PIDS+=($!)
}
watch_bg w_jsonl --format jsonl
watch_bg w_csv --format csv
watch_bg w_json_top --format json --top 5
watch_bg w_jsonl_top --format jsonl --top 3
n=0
while alive "$BRO"; do
    rsleep 0.2 2
    alive "$BRO" || break
    i=$((RANDOM % ${#W[@]}))
    if [ -n "${KILLR:-}" ] && [ $((RANDOM % 4)) = 0 ]; then   # the reducer killed -9, restarted on its state
        kill -9 "$RED"; wait "$RED" 2>/dev/null || true; start_reducer $RARGS; echo "reducer restarted"
    elif [ $((RANDOM % 3)) = 0 ]; then       # restart one: kill it, start a new one of the same kind
        n=$((n + 1)); kill -9 "${W[$i]}" 2>/dev/null || true
        case ${WN[$i]} in
        w_jsonl*) watch_bg "w_jsonl_r$n" --format jsonl ;;
        *) watch_bg "w_csv_r$n" --format csv ;;
        esac
        W[$i]=0
    else                                    # stop one for a while
        [ "${W[$i]}" != 0 ] && { kill -STOP "${W[$i]}" 2>/dev/null; rsleep 0.5 4; kill -CONT "${W[$i]}" 2>/dev/null; } || true
    fi
done
wait "$BRO" || echo "broker exit $?"
bad=0
for j in "${!W[@]}"; do
    [ "${W[$j]}" = 0 ] && continue
    rc=0; wait "${W[$j]}" || rc=$?
    f="$T/${WN[$j]}.out"
    case ${WN[$j]} in
    w_jsonl*) tail -1 "$f" > "$f.last.json"; chk="$f.last.json" ;;
    w_json*) cp "$f" "$f.json"; chk="$f.json" ;;
    *) chk=$f ;;
    esac
    res=$(python3 "$F13/cmp_csv.py" "$TRUTH" "$chk" 2>&1) || { [ $rc = 0 ] && { echo "WRONG with exit 0: ${WN[$j]}: $res"; bad=1; }; }
    echo "${WN[$j]}: exit $rc, $(echo "$res" | tail -1), gaps $(grep -c -i "gap\|lost\|snapshot" "$T/${WN[$j]}.err" || true)"
done
[ $bad = 0 ]
