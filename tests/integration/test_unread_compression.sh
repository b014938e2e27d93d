#!/usr/bin/env bash
# Exact or loud, compressed inputs (red team, session 9): tally reads gzip and zstd. A bzip2,
# xz, lz4 or zip object was read as plain text: its bytes made one header line and no rows (a
# .bz2: ok, 0 rows, exit 0), or rows of garbage by column number, or a misleading error (an xz
# header "holds a carriage return"). Their magic now fails the object, naming the format.
# So does a UTF-16/UTF-32 byte order mark (red team, session 14: by number, keys "\0x\0", ok).
. "$(dirname "$0")/lib.sh"
python3 - "$T/p.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("a,b\n")
    for i in range(1000):
        f.write(f"{i % 3},x\n")
PY
made=0
for fmt in bzip2:bz2 xz:xz lz4:lz4 zip:zip; do
    name=${fmt%%:*} ext=${fmt##*:}
    case $name in
        bzip2) command -v bzip2 > /dev/null && bzip2 -kc "$T/p.csv" > "$T/p.csv.$ext" ;;
        xz) command -v xz > /dev/null && xz -kc "$T/p.csv" > "$T/p.csv.$ext" ;;
        lz4) command -v lz4 > /dev/null && lz4 -q -c "$T/p.csv" > "$T/p.csv.$ext" ;;
        zip) command -v zip > /dev/null && (cd "$T" && zip -q "p.csv.$ext" p.csv) ;;
    esac
    [ -s "$T/p.csv.$ext" ] || { echo "# no $name tool: not checked"; continue; }
    made=$((made + 1))
    for by in a 1; do
        for cmd in "scan" "run -q"; do
            rc=0
            # shellcheck disable=SC2086
            "$TALLY" $cmd --input "$T/p.csv.$ext" --group-by "$by" > "$T/o.txt" 2> "$T/o.log" || rc=$?
            [ "$rc" -ne 0 ] || fail "$cmd $name --group-by $by: exit 0 ($(cat "$T/o.txt"))"
            grep -q "compressed with $name, which tally does not read" "$T/o.log" || fail "$cmd $name: $(cat "$T/o.log")"
        done
    done
done
[ "$made" -ge 2 ] || fail "fewer than two of bzip2, xz, lz4, zip are installed"
pass "$made formats tally does not read fail their object, naming the format (scan and run, by name and number)"

python3 - "$T" <<'PY'
import sys
s = "a,b\n" + "".join(f"{i},{'xy'[i % 2]}\n" for i in range(1000))
open(f"{sys.argv[1]}/le.csv", "wb").write(s.encode("utf-16"))
open(f"{sys.argv[1]}/be.csv", "wb").write(b"\xfe\xff" + s.encode("utf-16-be"))
open(f"{sys.argv[1]}/le32.csv", "wb").write(s.encode("utf-32"))
PY
for f in le be le32; do
    for cmd in "scan" "run -q" "run -q --split-size 4K"; do
        rc=0
        # shellcheck disable=SC2086
        "$TALLY" $cmd --input "$T/$f.csv" --group-by 2 > "$T/o.txt" 2> "$T/o.log" || rc=$?
        [ "$rc" -ne 0 ] || fail "$cmd UTF-16/32 $f: exit 0 ($(head -3 "$T/o.txt" | tr '\n' ' '))"
        grep -q "UTF-16 or UTF-32 text" "$T/o.log" || fail "$cmd UTF-16/32 $f: not explained: $(tail -2 "$T/o.log")"
    done
done
pass "a UTF-16 or UTF-32 object fails, naming its byte order mark"
