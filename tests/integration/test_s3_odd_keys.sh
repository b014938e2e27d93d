#!/usr/bin/env bash
# S3 keys are names, not paths (red team, session 11). curl squashed "/../" and "/./" in a URL's
# path, so the key d/x/../q.csv was read from the object d/q.csv: its bytes counted as the listed
# object's, exit 0, when the two had the same size and the server did not check If-Match (moto;
# AWS would refuse the signature, or answer 412, and blame "object changed"). The path now goes
# out as it is. Keys with spaces, '+', '%' and UTF-8, and a doubled slash, are read as named.
# A key that holds glob characters and is an object is that object alone, as a local path is
# (red team, session 14: s3://b/g/[x].csv counted g/x.csv instead, and g/a*b.csv counted
# g/aXb.csv beside it, ok); a glob that names no object still matches.
# And a key named in full that is an empty object was listed as a prefix, so its neighbour
# d/e.csv.bak was counted in its place (ok: true); it is now that object alone, as a non-empty
# one has been since session 9: nothing to count.
. "$(dirname "$0")/lib.sh"
start_moto
python3 - "$ENDPOINT" <<'PY'
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.create_bucket(Bucket="bkt")
for key, body in {"d/x/../q.csv": "k\n5\n", "d/q.csv": "k\n6\n", "d/./z.csv": "k\n7\n", "d/z.csv": "k\n8\n",
                  "d//w.csv": "k\n9\n", "d/a b+c%20é.csv": "k\n4\n", "e/e.csv": "", "e/e.csv.bak": "k\n3\n",
                  "g/a*b.csv": "k\n1\n", "g/aXb.csv": "k\n2\n", "g/[x].csv": "k\n3\n", "g/x.csv": "k\n4\n",
                  "g/a?c.csv": "k\n5\n", "g/abc.csv": "k\n6\n"}.items():
    s3.put_object(Bucket="bkt", Key=key, Body=body.encode())
PY
check () {    # check KEY WANT-CSV-BODY
    local cmd
    for cmd in "scan" "run -q"; do
        # shellcheck disable=SC2086
        "$TALLY" $cmd --input "s3://bkt/$1" --endpoint-url "$ENDPOINT" --group-by k --format csv > "$T/o.csv" 2> "$T/o.log" \
            || fail "$cmd $1: exit $? ($(cat "$T/o.log"))"
        [ "$(tail -n +2 "$T/o.csv" | tr '\n' ' ')" = "$2" ] || fail "$cmd $1: got $(tr '\n' ' ' < "$T/o.csv"), want $2"
    done
}
check "d/x/../q.csv" "5,1 "
check "d/./z.csv" "7,1 "
check "d//w.csv" "9,1 "
check "d/a b+c%20é.csv" "4,1 "
pass "keys with /../, /./, //, spaces, '+', '%' and UTF-8 are read as named"
check "d/" "4,1 5,1 6,1 7,1 8,1 9,1 "
pass "a prefix over them counts each object once"

"$TALLY" scan --input "s3://bkt/e/e.csv" --endpoint-url "$ENDPOINT" --group-by k --format json > "$T/e.json" 2> "$T/e.log" \
    || fail "scan of an empty object: exit $?"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["rows"] == 0 and d["groups"] == [], d' "$T/e.json" \
    || fail "scan of an empty object counted: $(cat "$T/e.json")"
rc=0
"$TALLY" run -q --input "s3://bkt/e/e.csv" --endpoint-url "$ENDPOINT" --group-by k --format csv > "$T/e.csv" 2> "$T/e.log" || rc=$?
[ $rc -ne 0 ] && grep -q "no objects to count" "$T/e.log" || fail "run of an empty object: exit $rc, $(cat "$T/e.csv" "$T/e.log")"
check "e/" "3,1 "
pass "a key named in full that is an empty object is that object alone (not e.csv.bak), as a local empty file"

check "g/a*b.csv" "1,1 "
check "g/[x].csv" "3,1 "
check "g/a?c.csv" "5,1 "
check "g/a*" "1,1 2,1 5,1 6,1 "
check "g/[xy].csv" "4,1 "
pass "a glob that is the name of an object is that object alone; other globs still match"
