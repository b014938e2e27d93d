#!/usr/bin/env python3
"""truth_by.py DATA_DIR OUT.json [COL...]: count rows by the pickup datetime (every TLC era's
name for it) with Python's csv module, an independent count. Writes {key: count}."""
import csv, glob, json, os, sys, collections
ALIASES = ["trip_pickup_datetime", "pickup_datetime", "tpep_pickup_datetime"]
d, out = sys.argv[1], sys.argv[2]
want = collections.Counter()
for f in sorted(glob.glob(os.path.join(d, "*.csv"))):
    with open(f, newline="") as fh:
        r = csv.reader(fh)
        hdr = [h.strip().lower() for h in next(r)]
        a = next(hdr.index(x) for x in ALIASES if x in hdr)
        for row in r:
            if row and len(row) > a:
                want[row[a].strip()] += 1
json.dump(want, open(out, "w"))
print(f"{len(want)} groups, {sum(want.values())} rows", file=sys.stderr)
