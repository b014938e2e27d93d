#!/usr/bin/env bash
# What live updates cost (issue 16): one job through the distributed path (reducer, broker, a
# mapper, a `tally watch --until-done` that prints the whole table at the end, and a counting
# subscriber), on many groups: the pair (pickup, dropoff datetime) of `tally gen` 2015-era rows,
# about one group per row. Reports the bytes published (as a subscriber that reads everything
# receives them, from the job's first update to the final one: the first done=true UPDATE of a
# reducer before deltas, whose 30 s of repeats after the end are left out; the final snapshot
# with deltas), the reducer's CPU time and peak RSS, and the watcher's CPU time. TALLY=path/to/tally to measure another build (e.g. the one before).
#   bench/live.sh ROWS [--state-dir]      (e.g. 1000000; 10000000 for 10 M groups)
# RATE=5M caps the mapper's read rate, so the job lasts and the steady state shows; SPLIT=1M
# makes more, smaller tasks (default 8M). BY='--group-by tpep_pickup_datetime[0:16]' groups
# otherwise (by the minute: ~400 K groups over 10 M rows, each changed ~25 times). TTY=1 runs
# the watcher on a terminal (the live view). With --state-dir, "wrote" is what the reducer's
# checkpoints wrote to disk (/proc/PID/io write_bytes; EXTRA='--compact-bytes 0' for a whole
# base at every checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:?rows}
STATE=${2:-}
TALLY=${TALLY:-$PWD/build/tally}
W=${BENCH_DIR:-/tmp/tally-bench-live}
D="$W/data-$ROWS"
mkdir -p "$W"
[ -d "$D" ] || "$TALLY" gen --out "$D" --files $(( ROWS > 2000000 ? ROWS / 1000000 : 2 )) \
    --rows $(( ROWS > 2000000 ? 1000000 : ROWS / 2 )) --eras 2015 --seed 16 > /dev/null 2>&1
cat "$D"/* > /dev/null
R="$W/run"; rm -rf "$R"; mkdir -p "$R"
RE="ipc://$R/reducer"; PE="ipc://$R/publish"; BE="ipc://$R/broker"
ST=(); [ "$STATE" = --state-dir ] && ST=(--state-dir "$R/state")
read -r -a EX <<< "${EXTRA:-}"
/usr/bin/time -f "%U %S %M" -o "$R/reducer.time" "$TALLY" reducer --listen "$RE" --publish "$PE" "${ST[@]}" "${EX[@]}" \
    2> "$R/reducer.log" &
RPID=$!
for i in $(seq 100); do [ -S "$R/publish" ] && break; sleep 0.05; done
# The counting subscriber: every message's size, until the first done=true (msgpack: "done" true).
# It asks for the deltas' groups as a live view does (the topic tally-groups), so it counts what
# a replica receives; BARE=1 leaves that out, and it counts what a watcher that prints only the
# final table receives (bare deltas, then the table once).
/usr/bin/python3 - "$PE" "${BARE:-}" > "$R/count.txt" <<'PY' &
import re, sys, time, zmq
PART = re.compile(rb"\xa4part(\xcc.|\xcd..|[\x00-\x7f])\xa5parts(\xcc.|\xcd..|[\x00-\x7f])", re.S)
num = lambda v: int.from_bytes(v[1:], "big") if len(v) > 1 else v[0]
s = zmq.Context().socket(zmq.SUB)
s.setsockopt(zmq.RCVHWM, 0)
if not sys.argv[2]:
    s.subscribe(b"tally-groups")
s.subscribe(b"")
s.connect(sys.argv[1])
n = b = biggest = 0
t0 = None
while True:
    m = s.recv()
    t = time.time()
    t0 = t0 or t
    n += 1; b += len(m); biggest = max(biggest, len(m))
    if b"\xa4done\xc3" in m[:4096]:
        # The end: an UPDATE without kind (before deltas) is whole; with kinds, count on to
        # the last part of the final snapshot (a watcher that lost nothing skips it, but it
        # is published).
        tail = m[-96:]
        p = PART.search(tail)
        if b"\xa4kind" not in tail or (b"\xa8snapshot" in tail and num(p.group(1)) == num(p.group(2))):
            break
print(n, b, biggest, t - t0)
PY
CPID=$!
if [ -n "${TTY:-}" ]; then
    # The live view on a terminal (script(1) gives it one, 50 rows): redrawn at every update,
    # then the whole table once, as a table, into the pty; the CSV comes from --output.
    /usr/bin/time -f "%U %S %M" -o "$R/watch.time" script -qfec "stty rows 50 cols 120; $TALLY watch \
        --subscribe $PE --until-done --output $R/result.csv" /dev/null > /dev/null 2> "$R/watch.log" &
else
    /usr/bin/time -f "%U %S %M" -o "$R/watch.time" "$TALLY" watch --subscribe "$PE" --until-done --format csv \
        > "$R/result.csv" 2> "$R/watch.log" &
fi
WPID=$!
sleep 0.5
t0=$(date +%s.%N)
read -r -a BY <<< "${BY:---group-by tpep_pickup_datetime --group-by tpep_dropoff_datetime}"
"$TALLY" broker --listen "$BE" --reducer "$RE" --input "$D" "${BY[@]}" --split-size "${SPLIT:-8M}" \
    2> "$R/broker.log" &
BPID=$!
RL=(); [ -n "${RATE:-}" ] && RL=(--rate-limit "$RATE")
/usr/bin/time -f "%U %S %M" -o "$R/mapper.time" "$TALLY" mapper --broker "$BE" --slots 1 "${RL[@]}" \
    2> "$R/mapper.log" &
MPID=$!
wait $BPID
wait $WPID
t1=$(date +%s.%N)
wait $CPID
# What the reducer wrote to disk (checkpoints: base and log), counted by the kernel as it
# dirtied pages, so the files it renamed over count too.
wb=0; for c in $(cat "/proc/$RPID/task/$RPID/children" 2>/dev/null); do
    wb=$(sed -n 's/^write_bytes: //p' "/proc/$c/io" 2>/dev/null || echo 0); done
pkill -INT -P $RPID; wait $RPID || true     # the reducer, under /usr/bin/time (which ignores SIGINT)
read -r n bytes biggest secs < "$R/count.txt"
read -r ru rs rmax < "$R/reducer.time"
read -r wu ws wmax < "$R/watch.time"
wait $MPID || true
read -r mu ms mmax < "$R/mapper.time"
groups=$(( $(wc -l < "$R/result.csv") - 1 ))
python3 - "$TALLY" "$ROWS" "$groups" "$n" "$bytes" "$biggest" "$secs" "$ru" "$rs" "$rmax" "$wu" "$ws" "$wmax" "$t0" "$t1" "$STATE" "$wb" "$mu" "$ms" "$mmax" <<'PY'
import sys
(tally, rows, groups, n, b, big, secs, ru, rs, rmax, wu, ws, wmax, t0, t1, st, wb, mu, ms, mmax) = sys.argv[1:]
rows, groups, n, b, big = int(rows), int(groups), int(n), int(b), int(big)
secs, ru, rs, wu, ws, t0, t1 = map(float, (secs, ru, rs, wu, ws, t0, t1))
print(f"{tally} {st or ''}: {rows:,} rows, {groups:,} groups; job + final table {t1 - t0:.1f} s "
      f"(watcher done {t1 - t0:.1f} s after the broker started)")
print(f"  published: {n} messages, {b / 1e6:.1f} MB in {secs:.1f} s = {b / 1e6 / max(secs, 1e-3):.2f} MB/s "
      f"(largest message {big / 1e6:.2f} MB)")
print(f"  reducer: {ru + rs:.1f} s CPU (user {ru:.1f}, sys {rs:.1f}), peak RSS {int(rmax) / 1024:.0f} MB, "
      f"wrote {int(wb) / 1e6:.1f} MB to disk (checkpoints)")
print(f"  watcher: {wu + ws:.1f} s CPU (user {wu:.1f}, sys {ws:.1f}), peak RSS {int(wmax) / 1024:.0f} MB")
print(f"  mapper: {float(mu) + float(ms):.1f} s CPU, peak RSS {int(mmax) / 1024:.0f} MB")
PY
# CHECK=1: the watcher's table against Python's csv module over the same files (independent).
if [ -n "${CHECK:-}" ]; then
    /usr/bin/python3 - "$D" "$R/result.csv" "${BY[@]}" <<'PY'
import collections, csv, glob, os, sys
d, result, by = sys.argv[1], sys.argv[2], [a for a in sys.argv[3:] if a != "--group-by"]
if any("[" in b for b in by):
    sys.exit("CHECK=1 knows plain columns only")
want = collections.Counter()
for f in sorted(glob.glob(os.path.join(d, "*.csv"))):
    with open(f, newline="") as fh:
        r = csv.reader(fh)
        h = [x.strip().lower() for x in next(r)]
        idx = [h.index(b.lower()) for b in by]
        for row in r:
            if len(row) > max(idx):
                want[tuple(row[i] for i in idx)] += 1
got = {}
with open(result, newline="") as fh:
    r = csv.reader(fh)
    next(r)
    for row in r:
        got[tuple(row[:len(by)])] = int(row[len(by)])
bad = sum(1 for k, v in want.items() if got.get(k) != v) + sum(1 for k in got if k not in want)
print(f"  check: {len(got):,} groups in the watcher's table, {len(want):,} in Python's csv count, "
      f"{bad} differ" + (" -- EXACT" if not bad else " -- WRONG"))
sys.exit(1 if bad else 0)
PY
fi
