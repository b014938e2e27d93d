#!/usr/bin/env bash
# Exact or loud, state dirs (issue 12, items 1, 4, 5): a reused --state-dir, a damaged broker
# journal and a damaged reducer checkpoint must each end in exact totals or a loud refusal,
# never in "ok" with wrong numbers.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 4 --rows 20000 --seed 21 2> "$T/gen.log"
"$TALLY" gen --out "$T/other" --files 2 --rows 5000 --seed 22 2> "$T/gen2.log"
TRUTH="$T/data.truth.json"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
# --compact-bytes 0: a whole base at every checkpoint, so that reducer.ckpt alone is the state
# (part 4 resumes from it, part 5 damages it); the log has its own test, test_ckpt_log.sh.
reducer () { bg "$1" "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP" --state-dir "$2" --compact-bytes 0; REDUCER=$LAST_PID; }
broker_args () {   # broker_args STATE_DIR INPUT [extra...]
    local sd=$1 in=$2; shift 2
    echo --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$in" --group-by passenger_count \
        --split-size 512K --min-steal 64K --hb-ms 200 --lease-ms 1000 --state-dir "$sd" "$@"
}
mapper () { bg "$1" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name "$1" --rate-limit "$2"; }
final () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$1"; }
state_tasks () { "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --once --format json --timeout 10 2>/dev/null |
                 python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"])' 2>/dev/null || echo 0; }

# 1. A job runs to the end; its state dir then refuses a second run, of the same or another job.
reducer r1 "$T/r1"
# shellcheck disable=SC2046
bg b1 "$TALLY" broker $(broker_args "$T/b1" "$T/data")
B1=$LAST_PID
mapper m1 2M; mapper m2 600K
final "$T/final1.json"
check_truth "$T/final1.json" "$TRUTH" passenger_count || fail "first job's totals"
wait "$B1" || fail "first broker exit"
for input in "$T/data" "$T/other"; do
    # shellcheck disable=SC2046
    if timeout 10 "$TALLY" broker $(broker_args "$T/b1" "$input") > "$T/reuse.log" 2>&1; then
        fail "a broker reusing a finished job's state dir ran (input $input)"
    fi
    grep -q "which has finished .*use a new --state-dir, or --fresh" "$T/reuse.log" || { cat "$T/reuse.log"; fail "no actionable refusal"; }
done
pass "a finished job's state dir is refused, with the way out in the message"

# --fresh discards it: the other input is counted exactly, on the same reducer (its job had ended).
# shellcheck disable=SC2046
bg b2 "$TALLY" broker $(broker_args "$T/b1" "$T/other" --fresh)
B2=$LAST_PID
mapper m5 4M
wait_for "$T/b2.log" "reducer .* ready" 20
final "$T/final2.json"
wait "$B2" || fail "fresh broker exit"
check_truth "$T/final2.json" "$T/other.truth.json" passenger_count || fail "--fresh job's totals"
pass "--fresh discards the old journal; the new job is exact"
kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true
kill -9 "${PIDS[@]}" 2>/dev/null || true

# 2. A crash mid-job, then a restart with another --input or --group-by: refused.
# Whole files on 3 mappers of 2 slots: idle slots, so running tasks are cut (steals) and the
# journal holds cut records as well as the job.
reducer r3 "$T/r3"
# shellcheck disable=SC2046
bg b3 "$TALLY" broker $(broker_args "$T/b3" "$T/data" --split-size 0)
B3=$LAST_PID
mapper m3 300K; mapper m4 200K; mapper m6 250K
for i in $(seq 1 300); do [ "$(grep -c 'steal: task .* cut at' "$T/b3.log")" -ge 3 ] && break; sleep 0.1; done
for i in $(seq 1 200); do [ "$(state_tasks)" -ge 2 ] && break; sleep 0.1; done
kill -9 "$B3"; wait "$B3" 2>/dev/null || true
kill -9 "$REDUCER"; wait "$REDUCER" 2>/dev/null || true
cp "$T/b3/broker.journal" "$T/journal.0"
cp "$T/r3/reducer.ckpt" "$T/ckpt.0"
grep -c "steal: task .* cut at" "$T/b3.log" > "$T/steals" || true
echo "journal after the crash: $(stat -c %s "$T/journal.0") bytes, $(cat "$T/steals") steal(s) recorded"
# shellcheck disable=SC2046
if timeout 10 "$TALLY" broker $(broker_args "$T/b3" "$T/other" --split-size 0) > "$T/other.log" 2>&1; then fail "resumed with another --input"; fi
grep -q "is another job .*use a new --state-dir, or --fresh" "$T/other.log" || { cat "$T/other.log"; fail "no refusal for another input"; }
# shellcheck disable=SC2046
if timeout 10 "$TALLY" broker $(broker_args "$T/b3" "$T/data" --split-size 0 --agg sum:trip_distance) > "$T/q.log" 2>&1; then fail "resumed with another query"; fi
grep -q "is another job" "$T/q.log" || { cat "$T/q.log"; fail "no refusal for another query"; }
pass "a crashed job's state dir refuses another --input and another query"

# 3. Single-byte damage to the journal, many trials: every one is refused, naming file and offset.
size=$(stat -c %s "$T/journal.0")
refused=0
for trial in $(seq 1 40); do
    mkdir -p "$T/jd"; cp "$T/journal.0" "$T/jd/broker.journal"
    off=$(( (RANDOM * 32768 + RANDOM) % size ))
    python3 - "$T/jd/broker.journal" "$off" <<'PY'
import random, sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read())
b[off] ^= random.choice([1, 2, 4, 8, 16, 32, 64, 128, 255])
open(p, "wb").write(b)
PY
    # shellcheck disable=SC2046
    if timeout 5 "$TALLY" broker $(broker_args "$T/jd" "$T/data" --split-size 0) > "$T/jd.log" 2>&1; then
        fail "trial $trial: a journal damaged at offset $off was accepted"
    fi
    grep -q "broker.journal is damaged at offset [0-9]*\|not a tally journal" "$T/jd.log" ||
        { cat "$T/jd.log"; fail "trial $trial (offset $off): no refusal naming the offset"; }
    refused=$((refused + 1))
done
pass "journal: $refused/40 random single-byte damages refused, each naming the file and offset"

# 4. Truncation (the file cut in the middle, and at random points), resumed against the real
# reducer checkpoint: exact totals, or a loud failure.
outcomes=""
for cut in job half 1 2; do
    rm -rf "$T/jt" "$T/rt"; mkdir -p "$T/jt" "$T/rt"
    cp "$T/ckpt.0" "$T/rt/reducer.ckpt"
    case $cut in
        job)  # exactly after the job record: every cut record is gone, a valid-looking shorter journal
              n=$(python3 -c 'import struct,sys; b=open(sys.argv[1],"rb").read(); print(8 + 16 + struct.unpack(">I", b[8:12])[0])' "$T/journal.0") ;;
        half) n=$((size / 2)) ;;
        *)    n=$(( 8 + (RANDOM * 32768 + RANDOM) % (size - 8) )) ;;
    esac
    head -c "$n" "$T/journal.0" > "$T/jt/broker.journal"
    reducer "rt$cut" "$T/rt"
    # shellcheck disable=SC2046
    bg "bt$cut" "$TALLY" broker $(broker_args "$T/jt" "$T/data" --split-size 0)
    BT=$LAST_PID
    mapper "mt$cut" 4M
    brc=0
    for i in $(seq 1 600); do kill -0 "$BT" 2>/dev/null || break; sleep 0.1; done
    wait "$BT" || brc=$?
    if [ "$brc" -eq 0 ]; then
        final "$T/trunc$cut.json" || fail "truncated at $n: broker ok but the reducer's result is not"
        check_truth "$T/trunc$cut.json" "$TRUTH" passenger_count || fail "truncated at $n: ok with wrong totals"
        outcomes="$outcomes $n:exact"
    else
        grep -q "lost records\|refused job\|is damaged" "$T/bt$cut.log" || { tail "$T/bt$cut.log"; fail "truncated at $n: failed without saying why"; }
        outcomes="$outcomes $n:refused"
        [ "$cut" != job ] || grep -q "lost records" "$T/bt$cut.log" || { tail "$T/bt$cut.log"; fail "cut records dropped: not refused for lost records"; }
    fi
    kill -9 "$REDUCER" "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true
done
pass "journal truncated (bytes kept: outcome):$outcomes"

# 5. The reducer checkpoint: single-byte damage is refused; a changed count with a recomputed
# checksum is refused because the totals no longer add up.
csize=$(stat -c %s "$T/ckpt.0")
for trial in $(seq 1 30); do
    rm -rf "$T/cd"; mkdir -p "$T/cd"; cp "$T/ckpt.0" "$T/cd/reducer.ckpt"
    off=$(( (RANDOM * 32768 + RANDOM) % csize ))
    python3 -c 'import sys; p,o=sys.argv[1],int(sys.argv[2]); b=bytearray(open(p,"rb").read()); b[o]^=0x10; open(p,"wb").write(b)' "$T/cd/reducer.ckpt" "$off"
    timeout 5 "$TALLY" reducer --listen "tcp://127.0.0.1:$(free_port)" --publish "tcp://127.0.0.1:$(free_port)" \
        --state-dir "$T/cd" > "$T/cd.log" 2>&1 && fail "checkpoint damaged at $off was accepted"
    grep -q "reducer.ckpt: .*checkpoint" "$T/cd.log" || { cat "$T/cd.log"; fail "no clear refusal for damage at $off"; }
done
/usr/bin/python3 - "$T/ckpt.0" "$T/cd/reducer.ckpt" <<'PY'
import struct, sys, zlib, msgpack
b = open(sys.argv[1], "rb").read()
doc = msgpack.unpackb(b[12:], raw=False, strict_map_key=False)
groups = doc[7]
groups[0][1] += 1000          # one group's count, as a bit flip in a number would change it
body = msgpack.packb(doc, use_bin_type=True)
open(sys.argv[2], "wb").write(b[:8] + struct.pack(">I", zlib.crc32(body)) + body)
PY
timeout 5 "$TALLY" reducer --listen "tcp://127.0.0.1:$(free_port)" --publish "tcp://127.0.0.1:$(free_port)" \
    --state-dir "$T/cd" > "$T/cd.log" 2>&1 && fail "a changed count with a valid checksum was accepted"
grep -q "does not add up" "$T/cd.log" || { cat "$T/cd.log"; fail "changed count: wrong message"; }
pass "checkpoint: 30/30 single-byte damages refused; a changed count is caught by the row sum"
