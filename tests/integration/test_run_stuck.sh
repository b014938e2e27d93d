#!/usr/bin/env bash
# tally run and a child that will not stop (session 10: CI saw test_local hang 600 s after the
# result was written; run waited for its children without a bound). A mapper is frozen
# (SIGSTOP) mid-job: the broker re-queues its work, the job ends exact, and run, after telling
# the children to stop, waits 10 s, kills the frozen one and says so, naming where its threads
# wait, instead of waiting for ever.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 12 --rows 4000 --seed 3 2> "$T/gen.log"
"$TALLY" run --input "$T/data" --group-by passenger_count --mappers 2 --slots 1 --rate-limit 1M --format json \
    > "$T/out.json" 2> "$T/run.log" &
RUN=$!
PIDS+=("$RUN")
sleep 0.7
M=$(pgrep -n -P "$RUN")   # the newest child: the reducer, the broker, then the mappers are started
[ -n "$M" ] || fail "no child of run to freeze"
kill -STOP "$M"
rc=0
wait "$RUN" || rc=$?
kill -9 "$M" 2> /dev/null || true
[ "$rc" -eq 0 ] || fail "run exited $rc ($(tail -3 "$T/run.log"))"
check_truth "$T/out.json" "$T/data.truth.json" passenger_count || fail "totals with a frozen mapper"
grep -q "the mapper (pid $M) did not stop within 10 s of SIGTERM: killed (its threads: .*do_signal_stop" "$T/run.log" \
    || fail "no word of the frozen mapper ($(tail -3 "$T/run.log"))"
pass "a frozen mapper: the job exact, run ends, killing it and saying where it waited"
