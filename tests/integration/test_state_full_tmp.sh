#!/usr/bin/env bash
# A base that cannot be written on a full disk leaves no partial reducer.ckpt.tmp behind (rt13).
# The leftover held what was left of the disk, so the log, which "keeps growing" after a failed
# compaction, failed at its next append and acks stopped at once: on a 4 MB tmpfs, 23 of 75
# tasks were acknowledged before the stall, 45 without the leftover. Then the disk grows and the
# job ends exact (against Python's csv module), as before.
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
    --group-by tpep_pickup_datetime --split-size 256K --hb-ms 200
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 1M
wait_for "$T/reducer.log" "cannot write .* in $T/small/r" 60
sleep 0.5
ls -la "$T/small/r" > "$T/ls.txt"
[ ! -e "$T/small/r/reducer.ckpt.tmp" ] || { cat "$T/ls.txt" >&2; fail "a failed base left reducer.ckpt.tmp ($(stat -c %s "$T/small/r/reducer.ckpt.tmp") bytes) on the full disk"; }
pass "a base that did not fit left no reducer.ckpt.tmp behind"
mount -o remount,size=64m "$T/small" || fail "remount"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 120 > "$T/out.csv" \
    || fail "the job did not end ok once the disk had room"
python3 "$TALLY_SRC/tests/tools/csv_by.py" "$T/data" tpep_pickup_datetime "$T/out.csv" || fail "totals after the full disk"
pass "then the disk grew and the job ended exact"
