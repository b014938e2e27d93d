#!/usr/bin/env python3
"""csv_by.py DATA_DIR COLUMN RESULT_CSV: count DATA_DIR/*.csv by COLUMN (its header name, case
and surrounding spaces aside) with Python's csv module, independently of tally, and compare with
RESULT_CSV (tally's `--format csv`: a header, then KEY,COUNT). Exits 1 with the sizes if they
differ. For tables with too many groups for the generator's ground truth (a datetime column)."""
import collections
import csv
import glob
import sys

data, column, result = sys.argv[1:4]
want = collections.Counter()
for f in glob.glob(data + "/*.csv"):
    with open(f, newline="") as fh:
        r = csv.reader(fh)
        a = [h.strip().lower() for h in next(r)].index(column.lower())
        for row in r:
            if row and len(row) > a:
                want[row[a]] += 1
with open(result, newline="") as fh:
    r = csv.reader(fh)
    next(r)
    got = {row[0]: int(row[1]) for row in r}
if got != want:
    print(f"differ: got {len(got)} groups, {sum(got.values())} rows; want {len(want)} groups, "
          f"{sum(want.values())} rows", file=sys.stderr)
    sys.exit(1)
print(f"{len(want)} groups, {sum(want.values())} rows: equal")
