#!/usr/bin/env bash
# An object overwritten after it was listed: the read fails with TL_ECHANGED and says what
# changed, through S3 (moto: If-Match answered 412; a new size seen in Content-Range), plain
# HTTP (nginx's ETag from the HEAD) and local files (mtime and size). tests/tools/store_read
# lists, waits for the change, then reads the listed version as a mapper does.
. "$(dirname "$0")/lib.sh"
: "${TALLY_BUILD:?TALLY_BUILD must point at the build folder}"
TOOL="$TALLY_BUILD/tests/store_read"
start_moto
export AWS_ENDPOINT_URL="$ENDPOINT"
put () {   # put KEY SIZE CHAR: an object of SIZE bytes of CHAR in bucket tally-changed
    python3 - "$1" "$2" "$3" <<PY
import boto3, sys
s3 = boto3.client("s3", endpoint_url="$ENDPOINT", region_name="us-east-1")
try: s3.create_bucket(Bucket="tally-changed")
except Exception: pass
s3.put_object(Bucket="tally-changed", Key=sys.argv[1], Body=sys.argv[3].encode() * int(sys.argv[2]))
PY
}
# case NAME URI CHANGE [ARGS...]: list, run CHANGE, then read; the tool's output in $T/NAME.out
case_ () {
    local name=$1 uri=$2 change=$3; shift 3
    mkfifo "$T/$name.in"
    "$TOOL" "$uri" "$@" < "$T/$name.in" > "$T/$name.out" 2>&1 &
    local pid=$!
    exec 7> "$T/$name.in"
    wait_for "$T/$name.out" "^listed" 10
    eval "$change"
    echo go >&7
    exec 7>&-
    wait $pid || true
}
ECHANGED=-11

put k 1048576 a
case_ s3same "s3://tally-changed/k" ":"
grep -qx "read 1048576 bytes" "$T/s3same.out" || fail "unchanged s3 read: $(cat "$T/s3same.out")"
ETAG=$(awk '/^listed/ {print $3}' "$T/s3same.out")
[ "${ETAG:0:1}" = '"' ] || fail "the listing's ETag keeps S3's quotes: $ETAG"
pass "s3: an unchanged object reads whole; the listing carries its ETag ($ETAG)"

# Same size, other bytes: only If-Match can tell. Ranged GETs (size known) and one plain GET.
for mode in ranged single; do
    put k 1048576 a
    args=(); [ $mode = single ] && args=(--no-size)
    case_ "s3over$mode" "s3://tally-changed/k" "put k 1048576 b" "${args[@]}"
    out=$(cat "$T/s3over$mode.out")
    was=$([ $mode = single ] && echo "was ETag" || echo "was 1048576 bytes, ETag")
    grep -qF "error $ECHANGED: object changed since it was listed: s3://tally-changed/k ($was \"" "$T/s3over$mode.out" \
        && grep -qF ", now HTTP 412 Precondition Failed)" "$T/s3over$mode.out" || fail "s3 overwrite ($mode): $out"
done
pass "s3: overwritten after the listing (same size): If-Match gets 412, TL_ECHANGED ($(tail -1 "$T/s3overranged.out"))"

# A new size, no If-Match sent: the ranged GETs see it in Content-Range's total.
for size in 2000000 100; do
    put k 1048576 a
    case_ "s3size$size" "s3://tally-changed/k" "put k $size c" --no-etag
    grep -qxF "error $ECHANGED: object changed since it was listed: s3://tally-changed/k (was 1048576 bytes, now $size bytes)" \
        "$T/s3size$size.out" || fail "s3 new size $size: $(cat "$T/s3size$size.out")"
done
pass "s3: a new size (larger, smaller) seen in Content-Range fails with TL_ECHANGED ($(tail -1 "$T/s3size100.out"))"

# HTTP: nginx's ETag (mtime-size) from the HEAD, sent back as If-Match.
mkdir -p "$T/www"
head -c 300000 /dev/zero | tr '\0' 'a' > "$T/www/o.csv"
start_nginx "$T/www"
case_ httpsame "$HTTP_BASE/o.csv" ":"
grep -qx "read 300000 bytes" "$T/httpsame.out" || fail "unchanged http read: $(cat "$T/httpsame.out")"
case_ httpover "$HTTP_BASE/o.csv" "sleep 1.1; head -c 300000 /dev/zero | tr '\0' 'b' > '$T/www/o.csv'" --no-size
grep -qF "error $ECHANGED: object changed since it was listed: $HTTP_BASE/o.csv (was ETag \"" "$T/httpover.out" \
    && grep -qF "now HTTP 412 Precondition Failed)" "$T/httpover.out" || fail "http overwrite: $(cat "$T/httpover.out")"
pass "http: overwritten after the HEAD: 412 on If-Match, TL_ECHANGED"

# Files: size and mtime, before and after the read.
printf 'x\n1\n' > "$T/f.csv"
case_ filesame "$T/f.csv" ":"
grep -qx "read 4 bytes" "$T/filesame.out" || fail "unchanged file: $(cat "$T/filesame.out")"
case_ fileover "$T/f.csv" "printf 'x\n1\n2\n' > '$T/f.csv'"
grep -qF "error $ECHANGED: object changed since it was listed: $T/f.csv (was 4 bytes, mtime " "$T/fileover.out" \
    || fail "file overwrite: $(cat "$T/fileover.out")"
pass "file: rewritten after the listing: TL_ECHANGED"
