#!/usr/bin/env bash
# Many tasks (issue 16): the control plane at 1 M tasks and the real pipeline at >= 100 k tasks.
#   ctl_net:   a real `tally reducer` and `tally broker` over a sparse file of NCTL x 4 KiB
#              (the broker only probes the object's ends; the fake mapper reads nothing), split at
#              4K, and build-rel/ctl_net as a fake 1,000-slot mapper: NCTL tasks end to end.
#   tally run: `tally gen` data cut at --split-size 4K into >= NRUN tasks, counted by `tally run`
#              and compared with the generator's ground truth.
# Each prints the total rate and the rate of each tenth of the job, and the CPU time (user+sys)
# of the processes (ctl_net: the broker, the reducer and the fake mapper, each with its peak
# RSS). TALLY=<binary> CTL_NET=<binary> pick other builds (before/after); SINGLE=1 makes
# the fake mapper send one TASK and one DONE per task, as a mapper from before batches.
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
    /usr/bin/time -f "reducer cpu %U+%S s, %M KB" -o "$d/rt" "$T" reducer -q --listen "ipc://$d/r" --publish "ipc://$d/p" 2>/dev/null & red=$!
    /usr/bin/time -f "broker cpu %U+%S s, %M KB" -o "$d/bt" "$T" broker -q --listen "ipc://$d/b" --reducer "ipc://$d/r" \
        --group-by k --split-size 4K --input "$F" 2>/dev/null & bro=$!
    /usr/bin/time -f "ctl_net cpu %U+%S s, %M KB" -o "$d/ct" "$C" mappers "ipc://$d/b" 1000 ${SINGLE:+single}
    wait $bro 2>/dev/null || true
    kill -INT "$(pgrep -P $red)"; wait $red 2>/dev/null || true      # the reducer under time(1)
    echo "    $(cat "$d/bt"); $(cat "$d/rt"); $(cat "$d/ct"); load $(cut -d' ' -f1-3 /proc/loadavg)"
    rm -rf "$d"
done
# The real pipeline: generated TLC rows (~122 bytes) cut into NRUN tasks of 4 KiB. `--format
# jsonl` gives the applied task count with the elapsed time 5 times a second: the tenths are
# read off it (the time each tenth's last task was applied, interpolated between updates).
G=$W/gen-$NRUN
if [ ! -f "$G/truth.json" ]; then
    rm -rf "$G"
    "$T" gen --out "$G/data" --files 4 --rows $((NRUN * 4096 / 122 / 4 + 1)) --eras 2015 --truth "$G/truth.json" \
        > /dev/null 2>&1
fi
for _ in $(seq 1 "$RUNS"); do
    /usr/bin/time -f "%e s wall, %U s user, %S s sys" -o "$W/run.time" \
        "$T" run --input "$G/data" --group-by passenger_count --split-size 4K --format jsonl \
        > "$W/run.jsonl" 2> "$W/run.err" || { cat "$W/run.err"; exit 1; }
    python3 - "$W/run.jsonl" "$(cat "$W/run.time")" <<'PY'
import json, sys
ups = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
n, end = ups[-1]["tasks_total"], ups[-1]["elapsed_s"]
pts = [(0.0, 0)] + [(u["elapsed_s"], u["tasks"]) for u in ups if u["tasks"]]
def when(k):    # the time the k-th task was applied, interpolated
    for (t0, a), (t1, b) in zip(pts, pts[1:]):
        if b >= k:
            return t1 if b == a else t0 + (t1 - t0) * (k - a) / (b - a)
    return end
start = next(t for t, k in pts if k > 0)    # the first update with tasks applied
edges = [when(n * i // 10) if i else start for i in range(11)]
tenths = " ".join("%.0fk" % ((n // 10) / (b - a) / 1000) if b > a else "-" for a, b in zip(edges, edges[1:]))
print("| tally run | %d tasks | %.2f s | %.0f tasks/s | %s | %s |" % (n, end, n / end, tenths, sys.argv[2]))
PY
    tail -1 "$W/run.jsonl" > "$W/run.json"
    python3 tests/tools/check_truth.py "$W/run.json" "$G/truth.json" passenger_count
done
