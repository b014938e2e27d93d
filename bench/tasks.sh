#!/usr/bin/env bash
# Many tasks (issue 16): the control plane at 1 M tasks and the real pipeline at >= 100 k tasks.
#   ctl_net:   a real `tally reducer` and `tally broker` over a sparse file of NCTL x 4 KiB
#              (the broker only probes the object's ends; the fake mapper reads nothing), split at
#              4K, and build-rel/ctl_net as a fake 1,000-slot mapper: NCTL tasks end to end.
#   tally run: `tally gen` data cut at --split-size 4K into >= NRUN tasks, counted by `tally run`
#              and compared with the generator's ground truth.
# Each prints the total rate and the rate of each tenth of the job, and the CPU time (user+sys)
# of the processes. TALLY=<binary> CTL_NET=<binary> pick other builds (before/after).
#   bench/tasks.sh [RUNS] [NCTL] [NRUN]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
NCTL=${2:-1000000}
NRUN=${3:-100000}
T=${TALLY:-build-rel/tally}
C=${CTL_NET:-build-rel/ctl_net}
W=${BENCH_DIR:-/tmp/tally-bench-tasks}
mkdir -p "$W"
F=$W/sparse-$NCTL.csv
[ -f "$F" ] || truncate -s $((4096 * NCTL)) "$F"
for _ in $(seq 1 "$RUNS"); do
    d=$(mktemp -d -p "$W")
    /usr/bin/time -f "reducer cpu %U+%S s" -o "$d/rt" "$T" reducer -q --listen "ipc://$d/r" --publish "ipc://$d/p" 2>/dev/null & red=$!
    /usr/bin/time -f "broker cpu %U+%S s" -o "$d/bt" "$T" broker -q --listen "ipc://$d/b" --reducer "ipc://$d/r" \
        --group-by k --split-size 4K --input "$F" 2>/dev/null & bro=$!
    "$C" mappers "ipc://$d/b" 1000
    wait $bro 2>/dev/null || true
    kill $red; wait $red 2>/dev/null || true
    echo "    $(cat "$d/bt"); $(cat "$d/rt")"
    rm -rf "$d"
done
# The real pipeline: generated TLC rows (~117 bytes) cut into NRUN tasks of 4 KiB.
G=$W/gen-$NRUN
if [ ! -f "$G/truth.json" ]; then
    rm -rf "$G"
    rows=$((NRUN * 4096 / 117 + 1))
    "$T" gen --out "$G/data" --files 4 --rows $((rows / 4)) --eras 2015 --truth "$G/truth.json" >/dev/null 2>&1
fi
for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e s wall, %U s user, %S s sys" -o "$W/run.time" \
        "$T" run --input "$G/data" --group-by passenger_count --split-size 4K --mappers 1 --format json \
        > "$W/run.json" 2> "$W/run.err" || { cat "$W/run.err"; exit 1; }
    python3 - "$W/run.json" "$(cat "$W/run.time")" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print("| tally run | %s tasks | %s |" % (r.get("tasks_total"), sys.argv[2]))
PY
    python3 tests/tools/check_truth.py "$W/run.json" "$G/truth.json" passenger_count
done
