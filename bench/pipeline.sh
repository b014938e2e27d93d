#!/usr/bin/env bash
# Many groups through the whole pipeline, side by side with the scan and DuckDB (issue 16):
# ~6 M distinct (Trip_Pickup_DateTime, Trip_Dropoff_DateTime) pairs over the 777 MB 2009-era
# file of bench/groups.sh, in one sitting:
#   tally scan                          (one process, one counting thread)
#   pipeline, 1 slot and 2 slots        (separate reducer with --state-dir, broker, one mapper,
#                                        `tally watch --until-done --format csv` writing the full
#                                        table, and a second watcher attached for the whole job)
#   DuckDB, 1 and 2 threads             (GROUP BY, the full result written as CSV)
# A pipeline run is timed from the broker's start until the first watcher has written the
# whole table. Every pipeline result is compared with the scan's (sorted, byte for byte).
# Both watchers print only the final table, so neither keeps a replica (lib/wire/final.h); the
# row "1 slot, live 2nd watcher" makes the second one `--format jsonl --top 20` (a line per
# update: it keeps a replica, as a live view or the dashboard does).
# Reports the median and range of RUNS runs, each tool's ratio to the scan, the peak RSS of
# the mapper, reducer and watcher (GNU time), and the state dir's size at the end.
#   bench/pipeline.sh [RUNS]   (default 3)  TALLY=path/to/tally  SPLIT=64M (the broker's default)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
. bench/groups_lib.sh
now () { date +%s.%N; }

"$TALLY" scan --input "$F" "${BY[@]}" --format csv | tail -n +2 | sort > "$W/scan.sorted"

# One pipeline run with SLOTS slots: prints "seconds mapper_kb reducer_kb watcher_kb state_bytes
# watcher2_kb cpu_seconds", cpu_seconds being the user + system time of all five processes.
pipeline () {
    local slots=$1 live=${2:-} R="$W/pipe" t0 t1
    local second=(--format csv)
    [ -z "$live" ] || second=(--format jsonl --top 20)
    rm -rf "$R"; mkdir -p "$R"
    local RE="ipc://$R/reducer" PE="ipc://$R/publish" BE="ipc://$R/broker"
    /usr/bin/time -f "%M %U %S" -o "$R/reducer.rss" "$TALLY" reducer --listen "$RE" --publish "$PE" \
        --state-dir "$R/state" 2> "$R/reducer.log" &
    local rpid=$!
    for _ in $(seq 200); do [ -S "$R/publish" ] && break; sleep 0.02; done
    /usr/bin/time -f "%M %U %S" -o "$R/watch.rss" "$TALLY" watch --subscribe "$PE" --until-done --format csv \
        > "$R/result.csv" 2> "$R/watch.log" &
    local wpid=$!
    /usr/bin/time -f "%M %U %S" -o "$R/watch2.rss" "$TALLY" watch --subscribe "$PE" --until-done "${second[@]}" \
        > /dev/null 2> "$R/watch2.log" &
    local w2pid=$!
    sleep 0.3
    t0=$(now)
    /usr/bin/time -f "%M %U %S" -o "$R/broker.rss" "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$F" "${BY[@]}" --split-size "${SPLIT:-64M}" \
        --state-dir "$R/bstate" 2> "$R/broker.log" &
    local bpid=$!
    /usr/bin/time -f "%M %U %S" -o "$R/mapper.rss" "$TALLY" mapper --broker "$BE" --slots "$slots" 2> "$R/mapper.log" &
    local mpid=$!
    wait $wpid || true
    t1=$(now)
    wait $bpid || true; wait $w2pid || true; wait $mpid || true
    pkill -INT -P $rpid || true; wait $rpid || true
    tail -n +2 "$R/result.csv" | sort | cmp -s - "$W/scan.sorted" || {
        echo "pipeline.sh: the pipeline's table ($slots slots) differs from tally scan's" >&2; exit 1; }
    local cpu
    cpu=$(cat "$R"/{broker,mapper,reducer,watch,watch2}.rss | awk '{ c += $2 + $3 } END { printf "%.2f", c }')
    rss () { cut -d' ' -f1 "$R/$1.rss"; }
    echo "$(echo "$t1 - $t0" | bc) $(rss mapper) $(rss reducer) $(rss watch) $(du -sb "$R/state" | cut -f1) $(rss watch2) $cpu"
}

declare -A T C
cpu_of () { tail -n 1 "$1" | awk '{ printf "%.2f", $1 + $2 }'; }
for run in $(seq "$RUNS"); do
    # Every tool writes the full table to a file on the same disk, as the pipeline's first
    # watcher does (session 8; before, the scan and DuckDB wrote to /dev/null).
    rm -f "$W/scan.csv" "$W/duck.csv"
    t0=$(now); /usr/bin/time -f "%U %S" -o "$W/scan.cpu" "$TALLY" scan --input "$F" "${BY[@]}" --format csv > "$W/scan.csv"
    T[scan]+="$(echo "$(now) - $t0" | bc) "; C[scan]+="$(cpu_of "$W/scan.cpu") "
    for s in 1 2 1live; do
        live=; [ "$s" != 1live ] || live=1
        read -r secs mrss rrss wrss state w2rss cpu < <(pipeline "${s%live}" $live) || true
        [ -n "${w2rss:-}" ] || { echo "pipeline.sh: the pipeline ($s) failed: see $W/pipe/*.log" >&2; exit 1; }
        T[pipe$s]+="$secs "; C[pipe$s]+="$cpu "
        echo "run $run, pipeline $s: $secs s; peak RSS mapper $((mrss / 1024)) MB, reducer $((rrss / 1024)) MB, watcher $((wrss / 1024)) MB, 2nd watcher $((w2rss / 1024)) MB; state dir $((state / 1000000)) MB; $cpu CPU-s in all" >&2
    done
    for th in 1 2; do
        t0=$(now); { TIMEFORMAT="%U %S"; time duck "$F" $th plain "$W/duck.csv"; } 2> "$W/duck.cpu"
        T[duck$th]+="$(echo "$(now) - $t0" | bc) "; C[duck$th]+="$(cpu_of "$W/duck.cpu") "
    done
done
python3 - "${T[scan]}" "${T[pipe1]}" "${T[pipe2]}" "${T[duck1]}" "${T[duck2]}" "${T[pipe1live]}" "$(stat -c %s "$F")" "$(wc -l < "$W/scan.sorted")" \
    "${C[scan]}" "${C[pipe1]}" "${C[pipe2]}" "${C[duck1]}" "${C[duck2]}" "${C[pipe1live]}" <<'PY'
import statistics, sys
names = ["tally scan", "pipeline, 1 slot (+2nd watcher, --state-dir)", "pipeline, 2 slots (+2nd watcher, --state-dir)",
         "DuckDB 1 thread", "DuckDB 2 threads", "pipeline, 1 slot, live 2nd watcher (jsonl --top 20)"]
runs = [[float(x) for x in a.split()] for a in sys.argv[1:7]]
size, groups = int(sys.argv[7]), int(sys.argv[8])
cpus = [[float(x) for x in a.split()] for a in sys.argv[9:15]]
print(f"{size / 1e6:.0f} MB, {groups:,} groups, the full table written as CSV; median (min-max) of {len(runs[0])} runs\n")
print("| what | wall (s) | vs tally scan | vs DuckDB 1 thread | CPU-s, all processes (min-max) |\n|---|---|---|---|---|")
scan, d1 = statistics.median(runs[0]), statistics.median(runs[3])
for n, r, c in zip(names, runs, cpus):
    m = statistics.median(r)
    print(f"| {n} | {m:.2f} ({min(r):.2f}-{max(r):.2f}) | {m / scan:.2f}x | {m / d1:.2f}x | "
          f"{statistics.median(c):.2f} ({min(c):.2f}-{max(c):.2f}) |")
cs = statistics.median(cpus[0])
print(f"\nOn {__import__('os').cpu_count()} cores no run can take less than its CPU-seconds over the cores: the "
      f"2-slot pipeline's median {statistics.median(cpus[2]):.2f} CPU-s / {__import__('os').cpu_count()} = "
      f"{statistics.median(cpus[2]) / __import__('os').cpu_count():.2f} s, against 0.8 x the scan = {0.8 * scan:.2f} s "
      f"(the scan: {cs:.2f} CPU-s).")
PY
