#!/usr/bin/env bash
# Queries against an independent reference (tests/tools/ref_query.py, Python's csv module) over a
# multi-era data set with every quirk: several keys, byte slices, era aliases, --column-alias,
# sum/min/max/avg with bad values, --where; through `tally run` with byte ranges and through
# `tally scan`; and the generator's own ground truth where it has one. Bad queries fail clearly.
. "$(dirname "$0")/lib.sh"
"$TALLY" gen --out "$T/data" --files 8 --rows 4000 --eras 2009,2010,2014,2015,2017,2020 --seed 11 2> "$T/gen.log"
ref () { python3 "$TALLY_SRC/tests/tools/ref_query.py" "$@"; }

n=0
while IFS= read -r line; do
    [ -z "$line" ] && continue
    n=$((n + 1))
    eval "args=($line)"
    "$TALLY" run --input "$T/data" --mappers 2 --slots 1 --split-size 48K "${args[@]}" --format json \
        > "$T/run$n.json" 2> "$T/run$n.log" || fail "run: $line: $(tail -2 "$T/run$n.log")"
    ref "$T/run$n.json" "$T/data" "${args[@]}" || fail "run: $line"
    "$TALLY" scan --input "$T/data" "${args[@]}" --format json > "$T/scan$n.json" 2> "$T/scan$n.log" \
        || fail "scan: $line"
    ref "$T/scan$n.json" "$T/data" "${args[@]}" || fail "scan: $line"
    pass "$line"
done <<'Q'
--group-by 'tpep_pickup_datetime[0:10]'
--group-by 'pickup_datetime[0:10]' --agg count --agg sum:trip_distance
--group-by vendor_id,passenger_count --agg min:trip_distance --agg max:trip_distance --agg avg:fare_amount --where 'passenger_count>0'
--group-by passenger_count --agg sum:passenger_count --where 'vendor_id != VTS'
--group-by 'Trip_Pickup_DateTime[0:7]' --group-by 1 --where 'tpep_pickup_datetime[0:4] >= 2014' --where 'trip_distance < 5.5'
--group-by payment_type --agg avg:tip_amount --agg max:total_amount --where "store_and_fwd_flag = 'N'"
--group-by my_pc --column-alias 'my_pc=passenger_count'
Q

# The generator's own truth: an aliased column is exactly passenger_count.
"$TALLY" run --input "$T/data" --group-by pc --column-alias 'pc=Passenger_Count|passenger_count' --format json \
    > "$T/alias.json" 2> "$T/alias.log"
python3 - "$T/alias.json" "$T/data.truth.json" <<'PY' || fail "alias vs the generator's truth"
import json, sys
out, truth = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
got = {g["key"]: g["count"] for g in out["groups"]}
assert got == truth["by_column"]["passenger_count"], (got, truth["by_column"]["passenger_count"])
print("alias: MATCH with the generator's truth")
PY
pass "--column-alias equals the generator's passenger_count truth"

# csv and table show every key column and every aggregate.
"$TALLY" scan --input "$T/data" --group-by vendor_id,passenger_count --agg sum:trip_distance --format csv > "$T/q.csv"
head -1 "$T/q.csv" | grep -qx 'vendor_id,passenger_count,count,sum(trip_distance)' || fail "csv header: $(head -1 "$T/q.csv")"
"$TALLY" scan --input "$T/data" --group-by passenger_count --agg sum:passenger_count > "$T/q.txt"
grep -q 'non-numbers in sum(passenger_count)' "$T/q.txt" || fail "the table does not report bad values: $(tail -1 "$T/q.txt")"
pass "csv columns and the table's bad-value report"

# Bad queries: clear errors before anything runs.
expect_err () {
    local pat=$1; shift
    if "$@" > "$T/err.out" 2> "$T/err.log"; then fail "should have failed: $*"; fi
    grep -q -- "$pat" "$T/err.log" || fail "expected '$pat' from: $* -- got: $(head -3 "$T/err.log")"
}
expect_err "want count, sum:COL" "$TALLY" run --input "$T/data" --group-by 1 --agg median:fare_amount
expect_err "needs a column" "$TALLY" run --input "$T/data" --group-by 1 --agg sum
expect_err "want COL OP VALUE" "$TALLY" run --input "$T/data" --group-by 1 --where 'passenger_count ~ 3'
expect_err "a slice is" "$TALLY" scan --input "$T/data" --group-by 'pickup_datetime[0-10]'
expect_err "TO is a number above FROM" "$TALLY" scan --input "$T/data" --group-by 'pickup_datetime[5:2]'
expect_err "want NAME=OTHER" "$TALLY" broker --listen tcp://127.0.0.1:1 --reducer tcp://127.0.0.1:2 --input "$T/data" \
    --group-by 1 --column-alias nothing
expect_err "column 'no_such' not found" "$TALLY" scan --input "$T/data" --group-by 1 --agg sum:no_such
pass "bad queries fail with clear errors"
