#!/usr/bin/env bash
# Many groups, side by side: ~6 M distinct (Trip_Pickup_DateTime, Trip_Dropoff_DateTime) pairs
# over a 777 MB 2009-era file (6.08 M rows), each tool writing the full result as CSV:
#   tally scan                          (one process, one thread for the counting)
#   DuckDB, 1 and 2 threads             (COPY ... TO CSV: GROUP BY only, and with ORDER BY count
#                                        DESC, key as tally's output has)
# Reports hyperfine's median and range, the peak RSS (GNU time) and, for tally, the peak RSS per
# group. TALLY=path/to/tally to time another build (e.g. a baseline).
#   bench/groups.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
. bench/groups_lib.sh
export -f duck; export JS DUCK
BENCH_DIR=$W
groups=$("$TALLY" scan --input "$F" "${BY[@]}" --format csv | tail -n +2 | wc -l)
duck "$F" 1 plain "$W/duck.csv"
# The file's rows cut short (~0.02%) are groups with a NULL to DuckDB and short rows to tally.
dgroups=$(tail -n +2 "$W/duck.csv" | wc -l)
[ $(( (dgroups - groups) * 1000 / groups )) -eq 0 ] || { echo "groups.sh: DuckDB has $dgroups groups, tally $groups" >&2; exit 1; }
hyperfine --shell bash --runs "$RUNS" --warmup 1 --export-json "$W/groups.json" \
    -n "tally scan (csv to /dev/null)" "$TALLY scan --input $F ${BY[*]} --format csv > /dev/null" \
    -n "DuckDB 1 thread, GROUP BY" "duck $F 1 plain /dev/null" \
    -n "DuckDB 2 threads, GROUP BY" "duck $F 2 plain /dev/null" \
    -n "DuckDB 1 thread, GROUP BY + ORDER BY" "duck $F 1 sorted /dev/null" \
    -n "DuckDB 2 threads, GROUP BY + ORDER BY" "duck $F 2 sorted /dev/null" > /dev/null
rss () { /usr/bin/time -f "%M" -o "$W/rss" "$@" > /dev/null; echo $(( $(cat "$W/rss") / 1024 )); }
t_rss=$(rss "$TALLY" scan --input "$F" "${BY[@]}" --format csv)
d1_rss=$(rss bash -c "duck $F 1 plain /dev/null")
keyb=$(( $(stat -c %s "$W/duck.csv") - $(head -1 "$W/duck.csv" | wc -c) ))
python3 - "$W/groups.json" "$groups" "$t_rss" "$d1_rss" "$(stat -L -c %s "$F")" <<'PY'
import json, statistics, sys
res = json.load(open(sys.argv[1]))["results"]
groups, t_rss, d_rss, size = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"{size / 1e6:.0f} MB, {groups:,} groups, full result written as CSV; median (min-max) of {len(res[0]['times'])} runs\n")
print("| tool | wall (s) | user+sys (s) | vs DuckDB 1 thread |\n|---|---|---|---|")
duck1 = statistics.median(res[1]["times"])
for r in res:
    m = statistics.median(r["times"])
    print(f"| {r['command']} | {m:.2f} ({min(r['times']):.2f}-{max(r['times']):.2f}) | "
          f"{r['user'] + r['system']:.2f} | {m / duck1:.2f}x |")
print(f"\npeak RSS: tally scan {t_rss} MiB ({t_rss * 1048576 / groups:.0f} bytes per group, keys ~39 bytes), "
      f"DuckDB 1 thread {d_rss} MiB")
PY
