#!/usr/bin/env bash
# Ground truth from moto's S3 under "trip data/" (a key prefix with a space and a zero-byte
# folder object), signed requests, 1 and 3 mappers, whole objects and byte ranges.
. "$(dirname "$0")/lib.sh"
start_moto

"$TALLY" gen --out "$T/data" --files 12 --rows 3000 --eras 2009,2011,2014,2016,2018,2021 --seed 11 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" nyc-tlc "trip data/" "$T/data" --folder-marker

for m in 1 3; do
    "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count --endpoint-url "$ENDPOINT" \
        --mappers $m --slots 2 --format json > "$T/s3_$m.json" 2> "$T/s3_$m.log"
    check_truth "$T/s3_$m.json" "$TRUTH" passenger_count || fail "s3 with $m mapper(s)"
    pass "s3 prefix with a space, $m mapper(s): exact"
done

# Objects cut into 50 KB ranges: ranged GETs, header fetch per range, the line rule.
"$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by passenger_count --endpoint-url "$ENDPOINT" \
    --mappers 2 --slots 2 --split-size 50K --format json > "$T/split.json" 2> "$T/split.log"
check_truth "$T/split.json" "$TRUTH" passenger_count || fail "s3 split into ranges"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['tasks'] > 12 * 5, r['tasks']" "$T/split.json" \
    || fail "expected many range tasks"
pass "s3 objects split into byte ranges: exact"

# The endpoint from the environment, as AWS tools take it.
AWS_ENDPOINT_URL="$ENDPOINT" "$TALLY" run --input "s3://nyc-tlc/trip data/" --group-by 1 --format json \
    > "$T/env.json" 2> "$T/env.log"
check_truth "$T/env.json" "$TRUTH" 1 || fail "AWS_ENDPOINT_URL"
pass "AWS_ENDPOINT_URL honoured, group by column 1: exact"

# The zero-byte folder object "trip data/" is listed by S3 but must not become a task.
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['tasks_total'] == 12, r['tasks_total']" \
    "$T/s3_1.json" || fail "folder object became a task"
pass "zero-byte folder object left out (12 tasks for 12 files)"
