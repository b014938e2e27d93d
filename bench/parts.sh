#!/usr/bin/env bash
# Partials in parts at ~6 M groups: the largest PARTIAL message, and the peak RSS of the reducer
# and the mapper, for one job over bench/groups.sh's file (777 MB of 2009 rows, 5.9 M distinct
# (Trip_Pickup_DateTime, Trip_Dropoff_DateTime) pairs) with one mapper of one slot. The roles run
# as separate processes (each under GNU time) so that each one's peak RSS is its own; a watcher
# takes the final table as CSV and its group count is checked against `tally scan`'s.
#   TALLY=path/to/tally SPLIT=64M bench/parts.sh
# SPLIT is the broker's --split-size (64M, its default, makes 12 tasks of ~0.5 M groups). The
# mapper log gives the message sizes: this tree logs each partial in parts ("sent in N parts, the
# largest B bytes"); to time a build from before parts, add a log line of res->partial_len in
# mapper.c's send path (the figures in BENCHMARKS.md were taken that way, marked BASELINE).
set -euo pipefail
cd "$(dirname "$0")/.."
TALLY=${TALLY:-$PWD/build-rel/tally}
[ -x "$TALLY" ] || { cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build-rel -j; }
W=${BENCH_DIR:-/tmp/tally-bench-groups}
F="$W/data/yellow_tripdata_2009-01.csv"
[ -f "$F" ] || "$TALLY" gen --out "$W/data" --files 1 --rows 6080000 --eras 2009 --seed 1 > /dev/null
SPLIT=${SPLIT:-64M}
O=$(mktemp -d /tmp/tally-bench-parts.XXXXXX)
port () { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
RP=$(port); PP=$(port); BP=$(port)
BY=(--group-by Trip_Pickup_DateTime --group-by Trip_Dropoff_DateTime)
cat "$F" > /dev/null    # page cache
/usr/bin/time -v -o "$O/reducer.time" "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" \
    > "$O/reducer.log" 2>&1 &
RT=$!
"$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$F" "${BY[@]}" \
    --split-size "$SPLIT" > "$O/broker.log" 2>&1 &
/usr/bin/time -v -o "$O/mapper.time" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 -v > "$O/mapper.log" 2>&1 &
t0=$(date +%s.%N)
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 900 > "$O/out.csv"
t1=$(date +%s.%N)
wait %2 %3 2> /dev/null || true
kill -INT "$(pgrep -P "$RT")" 2> /dev/null || true
wait "$RT" 2> /dev/null || true
groups=$(($(wc -l < "$O/out.csv") - 1))
rss () { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
cpu () { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$1"; }
largest=$(sed -n -e 's/.*the largest \([0-9]*\) bytes.*/\1/p' -e 's/.*BASELINE partial task [0-9]*: \([0-9]*\) bytes.*/\1/p' \
          "$O/mapper.log" | sort -n | tail -1)
nparts=$(grep -c "part [0-9]* of [0-9]* sent" "$O/mapper.log" || true)
echo "split $SPLIT: $groups groups in $(printf '%.1f' "$(echo "$t1 - $t0" | bc)") s;" \
     "largest PARTIAL ${largest:-?} bytes ($nparts parts sent);" \
     "reducer peak RSS $(( $(rss "$O/reducer.time") / 1024 )) MiB, CPU $(cpu "$O/reducer.time") s;" \
     "mapper peak RSS $(( $(rss "$O/mapper.time") / 1024 )) MiB, CPU $(cpu "$O/mapper.time") s"
echo "(logs in $O)"
