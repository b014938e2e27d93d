#!/usr/bin/env bash
# A mapper told to stop (SIGTERM) while its finished partials wait for a reducer that is gone
# exits, having handed its work back. It used to wait for ever at its exit (red team, session
# 12: ~10 minutes, until a second SIGTERM): the teardown waited for a DONE from every slot with
# a task, and a slot whose DONE had come already, its partial still queued, sends none.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 2 --rows 30000 --seed 5 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
R=$LAST_PID
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --split-size 64K
# many short tasks, so that finished partials pile up (the reducer's send queue holds 16) after
# the reducer is gone
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --rate-limit 1M -v
M=$LAST_PID
wait_for "$T/broker.log" "progress: [1-9][0-9]*/" 60
kill -9 "$R"
# Until the slots stop finishing tasks: both hold a partial that the reducer's queue will not take.
prev=-1
for _ in $(seq 1 60); do
    n=$(grep -c " on slot " "$T/mapper.log" || true)
    [ "$n" = "$prev" ] && break
    prev=$n
    sleep 1
done
echo "the mapper has started $n task(s); stopping it" >&2
kill -TERM "$M"
timeout 30 tail --pid="$M" -f /dev/null || fail "the mapper still runs 30 s after SIGTERM: $(tail -3 "$T/mapper.log")"
rc=0; wait "$M" || rc=$?
[ "$rc" = 0 ] || fail "the mapper exited $rc after SIGTERM"
grep -q "stopping: unfinished work handed back to the broker" "$T/mapper.log" || fail "no hand-back line"
pass "a mapper SIGTERMed with partials queued for a gone reducer exits, handing its work back"
