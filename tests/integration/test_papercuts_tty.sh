#!/usr/bin/env bash
# The live view fits the terminal, whatever its width (issue 17, papercut 2): tally watch in tmux
# panes 50, 80 and 120 columns wide, and tally run in one 64 wide. No line of the view may wrap:
# every line of the captured pane is one the view draws (the header, a bar, "... more", the
# progress line), none is wider than the pane, and the progress line is whole. A wider pane
# shows more of the progress line's fields.
. "$(dirname "$0")/lib.sh"
command -v tmux > /dev/null || fail "tmux is not installed (scripts/deps installs it)"
export TERM=${TERM:-xterm}
[ "$TERM" = dumb ] && export TERM=xterm
SOCK="$T/tmux.sock"
ON_EXIT="tmux -S '$SOCK' kill-server 2>/dev/null"

"$TALLY" gen --out "$T/data" --files 6 --rows 30000 --seed 17 2> "$T/gen.log"
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" --input "$T/data" \
    --group-by passenger_count --split-size 1M
wait_for "$T/broker.log" "ready"
for w in 50 80 120; do
    tmux -S "$SOCK" new-session -d -x "$w" -y 40 -s "w$w" "$TALLY watch --subscribe tcp://127.0.0.1:$PP; sleep 60"
done
# tally run draws the same view on its stderr.
tmux -S "$SOCK" new-session -d -x 64 -y 40 -s run \
    "$TALLY run --input $T/data --group-by passenger_count --split-size 1M --mappers 2 --slots 1 --rate-limit 2M; sleep 60"
# Two slow mappers, so the job takes several seconds.
bg m1 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 1M --name m1
bg m2 "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 1 --rate-limit 1M --name m2

snap () { tmux -S "$SOCK" capture-pane -p -t "$1" > "$T/$2"; }
# check PANE_FILE WIDTH: every line is one the view draws, none wider than the pane, the
# progress line whole (it ends in one of its fields); prints the progress line.
check () {
    python3 - "$1" "$2" <<'PY'
import re, sys
path, width = sys.argv[1], int(sys.argv[2])
lines = open(path).read().rstrip("\n").split("\n")
header = re.compile(r"^passenger_count +count +share$|^passeng\S* +count +share$")
bar = re.compile(r"^\S* *[0-9,]+ +[0-9.]+%( +#+)?$")
more = re.compile(r"^\.\.\. and [0-9]+ more group\(s\)$")
# [bar] pct, then any of the fields in their order, each after two spaces.
field = r"(  [0-9]+/[0-9]+ tasks)?(  [0-9.]+ [KMGT]?B/[0-9.]+ [KMGT]?B)?(  [0-9.]+ [KMGT]?B/s)?(  [0-9,]+ rows/s)?(  ETA [-0-9]+( s)?)?(  [0-9]+ mapper\(s\))?(  [0-9.]+ s)?"
progress = re.compile(r"^(\[[#.]+\] )? *[0-9]+%" + field + "$")
prog = None
for i, l in enumerate(lines):
    assert len(l) <= width, "line %d is %d wide in a %d-column pane: %r" % (i, len(l), width, l)
    if not l.strip():
        continue
    if progress.match(l):
        assert prog is None, "two progress lines: %r" % lines
        prog = l
        continue
    assert header.match(l) or bar.match(l) or more.match(l), \
        "line %d is not part of the view (a wrapped tail?): %r\n%s" % (i, l, "\n".join(lines))
assert prog, "no progress line:\n" + "\n".join(lines)
assert lines[0].startswith("passeng"), "the view does not start with its header (it scrolled):\n" + "\n".join(lines)
print(prog)
PY
}
i=0
until snap w120 p.txt && grep -Eq 'mapper\(s\)' "$T/p.txt" && grep -Eq '^1 +[0-9,]+ +[0-9.]+% +#+' "$T/p.txt"; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "no live view: $(cat "$T/p.txt")"; sleep 0.1
done
for w in 50 80 120; do
    snap "w$w" "w$w.txt"
    check "$T/w$w.txt" "$w" > "$T/prog$w.txt" || fail "watch at $w columns"
done
# The wider the pane, the more of the line: at 120 the tasks, the rate and the ETA are all there.
grep -Eq 'tasks  .*/s  .*ETA' "$T/prog120.txt" || fail "the 120-column progress line lost too much: $(cat "$T/prog120.txt")"
[ "$(wc -c < "$T/prog50.txt")" -lt "$(wc -c < "$T/prog120.txt")" ] || fail "50 columns shows as much as 120"
grep -q 'ETA' "$T/prog50.txt" || fail "the 50-column line lost the ETA: $(cat "$T/prog50.txt")"
pass "watch while the job runs: nothing wraps at 50, 80 or 120 columns; the progress line drops fields to fit"

i=0
until snap run r.txt && grep -Eq '[0-9]+%' "$T/r.txt"; do
    i=$((i + 1)); [ $i -gt 300 ] && fail "no live view from tally run: $(cat "$T/r.txt")"; sleep 0.1
done
check "$T/r.txt" 64 > /dev/null || fail "tally run at 64 columns"
pass "tally run's live view fits 64 columns"

# The end: the final view (100%) fits too.
for w in 50 80 120; do
    i=0
    until snap "w$w" "f$w.txt" && grep -q '100%' "$T/f$w.txt"; do
        i=$((i + 1)); [ $i -gt 600 ] && fail "watch at $w did not reach 100%: $(cat "$T/f$w.txt")"; sleep 0.1
    done
    check "$T/f$w.txt" "$w" > /dev/null || fail "final view at $w columns"
done
pass "the final view fits at 50, 80 and 120 columns"
