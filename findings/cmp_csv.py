#!/usr/bin/env python3
"""cmp_csv.py TRUTH.json OUT.csv|OUT.json: compare tally's output (key,count CSV or a JSON result)
with the truth. Exit 1 naming the first differences."""
import csv, json, sys
want = json.load(open(sys.argv[1]))
p = sys.argv[2]
if p.endswith(".json"):
    r = json.load(open(p))
    got = {g["key"]: g["count"] for g in r["groups"]}
    if not r.get("ok"):
        print("result not ok:", r.get("error"))
else:
    with open(p, newline="") as fh:
        rd = csv.reader(fh); next(rd)
        got = {}
        for row in rd:
            if row[0] in got: sys.exit(f"key {row[0]!r} twice")
            got[row[0]] = int(row[1])
if want != got:
    diff = [k for k in set(want) | set(got) if want.get(k) != got.get(k)]
    sys.exit(f"DIFF: tally {len(got)} groups {sum(got.values())} rows; truth {len(want)} groups "
             f"{sum(want.values())} rows; {len(diff)} keys differ, e.g. {[(k, want.get(k), got.get(k)) for k in diff[:5]]}")
print(f"equal: {len(want)} groups, {sum(want.values())} rows")
