#!/usr/bin/env python3
"""A markdown table from a hyperfine --export-json file: each command's median, its rate over
SIZE bytes, and its time as a multiple of each reference command's.
usage: table.py JSON SIZE REFERENCE...   (REFERENCE: a command's -n name)"""
import json
import statistics
import sys

res = json.load(open(sys.argv[1]))["results"]
size = int(sys.argv[2])
med = {r["command"]: statistics.median(r["times"]) for r in res}
refs = sys.argv[3:]
print("| command | median (s) | GB/s |" + "".join(f" × {ref} |" for ref in refs))
print("|---|---|---|" + "---|" * len(refs))
for r in res:
    m = med[r["command"]]
    print(f"| {r['command']} | {m:.3f} | {size / m / 1e9:.2f} |" + "".join(f" {m / med[ref]:.2f} |" for ref in refs))
