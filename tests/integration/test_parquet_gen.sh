#!/usr/bin/env bash
# `tally gen --format parquet` and the Parquet writer, read back by DuckDB (an independent reader):
# every value (counts by passenger_count and VendorID against the truth, NULLs and sums per file
# and column), the TLC's type drift and renames by month, codecs, encodings, statistics; then the
# writer's own matrix of types x encodings x codecs x NULLs x row groups (test_parquet_write).
# DuckDB comes from npm (@duckdb/node-api); the test fails if it cannot be installed.
. "$(dirname "$0")/lib.sh"

DUCK=${TALLY_DUCKDB_DIR:-/tmp/tally-duckdb}
CHECK="$TALLY_SRC/tests/tools/pq_write_check.mjs"
command -v node > /dev/null || fail "node is not installed (needed for DuckDB's @duckdb/node-api)"
if ! (cd "$DUCK" 2> /dev/null && node -e "require('@duckdb/node-api')" 2> /dev/null); then
    { mkdir -p "$DUCK" && npm install --prefix "$DUCK" --no-audit --no-fund @duckdb/node-api; } > "$T/npm.log" 2>&1 ||
        fail "cannot install @duckdb/node-api into $DUCK: $(tail -3 "$T/npm.log")"
fi
export DUCKDB_NODE_DIR=$DUCK

# Several row groups and many pages per file; every codec and encoding across the 12 files.
"$TALLY" gen --format parquet --out "$T/pq" --files 12 --rows 5000 --row-group 1800 --page-size 4k --seed 11 \
    2> "$T/gen.log" || fail "tally gen --format parquet"
[ "$(ls "$T/pq" | grep -c '^yellow_tripdata_20[0-9][0-9]-[01][0-9]\.parquet$')" = 12 ] || fail "file names: $(ls "$T/pq")"
node "$CHECK" gen "$T/pq" "$T/pq.truth.json" > "$T/check.log" 2>&1 || { cat "$T/check.log" >&2; fail "DuckDB disagrees with gen's truth"; }
pass "gen --format parquet: DuckDB reads every value as the truth says ($(tail -1 "$T/check.log"))"

# The same seed gives the same bytes; one codec for all files when asked.
"$TALLY" gen --format parquet --out "$T/pq2" --files 12 --rows 5000 --row-group 1800 --page-size 4k --seed 11 2> /dev/null
diff -r "$T/pq" "$T/pq2" > /dev/null || fail "same seed, different files"
"$TALLY" gen --format parquet --codec zstd --out "$T/z" --files 3 --rows 3000 --eras 2023-02 --seed 2 2> /dev/null
node "$CHECK" gen "$T/z" "$T/z.truth.json" > "$T/z.log" 2>&1 || { cat "$T/z.log" >&2; fail "--codec zstd"; }
grep -q 'codecs ZSTD,' "$T/z.log" || fail "--codec zstd: $(cat "$T/z.log")"
pass "deterministic; --codec zstd"

# Bad arguments are refused with exit 2: Parquet starts in 2011, and only the four codecs.
for args in "--eras 2010" "--codec lzo" "--row-group 0" "--format orc"; do
    rc=0
    # shellcheck disable=SC2086
    "$TALLY" gen --format parquet --out "$T/bad" --files 1 --rows 10 $args 2> "$T/bad.log" || rc=$?
    [ $rc = 2 ] || fail "gen --format parquet $args: exit $rc, want 2"
done
pass "bad arguments refused"

# The writer's matrix: every type REQUIRED and OPTIONAL, every encoding mode and codec.
PQW=""
for p in "${TALLY_BUILD:-/nonexistent}/tests/test_parquet_write" "${TALLY_BUILD:-/nonexistent}/test_parquet_write"; do
    [ -x "$p" ] && PQW=$p
done
[ -n "$PQW" ] || fail "test_parquet_write not found under \$TALLY_BUILD (${TALLY_BUILD:-unset}); it is built with the unit tests"
mkdir -p "$T/matrix"
"$PQW" --write-matrix "$T/matrix" || fail "test_parquet_write --write-matrix"
node "$CHECK" matrix "$T/matrix" > "$T/matrix.log" 2>&1 || { cat "$T/matrix.log" >&2; fail "DuckDB disagrees with the writer's matrix"; }
pass "writer matrix: $(tail -1 "$T/matrix.log")"
