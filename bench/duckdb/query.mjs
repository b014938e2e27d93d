// DuckDB, one thread: rides and distance by date, the query bench/query.sh times tally on.
// usage: node query.mjs FILE
import { DuckDBInstance } from '@duckdb/node-api';
const [file] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
const q = `SELECT substr(tpep_pickup_datetime, 1, 10) AS d, count(*) AS n, sum(TRY_CAST(trip_distance AS DOUBLE)) AS km
           FROM read_csv('${file}', header=true, all_varchar=true, null_padding=true, ignore_errors=true)
           WHERE TRY_CAST(passenger_count AS INTEGER) > 0 GROUP BY 1 ORDER BY 1`;
const r = await con.runAndReadAll(q);
for (const row of r.getRows()) console.log(`${row[0]},${row[1]},${row[2]}`);
