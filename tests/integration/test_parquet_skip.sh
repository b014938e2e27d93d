#!/usr/bin/env bash
# Row-group statistics skip what a --where rules out, and the result still equals DuckDB's.
# DuckDB writes the file (an independent writer, with statistics): 100,000 rows in row groups
# of 10,000, an ordered id, a string that changes every row group, and a column with NULLs.
# Checked: how many row groups are skipped (the reducer's Prometheus counter
# tally_rowgroups_skipped_total, and the mapper's per-task log), that skipped rows count as
# filtered, and that NULL keeps its CSV meaning (the empty value: `n != 3` keeps it).
. "$(dirname "$0")/lib.sh"

DUCK=${TALLY_DUCKDB_DIR:-/tmp/tally-duckdb}
command -v node > /dev/null || fail "node is not installed (needed for DuckDB's @duckdb/node-api)"
if ! (cd "$DUCK" 2> /dev/null && node -e "require('@duckdb/node-api')" 2> /dev/null); then
    { mkdir -p "$DUCK" && npm install --prefix "$DUCK" --no-audit --no-fund @duckdb/node-api; } > "$T/npm.log" 2>&1 ||
        fail "cannot install @duckdb/node-api into $DUCK: $(tail -3 "$T/npm.log")"
fi
cat > "$T/duck.mjs" <<'JS'
import { createRequire } from 'module';
import { join } from 'path';
const [dir, sql] = process.argv.slice(2);
const { DuckDBInstance } = createRequire(join(dir, 'x.js'))('@duckdb/node-api');
const con = await (await DuckDBInstance.create(':memory:')).connect();
const r = await con.runAndReadAll(sql);
console.log(JSON.stringify(r.getRowsJS(), (k, v) => (typeof v === 'bigint' ? Number(v) : v)));
JS
duck () { node "$T/duck.mjs" "$DUCK/node_modules" "$1"; }
mkdir -p "$T/d"
duck "COPY (SELECT i AS id, (i % 7)::INTEGER AS k, CASE WHEN i % 11 = 0 THEN NULL ELSE i % 5 END AS n,
             'name' || (i // 10000) AS s, (i * 0.5)::DOUBLE AS x FROM range(100000) t(i))
      TO '$T/d/f.parquet' (FORMAT parquet, ROW_GROUP_SIZE 10000)" > /dev/null || fail "DuckDB could not write"

# run QUERY-ARGS...: one job (separate roles, the reducer's metrics on); leaves $T/out.json and $T/reducer.prom
run () {
    local rp pp bp rm
    rp=$(free_port); pp=$(free_port); bp=$(free_port); rm=$(free_port)
    bg reducer "$TALLY" reducer --listen "tcp://127.0.0.1:$rp" --publish "tcp://127.0.0.1:$pp" --metrics-listen "127.0.0.1:$rm"
    local red=$LAST_PID
    bg broker "$TALLY" broker --listen "tcp://127.0.0.1:$bp" --reducer "tcp://127.0.0.1:$rp" --input "$T/d" "$@"
    bg mapper "$TALLY" mapper --broker "tcp://127.0.0.1:$bp" --slots 2 -v
    "$TALLY" watch --subscribe "tcp://127.0.0.1:$pp" --until-done --format json --timeout 60 > "$T/out.json" || fail "watch"
    sleep 0.5
    curl -sf "http://127.0.0.1:$rm/metrics" > "$T/reducer.prom" || fail "reducer /metrics"
    kill "$red" 2> /dev/null || true
}
# How many row groups the file's own statistics rule out, by DuckDB (it sizes row groups in
# multiples of its 2,048-row vectors, so they do not fall on round ids).
expect_skips () {
    duck "SELECT count(DISTINCT row_group_id) FROM parquet_metadata('$T/d/f.parquet') WHERE $1" | tr -d '[]'
}
metric () { sed -n "s/^$1{role=\"reducer\"} //p" "$T/reducer.prom"; }
compare () {   # compare DUCK_JSON: [[key, count]]; filtered rows = 100000 - the rows counted
    python3 - "$T/out.json" "$1" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert t["done"] and t["ok"], t.get("error")
want = {"" if k is None else str(k): c for k, c in json.load(open(sys.argv[2]))}
got = {g["key"]: g["count"] for g in t["groups"]}
assert want == got, (want, got)
assert t["rows"] + t["filtered_rows"] == 100000, (t["rows"], t["filtered_rows"])
print(f"{len(got)} groups, {t['rows']} rows, {t['filtered_rows']} filtered")
PY
}

run --group-by k --where "id >= 55000"
duck "SELECT k, count(*) FROM '$T/d/f.parquet' WHERE id >= 55000 GROUP BY 1" > "$T/d1.json"
compare "$T/d1.json" > "$T/c1.log" || fail "id >= 55000 differs from DuckDB"
want=$(expect_skips "path_in_schema = 'id' AND stats_max::BIGINT < 55000")
[ "$want" -gt 0 ] || fail "the test file has no row group to skip"
[ "$(metric tally_rowgroups_skipped_total)" = "$want" ] || fail "want $want row groups skipped, got $(metric tally_rowgroups_skipped_total)"
grep -q "$want row group(s) skipped by statistics" "$T/mapper.log" || fail "the mapper does not say it skipped $want row groups"
fetched=$(metric tally_bytes_fetched_total)
[ "${fetched%.*}" -gt 0 ] || fail "tally_bytes_fetched_total is $fetched"
pass "id >= 55000: $want row groups skipped by statistics, counts equal DuckDB's ($(cat "$T/c1.log")), $fetched bytes fetched"

run --group-by k --where "s = name3"
duck "SELECT k, count(*) FROM '$T/d/f.parquet' WHERE s = 'name3' GROUP BY 1" > "$T/d2.json"
compare "$T/d2.json" > "$T/c2.log" || fail "s = name3 differs from DuckDB"
want=$(expect_skips "path_in_schema = 's' AND (stats_max < 'name3' OR stats_min > 'name3')")
[ "$(metric tally_rowgroups_skipped_total)" = "$want" ] || fail "want $want row groups skipped, got $(metric tally_rowgroups_skipped_total)"
pass "string literal: $want row groups skipped, equal to DuckDB ($(cat "$T/c2.log"))"

# NULL is the empty value: != keeps it, > drops it; nothing may be skipped wrongly.
run --group-by n --where "n != 3"
duck "SELECT n, count(*) FROM '$T/d/f.parquet' WHERE n IS NULL OR n <> 3 GROUP BY 1" > "$T/d3.json"
compare "$T/d3.json" > "$T/c3.log" || fail "n != 3 differs from DuckDB (NULL rows kept)"
run --group-by n --where "n > 2" --where "x < 20000"
duck "SELECT n, count(*) FROM '$T/d/f.parquet' WHERE n > 2 AND x < 20000 GROUP BY 1" > "$T/d4.json"
compare "$T/d4.json" > "$T/c4.log" || fail "n > 2 and x < 20000 differs from DuckDB"
want=$(expect_skips "path_in_schema = 'x' AND stats_min::DOUBLE >= 20000")
[ "$(metric tally_rowgroups_skipped_total)" = "$want" ] || fail "x < 20000: want $want row groups skipped, got $(metric tally_rowgroups_skipped_total)"
pass "NULLs: n != 3 keeps them ($(cat "$T/c3.log")); n > 2 and x < 20000 drops them and skips $want row groups ($(cat "$T/c4.log"))"

# tally scan runs the mapper's code in one process: it skips the same row groups, and says so.
"$TALLY" scan --input "$T/d" --group-by k --where "id >= 55000" --format json > "$T/out.json" || fail "tally scan"
compare "$T/d1.json" > "$T/c5.log" || fail "scan: id >= 55000 differs from DuckDB"
want=$(expect_skips "path_in_schema = 'id' AND stats_max::BIGINT < 55000")
got=$(python3 -c "import json,sys; t=json.load(open(sys.argv[1])); print(t['skipped_row_groups'], t['fetched'] > 0)" "$T/out.json")
[ "$got" = "$want True" ] || fail "tally scan reports skipped_row_groups/fetched>0 = '$got', want '$want True'"
pass "tally scan: $want row groups skipped and reported, bytes fetched reported ($(cat "$T/c5.log"))"
