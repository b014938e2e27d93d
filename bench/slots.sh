#!/usr/bin/env bash
# Slot scaling: `tally run` with 1 and 2 slots (2 cores here) over ~2.9 GB of page-cached CSVs
# (4 files from tally gen), long enough that the fixed start-up (~80 ms) matters little.
#   bench/slots.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
bench/deps > /dev/null
RUNS=${1:-3}
TALLY=$PWD/build-rel/tally
B=${BENCH_DIR:-/tmp/tally-bench-scan}/big
[ -d "$B" ] || "$TALLY" gen --out "$B" --files 4 --rows 6600000 --eras 2015,2016,2017,2019 --seed 5
cat "$B"/*.csv > /dev/null
"$TALLY" run --input "$B" --group-by passenger_count --slots 2 --format json -q > "$B.out.json"
python3 tests/tools/check_truth.py "$B.out.json" "$B.truth.json" passenger_count > /dev/null || { echo MISMATCH >&2; exit 1; }
sync; hyperfine -N --runs "$RUNS" --warmup 2 --export-json "$B.slots.json" \
    -n "1 slot" "$TALLY run --input $B --group-by passenger_count --slots 1 --format csv -q" \
    -n "2 slots" "$TALLY run --input $B --group-by passenger_count --slots 2 --format csv -q" > /dev/null 2>&1
python3 - "$B.slots.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print("| tally run over 2.9 GB | median (s) | speed-up |\n|---|---|---|")
for k, v in r.items():
    print(f"| {k} | {v:.3f} | {r['1 slot'] / v:.2f}x |")
PY
# The same jobs timed by the broker (job start to the last task applied), which leaves out the
# processes' start-up and exit: the mapper's own scan rate with 1 and 2 slots.
for s in 1 2; do
    for _ in $(seq 1 "$RUNS"); do
        "$TALLY" run -v --input "$B" --group-by passenger_count --slots "$s" --format csv 2>&1 > /dev/null \
            | grep -o "done in [0-9.]* s" | awk '{print $3}'
    done | sort -n | awk -v s="$s" '{a[NR]=$1} END {printf "broker job time, %d slot(s): median %.2f s of %d runs\n", s, a[int((NR+1)/2)], NR}'
done
