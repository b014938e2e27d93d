#!/usr/bin/env bash
# Query mode, side by side in one run: rides and distance summed by date, for rows with
# passenger_count > 0, over one page-cached 2015-era CSV from `tally gen` (~843 MB). Peers: the
# plain count (the SIMD fast path) as tally's own ceiling, mawk, and DuckDB (1 thread). tally's
# result is first checked against DuckDB's (same groups, counts, and sums to 1e-9).
#   bench/query.sh [RUNS]     (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh "${1:-5}"
Q=(--group-by 'tpep_pickup_datetime[0:10]' --agg count --agg sum:trip_distance --where 'passenger_count>0')

"$TALLY" scan --input "$F" "${Q[@]}" --format csv > "$W/tally.csv"
node bench/duckdb/query.mjs "$F" > "$W/duckdb.csv"
python3 - "$W/tally.csv" "$W/duckdb.csv" <<'PY'
import csv, math, sys
t = {r[0]: (int(r[1]), float(r[2])) for r in list(csv.reader(open(sys.argv[1])))[1:]}
d = {r[0]: (int(r[1]), float(r[2])) for r in csv.reader(open(sys.argv[2]))}
assert t.keys() == d.keys(), (sorted(t)[:3], sorted(d)[:3])
for k in t:
    assert t[k][0] == d[k][0] and math.isclose(t[k][1], d[k][1], rel_tol=1e-9), (k, t[k], d[k])
print("tally and DuckDB agree on %d dates" % len(t))
PY

hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$W/query.json" \
    -n "tally scan, plain count (fast path)" "$TALLY scan --input $F --group-by passenger_count --format csv" \
    -n "tally scan, query" "$TALLY scan --input $F ${Q[*]:0:2} --agg count --agg sum:trip_distance --where passenger_count>0 --format csv" \
    -n "tally run, query, 2 slots" "$TALLY run --input $F ${Q[*]:0:2} --agg count --agg sum:trip_distance --where passenger_count>0 --slots 2 --format csv" \
    -n "mawk" "mawk -F, 'NR>1 && \$4>0 {d=substr(\$2,1,10); n[d]++; s[d]+=\$5} END {for (k in n) print k \",\" n[k] \",\" s[k]}' $F" \
    -n "DuckDB (1 thread)" "node bench/duckdb/query.mjs $F" > "$W/query-hyperfine.log"

python3 bench/table.py "$W/query.json" "$SIZE" "tally scan, query"
