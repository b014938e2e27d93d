#!/usr/bin/env bash
# Exact or loud, S3 inputs (red team, session 9): an input that names one object in full
# (s3://bkt/d/2020-01.csv) was listed as a prefix, so every object whose key starts with it was
# counted too: a gzip copy (d/2020-01.csv.gz) and a backup (d/2020-01.csv.bak) tripled the
# rows, exit 0. A key that is an object is now that object alone; a key that is no object, a
# key ending in '/', and a glob still list as before.
. "$(dirname "$0")/lib.sh"
start_moto
python3 - "$ENDPOINT" <<'PY'
import boto3, gzip, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="bkt")
body = b"a\n1\n2\n"
s3.put_object(Bucket="bkt", Key="d/2020-01.csv", Body=body)
s3.put_object(Bucket="bkt", Key="d/2020-01.csv.gz", Body=gzip.compress(body))
s3.put_object(Bucket="bkt", Key="d/2020-01.csv.bak", Body=b"a\n9\n")
PY
check () {    # check INPUT WANT-ROWS
    local cmd got
    for cmd in "scan" "run -q"; do
        # shellcheck disable=SC2086
        "$TALLY" $cmd --input "$1" --endpoint-url "$ENDPOINT" --group-by a --format json > "$T/o.json" 2> "$T/o.log" \
            || fail "$cmd $1: exit $? ($(cat "$T/o.log"))"
        got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["rows"])' "$T/o.json")
        [ "$got" = "$2" ] || fail "$cmd $1: $got rows, want $2"
    done
}
check s3://bkt/d/2020-01.csv 2
check s3://bkt/d/2020-01.csv.gz 2
pass "a key named in full is that object alone (not d/2020-01.csv.gz and .bak too)"
check s3://bkt/d/2020 5
check s3://bkt/d/ 5
check 's3://bkt/d/2020-01.csv*' 5
pass "a prefix that is no object, a folder and a glob list every object under them"
