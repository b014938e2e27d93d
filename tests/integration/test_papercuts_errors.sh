#!/usr/bin/env bash
# A failed job's errors, short (issue 17, papercut 4). The broker sums up a failed job as
# "N task(s) failed: E1 (k tasks); E2; ..." (every distinct error, up to 4 KB): the table's
# footer and run's summary on stderr show the distinct errors, the first 5 in full with their
# counts, then "... and K more (see the broker's log)"; --format json keeps the whole text.
# One object failing in many ranges for one reason is one line with its count.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/gen" --files 1 --rows 20000 --seed 21 2> "$T/gen.log"
src=$(ls "$T"/gen/*.csv | head -1)

# shape FILE INDENT: the summary in FILE after its head line; checks the 5 entries and the
# "... and K more" line add up to the failed tasks; prints "shown,more".
shape () {
    python3 - "$1" "$2" <<'PY'
import re, sys
text, ind = open(sys.argv[1]).read(), sys.argv[2]
m = re.search(r"([0-9]+) task\(s\) failed, (at least )?([0-9]+) distinct error\(s\):\n", text)
assert m, "no summary head in:\n" + text[:2000]
failed, distinct = int(m.group(1)), int(m.group(3))
rest = text[m.end():].split("\n")
entries, more = [], None
for l in rest:
    if not l.startswith(ind):
        break
    l = l[len(ind):]
    mm = re.match(r"\.\.\. and (at least )?([0-9]+) more over ([0-9]+) task\(s\) \(see the broker's log\)$", l)
    if mm:
        more = (int(mm.group(2)), int(mm.group(3)))
        break
    e = re.search(r" \(([0-9]+) tasks?\)$", l)
    assert e, "an entry without its count: %r" % l
    assert "; " not in l or "(" in l, "two errors on one line: %r" % l
    entries.append(int(e.group(1)))
assert len(entries) == min(5, distinct), (entries, distinct)
shown = sum(entries)
if more:
    assert shown + more[1] == failed, (entries, more, failed)
else:
    assert shown == failed and distinct <= 5, (entries, failed)
for l in text.split("\n"):
    assert len(l) < 400, "a line of %d characters: %r" % (len(l), l[:200])
print("%d,%s" % (len(entries), more[0] if more else 0))
PY
}

# --- many objects, each failing: 30 small CSVs without the column, a broken gzip and a file with
#     no header line: more than 5 distinct errors.
mkdir -p "$T/many"
for i in $(seq 1 30); do head -c 3000 "$src" > "$T/many/part-$i.csv"; done
printf '\x1f\x8b\x08\x00garbage' > "$T/many/cut.csv.gz"     # another reason: gzip data ends early
printf 'no newline here' > "$T/many/flat.csv"
set +e
"$TALLY" run --input "$T/many" --group-by no_such_col > "$T/many.out" 2> "$T/many.log"
rc=$?
set -e
[ $rc -eq 1 ] || fail "a failed job exited $rc"
grep -q "FAILED: 32 task(s) failed, .* distinct error(s):$" "$T/many.out" || fail "no short footer: $(head -c 3000 "$T/many.out")"
r=$(shape "$T/many.out" "   ") || fail "the table's footer"
[ "${r%,*}" = 5 ] && [ "${r#*,}" -ge 1 ] || fail "footer: $r"
sed -n '/^tally run: the job failed: /,$p' "$T/many.log" | sed 's/^tally run: the job failed: //' > "$T/summary.txt"
[ -s "$T/summary.txt" ] || fail "no summary on run's stderr: $(tail -5 "$T/many.log")"
r=$(shape "$T/summary.txt" "  ") || fail "run's summary on stderr"
[ "${r%,*}" = 5 ] || fail "summary: $r"
pass "32 objects failing: the footer and run's summary show 5 errors with counts, then '... and K more'"

set +e
"$TALLY" run --input "$T/many" --group-by no_such_col --format json > "$T/many.json" 2> /dev/null
set -e
python3 - "$T/many.json" <<'PY' || fail "json lost the full error"
import json, sys
err = json.load(open(sys.argv[1]))["error"]
assert err.startswith("32 task(s) failed: "), err[:100]
named = sum(1 for i in range(1, 31) if "part-%d.csv" % i in err)
assert named > 5, (named, err[:300])
assert "\n" not in err
PY
pass "--format json keeps the broker's full text"

# --- one object in many ranges, one reason: one line, with its count.
set +e
"$TALLY" run --input "$src" --group-by no_such_col --split-size 64K > "$T/one.out" 2> "$T/one.log"
set -e
grep -q "FAILED: [0-9]* task(s) failed, 1 distinct error(s):$" "$T/one.out" || fail "one reason: $(cat "$T/one.out")"
r=$(shape "$T/one.out" "   ") || fail "one reason: shape"
[ "$r" = "1,0" ] || fail "one reason: $r"
grep -Eq "^   .*column 'no_such_col' not found in header .* \([0-9]+ tasks\)$" "$T/one.out" || fail "one reason: $(cat "$T/one.out")"
pass "one object failing in every range: one line with its count"
