#!/usr/bin/env bash
# The live view on a real terminal: tally watch and tally broker run inside tmux; capture-pane
# shows a bar per group and the progress line (tasks, MB/s, rows/s, ETA, mappers), and the
# screen changes as the job runs. A watcher that is not a terminal gets one JSON line per update
# with --format jsonl, and the final table once otherwise.
. "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || fail "tmux is not installed (scripts/deps installs it)"
export TERM=${TERM:-xterm}
[ "$TERM" = dumb ] && export TERM=xterm
SOCK="$T/tmux.sock"
ON_EXIT="tmux -S '$SOCK' kill-server 2>/dev/null"

"$TALLY" gen --out "$T/data" --files 6 --rows 30000 --seed 13 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
# The broker on a terminal (tmux), logging to the pane.
tmux -S "$SOCK" new-session -d -x 160 -y 50 -s broker \
    "$TALLY broker --listen tcp://127.0.0.1:$BP --reducer tcp://127.0.0.1:$RP --input $T/data --group-by passenger_count --split-size 1M; sleep 30"
tmux -S "$SOCK" new-session -d -x 160 -y 50 -s watch "$TALLY watch --subscribe tcp://127.0.0.1:$PP; sleep 30"
bg jsonl "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --format jsonl --timeout 120
JSONL=$LAST_PID
bg final "$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --timeout 120
sleep 1
# Two slow mappers, so the job takes several seconds.
bg m1 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 1M --name m1
bg m2 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 1M --name m2

snap () { tmux -S "$SOCK" capture-pane -p -t "$1" > "$T/$2"; }
i=0
until snap watch w1.txt && grep -q 'mapper(s)' "$T/w1.txt" && grep -Eq '^1 +[0-9,]+ +[0-9.]+% +#+' "$T/w1.txt"; do
    i=$((i + 1)); [ $i -gt 100 ] && fail "no live view: $(cat "$T/w1.txt")"; sleep 0.1
done
sleep 1.5
snap watch w2.txt
snap broker b1.txt
for f in w1.txt w2.txt; do
    grep -q '^passenger_count' "$T/$f" || fail "no header in $f"
    grep -Eq '^\[[#.]{30}\] +[0-9]+%  [0-9]+/[0-9]+ tasks  .*/s  [0-9,]+ rows/s  ETA .*  [12] mapper\(s\)' "$T/$f" \
        || fail "no progress line in $f: $(cat "$T/$f")"
done
[ "$(grep -cE '^[0-9]* +[0-9,]+ +[0-9.]+% +#+$' "$T/w2.txt")" -ge 5 ] || fail "fewer than 5 bars: $(cat "$T/w2.txt")"
cmp -s "$T/w1.txt" "$T/w2.txt" && fail "the live view did not change in 1.5 s"
pass "watch on a terminal: a bar per group, progress line with MB/s, rows/s, ETA and mappers; it updates"

grep -Eq '^\[[#.]{30}\] +[0-9]+%  [0-9]+/[0-9]+ tasks  [0-9]+ running  [0-9]+ queued  2 mapper\(s\)' "$T/b1.txt" \
    || fail "no progress bar from the broker: $(cat "$T/b1.txt")"
pass "broker on a terminal: a progress bar under its log"

wait "$JSONL" || fail "jsonl watcher failed"
lines=$(wc -l < "$T/jsonl.log")
[ "$lines" -ge 3 ] || fail "jsonl: only $lines line(s)"
python3 - "$T/jsonl.log" "$T/data.truth.json" <<'PY' || fail "jsonl lines"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert all(not l["done"] for l in lines[:-1]) and lines[-1]["done"], [l["done"] for l in lines]
rows = [l["rows"] for l in lines]
assert rows == sorted(rows), rows
truth = json.load(open(sys.argv[2]))["by_column"]["passenger_count"]
assert {g["key"]: g["count"] for g in lines[-1]["groups"]} == truth
print("jsonl: %d lines, rows rising to %d, last one exact" % (len(lines), rows[-1]))
PY
pass "--format jsonl: one line per update, the last one exact"
i=0
while kill -0 "${PIDS[-1]}" 2>/dev/null; do i=$((i + 1)); [ $i -gt 100 ] && fail "the non-tty watcher did not exit at the end"; sleep 0.1; done
[ "$(grep -c '^-- ' "$T/final.log")" = 1 ] || fail "non-tty watch should print the table once: $(cat "$T/final.log")"
pass "watch without a terminal prints the final table once and exits"
