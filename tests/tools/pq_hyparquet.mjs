// Cross-check, fourth writer: hyparquet-writer (pure JavaScript, its own encoders; data pages
// v2 only) writes Parquet files into DIR: SNAPPY, UNCOMPRESSED, and GZIP and BROTLI through
// node's zlib; dictionary pages where they pay, PLAIN, DELTA_BINARY_PACKED,
// DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT and RLE booleans; row groups of
// 1,000 rows and one of all; NULLs; and the legacy ConvertedType annotations it writes
// (TIMESTAMP_MILLIS, DATE, DECIMAL, UTF8, UINT_32) rather than logical types. The expectations
// are DuckDB's over each file (duckManifests in pq_canon.mjs), as for pq_arrow.mjs.
// usage: node pq_hyparquet.mjs HYPARQUET_NODE_MODULES DUCKDB_NODE_MODULES DIR
//   → DIR/manifest_dict.tsv, DIR/manifest_plain.tsv, DIR/footers.txt (as pq_arrow.mjs)
import { createRequire } from 'module';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { pathToFileURL } from 'url';
import { brotliCompressSync, gzipSync } from 'zlib';
import { DICT, PLAIN, duckManifests, footerSummary } from './pq_canon.mjs';

const [modules, duckModules, dir] = process.argv.slice(2);
const { parquetWriteBuffer } = await import(pathToFileURL(join(modules, 'hyparquet-writer/src/index.js')));
const { DuckDBInstance } = createRequire(join(duckModules, 'x.js'))('@duckdb/node-api');

let seed = 777;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 1;     // 31 bits, exact
const N = 12000, R = (f) => Array.from({ length: N }, (_, i) => f(i));
const strs = ['', 'x', 'ü', '日本', '🙂', 'a\tb', '#c', 'd\\e'];
const f64s = [NaN, -0.0, Infinity, -Infinity, 1e-300, 0.1];
// each column: its SchemaElement (physical type and ConvertedType) and its values
const col = (name, type, extra, data) => ({ name, data, el: { name, type, repetition_type: 'OPTIONAL', ...extra } });
const cols = [
  col('i32', 'INT32', {}, R((i) => (i % 7 === 0 ? null : (i % 23) - 11))),
  col('i64', 'INT64', {}, R(() => BigInt(rnd() % 3000) * 1000003n - 1500000000n)),
  col('u32', 'INT32', { converted_type: 'UINT_32' }, R((i) => (i % 9 === 0 ? null : 4294967295 - (i % 50) * 80000001))),
  col('f64', 'DOUBLE', {}, R((i) => (i % 11 === 0 ? null : i % 500 < 6 ? f64s[i % 500] : (rnd() % 800) / 8))),
  col('f32', 'FLOAT', {}, R((i) => (i % 13 === 0 ? null : Math.fround((i % 60) * 0.3)))),
  col('s', 'BYTE_ARRAY', { converted_type: 'UTF8' }, R((i) => (i % 5 === 0 ? null : strs[i % strs.length] + (i % 3 ? '' : String(rnd() % 400))))),
  col('b', 'BOOLEAN', {}, R((i) => (i % 4 === 0 ? null : i % 3 === 0))),
  col('ts', 'INT64', { converted_type: 'TIMESTAMP_MILLIS' }, R((i) => (i % 6 === 0 ? null : new Date(-86400000 + (i % 2000) * 61250)))),
  col('dt', 'INT32', { converted_type: 'DATE' }, R((i) => (i % 8 === 0 ? null : (i % 3000) - 1500))),
  col('dec', 'INT64', { converted_type: 'DECIMAL', scale: 3, precision: 15 },
    R((i) => (i % 10 === 0 ? null : BigInt(rnd() % 5000) * 1234567n - 3000000000n))),
];
const SUMS = new Set(['i32', 'i64', 'u32', 'f32', 'dec']);

const compressors = { GZIP: (b) => gzipSync(b), BROTLI: (b) => brotliCompressSync(b) };
// encodings by physical type (strings are BYTE_ARRAY)
const byType = (m) => Object.fromEntries(cols.map((c) => [c.name, m[c.el.type]]));
function write (name, { codec = 'SNAPPY', rowGroupSize, pageSize, enc = {} } = {}) {
  const path = join(dir, name);
  const buf = parquetWriteBuffer({
    columnData: cols.map((c) => ({ name: c.name, data: c.data, encoding: enc[c.name] })),
    schema: [{ name: 'root', num_children: cols.length }, ...cols.map((c) => c.el)],
    codec, compressors, rowGroupSize, pageSize,
  });
  writeFileSync(path, new Uint8Array(buf));
  return path;
}
const delta = byType({ INT32: 'DELTA_BINARY_PACKED', INT64: 'DELTA_BINARY_PACKED', DOUBLE: 'BYTE_STREAM_SPLIT',
  FLOAT: 'BYTE_STREAM_SPLIT', BYTE_ARRAY: 'DELTA_LENGTH_BYTE_ARRAY', BOOLEAN: 'RLE' });
const prefix = byType({ INT32: 'PLAIN', INT64: 'PLAIN', DOUBLE: 'PLAIN', FLOAT: 'PLAIN', BYTE_ARRAY: 'DELTA_BYTE_ARRAY', BOOLEAN: 'PLAIN' });
const files = [
  { path: write('hyp_snappy.parquet'), modes: DICT },
  { path: write('hyp_uncompressed.parquet', { codec: 'UNCOMPRESSED', enc: prefix }), modes: PLAIN },
  { path: write('hyp_gzip_delta.parquet', { codec: 'GZIP', enc: delta, pageSize: 4096 }), modes: PLAIN },
  { path: write('hyp_brotli_small_rg.parquet', { codec: 'BROTLI', rowGroupSize: 1000, pageSize: 2048 }), modes: DICT },
];

const con = await (await DuckDBInstance.create(':memory:', { threads: '2' })).connect();
const { unread, rematerialised } = await duckManifests(con, dir, [{ files }], SUMS);
const footers = await footerSummary(con, files.map((f) => f.path), unread);
writeFileSync(join(dir, 'footers.txt'), footers);
console.log(`${footers.split('\n')[0]}; ${unread.length} file(s) DuckDB cannot read, ${rematerialised} column(s) DuckDB read ` +
  'differently from the reference file');
