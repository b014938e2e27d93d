// DuckDB on Parquet, as the peer in bench/parquet.sh: rows by passenger_count ("count"), or
// rides and distance by pickup date ("date"), over read_parquet(GLOB) with N threads.
// Prints CSV without a header: key,count[,sum].
// usage: node parquet.mjs GLOB THREADS count|date
import { DuckDBInstance } from '@duckdb/node-api';
const [glob, threads, what] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET threads=${Number(threads)}`);
const src = `read_parquet(${JSON.stringify(glob).replaceAll('"', "'")})`;
const q = what === 'date'
  ? `SELECT strftime(tpep_pickup_datetime, '%Y-%m-%d') AS d, count(*) AS n, sum(trip_distance) AS s FROM ${src} GROUP BY 1`
  : `SELECT passenger_count, count(*) AS n FROM ${src} GROUP BY 1`;
const r = await con.runAndReadAll(q);
let out = '';
for (const row of r.getRows()) out += row.map((v) => v ?? '').join(',') + '\n';
process.stdout.write(out);
