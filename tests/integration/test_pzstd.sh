#!/usr/bin/env bash
# Exact or loud, compressed inputs (red team, session 9): pzstd (parallel zstd, in the zstd
# package) starts every file with a zstd skippable frame (50 2a 4d 18), not the frame magic
# 28 b5 2f fd, so its output was read as plain text: --group-by a failed with "column 'a' not
# found in header 'P*M'", and --group-by 1 counted the compressed bytes' "lines" (3 rows of
# garbage instead of 30,000), exit 0. A skippable frame now means zstd, which libzstd reads
# through. Counts are checked against the plain file's.
. "$(dirname "$0")/lib.sh"
command -v pzstd > /dev/null || fail "pzstd is not installed (Debian: zstd)"
python3 - "$T/p.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("a,b\n")
    for i in range(30000):
        f.write(f"{i % 7},x\n")
PY
pzstd -q -p 2 "$T/p.csv" -o "$T/p.csv.zst"
[ "$(head -c 4 "$T/p.csv.zst" | od -An -tx1 | tr -d ' ')" = "502a4d18" ] || fail "pzstd did not start with a skippable frame"
"$TALLY" scan --input "$T/p.csv" --group-by a --format csv > "$T/want.csv"
for by in a 1; do
    for cmd in "scan" "run -q"; do
        # shellcheck disable=SC2086
        "$TALLY" $cmd --input "$T/p.csv.zst" --group-by "$by" --format csv > "$T/got.csv" 2> "$T/got.log" \
            || fail "$cmd --group-by $by: exit $? ($(cat "$T/got.log"))"
        [ "$(tail -n +2 "$T/got.csv")" = "$(tail -n +2 "$T/want.csv")" ] || fail "$cmd --group-by $by: $(head -5 "$T/got.csv")"
    done
done
head -c "$(( $(stat -c %s "$T/p.csv.zst") - 5 ))" "$T/p.csv.zst" > "$T/cut.csv.zst"
"$TALLY" scan --input "$T/cut.csv.zst" --group-by a > /dev/null 2> "$T/cut.log" && fail "a cut pzstd file was counted"
grep -q "zstd data ends early" "$T/cut.log" || fail "cut: $(cat "$T/cut.log")"
pass "pzstd output (a skippable frame first) is read as zstd, exactly; cut short, it fails"
