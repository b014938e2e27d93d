#!/usr/bin/env bash
# Scan speed, side by side in one run: count passenger_count over one page-cached TLC-like
# CSV from `tally gen` (~843 MB). Peers: wc -l (the byte-scan ceiling), mawk, DuckDB (1 thread),
# the experiment's `cut -d, -f1-5 | pypy3` loop, and tally scan with each scanner. Then
# `tally run` with 1 and 2 slots (the same file, cut into 64 MB ranges).
#   bench/scan.sh [RUNS]     (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh "${1:-5}"

# Results first: tally must match ground truth with every scanner before anything is timed.
for s in scalar sse2 avx2; do
    TALLY_SCANNER=$s "$TALLY" scan --input "$F" --group-by passenger_count --format json > "$W/$s.json"
    python3 tests/tools/check_truth.py "$W/$s.json" "$W/data.truth.json" passenger_count > /dev/null \
        || { echo "tally ($s) disagrees with ground truth" >&2; exit 1; }
done

hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$W/scan.json" \
    -n "wc -l" "wc -l $F" \
    -n "tally scan (avx2)" "env TALLY_SCANNER=avx2 $TALLY scan --input $F --group-by passenger_count --format csv" \
    -n "tally scan (sse2)" "env TALLY_SCANNER=sse2 $TALLY scan --input $F --group-by passenger_count --format csv" \
    -n "tally scan (scalar)" "env TALLY_SCANNER=scalar $TALLY scan --input $F --group-by passenger_count --format csv" \
    -n "tally run, 1 slot" "$TALLY run --input $F --group-by passenger_count --slots 1 --format csv" \
    -n "tally run, 2 slots" "$TALLY run --input $F --group-by passenger_count --slots 2 --format csv" \
    -n "mawk" "mawk -F, 'NR>1 && NF>=4 {c[\$4]++} END {for (k in c) print k \",\" c[k]}' $F" \
    -n "DuckDB (1 thread)" "node bench/duckdb/count.mjs $F passenger_count" \
    -n "cut + pypy3 (experiment)" "bash -c 'cut -d, -f1-5 $F | pypy3 bench/count.py'" > "$W/hyperfine.log"

echo "file: $((SIZE / 1000000)) MB, page-cached; medians of $RUNS runs (hyperfine)"; echo
python3 bench/table.py "$W/scan.json" "$SIZE" "wc -l" "tally scan (avx2)"
python3 - "$W/scan.json" <<'PY'
import json, statistics, sys
med = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
tally = med["tally scan (avx2)"]
bound = 1.2 * tally + 0.1
print(f"\n`tally run`, 1 slot: {med['tally run, 1 slot']:.3f} s against the bound 1.2 × scan + 0.1 s = {bound:.3f} s")
PY

# The fixed start-up of `tally run` (reducer, broker and mapper processes, their sockets, the
# result, the exit) on a 1 MB file, next to `tally scan` on it.
head -c 1000000 "$F" > "$W/small.csv"
hyperfine -N --runs 20 --warmup 2 --export-json "$W/startup.json" \
    -n "tally scan, 1 MB" "$TALLY scan --input $W/small.csv --group-by passenger_count --format csv" \
    -n "tally run, 1 MB" "$TALLY run --input $W/small.csv --group-by passenger_count --slots 1 --format csv -q" \
    > /dev/null 2>&1
python3 - "$W/startup.json" <<'PY'
import json, sys
med = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
print(f"Start-up, medians of 20 runs on a 1 MB file: tally scan {med['tally scan, 1 MB'] * 1000:.0f} ms, "
      f"tally run {med['tally run, 1 MB'] * 1000:.0f} ms (run's own fixed cost: "
      f"{(med['tally run, 1 MB'] - med['tally scan, 1 MB']) * 1000:.0f} ms)")
PY
