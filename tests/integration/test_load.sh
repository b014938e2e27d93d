#!/usr/bin/env bash
# Load with faults: 64 mapper slots (8 mappers x 8) over ~20,000 small tasks (4 KB ranges),
# a random mapper SIGKILLed (and replaced) every 2 s, and hostile messages sent at every port
# all along (each slot capped at 1 MB/s so that the run lasts long enough for the faults).
# Nothing is lost or counted twice, and the broker's and reducer's memory stays flat.
# Prints the figures recorded in docs/RELIABILITY.md.
. "$(dirname "$0")/lib.sh"
# Under ASan, freed memory waits in a 256 MB quarantine, which reads as growth: keep it small
# so that the flatness check below measures the program, not the sanitizer.
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=4"
"$TALLY" gen --out "$T/data" --files 1 --rows 850000 --eras 2019 --seed 47 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
REDUCER=$LAST_PID
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count --split-size 4K --hb-ms 200 --lease-ms 1000 --apply-timeout-ms 5000
BROKER=$LAST_PID
wait_for "$T/broker.log" "reducer .* ready" 20
TASKS=$(grep -o "[0-9]* task(s), group by" "$T/broker.log" | head -1 | cut -d' ' -f1)
MAPPERS=()
n=0
add_mapper () { n=$((n + 1)); bg "m$n" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 8 --name "m$n" --rate-limit 1M -q; MAPPERS+=("$LAST_PID"); }
for i in $(seq 1 8); do add_mapper; done
rss () { ps -o rss= -p "$1" | tr -d ' '; }
# Faults until the job is done: a kill every 2 s, garbage every second.
# The 70 MB frame goes once per port (the first round): sending it every round made a round
# take seconds on a loaded machine, and then too few rounds happened before the job ended.
kills=0; garbage=0
: > "$T/garbage.count"
(
    big=""
    while true; do
        for p in $RP $BP; do /usr/bin/python3 "$TALLY_SRC/tests/tools/zmtp_garbage.py" "127.0.0.1:$p" 50 $big > /dev/null 2>&1 || true; done
        big=--no-big
        head -c 500 /dev/urandom > "/dev/tcp/127.0.0.1/$PP" 2>/dev/null || true
        echo g >> "$T/garbage.count"
        sleep 0.5
    done
) &
GARB=$!
PIDS+=("$GARB")
samples=()
start=$(date +%s)
while kill -0 "$BROKER" 2>/dev/null; do
    sleep 2
    kill -0 "$BROKER" 2>/dev/null || break
    samples+=("$(rss "$BROKER"):$(rss "$REDUCER")")
    v=$((RANDOM % ${#MAPPERS[@]}))
    kill -9 "${MAPPERS[$v]}" 2>/dev/null && kills=$((kills + 1))
    unset "MAPPERS[$v]"; MAPPERS=("${MAPPERS[@]}")
    add_mapper
    [ $(( $(date +%s) - start )) -gt 400 ] && fail "the job did not finish in 400 s"
done
kill "$GARB" 2>/dev/null || true
end=$(date +%s)
wait "$BROKER" || fail "broker exit code"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 10 > "$T/final.json"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals under load and faults"
garbage=$(wc -l < "$T/garbage.count")
[ "$kills" -ge 3 ] || fail "only $kills mapper(s) were killed: the faults did not happen"
[ "$garbage" -ge 3 ] || fail "only $garbage round(s) of garbage were sent"
echo "samples (broker_rss_kb:reducer_rss_kb): ${samples[*]}"
python3 - "$T/final.json" "$TASKS" "$kills" "$garbage" "$((end - start))" "${samples[@]}" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
tasks, kills, garbage, secs = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = [tuple(map(int, x.split(":"))) for x in sys.argv[6:] if ":" in x and x.split(":")[0]]
print(f"load: {tasks} tasks (+{r['tasks_total'] - tasks} tails) in {secs} s = {tasks / max(secs, 1):.0f} tasks/s, "
      f"{kills} mappers SIGKILLed, {garbage} rounds of garbage ({garbage * 101} hostile messages and "
      f"{garbage} raw blobs), {r['duplicates_ignored']} duplicate partials ignored, totals exact")
if len(s) >= 3:
    mid = s[len(s) // 2]
    last = s[-1]
    print(f"RSS broker {s[0][0]}/{mid[0]}/{last[0]} KB, reducer {s[0][1]}/{mid[1]}/{last[1]} KB (first/middle/last)")
    # Flat: the second half of the run adds at most 50% (and 20 MB) to the middle value.
    for i, name in ((0, "broker"), (1, "reducer")):
        if last[i] > mid[i] * 1.5 + 20000:
            sys.exit(f"{name} memory grew from {mid[i]} KB to {last[i]} KB")
PY
pass "64 slots, $TASKS tasks, $kills SIGKILLs, garbage at every port: exact, memory flat"
