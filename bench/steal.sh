#!/usr/bin/env bash
# Tail stealing, measured: one fast mapper (4 MB/s) alone; fast + a 10x slower mapper (0.4 MB/s)
# with stealing; the same pair with stealing and backups off (plain pull of whole objects, as
# without tail balancing). Median wall time of RUNS runs each, from broker start to final result.
#   bench/steal.sh [RUNS]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bench/deps > /dev/null
RUNS=${1:-3}
TALLY=$PWD/build-rel/tally
[ -x "$TALLY" ] || { cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build-rel -j; }
W=$(mktemp -d /tmp/tally-bench.XXXXXX)
trap 'pkill -P $$ 2>/dev/null || true; rm -rf "$W"' EXIT
"$TALLY" gen --out "$W/data" --files 4 --rows 40000 --seed 8 2> /dev/null
port () { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

one () {   # one MODE -> prints seconds
    local mode=$1 RP PP BP extra=()
    RP=$(port); PP=$(port); BP=$(port)
    [ "$mode" = nosteal ] && extra=(--min-steal 1G --no-backups)
    "$TALLY" reducer -q --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" 2> /dev/null &
    local red=$!
    local t0; t0=$(date +%s.%N)
    "$TALLY" broker -q --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$W/data" \
        --group-by passenger_count --split-size 0 --min-steal 256K --hb-ms 200 "${extra[@]}" 2> /dev/null &
    if [ "$mode" != alone ]; then
        "$TALLY" mapper -q --broker "tcp://127.0.0.1:$BP" --slots 1 --name slow --rate-limit 400K 2> /dev/null &
        sleep 0.3
    fi
    "$TALLY" mapper -q --broker "tcp://127.0.0.1:$BP" --slots 1 --name fast --rate-limit 4M 2> /dev/null &
    "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 300 > "$W/out.json"
    local t1; t1=$(date +%s.%N)
    kill "$red" 2> /dev/null || true
    wait 2> /dev/null || true
    python3 "tests/tools/check_truth.py" "$W/out.json" "$W/data.truth.json" passenger_count > /dev/null \
        || { echo "MISMATCH" >&2; exit 1; }
    python3 -c "print(f'{$t1 - $t0:.2f}')"
}

echo "| setup | runs (s) | median (s) |"
echo "|---|---|---|"
for mode in alone steal nosteal; do
    ts=()
    for i in $(seq 1 "$RUNS"); do ts+=("$(one $mode)"); done
    med=$(printf '%s\n' "${ts[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    case $mode in
        alone) label="fast mapper alone (4 MB/s)" ;;
        steal) label="fast + slow (0.4 MB/s), tail stealing" ;;
        nosteal) label="fast + slow, no stealing, no backups" ;;
    esac
    echo "| $label | ${ts[*]} | $med |"
done
