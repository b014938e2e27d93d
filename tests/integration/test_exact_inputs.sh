#!/usr/bin/env bash
# Exact or loud, inputs (issue 12, items 7, 8, 9): an S3 object overwritten after listing, CSV
# records with quoted newlines, and a header over 1 MiB. Counts are checked against Python's
# csv module; failures must be loud (non-zero exit, ok:false, a line that names the cause).
. "$(dirname "$0")/lib.sh"
start_moto

# 7. Overwritten mid-job with the same size and other values: the job fails and says so.
"$TALLY" gen --out "$T/s3data" --files 2 --rows 30000 --seed 41 2> "$T/gen.log"
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" bkt "d/" "$T/s3data"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "s3://bkt/d/" \
    --group-by passenger_count --endpoint-url "$ENDPOINT" --split-size 256K --hb-ms 200
B=$LAST_PID
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 300K
wait_for "$T/mapper.log" "joined job" 20
sleep 1.5
first=$(ls "$T/s3data" | head -1)
python3 - "$ENDPOINT" "$T/s3data/$first" <<'PY'
import os, sys, boto3
endpoint, path = sys.argv[1:3]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
data = bytearray(open(path, "rb").read())
# Same size, other values: every passenger_count digit 1 becomes 2 (past the header).
start = data.index(b"\n") + 1
body = data[:start] + data[start:].replace(b",1,", b",2,")
assert len(body) == len(data)
s3.put_object(Bucket="bkt", Key="d/" + os.path.basename(path), Body=bytes(body))
PY
rc=0
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/over.json" || rc=$?
[ "$rc" -ne 0 ] || fail "a job over an object overwritten mid-job exited 0"
grep -q '"ok":false' "$T/over.json" || fail "overwritten object: not ok:false"
grep -q "object changed since it was listed: s3://bkt/d/$first" "$T/over.json" || { cat "$T/over.json"; fail "no reason naming the object"; }
wait "$B" && fail "broker exited 0"
pass "an S3 object overwritten mid-job (same size): ok:false, exit $rc, 'object changed since it was listed'"
kill -9 "${PIDS[@]}" 2>/dev/null || true

# 8. Quoted newlines (RFC 4180), before and after the group-by column.
mkdir -p "$T/q"
python3 - "$T/q/quoted.csv" "$T/q.truth" <<'PY'
import csv, random, sys, collections
random.seed(8)
rows = []
for i in range(6000):
    note = random.choice(["plain", "two\nlines", "a, \"quoted\"\nthird\r\nline", "", "x"])
    pc = random.choice(["1", "2", "3", "", "5"])
    tail = random.choice(["ok", "multi\nline tail", "z"])
    rows.append([str(i % 3 + 1), note, pc, "1.5", tail])
with open(sys.argv[1], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["VendorID", "note", "passenger_count", "trip_distance", "tail"])
    w.writerows(rows)
# The independent count: Python's csv module reads the file back.
with open(sys.argv[1], newline="") as f:
    r = csv.reader(f)
    next(r)
    c = collections.Counter(row[2] for row in r)
open(sys.argv[2], "w").write("\n".join(f"{k}\t{v}" for k, v in sorted(c.items())) + "\n")
PY
"$TALLY" run --input "$T/q/quoted.csv" --group-by passenger_count --format csv --split-size 0 > "$T/q.out" 2> "$T/q.log" ||
    fail "whole-object run over quoted newlines failed"
python3 - "$T/q.out" "$T/q.truth" <<'PY' || fail "quoted newlines: counts differ from Python's csv module"
import csv, sys
got = {row[0]: int(row[1]) for row in list(csv.reader(open(sys.argv[1])))[1:]}
want = dict(l.split("\t") for l in open(sys.argv[2]).read().split("\n") if l)
want = {k: int(v) for k, v in want.items()}
if got != want:
    print("got", got, "want", want, file=sys.stderr); sys.exit(1)
PY
pass "quoted newlines in a whole-object task: exact against Python's csv module"
rc=0
"$TALLY" run --input "$T/q/quoted.csv" --group-by passenger_count --format json --split-size 4K > "$T/qr.json" 2> "$T/qr.log" || rc=$?
[ "$rc" -ne 0 ] || fail "range tasks over quoted newlines exited 0"
grep -q "spans lines\|quoted newline" "$T/qr.log" || { tail "$T/qr.log"; fail "range tasks: no reason given"; }
grep -q "quoted.csv" "$T/qr.log" || fail "range tasks: the object is not named"
pass "quoted newlines in range tasks: loud failure (exit $rc) naming the object"

# 9. A header over 1 MiB fails its object.
python3 -c "
import sys
h = ','.join('c%d' % i for i in range(200000))
open(sys.argv[1], 'w').write(h + ',passenger_count\n' + '1,' * 200000 + '3\n')" "$T/q/wide.csv"
rc=0
"$TALLY" run --input "$T/q/wide.csv" --group-by passenger_count --format json > "$T/w.json" 2> "$T/w.log" || rc=$?
[ "$rc" -ne 0 ] || fail "a header over 1 MiB exited 0"
grep -q "header line longer than 1 MiB" "$T/w.log" || { tail "$T/w.log"; fail "header over 1 MiB: no reason"; }
pass "a header over 1 MiB: loud failure (exit $rc)"
