#!/usr/bin/env bash
# A full disk under the reducer's state dir (rt13), on a 1 MB tmpfs:
# - A base that cannot be written leaves no partial reducer.ckpt.tmp behind. The leftover held
#   what was left of the disk, so the log, which "keeps growing" after a failed compaction,
#   failed at its next append and acks stopped at once (on a 4 MB tmpfs, 23 of 75 tasks were
#   acknowledged before the stall, 45 without the leftover).
# - The reducer holds its acks back and says so; finished tasks then wait for it, however long.
#   The broker used to count each wait as an apply timeout: after 2 x --max-attempts of them a
#   task "failed for good ... its partial is one the reducer cannot take", and once every task
#   had, the job failed, though the broker knew the reducer was stalled on its disk. Here the
#   timeouts are 2 s, one attempt, and the disk stays full for 12 s: no task may fail.
# - Then the disk grows, and the job ends ok and exact against Python's csv module.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/small"
if ! mount -t tmpfs -o size=1m tmpfs "$T/small" 2> "$T/mount.log"; then
    echo "SKIP: cannot mount a small tmpfs here ($(cat "$T/mount.log"))" >&2
    exit 0
fi
ON_EXIT="umount '$T/small' 2>/dev/null"
"$TALLY" gen --out "$T/data" --files 1 --rows 60000 --eras 2015 --seed 9 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" --state-dir "$T/small/r" \
    --compact-bytes 64K -v
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by tpep_pickup_datetime --split-size 256K --hb-ms 200 --apply-timeout-ms 2000 --max-attempts 1
BROKER=$LAST_PID
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --rate-limit 1M
wait_for "$T/reducer.log" "cannot write .* in $T/small/r" 60
sleep 0.5
ls -la "$T/small/r" > "$T/ls.txt"
[ ! -e "$T/small/r/reducer.ckpt.tmp" ] || { cat "$T/ls.txt" >&2; fail "a failed base left reducer.ckpt.tmp ($(stat -c %s "$T/small/r/reducer.ckpt.tmp") bytes) on the full disk"; }
pass "a base that did not fit left no reducer.ckpt.tmp behind"
wait_for "$T/broker.log" "not acknowledging .* its checkpoint fails" 60
sleep 12    # six apply timeouts' worth of a full disk
grep -q "failed for good" "$T/broker.log" && fail "a task failed while the reducer's disk was full: $(grep -m1 'failed for good' "$T/broker.log" | cut -c1-300)"
kill -0 "$BROKER" 2>/dev/null || fail "the broker ended while the reducer's disk was full: $(grep ERROR "$T/broker.log" | tail -1 | cut -c1-300)"
pass "12 s of a full disk under the reducer with 2 s apply timeouts: no task failed, the broker waits"
mount -o remount,size=64m "$T/small" || fail "remount"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 120 > "$T/out.csv" \
    || fail "the job did not end ok once the disk had room"
wait "$BROKER" || fail "the broker exited non-zero: $(grep ERROR "$T/broker.log" | tail -1 | cut -c1-300)"
python3 "$TALLY_SRC/tests/tools/csv_by.py" "$T/data" tpep_pickup_datetime "$T/out.csv" || fail "totals after the full disk"
pass "then the disk grew and the job ended ok and exact"
