#!/usr/bin/env bash
# rt14 F2: an S3 key with glob characters that is itself an object. The README: "a key that is
# an object is that object alone", and so it is for a local path. On S3 the name was taken as a
# glob: s3://bkt/g/[x].csv counted the object g/x.csv (4 rows) instead of g/[x].csv (3 rows),
# and s3://bkt/g/a*b.csv counted g/aXb.csv beside g/a*b.csv; both ok, exit 0. No escape
# (a\*b.csv) names it either. Needs moto (python3 -m moto.server) and boto3.
# usage: TALLY=build-rel/tally bash findings/rt14_s3_glob_key.sh
set -u
: "${TALLY:?TALLY must point at the tally binary}"
PORT=${PORT:-25891}
python3 -m moto.server -H 127.0.0.1 -p "$PORT" > /dev/null 2>&1 & MOTO=$!
trap 'kill $MOTO' EXIT
sleep 3
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
EP=http://127.0.0.1:$PORT
python3 - "$EP" <<'PY'
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="bkt")
for k, n in {"g/[x].csv": 3, "g/x.csv": 4, "g/a*b.csv": 1, "g/aXb.csv": 2}.items():
    s3.put_object(Bucket="bkt", Key=k, Body=("k\n" + "%s\n" % k.split("/")[1] * n).encode())
PY
for key in 'g/[x].csv' 'g/a*b.csv'; do
    echo "== s3://bkt/$key (the object holds $(python3 -c "print({'g/[x].csv':3,'g/a*b.csv':1}['$key'])") row(s)):"
    "$TALLY" run -q --endpoint-url "$EP" --input "s3://bkt/$key" --group-by k --format csv; echo "exit $?"
done
