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

# --- the reader under test ---
if [ -z "${PQ_DUMP:-}" ] && [ -n "${TALLY_BUILD:-}" ] && [ -x "$TALLY_BUILD/tests/pq_dump" ]; then
    PQ_DUMP=$TALLY_BUILD/tests/pq_dump      # ctest: the build under test (ASan+UBSan in scripts/test)
fi
if [ -z "${PQ_DUMP:-}" ]; then
    PQ_DUMP=$T/pq_dump
    PKGS="snappy zlib libzstd liblz4 libbrotlidec"
    # shellcheck disable=SC2046
    gcc -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -D_GNU_SOURCE -I"$SRC" \
        $(pkg-config --cflags $PKGS) -o "$PQ_DUMP" "$SRC/tests/tools/pq_dump.c" \
        "$SRC"/lib/core/parquet/{thrift,meta,rle,encoding,page,column,value,stats}.c "$SRC/lib/base/err.c" \
        $(pkg-config --libs $PKGS) -lm || fail "could not build pq_dump"
fi
[ -x "$PQ_DUMP" ] || fail "PQ_DUMP=$PQ_DUMP is not executable"

# --- the writers ---
NPM=${PQ_NPM_DIR:-$T/npm}
if [ ! -d "$NPM/duck/node_modules/@duckdb/node-api" ]; then
    npm install --silent --no-audit --no-fund --prefix "$NPM/duck" @duckdb/node-api > "$T/npm-duck.log" 2>&1 \
        || { cat "$T/npm-duck.log" >&2; fail "could not install @duckdb/node-api from npm: the cross-check cannot run"; }
fi
if [ ! -d "$NPM/polars/node_modules/nodejs-polars-linux-x64-gnu" ]; then
    npm install --silent --no-audit --no-fund --prefix "$NPM/polars" -E nodejs-polars@0.25.2 nodejs-polars-linux-x64-gnu@0.25.2 \
        > "$T/npm-polars.log" 2>&1 \
        || { cat "$T/npm-polars.log" >&2; fail "could not install nodejs-polars from npm: the cross-check cannot run"; }
fi
mkdir -p "$T/duck" "$T/polars"
node "$SRC/tests/tools/pq_duckdb.mjs" "$NPM/duck/node_modules" "$T/duck" || fail "DuckDB could not write the test files"
node "$SRC/tests/tools/pq_polars.mjs" "$NPM/polars/node_modules" "$T/polars" || fail "Polars could not write the test files"

# --- compare: counts in every batch mode, sums row-aligned ---
check_manifest () {
    local manifest=$1 modes=$2 n=0
    while IFS=$'\t' read -r file col expect scol ssum scount; do
        for mode in $modes; do
            "$PQ_DUMP" --mode "$mode" "$file" "$col" > "$T/got.txt" 2> "$T/err.txt" \
                || fail "pq_dump $file $col ($mode): $(cat "$T/err.txt")"
            diff -u "$expect" "$T/got.txt" > "$T/diff.txt" \
                || { head -20 "$T/diff.txt" >&2; fail "$(basename "$file") column $col ($mode): counts differ"; }
            n=$((n + 1))
        done
        if [ -n "${scol:-}" ]; then
            line=$("$PQ_DUMP" --sum "$scol" --quiet "$file" "$col" | grep '^# sum=') || fail "no sum from pq_dump"
            got_sum=${line#\# sum=}; got_sum=${got_sum%% *}
            got_n=$(sed -n 's/.* n=\([0-9]*\).*/\1/p' <<< "$line")
            [ "$got_n" = "$scount" ] || fail "$(basename "$file") sum($scol): $got_n values, expected $scount"
            awk -v a="$got_sum" -v b="$ssum" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; exit !(d <= 1e-9 * (m > 1 ? m : 1)) }' \
                || fail "$(basename "$file") sum($scol) = $got_sum, expected $ssum"
        fi
    done < "$manifest"
    echo "$n"
}
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
