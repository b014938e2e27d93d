// Cross-check, writer side: DuckDB writes Parquet files (every codec it has, data page v1 and
// v2, small and large row groups, dictionary and plain pages, NULLs, many types) into DIR and,
// for each file and column, DuckDB's own GROUP BY counts in pq_dump's format.
// usage: node pq_duckdb.mjs NODE_MODULES_DIR DIR      → DIR/manifest.tsv
//   manifest lines: file <TAB> column <TAB> expected-file [<TAB> sum-column <TAB> sum <TAB> n]
import { rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { duckCounts, render } from './pq_canon.mjs';

const [modules, dir] = process.argv.slice(2);
const { DuckDBInstance } = await import(join(modules, '@duckdb/node-api/lib/index.js'));
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await db.connect();

const N = 60000;
await con.run(`CREATE TABLE t AS SELECT
  (i % 7)::INTEGER AS i32,
  CASE WHEN i % 11 = 0 THEN NULL ELSE (i * 7919) % 100003 - 50000 END::BIGINT AS i64n,
  (i % 9)::BIGINT AS pc,
  CASE WHEN i % 13 = 0 THEN NULL WHEN i % 1000 = 7 THEN 'nan'::DOUBLE WHEN i % 1000 = 8 THEN '-inf'::DOUBLE
       WHEN i % 1000 = 9 THEN -0.0 ELSE ((i % 97) / 4.0)::DOUBLE END AS dbl,
  ((hash(i) % 1000000)::DOUBLE / 997.0 - 300) AS rnd,
  ((i % 50) * 0.1)::FLOAT AS flt,
  CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN '' ELSE 'v' || (i % 37)::VARCHAR || CASE WHEN i % 3 = 0 THEN ' ü' ELSE '' END END AS str,
  'key-' || (hash(i * 3) % 20000)::VARCHAR AS hi_card,
  (DATE '1960-01-01' + (i % 30000)::INTEGER) AS dt,
  (TIMESTAMP '1965-06-01 00:00:00' + to_microseconds(i * 123456789)) AS ts,
  (TIMESTAMP '1969-12-31 23:59:58' + to_microseconds((i % 5000) * 1000))::TIMESTAMP_MS AS ts_ms,
  (TIMESTAMP_NS '1969-12-31 23:59:59.999999998' + to_microseconds(i % 3000)) AS ts_ns,
  ((i % 1000) / 100.0 - 3)::DECIMAL(9,2) AS dec32,
  ((i % 100000) * 12345 / 10000.0 - 40000)::DECIMAL(18,4) AS dec64,
  ((i % 1000)::HUGEINT * 100000000000000000000 - 12345678901234567890123)::DECIMAL(38,10) AS dec128,
  (i % 3 = 0) AS b,
  CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 3 = 1) END AS bn,
  (TIME '00:00:00' + to_microseconds((i % 86400) * 1000000 + (i % 7) * 250000)) AS tm,
  (i % 256)::UTINYINT AS u8,
  ((i % 5) * 300000000 + 3000000000)::UINTEGER AS u32,
  (18446744073709551615 - (i % 4))::UBIGINT AS u64,
  ((i % 200) - 100)::TINYINT AS i8,
  ((i % 60000) - 30000)::SMALLINT AS i16
FROM range(${N}) r(i)`);

const cols = (await con.runAndReadAll(`SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 't'`)).getRows();
const files = [];
for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4', 'lz4_raw', 'brotli'])
  for (const v of ['V1', 'V2'])
    files.push({ name: `duck_${codec}_${v}.parquet`, opts: `COMPRESSION '${codec}', PARQUET_VERSION ${v}, ROW_GROUP_SIZE 10000` });
files.push({ name: 'duck_big_rg.parquet', opts: `COMPRESSION 'zstd', ROW_GROUP_SIZE 1000000` });
files.push({ name: 'duck_small_rg.parquet', opts: `COMPRESSION 'snappy', ROW_GROUP_SIZE 2048` });
files.push({ name: 'duck_nodict.parquet', opts: `COMPRESSION 'zstd', DICTIONARY_SIZE_LIMIT 1` });
files.push({ name: 'duck_nodict_v2.parquet', opts: `COMPRESSION 'snappy', PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 1` });

let manifest = '';
for (const f of files) {
  const path = join(dir, f.name);
  await con.run(`COPY t TO '${path}' (FORMAT parquet, ${f.opts})`);
}
// expectations are the same table for every file, but read back through DuckDB per file so a
// writer/reader disagreement inside DuckDB would show too; computed once per column and checked
// against each file's row count.
const expect = new Map();
for (const [c, text] of await duckCounts(con, join(dir, files[0].name), cols)) {
  const ef = join(dir, `expect_${c}.txt`);
  writeFileSync(ef, text);
  expect.set(c, ef);
}
const sums = {};
for (const c of ['i64n', 'pc', 'dec64', 'rnd', 'i32']) {
  const [[s, n]] = (await con.runAndReadAll(`SELECT sum("${c}")::DOUBLE, count("${c}")::BIGINT FROM t`)).getRows();
  sums[c] = [s, Number(n)];
}
for (const f of files)
  for (const [c] of cols) {
    let line = `${join(dir, f.name)}\t${c}\t${expect.get(c)}`;
    if (sums[c]) line += `\t${c}\t${sums[c][0]}\t${sums[c][1]}`;
    manifest += line + '\n';
  }
// a file with nested columns: a flat leaf under a struct reads; a list element is refused
const nested = join(dir, 'duck_nested.parquet');
await con.run(`COPY (SELECT i % 5 AS a, {'x': i % 3, 'y': CASE WHEN i % 4 = 0 THEN NULL ELSE 'y' || (i % 6)::VARCHAR END} AS st,
  [i, i + 1] AS li FROM range(5000) r(i)) TO '${nested}' (FORMAT parquet, COMPRESSION 'zstd')`);
{
  const rows = (await con.runAndReadAll(`SELECT CAST(st.y AS VARCHAR), count(*)::BIGINT FROM read_parquet('${nested}') GROUP BY ALL`)).getRows();
  const counts = new Map(rows.map(([k, n]) => [k === null ? '' : k, Number(n)]));
  writeFileSync(join(dir, 'expect_nested_st_y.txt'), render(5000, counts));
  manifest += `${nested}\tst.y\t${join(dir, 'expect_nested_st_y.txt')}\n`;
}
// an encrypted file (AES-GCM footer): must be refused in one line
try {
  // DuckDB's built-in crypto module writes only with this switch (httpfs is not loaded here);
  // the file's strength does not matter to a test that checks it is refused.
  await con.run(`SET force_mbedtls_unsafe = 'true'`);
  await con.run(`PRAGMA add_parquet_key('k', '0123456789112345')`);
  await con.run(`COPY (SELECT 1 AS a) TO '${join(dir, 'duck_encrypted.parquet')}' (FORMAT parquet, ENCRYPTION_CONFIG {footer_key: 'k'})`);
} catch (err) {
  console.log(`duckdb could not write an encrypted file: ${err.message}`);
  rmSync(join(dir, 'duck_encrypted.parquet'), { force: true });
}
writeFileSync(join(dir, 'manifest.tsv'), manifest);
console.log(`duckdb ${(await con.runAndReadAll('SELECT version()')).getRows()[0][0]}: ${files.length} files, ${cols.length} columns`);
