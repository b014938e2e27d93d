#!/usr/bin/env bash
# Hostile Parquet objects fail their task with one line that names the object (and, where the
# damage is in a column chunk, the row group, the column and the page), and nothing crashes:
# run it under the ASan+UBSan build (TALLY from cmake -DTALLY_SANITIZE=ON) to make that a proof.
#   a truncated footer (the metadata cut short), a footer length past the start of the object,
#   column chunks past the end (the object's middle cut out), garbage in every column chunk, a page that decompresses past the cap (--max-page-size), an object that
#   is only magic, and a good file next to them still counts exactly.
. "$(dirname "$0")/lib.sh"
mkdir -p "$T/good" "$T/bad"
"$TALLY" gen --format parquet --out "$T/good" --files 1 --rows 20000 --row-group 5000 --eras 2023-02 --codec zstd \
    --seed 41 2> "$T/gen.log"
GOOD=$T/good/yellow_tripdata_2023-02.parquet
python3 - "$GOOD" "$T/bad" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out = sys.argv[2]
mlen = struct.unpack("<I", data[-8:-4])[0]
meta = data[-8 - mlen:-8]
body = data[:-8 - mlen]
def w(name, b):
    open(f"{out}/{name}.parquet", "wb").write(b)
w("truncated_footer", body + meta[: mlen // 2] + struct.pack("<I", mlen // 2) + b"PAR1")
w("footer_past_start", data[:100] + struct.pack("<I", 1 << 30) + b"PAR1")
w("chunks_past_end", data[:4] + data[len(body) - 200 :])        # the footer kept, the chunks gone
w("only_magic", b"PAR1" + b"\0" * 8 + b"PAR1")
# Every chunk's bytes garbage (the footer intact): page headers that do not parse.
w("garbage_chunks", b"PAR1" + bytes((i * 131 + 7) & 0xFF for i in range(len(body) - 4)) + data[len(body):])
PY
run_one () {   # run_one FILE [mapper options]: expect the job to fail; leaves $T/one.log
    local f=$1; shift
    local rc=0
    TALLY_MAX_PAGE_SIZE=${MAXPAGE:-} "$TALLY" run --input "$f" --group-by "${GROUP:-passenger_count}" --mappers 1 --format json \
        > "$T/one.json" 2> "$T/one.log" || rc=$?
    [ $rc -eq 1 ] || fail "$(basename "$f"): exit $rc, want 1 (a failed job): $(tail -5 "$T/one.log")"
    grep -Eiq "AddressSanitizer|runtime error|Segmentation|Aborted|core dumped" "$T/one.log" && fail "$(basename "$f"): crashed: $(cat "$T/one.log")"
    grep -q "$(basename "$f")" "$T/one.log" || fail "$(basename "$f"): the object is not named: $(cat "$T/one.log")"
    return 0
}
for name in truncated_footer footer_past_start chunks_past_end only_magic garbage_chunks; do
    run_one "$T/bad/$name.parquet"
    echo "  $name: $(grep -m1 -o 'failed for good.*' "$T/one.log" | cut -c1-220)"
done
grep -q "row group 0, column 'passenger_count'" "$T/one.log" || fail "garbage chunks: no row group/column: $(cat "$T/one.log")"
run_one "$T/bad/chunks_past_end.parquet"
grep -q "row group .*column 'passenger_count'" "$T/one.log" || fail "chunks past the end: no row group/column: $(cat "$T/one.log")"
pass "truncated footer, footer length past the start, chunks past the end, only magic, garbage chunks: each fails in one line naming the object"

# The pickup times are nearly all distinct: a 40 KB dictionary per row group, past a 4K cap.
MAXPAGE=4K GROUP=tpep_pickup_datetime run_one "$GOOD"
grep -Eq "row group 0, column 'tpep_pickup_datetime', page [0-9]+: " "$T/one.log" ||
    fail "decompression cap: the row group, column and page are not named: $(cat "$T/one.log")"
echo "  cap: $(grep -m1 -o 'failed for good.*' "$T/one.log" | cut -c1-220)"
pass "a page that decompresses past the cap (TALLY_MAX_PAGE_SIZE=4K here; mapper --max-page-size) is refused, naming object, row group, column and page"

# The good file is still exact, and a mapper's --max-page-size is honoured the same way.
"$TALLY" run --input "$GOOD" --group-by passenger_count --format json > "$T/good.json" 2> "$T/good.log"
check_truth "$T/good.json" "$T/good.truth.json" passenger_count || fail "the good file"
pass "the good file counts exactly"
