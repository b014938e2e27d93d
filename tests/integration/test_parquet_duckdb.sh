#!/usr/bin/env bash
# Cross-check of tally's Parquet reader against two independent writers. DuckDB writes files
# with every codec it has (uncompressed, snappy, gzip, zstd, lz4, lz4_raw, brotli), data pages
# v1 and v2 (delta, byte-stream-split and dictionary encodings), small and large row groups,
# dictionary fallback to plain, NULLs and many types (INT8..INT64, unsigned, DOUBLE with
# nan/-inf/-0, FLOAT, VARCHAR, DATE, TIME, TIMESTAMP in ms/us/ns, DECIMAL on INT32/INT64/FLBA,
# BOOLEAN); Polars writes a second set. For every file and column, tests/tools/pq_dump's
# per-value counts (in each batch mode) must equal DuckDB's own GROUP BY counts, or the counts
# of the arrays handed to Polars; sums read row-aligned must match. A nested list column and
# an encrypted file must be refused in one line.
#
# Needs node/npm and the npm registry (@duckdb/node-api, nodejs-polars): if either cannot be
# installed the test FAILS (it never passes silently). PQ_NPM_DIR reuses an existing install
# (with duck/ and polars/ inside); PQ_DUMP points at a built pq_dump, else it is compiled here.
set -euo pipefail
SRC=${TALLY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/tally-pq.XXXXXX)
trap 'rc=$?; [ $rc -eq 0 ] && rm -rf "$T" || echo "--- FAILED (rc=$rc); files in $T" >&2' EXIT
fail () { echo "FAIL: $*" >&2; exit 1; }
pass () { echo "ok - $*"; }

. "$SRC/tests/integration/pq_check.sh"     # pq_dump_find, pq_npm, check_manifest
pq_dump_find

# --- the writers ---
NPM=${PQ_NPM_DIR:-$T/npm}
pq_npm duck @duckdb/node-api
pq_npm polars nodejs-polars@0.25.2 nodejs-polars-linux-x64-gnu@0.25.2
mkdir -p "$T/duck" "$T/polars"
node "$SRC/tests/tools/pq_duckdb.mjs" "$NPM/duck/node_modules" "$T/duck" || fail "DuckDB could not write the test files"
node "$SRC/tests/tools/pq_polars.mjs" "$NPM/polars/node_modules" "$T/polars" || fail "Polars could not write the test files"

# --- compare: counts in every batch mode, sums row-aligned ---
n=$(check_manifest "$T/duck/manifest.tsv" "runs indices values")
pass "DuckDB files: $n file/column/mode counts equal DuckDB's GROUP BY, sums equal"
n=$(check_manifest "$T/polars/manifest.tsv" "runs values")
pass "Polars files: $n file/column/mode counts equal the written arrays, sums equal"

# --- refusals ---
if "$PQ_DUMP" "$T/duck/duck_nested.parquet" li.list.element > /dev/null 2> "$T/err.txt"; then
    fail "a list element column was read"
fi
grep -q "grouping by a nested column is not supported" "$T/err.txt" || fail "nested refusal: $(cat "$T/err.txt")"
[ "$(wc -l < "$T/err.txt")" -eq 1 ] || fail "nested refusal is not one line"
pass "a nested list column is refused in one line"
if [ -f "$T/duck/duck_encrypted.parquet" ]; then
    if "$PQ_DUMP" "$T/duck/duck_encrypted.parquet" a > /dev/null 2> "$T/err.txt"; then fail "an encrypted file was read"; fi
    grep -q "encrypted Parquet is not supported" "$T/err.txt" || fail "encryption refusal: $(cat "$T/err.txt")"
    pass "an encrypted file is refused: $(cat "$T/err.txt")"
else
    fail "DuckDB wrote no encrypted file to test the refusal with"
fi
echo "all Parquet cross-checks passed"
