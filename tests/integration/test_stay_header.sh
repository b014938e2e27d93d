#!/usr/bin/env bash
# Exact or loud, a mapper that stays (red team, session 9): its cache of header lines (ranges of
# an object need the header, which lies in the first range) was keyed by the URI alone and kept
# across jobs. An object written again between two jobs, its columns in another order (same
# size), was read in job 2 with job 1's header: --group-by a counted column b's values in every
# range but the first, and the job ended ok, exit 0. The cache is now keyed by the object's
# version too (size, mtime, ETag), so job 2 reads the new header; checked against Python.
. "$(dirname "$0")/lib.sh"

write () {    # write ORDER: the same rows, columns a,b or b,a
    python3 - "$T/d.csv" "$1" <<'PY'
import sys
path, order = sys.argv[1:3]
with open(path, "w") as f:
    f.write(order + "\n")
    for i in range(20000):
        a, b = f"A{i % 3}", f"B{i % 5}"
        f.write(f"{a},{b}\n" if order == "a,b" else f"{b},{a}\n")
PY
}
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --stay
want=$'a,count\nA0,6667\nA1,6667\nA2,6666'
for order in "a,b" "b,a"; do
    write "$order"
    sleep 0.05     # another mtime, whatever the clock's grain
    touch "$T/d.csv"
    "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/d.csv" \
        --group-by a --split-size 16K > "$T/broker-$order.log" 2>&1 || fail "broker ($order) exited $?"
    got=$("$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format csv --timeout 20 2> "$T/watch.log") \
        || fail "watch ($order) exited $?"
    [ "$got" = "$want" ] || fail "columns $order: got $got"
done
[ "$(grep -c "joined job" "$T/mapper.log")" -ge 2 ] || fail "the mapper did not serve both jobs: $(cat "$T/mapper.log")"
pass "a mapper that stays reads an object written again between two jobs (columns reordered) with its new header"
