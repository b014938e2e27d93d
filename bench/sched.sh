#!/usr/bin/env bash
# The scheduler at scale, pure code (no sockets):
#   build-rel/sim --mappers 1000 --slots 1 --tasks 1000000    makespan / ideal, and the time
#                                                             spent inside the scheduler's calls
#   build-rel/ctl N sched  (N = 100,000 and 1,000,000)         dispatch throughput, with the first
#                                                             and the last tenth of the tasks
#   bench/sched.sh [RUNS]   (default 3; sim rows are one run each, ctl takes its best of 5 itself)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
B=${BUILD:-build-rel}
[ -x "$B/sim" ] && [ -x "$B/ctl" ] || { cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build "$B" -j --target sim ctl; }
echo "### fleet simulator, tally's strategy (pull + 64 MB splits + steals + backups)"
echo
"$B/sim" --mappers 1000 --slots 1 --tasks 1000000 | head -2
for _ in $(seq 1 "$RUNS"); do
    "$B/sim" --mappers 1000 --slots 1 --tasks 1000000 | tail -1
    "$B/sim" --mappers 100 --slots 8 --tasks 100000 | tail -1
done
echo
echo "### pure scheduler throughput (1,000 mappers x 8 slots; best of 5 per row)"
echo
echo "| measure | size | time | rate | per tenth |"
echo "|---|---|---|---|---|"
for _ in $(seq 1 "$RUNS"); do
    for n in 100000 1000000; do "$B/ctl" "$n" sched; done
done
