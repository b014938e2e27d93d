#!/usr/bin/env bash
# Compressed objects: gzip (one member and several), zstd and plain CSVs side by side, from
# local files and from moto S3 (ranged reads). Compressed objects are never cut into ranges.
# A truncated gzip fails the job with the object named, and so does a gzip named .csv that
# would be split.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 6 --rows 6000 --seed 53 2> "$T/gen.log"
cd "$T/data"
gzip yellow_tripdata_2009-01.csv
zstd -q --rm yellow_tripdata_2012-01.csv
f=yellow_tripdata_2014-01.csv            # two gzip members in a row: header + half, then the rest
head -n 3000 "$f" | gzip > "$f.gz"
tail -n +3001 "$f" | gzip >> "$f.gz"
rm "$f"
cd - > /dev/null
ls "$T/data" > "$T/files.txt"

"$TALLY" run --input "$T/data" --group-by passenger_count --split-size 100K --mappers 2 --format json \
    > "$T/local.json" 2> "$T/local.log"
check_truth "$T/local.json" "$T/data.truth.json" passenger_count || fail "compressed, local"
python3 - "$T/local.json" <<'PY' || fail "compressed objects were split, or plain ones were not"
import json, sys
r = json.load(open(sys.argv[1]))
# 3 plain files of ~700 KB cut at 100 KB (7-8 ranges each) plus 3 whole compressed objects.
assert r["tasks_total"] > 3 + 3 * 5, r["tasks_total"]
PY
pass "gzip (single and multi-member), zstd and plain files together, plain ones split: exact"

start_moto
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" nyc-tlc "trip data/" "$T/data"
"$TALLY" run --input "s3://nyc-tlc/trip data/" --endpoint-url "$ENDPOINT" --group-by passenger_count \
    --range-size 32K --concurrency 3 --format json > "$T/s3.json" 2> "$T/s3.log"
check_truth "$T/s3.json" "$T/data.truth.json" passenger_count || fail "compressed, s3"
pass "the same from S3, read as concurrent 32 KB ranges and decompressed in order: exact"

mkdir -p "$T/bad"
head -c 20000 "$T/data/yellow_tripdata_2009-01.csv.gz" > "$T/bad/cut.csv.gz"
"$TALLY" run --input "$T/bad" --group-by passenger_count > /dev/null 2> "$T/cut.log" && fail "a truncated gzip counted as success"
grep -q "cut.csv.gz: gzip data ends early" "$T/cut.log" || fail "truncated gzip not explained: $(grep ERROR "$T/cut.log" | head -2)"
mkdir -p "$T/mis"
cp "$T/data/yellow_tripdata_2009-01.csv.gz" "$T/mis/looks_plain.csv"
"$TALLY" run --input "$T/mis" --group-by passenger_count --split-size 64K > /dev/null 2> "$T/mis.log" \
    && fail "a split gzip counted as success"
grep -q "looks_plain.csv is .*compressed and cannot be split" "$T/mis.log" || fail "split gzip not explained"
"$TALLY" run --input "$T/mis" --group-by passenger_count --split-size 0 --format json > "$T/mis.json" 2> "$T/mis0.log" \
    || fail "a gzip named .csv with --split-size 0 failed"
pass "truncated gzip and a gzip named .csv cut into ranges: the job fails and names the object"

# Zero padding after the last member (tar leaves it; gzip -d ignores it) is not data; a
# non-zero byte after it is corruption.
mkdir -p "$T/pad" "$T/padbad" "$T/padplain"
f=$(ls "$T/data"/*.csv | head -n 1)
cp "$f" "$T/padplain/"
{ gzip -c "$f"; head -c 70000 /dev/zero; } > "$T/pad/p.csv.gz"
"$TALLY" scan --input "$T/pad" --group-by passenger_count --format json > "$T/pad.json" 2> "$T/pad.log" \
    || fail "a gzip with zero padding failed: $(tail -2 "$T/pad.log")"
python3 "$TALLY_SRC/tests/tools/ref_query.py" "$T/pad.json" "$T/padplain" --group-by passenger_count > /dev/null \
    || fail "a gzip with zero padding: totals differ from Python's count of the plain file"
{ gzip -c "$f"; head -c 500 /dev/zero; printf 'x'; } > "$T/padbad/q.csv.gz"
"$TALLY" scan --input "$T/padbad" --group-by passenger_count > /dev/null 2> "$T/padbad.log" \
    && fail "a gzip with a byte after its zero padding counted as success"
grep -q "neither another member nor zero padding" "$T/padbad.log" || fail "padding garbage not explained: $(tail -2 "$T/padbad.log")"
# A member after the padding: gzip -d drops it (trailing garbage), Python reads it; either way
# one of them is wrong, so the object fails, and the message says what to do.
mkdir -p "$T/padmember"
{ gzip -c "$f"; head -c 500 /dev/zero; gzip -c "$f"; } > "$T/padmember/m.csv.gz"
"$TALLY" scan --input "$T/padmember" --group-by passenger_count > /dev/null 2> "$T/padmember.log" \
    && fail "a gzip member after zero padding counted as success"
grep -q "another member after zero padding" "$T/padmember.log" || fail "member after padding not explained: $(tail -2 "$T/padmember.log")"
pass "zero padding after the last gzip member is skipped (exact); a byte after it fails the object"
