#!/usr/bin/env python3
"""Compare tally's JSON result with the generator's ground truth, exactly.

usage: check_truth.py RESULT.json TRUTH.json COLUMN
COLUMN is the truth's column key: "passenger_count" or "1".
Exit 0 when groups, rows and bad rows all match; 1 with a diff otherwise."""
import json
import sys


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        text = f.read().strip()
    if not text:
        print("check_truth: empty result", file=sys.stderr)
        return 1
    result = json.loads(text.splitlines()[-1])
    with open(sys.argv[2]) as f:
        truth = json.load(f)
    want = truth["by_column"][sys.argv[3]]
    got = {g["key"]: g["count"] for g in result["groups"]}
    ok = True
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            print(f"check_truth: group {k!r}: want {want.get(k)}, got {got.get(k)}", file=sys.stderr)
            ok = False
    if sys.argv[3] == "passenger_count":
        for field, tfield in (("rows", "rows"), ("bad_rows", "bad_rows")):
            if result[field] != truth[tfield]:
                print(f"check_truth: {field}: want {truth[tfield]}, got {result[field]}", file=sys.stderr)
                ok = False
    if not result.get("done") or not result.get("ok"):
        print(f"check_truth: job not done/ok: {result.get('error')}", file=sys.stderr)
        ok = False
    print(f"check_truth: {'MATCH' if ok else 'MISMATCH'} on {sys.argv[3]}: "
          f"{sum(got.values())} rows in {len(got)} groups, {result['bad_rows']} bad rows")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
