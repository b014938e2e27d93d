// Cross-check, second writer: Polars (nodejs-polars, Rust parquet writer) writes Parquet files
// with every codec it offers into DIR; the expected counts come from the very arrays handed
// to Polars, in pq_dump's format (canonical text, NULL as the empty string).
// usage: node pq_polars.mjs NODE_MODULES_DIR DIR      → DIR/manifest.tsv (as pq_duckdb.mjs)
import { createRequire } from 'module';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { canonFloat, render } from './pq_canon.mjs';

const [modules, dir] = process.argv.slice(2);
const pl = createRequire(join(modules, 'x.js'))('nodejs-polars');

const N = 50000;
const cols = { i32: [], i64: [], f64: [], f32: [], s: [], b: [], d: [], ts: [], big: [] };
let x = 12345;
const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648);
for (let i = 0; i < N; i++) {
  cols.i32.push(i % 17 === 0 ? null : (i % 23) - 11);
  cols.i64.push(rnd() % 5000 - 2500);
  cols.f64.push(i % 19 === 0 ? null : (rnd() % 1000) / 8 - 40);
  cols.f32.push(Math.fround((i % 40) * 0.3));
  cols.s.push(i % 7 === 0 ? null : `k${rnd() % 300}${i % 11 === 0 ? '\tx' : ''}`);
  cols.b.push(i % 9 === 0 ? null : i % 3 === 0);
  cols.d.push(new Date(Date.UTC(1950 + (i % 100), i % 12, 1 + (i % 28))));
  cols.ts.push(new Date(Date.UTC(1969, 11, 31, 23, 59, 0) + (i % 4000) * 250));
  cols.big.push(rnd() % 1000000007);
}
const df = pl.DataFrame({
  i32: pl.Series('i32', cols.i32, pl.Int32),
  i64: pl.Series('i64', cols.i64, pl.Int64),
  f64: pl.Series('f64', cols.f64, pl.Float64),
  f32: pl.Series('f32', cols.f32, pl.Float32),
  s: pl.Series('s', cols.s, pl.Utf8),
  b: pl.Series('b', cols.b, pl.Bool),
  d: pl.Series('d', cols.d, pl.Date),
  ts: pl.Series('ts', cols.ts, pl.Datetime('ms')),
  big: pl.Series('big', cols.big, pl.Int64),
});

const pad = (n, w = 2) => String(n).padStart(w, '0');
const dateText = (t) => `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
const tsText = (t) => {
  const ms = t.getUTCMilliseconds();
  const frac = ms ? '.' + pad(ms, 3).replace(/0+$/, '') : '';
  return `${dateText(t)} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}${frac}`;
};
const text = {
  i32: String, i64: String, big: String, f64: (v) => canonFloat(v, false), f32: (v) => canonFloat(v, true),
  s: (v) => v, b: (v) => (v ? 'true' : 'false'), d: dateText, ts: tsText,
};
let manifest = '';
const expect = {};
for (const c of Object.keys(cols)) {
  const counts = new Map();
  for (const v of cols[c]) {
    const k = v === null ? '' : text[c](v);
    counts.set(k, (counts.get(k) || 0) + 1);
  }
  expect[c] = join(dir, `pexpect_${c}.txt`);
  writeFileSync(expect[c], render(N, counts));
}
const sum = (a) => a.reduce((s, v) => s + (v === null ? 0 : v), 0);
const nn = (a) => a.filter((v) => v !== null).length;
const files = [];
for (const compression of ['uncompressed', 'snappy', 'gzip', 'lz4', 'zstd', 'brotli'])
  for (const rowGroupSize of [4096, 1000000]) {
    const f = join(dir, `polars_${compression}_${rowGroupSize}.parquet`);
    df.writeParquet(f, { compression, rowGroupSize, statistics: true });
    files.push(f);
  }
for (const f of files)
  for (const c of Object.keys(cols)) {
    let line = `${f}\t${c}\t${expect[c]}`;
    if (c === 'i64' || c === 'f64' || c === 'i32') line += `\t${c}\t${sum(cols[c])}\t${nn(cols[c])}`;
    manifest += line + '\n';
  }
writeFileSync(join(dir, 'manifest.tsv'), manifest);
console.log(`polars: ${files.length} files, ${Object.keys(cols).length} columns`);
