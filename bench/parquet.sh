#!/usr/bin/env bash
# Parquet (issue 14), side by side, in three parts:
#  1. rows by passenger_count over 40 M page-cached Parquet rows (4 files x 10 M rows, 2023-era
#     schema, zstd, from `tally gen`): tally scan; tally run with 1 mapper x 1 slot; DuckDB with
#     1 and 2 threads; Polars with 1 and 2 threads (nodejs-polars, lazy scanParquet).
#  2. rides and distance summed by pickup date over the same files (`--group-by
#     'tpep_pickup_datetime[0:10]' --agg count --agg sum:trip_distance`) against DuckDB (strftime)
#     and Polars (dt.strftime).
#  3. bytes nginx sends for `tally run` counting one Parquet month over HTTP, against the same
#     month (same seed, era and row count) as CSV.
# Every result is checked first (the generator's ground truth for the counts; the tools against
# each other for the query: same dates, same counts, sums within 1e-9). Each timed command is
# paired, in the same hyperfine run, with the same command on a tiny Parquet file (1,000 rows):
# its median is that tool's start-up (process, module load, engine, plan), and the tables show
# every tool net of its own start-up: median(40 M rows) - median(tiny file).
#   bench/parquet.sh [RUNS]     (default 5; the query in part 2 takes QRUNS runs, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
bench/deps > /dev/null
RUNS=${1:-5}
QRUNS=${QRUNS:-3}
TALLY=$PWD/build-rel/tally
[ -x "$TALLY" ] || { cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build-rel -j; }
[ -d bench/polars/node_modules ] || (cd bench/polars && npm ci --no-audit --no-fund > /dev/null 2>&1)
W=${BENCH_DIR:-/tmp/tally-bench-parquet}
mkdir -p "$W"
PQ=$W/pq TINY=$W/tiny CSV=$W/csv
[ -d "$PQ" ] || "$TALLY" gen --format parquet --out "$PQ" --files 4 --rows 10000000 --eras 2023-02 --codec zstd --seed 1 > /dev/null
[ -d "$TINY" ] || "$TALLY" gen --format parquet --out "$TINY" --files 1 --rows 1000 --eras 2023-02 --codec zstd --seed 1 > /dev/null
[ -d "$CSV" ] || "$TALLY" gen --out "$CSV" --files 1 --rows 10000000 --eras 2023-02 --seed 1 > /dev/null
cat "$PQ"/*.parquet "$TINY"/*.parquet > /dev/null   # page cache
ROWS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$PQ.truth.json")
PQSIZE=$(cat "$PQ"/*.parquet | wc -c)
G="$PQ/*.parquet" TG="$TINY/*.parquet"
DUCK="node bench/duckdb/parquet.mjs"
POLARS="node bench/polars/parquet.mjs"
SU=", start-up"

# timed NAME CMD...: a contestant and its start-up twin (the same command on the tiny file), as
# hyperfine arguments in HF; the command lines go to $W/commands.md.
timed () {
    local name=$1 cmd=$2
    HF+=(-n "$name" "$cmd" -n "$name$SU" "${cmd//"$PQ"/$TINY}")
    printf -- '- %s: `%s`\n' "$name" "$cmd" >> "$W/commands.md"
}

# --- 1. count by passenger_count -----------------------------------------------------------
"$TALLY" scan --input "$PQ" --group-by passenger_count --format json > "$W/scan.json"
python3 tests/tools/check_truth.py "$W/scan.json" "$PQ.truth.json" passenger_count > /dev/null \
    || { echo "parquet.sh: tally scan disagrees with ground truth" >&2; exit 1; }
"$TALLY" run --input "$PQ" --group-by passenger_count --mappers 1 --slots 1 --format json -q > "$W/run.json"
python3 tests/tools/check_truth.py "$W/run.json" "$PQ.truth.json" passenger_count > /dev/null \
    || { echo "parquet.sh: tally run disagrees with ground truth" >&2; exit 1; }
$DUCK "$G" 1 count > "$W/duck1.csv"
$DUCK "$G" 2 count > "$W/duck2.csv"
POLARS_MAX_THREADS=1 $POLARS "$G" count > "$W/polars1.csv"
$POLARS "$G" count > "$W/polars2.csv"
python3 - "$PQ.truth.json" "$W"/duck1.csv "$W"/duck2.csv "$W"/polars1.csv "$W"/polars2.csv <<'PY'
import csv, json, sys
want = json.load(open(sys.argv[1]))["by_column"]["passenger_count"]
for f in sys.argv[2:]:
    got = {r[0]: int(r[1]) for r in csv.reader(open(f))}
    if got != want:
        sys.exit(f"parquet.sh: {f} disagrees with ground truth: {sorted(got.items())} vs {sorted(want.items())}")
PY

: > "$W/commands.md"
HF=()
timed "tally scan" "$TALLY scan --input $PQ --group-by passenger_count --format csv"
timed "tally run, 1 mapper x 1 slot" "$TALLY run --input $PQ --group-by passenger_count --mappers 1 --slots 1 --format csv -q"
timed "DuckDB (1 thread)" "$DUCK '$G' 1 count"
timed "DuckDB (2 threads)" "$DUCK '$G' 2 count"
timed "Polars (1 thread)" "env POLARS_MAX_THREADS=1 $POLARS '$G' count"
timed "Polars (2 threads)" "env POLARS_MAX_THREADS=2 $POLARS '$G' count"
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$W/count.json" "${HF[@]}" > "$W/count-hyperfine.log"
mv "$W/commands.md" "$W/count-commands.md"

echo "### Count by passenger_count"; echo
echo "$((ROWS / 1000000)) M rows in 4 page-cached Parquet files ($((PQSIZE / 1000000)) MB, zstd, 10 row groups of 1 M rows each);"
echo "median and range of $RUNS runs (hyperfine), start-up = median on a 1,000-row file in the same run, net = median - start-up."
echo "Every result matched the generator's ground truth."; echo
python3 bench/table.py --net "$W/count.json" "$ROWS" "$SU" "DuckDB (1 thread)"
python3 - "$W/count.json" "$SU" <<'PY'
import json, statistics, sys
med = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
net = lambda c: med[c] - med[c + sys.argv[2]]
t, d = net("tally run, 1 mapper x 1 slot"), net("DuckDB (1 thread)")
print(f"\nGoal (issue 14), tally one slot <= DuckDB one thread, net of start-up: tally run {t:.3f} s, "
      f"tally scan {net('tally scan'):.3f} s, DuckDB {d:.3f} s: {'met' if t <= d else 'NOT met'} ({t / d:.2f}x)")
PY
echo; echo "Commands (the start-up twin is the same line with $TINY for $PQ):"; echo
cat "$W/count-commands.md"

# --- 2. date slice + sum ---------------------------------------------------------------------
QA=(--group-by 'tpep_pickup_datetime[0:10]' --agg count --agg sum:trip_distance)
Q="--group-by 'tpep_pickup_datetime[0:10]' --agg count --agg sum:trip_distance"   # for hyperfine -N (shell-words)
"$TALLY" scan --input "$PQ" "${QA[@]}" --format csv | tail -n +2 > "$W/q-scan.csv"
"$TALLY" run --input "$PQ" "${QA[@]}" --mappers 1 --slots 1 --format csv -q | tail -n +2 > "$W/q-run.csv"
$DUCK "$G" 1 date > "$W/q-duck1.csv"
$DUCK "$G" 2 date > "$W/q-duck2.csv"
$POLARS "$G" date > "$W/q-polars.csv"
echo
python3 - "$W"/q-duck1.csv "$W"/q-scan.csv "$W"/q-run.csv "$W"/q-duck2.csv "$W"/q-polars.csv <<'PY'
import csv, math, sys
load = lambda f: {r[0]: (int(r[1]), float(r[2])) for r in csv.reader(open(f))}
ref = load(sys.argv[1])
worst = 0.0
for f in sys.argv[2:]:
    got = load(f)
    if got.keys() != ref.keys():
        sys.exit(f"parquet.sh: {f}: dates differ from DuckDB's: {sorted(got.keys() ^ ref.keys())[:5]}")
    for k in ref:
        (n, s), (rn, rs) = got[k], ref[k]
        if n != rn or not math.isclose(s, rs, rel_tol=1e-9):
            sys.exit(f"parquet.sh: {f}: {k}: {got[k]} against DuckDB's {ref[k]}")
        worst = max(worst, abs(s - rs) / abs(rs))
print(f"{len(ref)} dates; tally scan, tally run, DuckDB (1 and 2 threads) and Polars agree on every date's "
      f"count, sums within {worst:.1e} relative of DuckDB's (1 thread)")
PY
: > "$W/commands.md"
HF=()
timed "tally scan" "$TALLY scan --input $PQ $Q --format csv"
timed "tally run, 1 mapper x 1 slot" "$TALLY run --input $PQ $Q --mappers 1 --slots 1 --format csv -q"
timed "DuckDB (1 thread)" "$DUCK '$G' 1 date"
timed "DuckDB (2 threads)" "$DUCK '$G' 2 date"
timed "Polars (2 threads)" "env POLARS_MAX_THREADS=2 $POLARS '$G' date"
hyperfine -N --runs "$QRUNS" --export-json "$W/query.json" "${HF[@]}" > "$W/query-hyperfine.log"
mv "$W/commands.md" "$W/query-commands.md"
echo; echo "### Date slice + sum"; echo
echo "The same files; median and range of $QRUNS runs, net of start-up as above (results checked first, no warm-up run)."; echo
python3 bench/table.py --net "$W/query.json" "$ROWS" "$SU" "DuckDB (1 thread)"
echo; echo "Commands:"; echo
cat "$W/query-commands.md"

# --- 3. bytes over HTTP: one Parquet month against the same month as CSV ---------------------
PF=$PQ/yellow_tripdata_2023-02.parquet CF=$CSV/yellow_tripdata_2023-02.csv
python3 - "$PQ.truth.json" "$CSV.truth.json" <<'PY'
import json, sys
p = next(f for f in json.load(open(sys.argv[1]))["parquet"] if f["file"] == "yellow_tripdata_2023-02.parquet")
c = json.load(open(sys.argv[2]))
if p["rows"] != c["rows"] + c["bad_rows"]:
    sys.exit(f"parquet.sh: the CSV month has {c['rows']} + {c['bad_rows']} bad rows, the Parquet month {p['rows']}")
PY
H=$W/http
rm -rf "$H" && mkdir -p "$H" && ln "$PF" "$CF" "$H/"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
NGX=$(mktemp -d /tmp/tally-bench-nginx.XXXXXX)
chmod 755 "$NGX" "$H"
cat > "$NGX/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 256; }
http {
    log_format sent '\$status \$bytes_sent "\$http_range" \$request_uri';
    access_log $NGX/access.log sent;
    sendfile on;
    client_body_temp_path $NGX; proxy_temp_path $NGX; fastcgi_temp_path $NGX; uwsgi_temp_path $NGX; scgi_temp_path $NGX;
    server { listen 127.0.0.1:$PORT; root $H; }
}
CONF
nginx -c "$NGX/nginx.conf" -e "$NGX/error.log" &
NGINX_PID=$!
trap 'kill $NGINX_PID 2>/dev/null; rm -rf "$NGX"' EXIT
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
PURL=http://127.0.0.1:$PORT/$(basename "$PF") CURL=http://127.0.0.1:$PORT/$(basename "$CF")
$DUCK "$PF" 1 count > "$W/http-duck.csv"
: > "$W/http.tsv"
for kind in Parquet CSV; do
    url=$PURL; [ $kind = CSV ] && url=$CURL
    : > "$NGX/access.log"
    "$TALLY" run --input "$url" --group-by passenger_count --format json -q > "$W/http-$kind.json"
    sleep 0.2   # nginx logs a request when it ends
    cp "$NGX/access.log" "$W/http-$kind.log"
    read -r reqs sent < <(awk '{n++; b += $2} END {print n + 0, b + 0}' "$NGX/access.log")
    printf '%s\t%s\t%s\t%s\n' "$kind" "$url" "$reqs" "$sent" >> "$W/http.tsv"
done
python3 tests/tools/check_truth.py "$W/http-CSV.json" "$CSV.truth.json" passenger_count > /dev/null \
    || { echo "parquet.sh: tally run over HTTP (CSV) disagrees with ground truth" >&2; exit 1; }
python3 - "$W/http-Parquet.json" "$W/http-duck.csv" <<'PY'
import csv, json, sys
got = {g["key"]: g["count"] for g in json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["groups"]}
want = {r[0]: int(r[1]) for r in csv.reader(open(sys.argv[2]))}
if got != want:
    sys.exit(f"parquet.sh: tally run over HTTP (Parquet) disagrees with DuckDB: {got} vs {want}")
PY
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$W/http-bench.json" \
    -n "tally run, Parquet over HTTP" "$TALLY run --input $PURL --group-by passenger_count --format csv -q" \
    -n "tally run, CSV over HTTP" "$TALLY run --input $CURL --group-by passenger_count --format csv -q" \
    > "$W/http-hyperfine.log"
echo; echo "### Bytes over HTTP"; echo
echo "One month (10 M rows) from nginx on loopback, \`tally run --input URL --group-by passenger_count\` (defaults:"
echo "1 mapper x 2 slots, 8 MB ranged GETs, 4 in flight per slot). Bytes and requests: nginx's access log"
echo "(\`\$bytes_sent\`, headers included) for one run; wall time: median and range of $RUNS runs (hyperfine)."; echo
python3 - "$W/http.tsv" "$W/http-bench.json" "$PF" "$CF" "$W" <<'PY'
import json, os, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
res = {r["command"]: r["times"] for r in json.load(open(sys.argv[2]))["results"]}
size = {"Parquet": os.path.getsize(sys.argv[3]), "CSV": os.path.getsize(sys.argv[4])}
print("| input | object (MB) | rows counted | requests | bytes sent by nginx | share of the object | tally's `fetched` | wall median (s) | range (s) |")
print("|---|---|---|---|---|---|---|---|---|")
for kind, url, reqs, sent in rows:
    j = json.loads(open(f"{sys.argv[5]}/http-{kind}.json").read().strip().splitlines()[-1])
    t = res[f"tally run, {kind} over HTTP"]
    print(f"| {kind} | {size[kind] / 1e6:.1f} | {j['rows']:,} (+{j['bad_rows']} bad) | {reqs} | {int(sent):,} | "
          f"{int(sent) / size[kind] * 100:.2f}% | {j.get('fetched', 0):,} | {statistics.median(t):.3f} | {min(t):.3f}-{max(t):.3f} |")
PY
echo; echo "Commands: \`$TALLY run --input $PURL --group-by passenger_count --format csv -q\` and the same with $CURL."
