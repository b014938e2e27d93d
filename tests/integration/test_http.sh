#!/usr/bin/env bash
# http:// inputs from a real nginx: whole objects and byte ranges, ground truth exact; a missing
# URL fails with its status.
. "$(dirname "$0")/lib.sh"
command -v nginx > /dev/null || fail "nginx is not installed (scripts/deps installs nginx-light)"

"$TALLY" gen --out "$T/data" --files 4 --rows 5000 --eras 2014,2015,2019,2020 --seed 21 2> "$T/gen.log"
start_nginx "$T/data"
args=()
for f in "$T"/data/*.csv; do args+=(--input "$HTTP_BASE/$(basename "$f")"); done

"$TALLY" run "${args[@]}" --group-by passenger_count --mappers 2 --format json > "$T/whole.json" 2> "$T/whole.log"
check_truth "$T/whole.json" "$T/data.truth.json" passenger_count || fail "http whole objects"
pass "http inputs from nginx: exact"

"$TALLY" run "${args[@]}" --group-by passenger_count --mappers 2 --split-size 40K --format json \
    > "$T/split.json" 2> "$T/split.log"
check_truth "$T/split.json" "$T/data.truth.json" passenger_count || fail "http byte ranges"
grep -q ' 206 ' "$T/nginx/access.log" || fail "no ranged GETs reached nginx"
pass "http inputs split into byte ranges (206 Partial Content): exact"

set +e
"$TALLY" run --input "$HTTP_BASE/missing.csv" --group-by passenger_count > /dev/null 2> "$T/missing.log"
rc=$?
set -e
[ $rc -eq 1 ] || fail "missing URL exited $rc"
grep -q "404" "$T/missing.log" || fail "missing URL error does not give the status"
pass "missing URL: exit 1 with HTTP 404"
