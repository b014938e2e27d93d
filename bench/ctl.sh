#!/usr/bin/env bash
# Control plane, RUNS times each (default 5), one median row per measure:
#   build-rel/ctl 1000000                      the pure code (scheduler; decode + apply)
#   build-rel/ctl_net reducer EP 200000        partials through a real `tally reducer`
#   build-rel/ctl_net mappers EP 1000          a fake 1,000-slot mapper against a real broker
#                                              and reducer (the bench file at --split-size 16K)
#   bench/ctl.sh [RUNS]     (run bench/scan.sh first: it makes the file)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
F=${BENCH_DIR:-/tmp/tally-bench-scan}/data/yellow_tripdata_2015-01.csv
[ -f "$F" ] || { echo "run bench/scan.sh first" >&2; exit 1; }
T=build-rel/tally
out=$(mktemp)
for _ in $(seq 1 "$RUNS"); do
    build-rel/ctl 1000000 >> "$out"
    d=$(mktemp -d)
    "$T" reducer -q --listen "ipc://$d/r" --publish "ipc://$d/p" 2>/dev/null & red=$!
    build-rel/ctl_net reducer "ipc://$d/r" 200000 >> "$out"; kill $red; wait $red 2>/dev/null || true
    "$T" reducer -q --listen "ipc://$d/r2" --publish "ipc://$d/p2" 2>/dev/null & red=$!
    "$T" broker -q --listen "ipc://$d/b" --reducer "ipc://$d/r2" --group-by passenger_count --split-size 16K \
        --input "$F" 2>/dev/null & bro=$!
    build-rel/ctl_net mappers "ipc://$d/b" 1000 >> "$out"; wait $bro 2>/dev/null || true
    kill $red; wait $red 2>/dev/null || true
    rm -rf "$d"
done
python3 - "$out" "$RUNS" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    rows.setdefault(cells[0], []).append(cells)
print("| what | work | median time | median rate | all rates (%s runs) |" % sys.argv[2])
print("|---|---|---|---|---|")
for what, runs in rows.items():
    rate = lambda c: float(c[3].split()[0])
    runs.sort(key=rate)
    mid = runs[len(runs) // 2]
    print("| %s | %s | %s | %s | %s |" % (what, mid[1], mid[2], mid[3], " ".join("%.0fk" % (rate(c) / 1000) for c in runs)))
PY
rm -f "$out"
