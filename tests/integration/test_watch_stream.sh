#!/usr/bin/env bash
# The final table written as its parts come (lib/wire/final.h, streaming): a job of ~160 K
# groups (3 parts of the final snapshot) by two keys with a sum, watched from the start by
# final-table watchers of every format and order. csv and json by count are written a part at
# a time (-v says so), table and --sort key are gathered first; every output must be the bytes
# of `tally scan` over the same files (json: up to the totals, which differ in time, tasks and
# mappers; table: all but the summary line), and --output FILE the bytes printed.
. "$(dirname "$0")/lib.sh"

"$TALLY" gen --out "$T/data" --files 4 --rows 40000 --eras 2015 --seed 21 2> "$T/gen.log"
Q=(--group-by tpep_pickup_datetime,passenger_count --agg sum:trip_distance)
RE="ipc://$T/reducer"; PE="ipc://$T/publish"; BE="ipc://$T/broker"
bg reducer "$TALLY" reducer --listen "$RE" --publish "$PE"
wait_for "$T/reducer.log" "publishing on"
W=()
watch () {   # watch NAME ARGS...: a final-table watcher, stdout to NAME.out, stderr to NAME.log
    local name=$1; shift
    "$TALLY" watch --subscribe "$PE" --until-done --timeout 300 -v "$@" > "$T/$name.out" 2> "$T/$name.log" &
    PIDS+=("$!"); W+=("$!")
}
watch csv --format csv
watch json --format json --output "$T/json_file.json"
watch csv_file --format csv --output "$T/csv_file.csv"
watch table --format table
watch key --format csv --sort key
watch nkey --format json --sort -key
sleep 0.5
bg broker "$TALLY" broker --listen "$BE" --reducer "$RE" --input "$T/data" "${Q[@]}" --split-size 1M
BROKER=$LAST_PID
bg mapper "$TALLY" mapper --broker "$BE" --slots 2
for p in "${W[@]}"; do wait "$p" || fail "a watcher failed (pid $p)"; done
wait "$BROKER" || fail "broker exit code"

"$TALLY" scan --input "$T/data" "${Q[@]}" --format csv > "$T/scan.csv"
"$TALLY" scan --input "$T/data" "${Q[@]}" --format json > "$T/scan.json"
"$TALLY" scan --input "$T/data" "${Q[@]}" --format table > "$T/scan.table"
"$TALLY" scan --input "$T/data" "${Q[@]}" --format csv --sort key > "$T/scan_key.csv"
"$TALLY" scan --input "$T/data" "${Q[@]}" --format json --sort -key > "$T/scan_nkey.json"
groups=$(($(wc -l < "$T/scan.csv") - 1))
[ "$groups" -gt $((2 * 65536)) ] || fail "only $groups groups: the final snapshot is not in 3 parts"

# Written as the parts come, or gathered first: what -v says.
for w in csv json csv_file; do
    grep -q "the final table: $groups groups, written as its 3 parts came" "$T/$w.log" || fail "$w: not streamed"
done
for w in table key nkey; do
    grep -q "the final table: $groups groups$" "$T/$w.log" || fail "$w: streamed, or no table"
done
pass "$groups groups: csv and json by count were written as the 3 parts came; table and --sort key were gathered"

cmp "$T/csv.out" "$T/scan.csv" || fail "csv differs from tally scan's"
cmp "$T/csv_file.out" "$T/scan.csv" || fail "csv (with --output) differs from tally scan's"
cmp "$T/csv_file.csv" "$T/scan.csv" || fail "--output csv differs from tally scan's"
cmp "$T/key.out" "$T/scan_key.csv" || fail "csv --sort key differs from tally scan's"
cmp "$T/json.out" "$T/json_file.json" || fail "--output json differs from the printed json"
# json: the groups byte for byte; of the totals, those a scan and a job share.
python3 - "$T/json.out" "$T/scan.json" "$T/nkey.out" "$T/scan_nkey.json" <<'PY' || fail "json differs from tally scan's"
import json, sys
for got, want in (sys.argv[1:3], sys.argv[3:5]):
    g, w = open(got, 'rb').read(), open(want, 'rb').read()
    cut = b'],"rows":'
    assert g.count(b'\n') == 1 and g.endswith(b'\n'), got
    assert g[:g.index(cut)] == w[:w.index(cut)], f"{got}: the groups differ from {want}'s"
    jg, jw = json.loads(g), json.loads(w)
    for k in ("rows", "bad_rows", "blank_lines", "filtered_rows", "bad_values", "ok", "done", "error", "column", "columns"):
        assert jg[k] == jw[k], (got, k, jg[k], jw[k])
    print(f"{got}: {len(jg['groups'])} groups as the scan's, totals equal")
PY
diff <(sed '$d' "$T/table.out") <(sed '$d' "$T/scan.table") > /dev/null || fail "table differs from tally scan's"
pass "csv, json, --output csv and json (streamed), table and --sort key (gathered): the bytes of tally scan"

# A result that cannot be written is not a result (review, session 8): a full device under
# stdout, or --output in a folder that does not exist, exit 1 with the cause, streamed (csv)
# or gathered (table). The reducer still serves the done job's table to late watchers.
for fmt in csv table; do
    "$TALLY" watch --subscribe "$PE" --until-done --timeout 60 --format $fmt > /dev/full 2> "$T/full_$fmt.log" \
        && fail "$fmt to /dev/full exited 0"
    grep -q "cannot write the result" "$T/full_$fmt.log" || fail "$fmt to /dev/full: no cause: $(cat "$T/full_$fmt.log")"
    "$TALLY" watch --subscribe "$PE" --until-done --timeout 60 --format $fmt --output "$T/no/such/dir/x.csv" \
        > /dev/null 2> "$T/nodir_$fmt.log" && fail "$fmt --output into no folder exited 0"
    grep -q "cannot write $T/no/such/dir/x.csv" "$T/nodir_$fmt.log" || fail "$fmt --output: no cause: $(cat "$T/nodir_$fmt.log")"
done
pass "a result that cannot be written (a full device, --output into no folder) exits 1 and says why"
set +e
"$TALLY" run --input "$T/data" --group-by passenger_count --format csv > /dev/full 2> "$T/run_full.log"
rc=$?
set -e
[ "$rc" = 1 ] || fail "tally run > /dev/full: exit $rc, want 1"
grep -q "^tally run: cannot write the result" "$T/run_full.log" || fail "tally run > /dev/full: $(cat "$T/run_full.log")"
pass "tally run to a full device: exit 1, 'cannot write the result', not 'the job failed'"
