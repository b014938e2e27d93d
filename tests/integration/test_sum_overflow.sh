#!/usr/bin/env bash
# Exact or loud, sums: a sum that leaves the range of a double (two values of 1.8e308 in one
# group) is not a total. The job must fail (ok false, a non-zero exit, a line naming the
# aggregate and the group), and --format json must still be valid JSON (no bare inf/nan).
# The other groups' sums are still exact. Checked through `tally run` (mapper, reducer, watch)
# and `tally scan`, and by Python's float arithmetic for the groups that do fit.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/data"
python3 - "$T/data/x.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("k,v\n")
    f.write("big,1.7976931348623157e308\nbig,1.7976931348623157e308\n")   # overflows to inf
    f.write("neg,-1.7976931348623157e308\nneg,-1.7976931348623157e308\n") # to -inf
    for i in range(1000):
        f.write(f"small,{i}.25\n")
PY
strict_json () {   # strict_json FILE: valid JSON without NaN/Infinity; prints ok and the groups
    python3 - "$1" <<'PY'
import json, sys
def bad(c): raise ValueError(f"non-standard JSON constant {c}")
r = json.loads(open(sys.argv[1]).read(), parse_constant=bad)
g = {x["key"]: x for x in r["groups"]}
small = g["small"]["values"]["sum(v)"]
assert small == sum(i + 0.25 for i in range(1000)), small
assert g["big"]["values"]["sum(v)"] is None and g["neg"]["values"]["sum(v)"] is None, (g["big"], g["neg"])
assert r["ok"] is False, r["ok"]
assert "overflow" in r["error"] and "sum(v)" in r["error"], r["error"]
print(r["error"])
PY
}

for how in run scan; do
    set +e
    "$TALLY" "$how" --input "$T/data/x.csv" --group-by k --agg sum:v --agg count --format json \
        > "$T/$how.json" 2> "$T/$how.err"
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "tally $how: a sum out of a double's range ended with exit 0"
    err=$(strict_json "$T/$how.json") || fail "tally $how: JSON output: $(cat "$T/$how.json")"
    grep -q "overflow" "$T/$how.err" || fail "tally $how: no line on stderr names the overflow: $(cat "$T/$how.err")"
    pass "tally $how: exit $rc, ok false, valid JSON, the exact sum for the other group; error: $err"
done

# Without the overflowing rows the same job is ok, and its sum is exact.
grep -v e308 "$T/data/x.csv" > "$T/fine.csv"
"$TALLY" scan --input "$T/fine.csv" --group-by k --agg sum:v --format json > "$T/fine.json" ||
    fail "tally scan without the big values failed"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ok"] and r["groups"][0]["values"]["sum(v)"] == sum(i + 0.25 for i in range(1000))' \
    "$T/fine.json" || fail "the same job without overflow: $(cat "$T/fine.json")"
pass "without the overflowing rows: ok, exact sum"
