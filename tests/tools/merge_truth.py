#!/usr/bin/env python3
"""Sum the ground truths of several `tally gen` runs (CSV and Parquet months) into one, for a
job that counts them all: rows, bad rows and every by_column count add up.

usage: merge_truth.py OUT.json TRUTH.json [TRUTH.json ...]"""
import json
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out = {"rows": 0, "bad_rows": 0, "by_column": {}}
    for path in sys.argv[2:]:
        t = json.load(open(path))
        out["rows"] += t["rows"]
        out["bad_rows"] += t["bad_rows"]
        for col, counts in t["by_column"].items():
            d = out["by_column"].setdefault(col, {})
            for k, v in counts.items():
                d[k] = d.get(k, 0) + v
    json.dump(out, open(sys.argv[1], "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
