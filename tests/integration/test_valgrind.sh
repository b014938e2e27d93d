#!/usr/bin/env bash
# One run of every process under valgrind memcheck (a plain, non-sanitizer build): from local
# files with byte ranges, and from moto's S3 with ranged concurrent GETs. Zero errors, no
# definite leaks, and exact totals.
. "$(dirname "$0")/lib.sh"
command -v valgrind > /dev/null || fail "valgrind is not installed"
PLAIN=${TALLY_PLAIN:-}
if [ -z "$PLAIN" ]; then
    cmake -S "$TALLY_SRC" -B "$TALLY_SRC/build-plain" -DCMAKE_BUILD_TYPE=Debug -DTALLY_TESTS=OFF > "$T/cmake.log" 2>&1
    cmake --build "$TALLY_SRC/build-plain" -j2 > "$T/build.log" 2>&1 || fail "plain build failed"
    PLAIN="$TALLY_SRC/build-plain/tally"
fi
"$PLAIN" gen --out "$T/data" --files 3 --rows 2000 --seed 41 2> "$T/gen.log"
VG=(valgrind --trace-children=yes --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --log-file="$T/vg.%p.log")
"${VG[@]}" "$PLAIN" run --input "$T/data" --group-by passenger_count --mappers 2 --slots 2 --split-size 100K \
    --format json > "$T/local.json" 2> "$T/local.log" || fail "valgrind run (local) exited $?"
check_truth "$T/local.json" "$T/data.truth.json" passenger_count || fail "totals under valgrind (local)"
start_moto
python3 "$TALLY_SRC/tests/tools/s3_upload.py" "$ENDPOINT" nyc-tlc "trip data/" "$T/data"
"${VG[@]}" "$PLAIN" run --input "s3://nyc-tlc/trip data/" --endpoint-url "$ENDPOINT" --group-by passenger_count \
    --slots 2 --range-size 64K --concurrency 3 --format json > "$T/s3.json" 2> "$T/s3.log" || fail "valgrind run (s3) exited $?"
check_truth "$T/s3.json" "$T/data.truth.json" passenger_count || fail "totals under valgrind (s3)"
n=$(ls "$T"/vg.*.log | wc -l)
bad=$(grep -L "ERROR SUMMARY: 0 errors" "$T"/vg.*.log || true)
[ -z "$bad" ] || { cat $bad >&2; fail "valgrind reported errors"; }
pass "$n processes under valgrind memcheck: 0 errors, no definite leaks, totals exact"
