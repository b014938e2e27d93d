#!/usr/bin/env python3
"""A markdown table from a hyperfine --export-json file: each command's median, its rate over
SIZE bytes, and its time as a multiple of each reference command's.
usage: table.py JSON SIZE REFERENCE...   (REFERENCE: a command's -n name)"""
import json
import statistics
import sys

# Net of start-up (bench/parquet.sh): table.py --net JSON ROWS SUFFIX REFERENCE...
# Each command NAME is paired with the command "NAME" + SUFFIX timed in the same run on a tiny
# input; its median is NAME's start-up, and net = median(NAME) - median(NAME + SUFFIX). Rates are
# over ROWS rows, ratios are of net times.
if len(sys.argv) > 1 and sys.argv[1] == "--net":
    res = json.load(open(sys.argv[2]))["results"]
    rows, suffix, refs = int(sys.argv[3]), sys.argv[4], sys.argv[5:]
    med = {r["command"]: statistics.median(r["times"]) for r in res}
    net = {c: m - med[c + suffix] for c, m in med.items() if c + suffix in med}
    print("| command | median (s) | range (s) | start-up (s) | net (s) | M rows/s (net) |"
          + "".join(f" × {ref} (net) |" for ref in refs))
    print("|---|---|---|---|---|---|" + "---|" * len(refs))
    for r in res:
        c = r["command"]
        if c not in net:
            continue
        print(f"| {c} | {med[c]:.3f} | {min(r['times']):.3f}-{max(r['times']):.3f} | {med[c + suffix]:.3f} | "
              f"{net[c]:.3f} | {rows / net[c] / 1e6:.0f} |" + "".join(f" {net[c] / net[ref]:.2f} |" for ref in refs))
    sys.exit(0)

res = json.load(open(sys.argv[1]))["results"]
size = int(sys.argv[2])
med = {r["command"]: statistics.median(r["times"]) for r in res}
refs = sys.argv[3:]
print("| command | median (s) | GB/s |" + "".join(f" × {ref} |" for ref in refs))
print("|---|---|---|" + "---|" * len(refs))
for r in res:
    m = med[r["command"]]
    print(f"| {r['command']} | {m:.3f} | {size / m / 1e9:.2f} |" + "".join(f" {m / med[ref]:.2f} |" for ref in refs))
