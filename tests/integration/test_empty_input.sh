#!/usr/bin/env bash
# Exact or loud, inputs (red team, session 9): of several inputs, one that lists no objects (a
# glob with a typo, an empty S3 prefix or folder, an empty local folder) was left out without a
# word and the job ended ok, exit 0, counting the other inputs only (a missing key and a brace
# range already failed). It now fails like a missing key, naming the input; --skip-missing makes
# it a warning. A prefix holding only empty "folder" objects is still not an error.
. "$(dirname "$0")/lib.sh"
start_moto
python3 - "$ENDPOINT" <<'PY'
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="bkt")
s3.put_object(Bucket="bkt", Key="d/2020-01.csv", Body=b"a\n1\n2\n")
s3.put_object(Bucket="bkt", Key="f/", Body=b"")
PY
mkdir -p "$T/empty"
for bad in 's3://bkt/d/2021-*.csv' 's3://bkt/e/' "$T/empty"; do
    for cmd in "scan" "run -q"; do
        rc=0
        # shellcheck disable=SC2086
        "$TALLY" $cmd --input "$bad" --input s3://bkt/d/2020-01.csv --endpoint-url "$ENDPOINT" --group-by a \
            > /dev/null 2> "$T/e.log" || rc=$?
        [ "$rc" -ne 0 ] || fail "$cmd: $bad matched nothing and the job exited 0"
        grep -q "matches no objects" "$T/e.log" || fail "$cmd $bad: $(cat "$T/e.log")"
    done
done
pass "a glob, a prefix or a folder that matches nothing fails the job, naming it (scan and run)"
"$TALLY" run -q --skip-missing --input 's3://bkt/d/2021-*.csv' --input s3://bkt/d/2020-01.csv \
    --endpoint-url "$ENDPOINT" --group-by a --format json > "$T/s.json" 2> "$T/s.log" || fail "--skip-missing: exit $?"
grep -q '"rows":2' "$T/s.json" && grep -q "matches no objects" "$T/s.log" || fail "--skip-missing: $(cat "$T/s.log")"
pass "--skip-missing leaves it out with a warning"
"$TALLY" run -q --input s3://bkt/f/ --input s3://bkt/d/2020-01.csv --endpoint-url "$ENDPOINT" --group-by a \
    --format json > "$T/f.json" 2> "$T/f.log" || fail "a prefix with only a folder object: exit $? ($(cat "$T/f.log"))"
pass "a prefix holding only an empty folder object is not an error"
