#!/usr/bin/env bash
# Ground truth over a multi-era data set with every quirk, from local files: `tally run` with 1
# and 3 mappers, and the roles started by hand over TCP with a watcher, by name and by number.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 12 --rows 4000 --eras 2009,2010,2014,2015,2017,2020 --seed 3 2> "$T/gen.log"
TRUTH="$T/data.truth.json"
python3 - "$TRUTH" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
assert t["bad_rows"] > 0 and t["blank_lines"] > 0 and "" in t["by_column"]["passenger_count"], t
PY

for m in 1 3; do
    "$TALLY" run --input "$T/data" --group-by passenger_count --mappers $m --slots 1 --format json > "$T/run$m.json" 2> "$T/run$m.log"
    check_truth "$T/run$m.json" "$TRUTH" passenger_count || fail "run with $m mapper(s)"
    pass "tally run, $m mapper(s): exact"
done

# By column number, and through file:// URIs of single files.
args=()
for f in "$T"/data/*.csv; do args+=(--input "file://$f"); done
"$TALLY" run "${args[@]}" --group-by 1 --mappers 2 --format json > "$T/col1.json" 2> "$T/col1.log"
check_truth "$T/col1.json" "$TRUTH" 1 || fail "group by column 1"
pass "group by column number over file:// inputs: exact"

# csv format: header, then count descending.
"$TALLY" run --input "$T/data" --group-by Passenger_Count --format csv > "$T/out.csv" 2> "$T/csv.log"
head -1 "$T/out.csv" | grep -qx 'Passenger_Count,count' || fail "csv header: $(head -1 "$T/out.csv")"
tail -n +2 "$T/out.csv" | cut -d, -f2 | sort -c -rn || fail "csv not sorted by count"
pass "csv output"

# --output: the final result also goes to a file (JSON by its name, CSV otherwise).
"$TALLY" run --input "$T/data" --group-by passenger_count --output "$T/result.json" -q > /dev/null 2> "$T/out.log"
check_truth "$T/result.json" "$TRUTH" passenger_count || fail "--output json"
"$TALLY" run --input "$T/data" --group-by passenger_count --output "$T/result.csv" --format csv -q > "$T/stdout.csv" 2>> "$T/out.log"
cmp "$T/result.csv" "$T/stdout.csv" || fail "--output csv differs from the printed csv"
pass "--output FILE (json and csv)"

# A failed job's partial table never takes the place of a result: it goes to FILE.failed, and
# FILE holds this job's good result or nothing (an earlier result, which a script that misses
# the exit code would read as this job's, is removed); the exit code and a line say so.
mkdir -p "$T/bad"
cp "$T"/data/*.csv "$T/bad/"
head -c 3000 "$T/data/$(ls "$T/data" | head -1)" | gzip -c | head -c 900 > "$T/bad/cut.csv.gz"
echo "an earlier good result" > "$T/keep.csv"
"$TALLY" run --input "$T/bad" --group-by passenger_count --output "$T/keep.csv" --format csv -q \
    > "$T/bad.out" 2> "$T/bad.log" && fail "a job over a cut gzip exited 0"
[ ! -e "$T/keep.csv" ] || fail "a failed job left --output FILE: $(head -3 "$T/keep.csv")"
grep -q "which held an earlier result: removed" "$T/bad.log" || fail "the earlier result removed without a word"
head -1 "$T/keep.csv.failed" | grep -qx 'passenger_count,count' || fail "no partial table in FILE.failed: $(cat "$T/bad.log")"
grep -q "^tally run: the job failed, so its partial table goes to .*keep.csv.failed, not to" "$T/bad.log" || fail "no line about FILE.failed: $(cat "$T/bad.log")"
# FILE.failed that cannot be written (here a folder): the line names FILE.failed, not FILE.
mkdir -p "$T/dir.csv.failed"
"$TALLY" run --input "$T/bad" --group-by passenger_count --output "$T/dir.csv" --format csv -q \
    > /dev/null 2> "$T/bad2.log" && fail "a job over a cut gzip exited 0 (FILE.failed a folder)"
grep -qF "cannot write $T/dir.csv.failed: Is a directory" "$T/bad2.log" \
    || fail "the unwritable FILE.failed not named: $(cat "$T/bad2.log")"
[ ! -e "$T/dir.csv.tmp" ] || fail "the temporary file was left behind: $T/dir.csv.tmp"
# A good run afterwards: FILE holds its result, and the stale FILE.failed is gone.
"$TALLY" run --input "$T/data" --group-by passenger_count --output "$T/keep.csv" --format csv -q > /dev/null 2>> "$T/out.log"
[ ! -e "$T/keep.csv.failed" ] || fail "a good run left the FILE.failed of an earlier one"
head -1 "$T/keep.csv" | grep -qx 'passenger_count,count' || fail "the good run's FILE: $(head -3 "$T/keep.csv")"
pass "a failed job: no --output FILE (an earlier one removed), the partial table in FILE.failed, a non-zero exit and a line; a good run removes FILE.failed"

# --log-format json: every log line of every process (run passes it to its children) is JSON.
"$TALLY" --log-format json run --input "$T/data" --group-by passenger_count -v --format json > "$T/lj.json" 2> "$T/lj.log"
check_truth "$T/lj.json" "$TRUTH" passenger_count || fail "totals with json logs"
python3 - "$T/lj.log" <<'PY' || fail "--log-format json"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
comps = set()
for l in lines:
    o = json.loads(l)
    assert set(o) == {"ts", "level", "component", "msg"}, o
    comps.add(o["component"])
assert {"broker", "reducer", "mapper"} <= comps, comps
print(f"{len(lines)} JSON log lines from {sorted(comps)}")
PY
pass "--log-format json from every process"

# The roles as separate processes over TCP, with tally watch.
RP=$(free_port); PP=$(free_port); BP=$(free_port)
bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$RP" --publish "tcp://127.0.0.1:$PP"
bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$BP" --reducer "tcp://127.0.0.1:$RP" \
    --input "$T/data" --group-by passenger_count --split-size 100K
BROKER=$LAST_PID
for i in 1 2 3; do bg "mapper$i" "$TALLY" mapper --broker "tcp://127.0.0.1:$BP" --slots 2 --name "m$i"; done
"$TALLY" watch --subscribe "tcp://127.0.0.1:$PP" --until-done --format json --timeout 120 > "$T/watch.json"
check_truth "$T/watch.json" "$TRUTH" passenger_count || fail "separate processes over tcp"
wait "$BROKER" || fail "broker exit code"
grep -q "task(s)" "$T/broker.log"
pass "reducer + broker + 3 mappers over tcp, split into byte ranges: exact"
