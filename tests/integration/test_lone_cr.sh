#!/usr/bin/env bash
# A CR that ends no line (not before LF, not in a quoted field) is a line end to Python's csv
# module and DuckDB, and to tally a byte (red team, session 9: 2 rows with a key "x\r2" where
# Python counts 3). Such a row is now a bad row, counted, never a row with another key; CRLF and
# CR CR LF end a line; a CR inside quotes is data; a header with a lone CR (a file of old Mac
# line ends is one long line) fails the job. Checked against Python's csv module reading each
# LF-line on its own: a line it reads as one record must be counted with its key, a line it
# splits at a CR must be a bad row. Every scanner, through scan and through run with small
# byte-range tasks (records carried across chunks and task cuts).
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 - "$T/in.csv" <<'PY'
import random, sys
random.seed(11)
out = ["k,pad,v"]
for i in range(30000):
    k = random.choice(["a", "b", "cc", "", "a long key well past sixty-four bytes of the line: " + "z" * 40])
    line = f"{k},{'p' * random.randint(0, 150)},{i}"
    r = random.random()
    if r < 0.03:
        at = random.randint(0, len(line))
        line = line[:at] + "\r" + line[at:]          # a lone CR anywhere
    elif r < 0.05:
        line = f'"{k}\r{i % 3}",x,{i}'                 # a CR inside quotes: data
    elif r < 0.07:
        line += "\r\r"                                 # CR CR LF
    elif r < 0.5:
        line += "\r"                                   # CRLF
    out.append(line)
open(sys.argv[1], "w", newline="").write("\n".join(out) + "\n")
PY
/usr/bin/python3 - "$T/in.csv" "$T/want.json" <<'PY'
import collections, csv, io, json, sys
lines = open(sys.argv[1], newline="").read().split("\n")[1:-1]
want, bad = collections.Counter(), 0
for l in lines:
    recs = [r for r in csv.reader(io.StringIO(l, newline="")) if r]
    if len(recs) != 1:
        bad += 1
    else:
        want[recs[0][0].strip(" \t")] += 1
json.dump({"groups": want, "bad": bad}, open(sys.argv[2], "w"))
print(f"  Python: {sum(want.values())} rows, {bad} lines split at a lone CR", file=sys.stderr)
PY
check () {   # check OUT.json WHAT
    /usr/bin/python3 - "$1" "$T/want.json" <<'PY' || fail "$2: not Python's count"
import json, sys
out = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
want = json.load(open(sys.argv[2]))
got = {g["key"]: g["count"] for g in out["groups"]}
assert out["ok"], out.get("error")
assert got == want["groups"], (sorted(got.items())[:8], sorted(want["groups"].items())[:8])
assert out["bad_rows"] == want["bad"], (out["bad_rows"], want["bad"])
assert want["bad"] > 500, "too few lone CRs to test"
PY
}
for s in scalar sse2 avx2; do
    TALLY_SCANNER=$s "$TALLY" scan --input "$T/in.csv" --group-by k --format json > "$T/$s.json" 2> "$T/$s.log" ||
        fail "scan ($s): exit $? ($(tail -2 "$T/$s.log"))"
    check "$T/$s.json" "scan ($s)"
    TALLY_SCANNER=$s "$TALLY" run -q --input "$T/in.csv" --split-size 64K --mappers 2 --slots 2 --group-by k \
        --group-by v --format json > "$T/q$s.json" 2> "$T/q$s.log" || fail "run ($s): exit $? ($(tail -2 "$T/q$s.log"))"
    /usr/bin/python3 - "$T/q$s.json" "$T/scalar.json" <<'PY' || fail "run ($s): two keys, not one key's rows and bad rows"
import json, sys
a, b = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:])
assert a["ok"] and a["tasks"] > 10, (a["ok"], a["tasks"])
assert a["rows"] == b["rows"] and a["bad_rows"] == b["bad_rows"], (a["rows"], a["bad_rows"], b["rows"], b["bad_rows"])
PY
done
pass "lone CRs: every scanner's rows and bad rows equal Python's line-by-line count (scan, and run in 64 KiB tasks)"

printf 'k,v\r1,x\r2,y\r' > "$T/mac.csv"
if "$TALLY" run -q --input "$T/mac.csv" --group-by k --format json > "$T/mac.json" 2> "$T/mac.log"; then
    fail "a file of old Mac line ends ended ok: $(cat "$T/mac.json")"
fi
grep -q "lone CR" "$T/mac.log" || fail "the failure does not name the cause: $(cat "$T/mac.log")"
pass "a header with a lone CR (old Mac line ends) fails the job: $(grep -m1 "lone CR" "$T/mac.log" | cut -c1-160)"
