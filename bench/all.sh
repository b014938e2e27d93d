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
echo; echo "## Control plane"; echo; bench/ctl.sh "${RUNS:-5}"
echo; echo "## Fleet simulation"; echo; build-rel/sim
echo; echo "Full scheduler on other seeds (12 mappers / 1,000 mappers):"; echo
for seed in 1 2 3 4 5; do
    build-rel/sim "$seed" | awk -F'|' -v s="$seed" '/mappers x/ {gsub(/ /, "", $7); r = r (r ? " / " : "") $7} END {print "* seed " s ": " r}'
done
echo; echo "## Tail stealing"; echo; bench/steal.sh 3
echo; echo "## Parquet"; echo; bench/parquet.sh "${RUNS:-5}"
