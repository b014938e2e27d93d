#!/usr/bin/env bash
# A reducer from before `answers` (an older version, which the broker does not judge by its
# silence) says it is stalled, and then dies: the broker holds every apply timeout while a
# reducer is stalled, so before, it held them for ever and the job hung with no word (rv13 H2).
# A stalled reducer of any version says so every second, so while stalled its silence counts:
# after 15 s the broker says the reducer has not answered (and fails the job after 10 min).
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 1 --rows 500 --seed 3 2> "$T/gen.log"
RE="ipc://$T/reducer"
/usr/bin/python3 "$TALLY_SRC/tests/tools/rogue.py" old-reducer "$RE" --stall 3 > "$T/rogue.out" 2> "$T/rogue.log" &
PIDS+=($!)
rogue=$!
"$TALLY" broker --listen "ipc://$T/broker" --reducer "$RE" --input "$T/data" --group-by passenger_count \
    2> "$T/broker.log" &
PIDS+=($!)
wait $rogue || fail "the old reducer's stand-in failed: $(cat "$T/rogue.log")"
grep -q dead "$T/rogue.out" || fail "the old reducer's stand-in did not run its course"
grep -q "is not acknowledging applied tasks because its checkpoint fails" "$T/broker.log" ||
    fail "the broker did not take the stall"
for _ in $(seq 60); do
    grep -q "the reducer at $RE has not answered for" "$T/broker.log" && break
    sleep 1
done
grep -q "the reducer at $RE has not answered for" "$T/broker.log" ||
    fail "60 s after a stalled old reducer died, the broker had said nothing of it"
pass "a stalled reducer without 'answers' that died: the broker says so ($(grep -o 'has not answered for [0-9]* s' "$T/broker.log" | head -1))"
