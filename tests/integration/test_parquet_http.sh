#!/usr/bin/env bash
# Parquet over HTTP from nginx, and inputs without a listing.
#  1. Projection: a TLC-shaped 19-column month (1 M rows) served by nginx; counting
#     passenger_count moves under 3% of the object's bytes, as nginx's access log counts them
#     (every request of the job: the broker's probe, the mapper's footer and chunk reads).
#  2. --input-from (comments, blank lines, '-' for stdin), brace ranges ({01..04} zero-padded,
#     two braces as a product), a 404 that fails the job naming the object, and --skip-missing,
#     which turns it into a warning counted in the broker's summary; counts stay exact.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/www"
"$TALLY" gen --format parquet --out "$T/www" --files 1 --rows 1000000 --eras 2023-02 --codec zstd --seed 31 \
    2> "$T/gen-pq.log"
"$TALLY" gen --out "$T/csv" --files 4 --rows 3000 --eras 2015 --seed 32 2> "$T/gen-csv.log"
cp "$T/csv"/*.csv "$T/www/"
ls "$T/www" > "$T/files.txt"
grep -q "yellow_tripdata_2015-04.csv" "$T/files.txt" || fail "gen names: $(cat "$T/files.txt")"
start_nginx "$T/www"
PQ=yellow_tripdata_2023-02.parquet
SIZE=$(stat -c %s "$T/www/$PQ")

# 1. projection
: > "$T/nginx/access.log"
"$TALLY" run --input "$HTTP_BASE/$PQ" --group-by passenger_count --mappers 1 --format json \
    > "$T/pq.json" 2> "$T/pq.log" || fail "count over http"
check_truth "$T/pq.json" "$T/www.truth.json" passenger_count || fail "count over http: not exact"
sleep 0.3   # nginx writes its log line after the response
sent=$(awk -v f="/$PQ" '$7 == f { s += $10 } END { print s + 0 }' "$T/nginx/access.log")
reqs=$(grep -c "/$PQ " "$T/nginx/access.log")
python3 -c "import sys; s, n = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if 0 < s < 0.03 * n else 1)" "$sent" "$SIZE" ||
    fail "fetched $sent of $SIZE bytes over http (want < 3%)"
pass "projection over http: $sent of $SIZE bytes sent by nginx ($(python3 -c "print(f'{100*$sent/$SIZE:.2f}')")%) in $reqs requests, exact counts"

# 2. inputs without a listing
python3 - "$T/csv.truth.json" "$T/www.truth.json" "$T/all.truth.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
m = {"rows": a["rows"] + b["rows"], "bad_rows": a["bad_rows"] + b["bad_rows"], "by_column": {}}
d = dict(a["by_column"]["passenger_count"])
for k, v in b["by_column"]["passenger_count"].items():
    d[k] = d.get(k, 0) + v
m["by_column"]["passenger_count"] = d
json.dump(m, open(sys.argv[3], "w"))
PY
{
    echo "# the four CSV months and the Parquet month"
    echo ""
    for f in yellow_tripdata_2015-01.csv yellow_tripdata_2015-02.csv; do echo "  $HTTP_BASE/$f  "; done
    echo "$HTTP_BASE/yellow_tripdata_2015-{03..04}.csv"
    echo "# $HTTP_BASE/not-this-one.csv"
    echo "$HTTP_BASE/$PQ"
} > "$T/list.txt"
"$TALLY" run --input-from "$T/list.txt" --group-by passenger_count --format json > "$T/from.json" 2> "$T/from.log" ||
    fail "--input-from: $(tail -3 "$T/from.log")"
check_truth "$T/from.json" "$T/all.truth.json" passenger_count || fail "--input-from: not exact"
"$TALLY" run --input-from - --group-by passenger_count --format json < "$T/list.txt" > "$T/stdin.json" 2> "$T/stdin.log" ||
    fail "--input-from -: $(tail -3 "$T/stdin.log")"
check_truth "$T/stdin.json" "$T/all.truth.json" passenger_count || fail "--input-from -: not exact"
pass "--input-from FILE and - (comments, blank lines, spaces, a brace range inside): exact"

"$TALLY" run --input "$HTTP_BASE/yellow_tripdata_{2015..2015}-{01..04}.csv" --input "$HTTP_BASE/$PQ" \
    --group-by passenger_count --format json > "$T/brace.json" 2> "$T/brace.log" || fail "brace ranges: $(tail -3 "$T/brace.log")"
check_truth "$T/brace.json" "$T/all.truth.json" passenger_count || fail "brace ranges: not exact"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['tasks_total'] == 5, r['tasks_total']" "$T/brace.json" ||
    fail "brace ranges: want 5 objects"
pass "brace ranges {2015..2015}-{01..04}: 4 objects, zero-padded, exact"

rc=0
"$TALLY" run --input "$HTTP_BASE/yellow_tripdata_2015-{01..05}.csv" --group-by passenger_count --format json \
    > "$T/404.json" 2> "$T/404.log" || rc=$?
[ $rc -ne 0 ] || fail "a 404 did not fail the job"
grep -q "yellow_tripdata_2015-05.csv.*404" "$T/404.log" || fail "the 404 is not named: $(cat "$T/404.log")"
pass "a 404 fails the job and names the object: $(grep -m1 -o "cannot list.*" "$T/404.log")"

"$TALLY" run --input "$HTTP_BASE/yellow_tripdata_2015-{01..05}.csv" --input "$HTTP_BASE/$PQ" --skip-missing \
    --group-by passenger_count --format json -v > "$T/skip.json" 2> "$T/skip.log" || fail "--skip-missing: $(tail -3 "$T/skip.log")"
check_truth "$T/skip.json" "$T/all.truth.json" passenger_count || fail "--skip-missing: not exact"
grep -q "1 input(s) were not found and were left out (--skip-missing)" "$T/skip.log" || fail "--skip-missing: not counted in the summary"
grep -q "yellow_tripdata_2015-05.csv is missing" "$T/skip.log" || fail "--skip-missing: the missing object is not named"
pass "--skip-missing: the 404 is a warning, counted in the broker's summary; exact"

# A brace range too big is refused in one line.
rc=0
"$TALLY" run --input "$HTTP_BASE/x{1..400}-{1..400}.csv" --group-by passenger_count > /dev/null 2> "$T/big.log" || rc=$?
[ $rc -ne 0 ] && grep -q "expands to more than 100000 URIs" "$T/big.log" || fail "an oversized brace range: $(cat "$T/big.log")"
pass "an oversized brace range is refused: $(grep -m1 -o "'.*URIs" "$T/big.log")"
