#!/usr/bin/env bash
# A slot's memory is bounded by the largest page and dictionary it holds, not by the column chunk
# (mapper/work.c's windowed source over lib/core/parquet/column.h's tl_pq_src_t). gen writes two
# TLC-shaped months of 3 M rows, each ONE row group, stored uncompressed; the second falls back
# from dictionaries to PLAIN pages past 1,024 entries, as parquet-cpp does for high-cardinality
# columns, so a 5-column query over it needs tens of MB of column chunks (measured below).
#  1. The query, one mapper with one slot, with the default 4 MiB window, a 64 KiB one, a 1-byte
#     one (every read its own GET of just what the reader asks for) and one past every chunk
#     (each chunk in one GET, as the mapper read before the window): the same output, and the
#     same bytes fetched, the footer plus each needed chunk once (nothing is read twice).
#  2. Their peak RSS (/usr/bin/time -v: the largest process of the run, the mapper whose slot
#     reads the chunks): the default window saves at least half the needed chunk bytes against
#     the whole-chunk one, which holds every needed chunk at once (structural; no timing). A
#     sanitizer build reports the numbers without comparing them.
#  3. Exact against gen's truth through the window: passenger_count over both files, and the
#     sums of four DOUBLE columns (VendorID the fifth) against the truth's per-file sums.
#  4. The same over HTTP (nginx, ranged GETs) with a 64 KiB window.
# Sizes: the RSS comparison needs 3 M rows a month (tens of MB of needed chunks against a window
# of 4 MiB). A sanitizer build compares no RSS (its quarantine holds every freed GET buffer), so
# there the months have 1 M rows, which is what 1-3 need: three of the five needed chunks are
# then 8 MB (checked below: the needed bytes average more than a 4 MiB window), so every window
# still slides within a chunk, and the outputs and bytes fetched must still agree. Generating
# 6 M rows under ASan was two thirds of this test's time in CI.
. "$(dirname "$0")/lib.sh"
[ -x /usr/bin/time ] || fail "/usr/bin/time is not installed (Debian: apt-get install time)"
SANITIZED=0 ROWS=3000000
if ldd "$TALLY" 2> /dev/null | grep -q libasan || grep -qa __asan_init "$TALLY"; then
    SANITIZED=1 ROWS=1000000
fi
"$TALLY" gen --format parquet --out "$T/big" --files 2 --rows $ROWS --row-group $ROWS --eras 2023-02 \
    --codec none --seed 5 2> "$T/gen.log" || fail "tally gen"
F=$T/big/yellow_tripdata_2023-03.parquet
[ -f "$F" ] || fail "gen names: $(ls "$T/big")"
Q=(--group-by 'tpep_pickup_datetime[0:10]' --agg sum:trip_distance --agg max:fare_amount --agg sum:tip_amount
   --where 'passenger_count > 0')

# 1. every window size: the same output and the same bytes fetched; 2. their peak RSS
for win in 1G 4M 64K 1; do
    TALLY_PQ_WINDOW=$win /usr/bin/time -v "$TALLY" run --input "$F" --mappers 1 --slots 1 "${Q[@]}" --format json \
        > "$T/w$win.json" 2> "$T/w$win.log" || fail "window $win: $(tail -3 "$T/w$win.log")"
    awk -F': ' '/Maximum resident set size/ { print $2 * 1024 }' "$T/w$win.log" > "$T/w$win.rss"
done
python3 - "$T" "$ROWS" <<'PY' || fail "window sizes disagree"
import json, sys
t = sys.argv[1]
runs = {w: json.loads(open(f"{t}/w{w}.json").read().strip().splitlines()[-1]) for w in ("1G", "4M", "64K", "1")}
want = runs["1G"]
assert want["ok"] and want["rows"] > int(sys.argv[2]) * 5 // 6, want
for w, r in runs.items():
    if r["groups"] != want["groups"] or r["rows"] != want["rows"] or r["filtered_rows"] != want["filtered_rows"]:
        sys.exit(f"window {w}: groups or rows differ from the whole-chunk read")
    if r["fetched"] != want["fetched"]:
        sys.exit(f"window {w}: fetched {r['fetched']} bytes, the whole-chunk read {want['fetched']}")
PY
FETCHED=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])['fetched'])" "$T/w1G.json")
NEEDED=$((FETCHED - 65536))   # the mapper's footer read is the object's last 64 KiB
pass "windows 1G (whole chunks), 4M, 64K, 1 byte: the same groups, and each fetched $FETCHED bytes ($NEEDED of needed chunks)"

mb () { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e6:.1f} MB')" "$1"; }
WHOLE=$(cat "$T/w1G.rss") STREAM=$(cat "$T/w4M.rss") SMALL=$(cat "$T/w64K.rss") TINY=$(cat "$T/w1.rss")
echo "  needed chunks $(mb "$NEEDED"); peak RSS: whole chunks $(mb "$WHOLE"), 4 MiB window $(mb "$STREAM"),"\
     "64 KiB $(mb "$SMALL"), 1 byte $(mb "$TINY")"
# Under ASan freed memory waits in its quarantine, so RSS grows with every GET's buffers: it
# measures the sanitizer there, not the reader.
if [ $SANITIZED = 1 ]; then
    [ "$NEEDED" -ge $((5 * 4 * 1048576)) ] ||
        fail "the five needed chunks are only $(mb "$NEEDED"): on average no larger than one 4 MiB window"
    echo "  a sanitizer build ($ROWS rows a month): peak RSS reported, not compared"
else
    [ "$NEEDED" -ge 50000000 ] || fail "the query needs only $(mb "$NEEDED") of chunks: too little to measure"
    [ $((STREAM + NEEDED / 2)) -lt "$WHOLE" ] ||
        fail "peak RSS $(mb "$STREAM") with the window, $(mb "$WHOLE") with whole chunks: less than half of $(mb "$NEEDED") saved"
    [ "$SMALL" -le "$STREAM" ] || fail "a 64 KiB window took more memory ($(mb "$SMALL")) than a 4 MiB one ($(mb "$STREAM"))"
    pass "peak RSS $(mb "$STREAM") with the 4 MiB window against $(mb "$WHOLE") reading whole chunks ($(mb "$NEEDED") needed)"
fi

# 3. exact against the truth, through a small window
TALLY_PQ_WINDOW=64K "$TALLY" run --input "$T/big" --mappers 1 --group-by passenger_count --format json \
    > "$T/pc.json" 2> "$T/pc.log" || fail "count: $(tail -3 "$T/pc.log")"
check_truth "$T/pc.json" "$T/big.truth.json" passenger_count || fail "passenger_count through a 64 KiB window"
TALLY_PQ_WINDOW=64K "$TALLY" run --input "$F" --mappers 1 --group-by VendorID --agg sum:trip_distance \
    --agg sum:fare_amount --agg sum:tip_amount --agg sum:total_amount --format json > "$T/sums.json" 2> "$T/sums.log" ||
    fail "sums: $(tail -3 "$T/sums.log")"
python3 - "$T/sums.json" "$T/big.truth.json" "$(basename "$F")" <<'PY' || fail "sums differ from the truth"
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
f = next(x for x in json.load(open(sys.argv[2]))["parquet"] if x["file"] == sys.argv[3])
truth = {c["name"]: int(c["sum"]) / 100 for c in f["columns"]}       # DOUBLE sums are in cents
assert r["rows"] == f["rows"], (r["rows"], f["rows"])
for col in ("trip_distance", "fare_amount", "tip_amount", "total_amount"):
    got = sum(g["values"][f"sum({col})"] for g in r["groups"])
    if abs(got - truth[col]) > 1e-9 * abs(truth[col]):
        sys.exit(f"{col}: sum {got!r}, truth {truth[col]!r}")
PY
pass "through a 64 KiB window: passenger_count exact over both files, four column sums equal the truth's"

# 4. over HTTP: many ranged GETs, the same result
start_nginx "$T/big"
TALLY_PQ_WINDOW=64K "$TALLY" run --input "$HTTP_BASE/$(basename "$F")" --mappers 1 "${Q[@]}" --format json \
    > "$T/http.json" 2> "$T/http.log" || fail "http: $(tail -3 "$T/http.log")"
python3 - "$T/http.json" "$T/w1G.json" <<'PY' || fail "over http: not the local result"
import json, sys
a, b = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:])
assert a["groups"] == b["groups"] and a["rows"] == b["rows"], "groups differ"
PY
sleep 0.3   # nginx writes its log line after the response
reqs=$(grep -c "/$(basename "$F") " "$T/nginx/access.log")
pass "over http with a 64 KiB window: the same groups, in $reqs requests"
