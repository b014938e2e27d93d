#!/usr/bin/env bash
# Mapper memory: peak RSS of one `tally mapper` with 8 slots reading the ~817 MB bench file over
# HTTP (nginx on loopback) as 64 MB range tasks, each read as 8 MB ranged GETs, 4 in flight
# per slot. Then the same over a local path. Reports the mapper's peak RSS (GNU time).
#   bench/memory.sh      (run bench/scan.sh first: it makes the file)
set -euo pipefail
cd "$(dirname "$0")/.."
bench/deps > /dev/null
TALLY=$PWD/build-rel/tally
W=${BENCH_DIR:-/tmp/tally-bench-scan}
F="$W/data/yellow_tripdata_2015-01.csv"
[ -f "$F" ] || { echo "run bench/scan.sh first" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
. bench/nginx.sh "$W/data" "$PORT"
run () {   # run INPUT LABEL
    local d; d=$(mktemp -d)
    "$TALLY" reducer -q --listen "ipc://$d/r" --publish "ipc://$d/p" 2>/dev/null &
    local red=$!
    "$TALLY" broker -q --listen "ipc://$d/b" --reducer "ipc://$d/r" --input "$1" --group-by passenger_count 2>/dev/null &
    /usr/bin/time -f "%M" -o "$d/rss" "$TALLY" mapper -q --broker "ipc://$d/b" --slots 8 2>/dev/null
    "$TALLY" watch --subscribe "ipc://$d/p" --once --format json > "$d/out.json"
    python3 tests/tools/check_truth.py "$d/out.json" "$W/data.truth.json" passenger_count > /dev/null || { echo "MISMATCH" >&2; exit 1; }
    echo "| $2 | $(( $(cat "$d/rss") / 1024 )) MiB |"
    kill $red 2>/dev/null; wait $red 2>/dev/null || true
    rm -rf "$d"
}
echo "| mapper with 8 slots, input | peak RSS |"
echo "|---|---|"
run "http://127.0.0.1:$PORT/$(basename "$F")" "HTTP (nginx), 8 MB ranged GETs x 4 in flight per slot"
run "$F" "local file (pread, 1 MB chunks)"
