#!/usr/bin/env bash
# Every benchmark, one after another, into one report (markdown tables on stdout).
set -euo pipefail
cd "$(dirname "$0")/.."
bench/deps > /dev/null
cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build-rel -j > /dev/null
echo "## Machine"; echo
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(free -g | awk '/Mem:/ {print $2}') GiB"
echo; echo "## Scan"; echo; bench/scan.sh "${RUNS:-5}"
echo; echo "## Slot scaling"; echo; bench/slots.sh "${RUNS:-5}"
echo; echo "## Query mode"; echo; bench/query.sh "${RUNS:-5}"
echo; echo "## HTTP pipeline"; echo; bench/http.sh "${RUNS:-5}"
echo; echo "## Memory"; echo; bench/memory.sh
echo; echo "## Control plane"; echo
echo "| what | work | time | rate |"; echo "|---|---|---|---|"
build-rel/ctl 1000000
d=$(mktemp -d)
build-rel/tally reducer -q --listen "ipc://$d/r" --publish "ipc://$d/p" 2>/dev/null & red=$!
sleep 0.3; build-rel/ctl_net reducer "ipc://$d/r" 200000; kill $red; wait $red 2>/dev/null || true
build-rel/tally reducer -q --listen "ipc://$d/r2" --publish "ipc://$d/p2" 2>/dev/null & red=$!
build-rel/tally broker -q --listen "ipc://$d/b" --reducer "ipc://$d/r2" --group-by passenger_count --split-size 16K \
    --input "${BENCH_DIR:-/tmp/tally-bench-scan}/data/yellow_tripdata_2015-01.csv" 2>/dev/null &
sleep 0.5; build-rel/ctl_net mappers "ipc://$d/b" 1000; wait %2 2>/dev/null || true; kill $red; wait $red 2>/dev/null || true
rm -rf "$d"
echo; echo "## Fleet simulation"; echo; build-rel/sim
echo; echo "## Tail stealing"; echo; bench/steal.sh 3
