# Shared start of bench/groups.sh and bench/pipeline.sh (source it from the repository's root):
# a Release build, the 6 M-group file (777 MB of 2009-era rows, page-cached), the query and
# `duck FILE THREADS plain|sorted OUT`, DuckDB's GROUP BY (sorted: in tally's output order).
# Sets TALLY, W, F, BY, DUCK, JS.
bench/deps > /dev/null
TALLY=${TALLY:-$PWD/build-rel/tally}
[ -x "$TALLY" ] || { cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release > /dev/null && cmake --build build-rel -j; }
W=${BENCH_DIR:-/tmp/tally-bench-groups}
mkdir -p "$W"
F="$W/data/yellow_tripdata_2009-01.csv"
[ -f "$F" ] || "$TALLY" gen --out "$W/data" --files 1 --rows 6080000 --eras 2009 --seed 1 > /dev/null
cat "$F" > /dev/null   # page cache
BY=(--group-by Trip_Pickup_DateTime --group-by Trip_Dropoff_DateTime)
DUCK="$PWD/bench/duckdb"
# DuckDB through Node.js; the module resolves from bench/duckdb, so it runs from there.
JS='import { DuckDBInstance } from "@duckdb/node-api";
const [file, threads, order, out] = process.argv.slice(1);
const db = await DuckDBInstance.create(":memory:", { threads: String(threads) });
const con = await db.connect();
const ob = order === "sorted" ? "ORDER BY 3 DESC, 1, 2" : "";
await con.run(`COPY (SELECT Trip_Pickup_DateTime, Trip_Dropoff_DateTime, count(*) AS count
  FROM read_csv(${JSON.stringify(file)}, header=true, all_varchar=true, null_padding=true, ignore_errors=true)
  GROUP BY 1, 2 ${ob}) TO ${JSON.stringify(out)} (FORMAT csv, HEADER)`);'
duck () { (cd "$DUCK" && node --input-type=module -e "$JS" "$@"); }
