#!/usr/bin/env bash
# Cross-check of tally's Parquet reader against a third and a fourth independent writer, beside
# DuckDB's C++ and Polars' own Rust writer (test_parquet_duckdb.sh): arrow-rs (the Rust `parquet`
# crate compiled to WebAssembly, npm's parquet-wasm; tables built with npm's apache-arrow) and
# hyparquet-writer (pure JavaScript). tests/tools/pq_arrow.mjs writes every codec arrow-rs has
# (UNCOMPRESSED, SNAPPY, GZIP, ZSTD, LZ4_RAW, BROTLI and the deprecated Hadoop LZ4), data pages
# v1 and v2, dictionary on, off and falling back mid-chunk, the encodings it allows per type
# (PLAIN, RLE_DICTIONARY, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
# BYTE_STREAM_SPLIT on floats, ints and FIXED_LEN_BYTE_ARRAY, RLE booleans), row groups of
# 1,000 rows and one of 150,000 (a 100,003-entry dictionary), NULLs, and int8..int64,
# uint8..uint64, float16/32/64 (NaN, -0.0, ±inf), utf8 (empty, non-ASCII, tab, newline),
# dictionary-typed utf8, booleans, date32, time32/64, timestamps s/ms/us/ns with and without a
# time zone, decimal128 on INT32, INT64 and FIXED_LEN_BYTE_ARRAY; and TLC-shaped months
# (passenger_count INT64 in some, DOUBLE with NULLs in others). tests/tools/pq_hyparquet.mjs
# writes a smaller set. The footers are read back to prove the coverage. For every file and
# column, pq_dump's per-value counts (in each batch mode where chunks have dictionary pages)
# and row-aligned sums must equal DuckDB's over the same file; then `tally scan` over the
# TLC-shaped months must equal DuckDB's SELECTs over them.
#
# Needs node/npm and the npm registry (parquet-wasm, apache-arrow, hyparquet-writer,
# @duckdb/node-api): if they cannot be installed the test FAILS. PQ_NPM_DIR reuses an install
# (duck/, arrow/ and hyparquet/ inside; duck/ is test_parquet_duckdb.sh's too); PQ_DUMP points
# at a built pq_dump.
. "$(dirname "$0")/lib.sh"
SRC=$TALLY_SRC
. "$SRC/tests/integration/pq_check.sh"     # pq_dump_find, pq_npm, check_manifest
pq_dump_find

NPM=${PQ_NPM_DIR:-$T/npm}
pq_npm duck @duckdb/node-api
pq_npm arrow parquet-wasm@0.8.0 apache-arrow@21.2.0
pq_npm hyparquet hyparquet-writer@0.17.0
mkdir -p "$T/arrow" "$T/hyparquet"
node "$SRC/tests/tools/pq_arrow.mjs" "$NPM/arrow/node_modules" "$NPM/duck/node_modules" "$T/arrow" > "$T/arrow.log" 2>&1 \
    || { cat "$T/arrow.log" >&2; fail "arrow-rs (parquet-wasm) could not write the test files, or DuckDB not read them"; }
pass "parquet-wasm $(pq_version arrow parquet-wasm), apache-arrow $(pq_version arrow apache-arrow), @duckdb/node-api $(pq_version duck @duckdb/node-api): $(cat "$T/arrow.log")"

# The footers hold what the test claims to cover (a writer that quietly fell back to PLAIN or
# to v1 pages would otherwise make these checks pass without testing anything).
want () { grep -q -- "$2" "$1" || { cat "$1" >&2; fail "the files do not cover: $2"; }; }
F=$T/arrow/footers.txt
for c in UNCOMPRESSED SNAPPY GZIP ZSTD LZ4_RAW BROTLI "LZ4,"; do want "$F" "^codecs:.* $c"; done
want "$F" "^encodings INT32: BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, PLAIN, RLE, RLE_DICTIONARY"
want "$F" "^encodings INT64: BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED, PLAIN, RLE, RLE_DICTIONARY"
want "$F" "^encodings BYTE_ARRAY: DELTA_BYTE_ARRAY, DELTA_LENGTH_BYTE_ARRAY, PLAIN, RLE, RLE_DICTIONARY"
want "$F" "^encodings FIXED_LEN_BYTE_ARRAY: BYTE_STREAM_SPLIT, DELTA_BYTE_ARRAY, PLAIN"
want "$F" "^encodings DOUBLE: BYTE_STREAM_SPLIT, PLAIN"
want "$F" "^encodings BOOLEAN: PLAIN, RLE"
want "$F" "^chunks with dictionary and DELTA/BYTE_STREAM_SPLIT pages: [1-9]"
want "$F" "^first data page of each chunk:.* v1 [1-9]"
want "$F" "^first data page of each chunk:.* v2 [1-9]"
! grep -q "^first data page.*unknown" "$F" || fail "a chunk's first data page is neither v1 nor v2: $(grep "^first data page" "$F")"
for t in DecimalType Float16Type TimestampType TimeType DateType StringType IntType BOOLEAN; do want "$F" "^logical types:.*$t"; done
pass "footers: $(sed -n 's/^codecs: //p' "$F"); $(sed -n 's/^first data page of each chunk: //p' "$F") first data pages"

n=$(check_manifest "$T/arrow/manifest_dict.tsv" "runs indices values")
m=$(check_manifest "$T/arrow/manifest_plain.tsv" "runs")
[ "$n" -gt 300 ] && [ "$m" -gt 600 ] || fail "too few checks: $n and $m"
pass "arrow-rs files: $((n + m)) file/column/mode counts equal DuckDB's GROUP BY over the same file, sums equal"

# --- a fourth writer, pure JavaScript: hyparquet-writer ---
node "$SRC/tests/tools/pq_hyparquet.mjs" "$NPM/hyparquet/node_modules" "$NPM/duck/node_modules" "$T/hyparquet" > "$T/hyparquet.log" 2>&1 \
    || { cat "$T/hyparquet.log" >&2; fail "hyparquet-writer could not write the test files, or DuckDB not read them"; }
F=$T/hyparquet/footers.txt
want "$F" "^codecs: BROTLI, GZIP, SNAPPY, UNCOMPRESSED"
want "$F" "^encodings BYTE_ARRAY: DELTA_BYTE_ARRAY, DELTA_LENGTH_BYTE_ARRAY, PLAIN, RLE_DICTIONARY"
want "$F" "^encodings INT64: DELTA_BINARY_PACKED, PLAIN, RLE_DICTIONARY"
want "$F" "^encodings DOUBLE: BYTE_STREAM_SPLIT"
n=$(check_manifest "$T/hyparquet/manifest_dict.tsv" "runs indices values")
m=$(check_manifest "$T/hyparquet/manifest_plain.tsv" "runs")
[ "$n" -gt 30 ] && [ "$m" -gt 10 ] || fail "too few checks: $n and $m"
pass "hyparquet-writer $(pq_version hyparquet hyparquet-writer) files ($(cat "$T/hyparquet.log")): $((n + m)) file/column/mode counts equal DuckDB's, sums equal"

# --- end to end: tally scan over the TLC-shaped months (INT64 and DOUBLE passenger_count, NULLs) ---
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
compare () {   # compare TALLY_CSV DUCK_JSON NKEYS: [[key parts..., count, sums...]]
    python3 - "$@" <<'PY'
import csv, json, math, sys
def canon(v):
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
nk = int(sys.argv[3])
rows = list(csv.reader(open(sys.argv[1])))
got = {"\x1f".join(r[:nk]): [float(x) for x in r[nk:]] for r in rows[1:]}
want = {"\x1f".join(canon(x) for x in r[:nk]): r[nk:] for r in json.load(open(sys.argv[2]))}
assert set(want) == set(got), ("keys differ", sorted(set(want) ^ set(got))[:10])
for k, w in want.items():
    g = got[k]
    assert w[0] == g[0], (k, w, g)
    for a, b in zip(w[1:], g[1:]):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6), (k, w, g)
print(f"{len(got)} groups, {sum(g[0] for g in got.values()):.0f} rows")
PY
}
TLC=$T/arrow/tlc
duck () { node "$T/duck.mjs" "$NPM/duck/node_modules" "$TLC/*.parquet" "$1" > "$T/$2.json" || fail "DuckDB: $1"; }
"$TALLY" scan --input "$TLC" --group-by passenger_count --format csv > "$T/s1.csv" 2> "$T/s1.log" || fail "tally scan (count)"
duck "SELECT passenger_count, count(*) FROM t GROUP BY 1" d1
c1=$(compare "$T/s1.csv" "$T/d1.json" 1) || fail "tally scan --group-by passenger_count differs from DuckDB"
"$TALLY" scan --input "$TLC" --group-by passenger_count --agg sum:trip_distance --where 'passenger_count>=2' --format csv \
    > "$T/s2.csv" 2> "$T/s2.log" || fail "tally scan (sum, where)"
duck "SELECT passenger_count, count(*), sum(trip_distance) FROM t WHERE passenger_count >= 2 GROUP BY 1" d2
c2=$(compare "$T/s2.csv" "$T/d2.json" 1) || fail "tally scan --agg sum:trip_distance --where 'passenger_count>=2' differs from DuckDB"
"$TALLY" scan --input "$TLC" --group-by 'VendorID,tpep_pickup_datetime[0:10]' --agg sum:Airport_fee --where 'passenger_count!=1' \
    --format csv > "$T/s3.csv" 2> "$T/s3.log" || fail "tally scan (two keys, date slice)"
duck "SELECT VendorID, strftime(tpep_pickup_datetime, '%Y-%m-%d'), count(*), coalesce(sum(Airport_fee), 0) FROM t
      WHERE passenger_count IS NULL OR passenger_count <> 1 GROUP BY 1, 2" d3
c3=$(compare "$T/s3.csv" "$T/d3.json" 2) || fail "tally scan --group-by VendorID,date --agg sum:Airport_fee differs from DuckDB"
pass "tally scan over the arrow-rs TLC months equals DuckDB: by passenger_count ($c1); sum(trip_distance) where >= 2 ($c2); VendorID x date, sum(Airport_fee) where != 1 ($c3)"
