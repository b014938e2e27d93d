#!/usr/bin/env bash
# One job over a local S3 (moto) holding CSV months with every quirk (tally gen's default eras)
# and Parquet months (tally gen --format parquet: INT64 and DOUBLE passenger_count with NULLs,
# INT32 and INT64 VendorID, airport_fee and Airport_fee), counted by passenger_count with 1
# mapper and with 3: the table equals the sum of both generators' truths exactly. Parquet
# objects cut into several row-group tasks (--split-size 4K) count the same. Then richer
# queries over the Parquet months (several keys, a sum, a where, a date slice) equal DuckDB's
# own answers over the same files.
. "$(dirname "$0")/lib.sh"

DUCK=${TALLY_DUCKDB_DIR:-/tmp/tally-duckdb}
command -v node > /dev/null || fail "node is not installed (needed for DuckDB's @duckdb/node-api)"
if ! (cd "$DUCK" 2> /dev/null && node -e "require('@duckdb/node-api')" 2> /dev/null); then
    { mkdir -p "$DUCK" && npm install --prefix "$DUCK" --no-audit --no-fund @duckdb/node-api; } > "$T/npm.log" 2>&1 ||
        fail "cannot install @duckdb/node-api into $DUCK: $(tail -3 "$T/npm.log")"
fi
start_moto

"$TALLY" gen --out "$T/csv" --files 6 --rows 4000 --seed 21 2> "$T/gen-csv.log"
"$TALLY" gen --format parquet --out "$T/pq" --files 6 --rows 5000 --row-group 1200 --page-size 4k --seed 22 \
    2> "$T/gen-pq.log"
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" tlc "mixed/" "$T/csv" > /dev/null
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" tlc "mixed/" "$T/pq" > /dev/null
# The two truths summed: one table over both formats.
python3 - "$T/csv.truth.json" "$T/pq.truth.json" "$T/mixed.truth.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
m = {"rows": a["rows"] + b["rows"], "bad_rows": a["bad_rows"] + b["bad_rows"], "by_column": {}}
for col in ("passenger_count", "1"):
    d = dict(a["by_column"][col])
    for k, v in b["by_column"][col].items():
        d[k] = d.get(k, 0) + v
    m["by_column"][col] = d
json.dump(m, open(sys.argv[3], "w"))
PY

for m in 1 3; do
    "$TALLY" run --input "s3://tlc/mixed/" --group-by passenger_count --endpoint-url "$ENDPOINT" --mappers $m \
        --slots 2 --format json -v > "$T/mixed_$m.json" 2> "$T/mixed_$m.log"
    check_truth "$T/mixed_$m.json" "$T/mixed.truth.json" passenger_count || fail "mixed job, $m mapper(s)"
    grep -q "12 object(s) (6 Parquet)" "$T/mixed_$m.log" || fail "the broker did not find 6 Parquet objects"
    pass "6 CSV + 6 Parquet months in one job over S3, $m mapper(s): exact"
done

# Parquet cut into row-group tasks (the sum makes trip_distance's chunks needed too, so there
# are enough needed bytes to cut), CSV into byte ranges, 3 mappers; and group by column 1.
"$TALLY" run --input "s3://tlc/mixed/" --group-by passenger_count --agg count --agg sum:trip_distance \
    --endpoint-url "$ENDPOINT" --mappers 3 --slots 2 --split-size 4K --format json -v > "$T/split.json" 2> "$T/split.log"
check_truth "$T/split.json" "$T/mixed.truth.json" passenger_count || fail "split mixed job"
grep -Eq "parquet: Parquet, 5 row group\(s\), [2-5] task\(s\)" "$T/split.log" || fail "Parquet objects were not cut by row group"
"$TALLY" run --input "s3://tlc/mixed/" --group-by 1 --endpoint-url "$ENDPOINT" --mappers 2 --format json \
    > "$T/col1.json" 2> "$T/col1.log"
check_truth "$T/col1.json" "$T/mixed.truth.json" 1 || fail "group by column 1"
pass "row-group tasks (--split-size 4K) and --group-by 1 over the mixed job: exact"

# Richer queries on the Parquet months against DuckDB. Keys are compared as DuckDB's values
# put in tally's canonical text (integral doubles as integers); sums to 1e-9 relative.
cat > "$T/duck.mjs" <<'JS'
import { createRequire } from 'module';
import { join } from 'path';
const [dir, glob, sql] = process.argv.slice(2);
const { DuckDBInstance } = createRequire(join(dir, 'x.js'))('@duckdb/node-api');
const con = await (await DuckDBInstance.create(':memory:')).connect();
await con.run(`CREATE VIEW t AS SELECT * FROM read_parquet('${glob}', union_by_name = true)`);
const rows = (await con.runAndReadAll(sql)).getRowsJS();
console.log(JSON.stringify(rows, (k, v) => (typeof v === 'bigint' ? Number(v) : v)));
JS
duck () { node "$T/duck.mjs" "$DUCK/node_modules" "$T/pq/*.parquet" "$1"; }
compare () {   # compare TALLY_JSON DUCK_JSON: [[key parts..., count, sums...]]
    python3 - "$1" "$2" <<'PY'
import json, math, sys
def canon(v):
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
t = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert t["done"] and t["ok"], t.get("error")
d = json.load(open(sys.argv[2]))
nk = len(t["columns"])
want = {"\x1f".join(canon(x) for x in r[:nk]): r[nk:] for r in d}
got = {"\x1f".join(g.get("keys", [g["key"]])): [g["count"]] + list(g.get("values", {}).values()) for g in t["groups"]}
assert set(want) == set(got), (sorted(set(want) ^ set(got))[:10])
for k, w in want.items():
    g = got[k]
    assert w[0] == g[0], (k, w, g)
    for a, b in zip(w[1:], g[1:]):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), (k, w, g)
print(f"{len(got)} groups agree")
PY
}
q () { "$TALLY" run --input "s3://tlc/mixed/*.parquet" --endpoint-url "$ENDPOINT" --mappers 2 --format json "$@"; }
q --group-by VendorID --agg count --agg sum:trip_distance > "$T/q1.json" 2> "$T/q1.log" || fail "query 1"
duck "SELECT VendorID, count(*), sum(trip_distance) FROM t GROUP BY 1" > "$T/d1.json"
compare "$T/q1.json" "$T/d1.json" > "$T/c1.log" || fail "VendorID + sum(trip_distance) differs from DuckDB"
q --group-by passenger_count,payment_type --where "passenger_count > 2" > "$T/q2.json" 2> "$T/q2.log" || fail "query 2"
duck "SELECT passenger_count, payment_type, count(*) FROM t WHERE passenger_count > 2 GROUP BY 1, 2" > "$T/d2.json"
compare "$T/q2.json" "$T/d2.json" > "$T/c2.log" || fail "passenger_count,payment_type where > 2 differs from DuckDB"
q --group-by "tpep_pickup_datetime[0:7]" --agg sum:total_amount --where "passenger_count != 1" > "$T/q3.json" \
    2> "$T/q3.log" || fail "query 3"
duck "SELECT strftime(tpep_pickup_datetime, '%Y-%m'), count(*), sum(total_amount) FROM t
      WHERE passenger_count IS NULL OR passenger_count <> 1 GROUP BY 1" > "$T/d3.json"
compare "$T/q3.json" "$T/d3.json" > "$T/c3.log" || fail "month slice + sum where != 1 differs from DuckDB"
pass "Parquet queries equal DuckDB: VendorID+sum ($(cat "$T/c1.log")), two keys+where ($(cat "$T/c2.log")), date slice+sum+where != ($(cat "$T/c3.log"))"
