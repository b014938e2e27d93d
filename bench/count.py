# The experiment's counting loop, fed by `cut -d, -f1-5`: count field 4 (passenger_count).
import sys
counts = {}
first = True
for line in sys.stdin.buffer:
    if first:
        first = False
        continue
    parts = line.split(b",")
    if len(parts) < 4:
        continue
    k = parts[3].strip()
    counts[k] = counts.get(k, 0) + 1
for k, v in sorted(counts.items(), key=lambda kv: -kv[1]):
    print(k.decode(), v, sep=",")
