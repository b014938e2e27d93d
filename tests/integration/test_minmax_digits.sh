#!/usr/bin/env bash
# min and max print the value they found, exactly (red team, session 11). Every aggregate was
# printed with 12 significant digits, so the max of a 13-digit id or epoch-ms column was another
# number (1420070400456 -> 1.42007040046e+12, i.e. ...460) and a 7-decimal price lost digits,
# with ok: true, in table, csv and json alike; DuckDB prints 1420070400456. A min or max is one
# of the values read, so it prints as the shortest text that reads back as it. Sums and
# averages keep 12 digits: their last bits depend on the order of the additions.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/d"
printf 'g,id,amt\na,1420070400123,0.1\na,1420070400456,0.2\nb,-98765432109876,1234567.891234\nb,7,12.3\n' > "$T/d/x.csv"
want_csv='a,2,1420070400456,1420070400123,0.2,0.1
b,2,7,-98765432109876,1234567.891234,12.3'
for cmd in "scan" "run -q"; do
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/d" --group-by g --agg max:id --agg min:id --agg max:amt --agg min:amt --sort key \
        --format csv > "$T/o.csv" 2> "$T/o.log" || fail "$cmd: exit $?"
    [ "$(tail -n +2 "$T/o.csv")" = "$want_csv" ] || fail "$cmd csv: $(cat "$T/o.csv")"
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/d" --group-by g --agg max:id --agg min:amt --agg sum:amt --format json > "$T/o.json" 2>> "$T/o.log"
    python3 - "$T/o.json" <<'PY' || fail "$cmd json: $(cat "$T/o.json")"
import json, sys
g = {x["key"]: x["values"] for x in json.load(open(sys.argv[1]))["groups"]}
assert g["a"]["max(id)"] == 1420070400456 and g["b"]["min(amt)"] == 12.3, g
assert abs(g["b"]["sum(amt)"] - 1234580.191234) < 1e-3, g
PY
done
pass "min and max print exactly the value found (csv, json; scan and run)"
