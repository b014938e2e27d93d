#!/usr/bin/env bash
# CURVE: with keys on, every socket authenticates and encrypts. An attacker without an allowed
# key tries to take tasks, push forged partials and subscribe: it gets nothing, its attempts
# are logged, and the totals are exactly ground truth.
. "$(dirname "$0")/lib.sh"
"$TALLY" keygen --dir "$T/keys" > /dev/null
for f in server.cert_secret client.cert_secret; do
    [ "$(stat -c %a "$T/keys/$f")" = 600 ] || fail "$f is not mode 0600"
done
pass "tally keygen: key pairs written, secrets mode 0600"

"$TALLY" gen --out "$T/data" --files 6 --rows 3000 --seed 43 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
K=(--keys "$T/keys")
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" "${K[@]}"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count "${K[@]}"
BROKER=$LAST_PID
wait_for "$T/broker.log" "reducer .* ready" 10
JOB=$(grep -o "job [0-9a-f]\{16\}" "$T/broker.log" | head -1 | cut -d' ' -f2)
/usr/bin/python3 "$TALLY_SRC/tests/tools/attacker.py" "$T/keys/server.cert" "tcp://127.0.0.1:$BP" \
    "tcp://127.0.0.1:$RP" "tcp://127.0.0.1:$PP" "$JOB" > "$T/attacker.log" 2>&1 || fail "the attacker got in: $(cat "$T/attacker.log")"
cat "$T/attacker.log"
wait_for "$T/reducer.log" "refused a peer" 5
wait_for "$T/broker.log" "refused a peer" 5
pass "attacker with a wrong key, and without CURVE: nothing received, refusals logged"

# A mapper without keys cannot join; one with keys does the job.
bg nokeys "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name nokeys
bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name good "${K[@]}"
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 60 "${K[@]}" > "$T/final.json"
check_truth "$T/final.json" "$T/data.truth.json" passenger_count || fail "totals with CURVE on"
grep -q "mapper nokeys joined" "$T/broker.log" && fail "a mapper without keys joined"
grep -q "running unauthenticated" "$T/broker.log" "$T/reducer.log" && fail "warned of no auth with keys on"
timeout 5 "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 3 > "$T/nokey-watch.json" 2>&1 \
    && fail "a watcher without keys got the totals"
pass "with keys: exact totals; a mapper and a watcher without keys get nothing"

# tally run with --keys: every child and the run's own subscriber use CURVE.
"$TALLY" run --input "$T/data" --group-by passenger_count --mappers 2 --keys "$T/keys" --format json -v \
    > "$T/run.json" 2> "$T/run.log"
check_truth "$T/run.json" "$T/data.truth.json" passenger_count || fail "tally run --keys"
grep -q "running unauthenticated" "$T/run.log" && fail "tally run --keys left a role unauthenticated"
pass "tally run --keys: all roles on CURVE, totals exact"
