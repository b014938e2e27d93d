#!/usr/bin/env bash
# Pipeline overhead over HTTP: `tally run` reading the ~817 MB bench file from nginx on loopback,
# against plain concurrent curl downloads of the same bytes to /dev/null with the same number
# of requests in flight (2 and 8). Medians of RUNS runs (hyperfine).
#   bench/http.sh [RUNS]    (run bench/scan.sh first: it makes the file)
set -euo pipefail
cd "$(dirname "$0")/.."
bench/deps > /dev/null
RUNS=${1:-5}
TALLY=$PWD/build-rel/tally
W=${BENCH_DIR:-/tmp/tally-bench-scan}
F="$W/data/yellow_tripdata_2015-01.csv"
SIZE=$(stat -c %s "$F")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
. bench/nginx.sh "$W/data" "$PORT"
URL="http://127.0.0.1:$PORT/$(basename "$F")"
cat > "$W/curl.sh" <<SH
#!/usr/bin/env bash
# curl.sh N: download the file as N equal ranges in parallel, to /dev/null
n=\$1; size=$SIZE; step=\$(( (size + n - 1) / n ))
for i in \$(seq 0 \$((n - 1))); do
    a=\$((i * step)); b=\$((a + step - 1)); [ \$b -ge \$size ] && b=\$((size - 1))
    curl -s -r \$a-\$b -o /dev/null "$URL" &
done
wait
SH
chmod +x "$W/curl.sh"
HALF=$(( (SIZE + 1) / 2 ))
"$TALLY" run --input "$URL" --group-by passenger_count --slots 2 --format json -q > "$W/http.json"
python3 tests/tools/check_truth.py "$W/http.json" "$W/data.truth.json" passenger_count > /dev/null || { echo MISMATCH >&2; exit 1; }
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$W/http-bench.json" \
    -n "curl, 2 ranges in parallel" "$W/curl.sh 2" \
    -n "tally run, 2 slots x 1 request" "$TALLY run --input $URL --group-by passenger_count --slots 2 --split-size $HALF --concurrency 1 --range-size 1G --format csv -q" \
    -n "curl, 8 ranges in parallel" "$W/curl.sh 8" \
    -n "tally run, 2 slots x 4 requests (8 MB ranges)" "$TALLY run --input $URL --group-by passenger_count --slots 2 --split-size $HALF --concurrency 4 --format csv -q" \
    > "$W/http-hyperfine.log"
python3 - "$W/http-bench.json" "$SIZE" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
size = int(sys.argv[2])
med = {r["command"]: r["median"] for r in res}
print(f"file: {size / 1e6:.0f} MB over HTTP from nginx on loopback; medians of {len(res[0]['times'])} runs\n")
print("| command | median (s) | GB/s | × curl at the same concurrency |")
print("|---|---|---|---|")
pairs = {"tally run, 2 slots x 1 request": "curl, 2 ranges in parallel",
         "tally run, 2 slots x 4 requests (8 MB ranges)": "curl, 8 ranges in parallel"}
for r in res:
    base = pairs.get(r["command"])
    ratio = f"{r['median'] / med[base]:.2f}" if base else "1.00"
    print(f"| {r['command']} | {r['median']:.3f} | {size / r['median'] / 1e9:.2f} | {ratio} |")
PY
