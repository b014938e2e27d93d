// DuckDB, one thread: count rows by a column of a CSV, as the peer in bench/scan.sh.
// usage: node count.mjs FILE COLUMN
import { DuckDBInstance } from '@duckdb/node-api';
const [file, col] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
const q = `SELECT "${col}" AS k, count(*) AS n FROM read_csv('${file}', header=true, all_varchar=true,
           null_padding=true, ignore_errors=true) GROUP BY 1 ORDER BY 2 DESC`;
const r = await con.runAndReadAll(q);
for (const row of r.getRows()) console.log(`${row[0] ?? ''},${row[1]}`);
