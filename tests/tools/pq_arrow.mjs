// Cross-check, third writer: arrow-rs (the Rust `parquet` crate, as npm's parquet-wasm) writes
// Parquet files from tables built with apache-arrow (JS) into DIR: every codec it has, data page
// v1 and v2, dictionary on, off and falling back, the encodings it allows per physical type,
// small and large row groups, NULLs, and many Arrow types; plus DIR/tlc/*.parquet, TLC-shaped
// months for an end-to-end `tally scan`. The expected counts and sums are DuckDB's own over
// each file (duckManifests in pq_canon.mjs), in pq_dump's format.
// usage: node pq_arrow.mjs ARROW_NODE_MODULES DUCKDB_NODE_MODULES DIR
//   → DIR/manifest_dict.tsv (files with dictionary pages: to be read in every batch mode) and
//     DIR/manifest_plain.tsv (the others), lines as pq_duckdb.mjs's manifest.tsv; DIR/footers.txt,
//     what the files hold by their footers (codecs, encodings, page kinds, logical types).
//
// DuckDB cannot read two things arrow-rs writes: its LZ4 (the deprecated Hadoop-framed codec;
// DuckDB reads LZ4_RAW) and BYTE_STREAM_SPLIT on INT32/INT64/FIXED_LEN_BYTE_ARRAY (in the spec
// since 2.11; DuckDB takes it on FLOAT/DOUBLE only). Those files hold the same table as the
// others, so the expectations are DuckDB's over the others, and footers.txt says so. DuckDB
// also reads a time-zoned nanosecond timestamp as microseconds (truncated toward zero), so that
// column holds whole microseconds; the naive nanosecond column does not.
import { createRequire } from 'module';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { DICT, PLAIN, duckManifests, footerSummary } from './pq_canon.mjs';

const [arrowModules, duckModules, dir] = process.argv.slice(2);
const req = createRequire(join(arrowModules, 'x.js'));
const A = req('apache-arrow');
const W = req('parquet-wasm');
const { DuckDBInstance } = createRequire(join(duckModules, 'x.js'))('@duckdb/node-api');

let seed = 12345;
const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 1;     // 31 bits, exact

// --- Arrow columns from plain arrays (null for NULL) ---
function bitmap (vals) {
  const bits = new Uint8Array(Math.ceil(vals.length / 8));
  let nulls = 0;
  vals.forEach((v, i) => { if (v === null) nulls++; else bits[i >> 3] |= 1 << (i & 7); });
  return { nullBitmap: nulls ? bits : undefined, nullCount: nulls };
}
function fixed (type, Arr, vals) {
  const data = new Arr(vals.length);
  vals.forEach((v, i) => { if (v !== null) data[i] = v; });
  return A.makeData({ type, length: vals.length, data, ...bitmap(vals) });
}
function utf8 (vals) {
  const enc = new TextEncoder(), parts = vals.map((v) => enc.encode(v ?? ''));
  const valueOffsets = new Int32Array(vals.length + 1);
  parts.forEach((p, i) => { valueOffsets[i + 1] = valueOffsets[i] + p.length; });
  const data = new Uint8Array(valueOffsets[vals.length]);
  parts.forEach((p, i) => data.set(p, valueOffsets[i]));
  return A.makeData({ type: new A.Utf8(), length: vals.length, valueOffsets, data, ...bitmap(vals) });
}
function bools (vals) {
  const data = new Uint8Array(Math.ceil(vals.length / 8));
  vals.forEach((v, i) => { if (v) data[i >> 3] |= 1 << (i & 7); });
  return A.makeData({ type: new A.Bool(), length: vals.length, data, ...bitmap(vals) });
}
function decimal (precision, scale, vals) {      // vals: BigInt unscaled, 128-bit little-endian words
  const data = new Uint32Array(vals.length * 4);
  vals.forEach((v, i) => {
    if (v === null) return;
    let u = BigInt.asUintN(128, v);
    for (let w = 0; w < 4; w++, u >>= 32n) data[i * 4 + w] = Number(u & 0xffffffffn);
  });
  return A.makeData({ type: new A.Decimal(scale, precision, 128), length: vals.length, data, ...bitmap(vals) });
}
function dictUtf8 (vals) {                      // an Arrow dictionary array: arrow-rs's own dictionary path
  const keys = [...new Set(vals.filter((v) => v !== null))];
  const pos = new Map(keys.map((k, i) => [k, i]));
  const dictionary = A.makeVector(utf8(keys));
  const type = new A.Dictionary(new A.Utf8(), new A.Int32());
  const data = Int32Array.from(vals, (v) => (v === null ? 0 : pos.get(v)));
  return A.makeData({ type, length: vals.length, data, dictionary, ...bitmap(vals) });
}
const f16bits = (x) => {                        // exact for the halves used here (k/4, small)
  if (Number.isNaN(x)) return 0x7e00;
  if (x === Infinity) return 0x7c00;
  if (Object.is(x, -0)) return 0x8000;
  if (x === 0) return 0;
  const s = x < 0 ? 0x8000 : 0, a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
};
function table (cols) {                         // cols: [name, Data, nullable]
  const fields = cols.map(([n, d, nullable]) => new A.Field(n, d.type, nullable !== false));
  const schema = new A.Schema(fields);
  const len = cols[0][1].length;
  const struct = A.makeData({ type: new A.Struct(fields), length: len, nullCount: 0, children: cols.map((c) => c[1]) });
  return new A.Table([new A.RecordBatch(schema, struct)]);
}

// --- the types table ---
const N = 20000;
const R = (f) => Array.from({ length: N }, (_, i) => f(i));
const US = 1000000n;
const strs = ['', 'a', 'ü', 'naïve', '日本語', '🙂 emoji', 'tab\there', 'back\\slash', '#hash', 'line\nbreak', ' sp '];
const f64specials = [NaN, -0.0, Infinity, -Infinity, 1e300, 5e-324, -2.5, 0.1];
const f32specials = [NaN, -0.0, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45, 0.1];
const types = [
  ['i8', fixed(new A.Int8(), Int8Array, R((i) => (i % 17 === 0 ? null : (i % 256) - 128)))],
  ['i16', fixed(new A.Int16(), Int16Array, R((i) => ((i * 7) % 65536) - 32768)), false],
  ['i32', fixed(new A.Int32(), Int32Array, R((i) => i % 7)), false],
  ['i32n', fixed(new A.Int32(), Int32Array, R((i) => (i % 13 === 0 ? null : (rnd() % 4001) - 2000)))],
  ['i64', fixed(new A.Int64(), BigInt64Array, R((i) => (i % 11 === 0 ? null : BigInt(rnd() % 4000) * 1000003n - 2000000000n)))],
  ['i64x', fixed(new A.Int64(), BigInt64Array, R((i) => [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n, BigInt(i % 500)][i % 5]))],
  ['u8', fixed(new A.Uint8(), Uint8Array, R((i) => (i % 19 === 0 ? null : i % 256)))],
  ['u16', fixed(new A.Uint16(), Uint16Array, R((i) => 65535 - (i % 700)))],
  ['u32', fixed(new A.Uint32(), Uint32Array, R((i) => (i % 23 === 0 ? null : 4294967295 - (i % 1000) * 3000000)))],
  ['u64', fixed(new A.Uint64(), BigUint64Array, R((i) => (i % 29 === 0 ? null : i % 3 ? 2n ** 64n - 1n - BigInt(i % 41) : BigInt(i % 97))))],
  ['f32', fixed(new A.Float32(), Float32Array, R((i) => (i % 31 === 0 ? null : i % 100 < 7 ? f32specials[i % 100] : (i % 50) * 0.1)))],
  ['f64', fixed(new A.Float64(), Float64Array, R((i) => (i % 13 === 0 ? null : i % 1000 < 8 ? f64specials[i % 1000] : (i % 97) / 4)))],
  ['rnd', fixed(new A.Float64(), Float64Array, R(() => (rnd() % 3000) / 997 - 1.5))],
  ['f16', fixed(new A.Float16(), Uint16Array, R((i) => (i % 37 === 0 ? null : f16bits(i % 10 === 3 ? -0.0 : ((i % 64) - 20) / 4))))],
  ['str', utf8(R((i) => (i % 5 === 0 ? null : strs[i % strs.length] + (i % 3 ? '' : String(i % 13)))))],
  ['hi_card', utf8(R(() => `key-${rnd() % 5000}`)), false],
  ['dict_str', dictUtf8(R((i) => (i % 6 === 0 ? null : ['red', 'grün', '', 'blue'][i % 4])))],
  ['b', bools(R((i) => i % 3 === 0)), false],
  ['bn', bools(R((i) => (i % 4 === 0 ? null : i % 3 === 1)))],
  ['dt', fixed(new A.DateDay(), Int32Array, R((i) => (i % 43 === 0 ? null : [-719162, 2932896, -1, 0][i % 400] ?? (i * 37) % 3000 - 1500)))],
  ['ts_s', fixed(new A.TimestampSecond(), BigInt64Array, R((i) => BigInt(i % 2500) * 86399n - 50000000n))],
  ['ts_ms', fixed(new A.TimestampMillisecond(), BigInt64Array, R((i) => (i % 9 === 0 ? null : BigInt((i % 5000) * 250 - 2000))))],
  ['ts_us', fixed(new A.TimestampMicrosecond(), BigInt64Array, R((i) => BigInt(i % 3000) * 123456789n - 100000000000n))],
  ['ts_ns', fixed(new A.TimestampNanosecond(), BigInt64Array, R((i) => (i % 7 === 0 ? null : BigInt(i % 3000) * 333n - 500000n)))],
  ['ts_ms_utc', fixed(new A.TimestampMillisecond('UTC'), BigInt64Array, R((i) => BigInt(i % 2000) * 7777n - 9000000n))],
  ['ts_us_ny', fixed(new A.TimestampMicrosecond('America/New_York'), BigInt64Array, R((i) => (i % 10 === 0 ? null : BigInt(i % 4000) * 900000001n)))],
  ['ts_ns_tz', fixed(new A.TimestampNanosecond('+01:00'), BigInt64Array, R((i) => (BigInt(i % 6000) - 3000n) * 12345n * 1000n))],
  ['tm_ms', fixed(new A.TimeMillisecond(), Int32Array, R((i) => (i * 1250) % 3000000))],
  ['tm_us', fixed(new A.TimeMicrosecond(), BigInt64Array, R((i) => (i % 8 === 0 ? null : BigInt((i % 2000) * 43200001))))],
  ['dec7_2', decimal(7, 2, R((i) => (i % 21 === 0 ? null : BigInt((i % 2000) - 1000) * 37n)))],
  ['dec15_4', decimal(15, 4, R(() => BigInt(rnd() % 3000) * 4099000000n - 4000000000000n))],
  ['dec20_0', decimal(20, 0, R((i) => (i % 3 === 0 ? -(10n ** 19n) - BigInt(i % 50) : BigInt(i % 77) * 10n ** 18n)))],
  ['dec38_10', decimal(38, 10, R((i) => (i % 17 === 0 ? null : (BigInt(i % 1000) - 500n) * 12345678901234567890123n)))],
];
const typesTable = table(types);
// the columns whose sums are checked (finite numbers; a timestamp's sum is its raw integer's)
const SUMS = new Set(['i8', 'i16', 'i32', 'i32n', 'i64', 'u8', 'u16', 'u32', 'u64', 'rnd', 'dec7_2', 'dec15_4', 'dec20_0',
  'dec38_10', 'passenger_count', 'trip_distance', 'VendorID', 'Airport_fee', 'pc', 'fare']);

// --- the TLC-shaped months: passenger_count INT64 in some, DOUBLE with NULLs in others ---
function tlcTable (rows, pcDouble) {
  const pc = Array.from({ length: rows }, (_, i) => (pcDouble && i % 12 === 0 ? null : rnd() % 10 < 7 ? 1 : rnd() % 7));
  return table([
    ['VendorID', fixed(new A.Int32(), Int32Array, Array.from({ length: rows }, () => 1 + (rnd() % 2)))],
    ['tpep_pickup_datetime', fixed(new A.TimestampMicrosecond(), BigInt64Array,
      Array.from({ length: rows }, (_, i) => 1704067200n * US + BigInt(i) * 37n * US + BigInt(rnd() % 1000000)))],
    pcDouble ? ['passenger_count', fixed(new A.Float64(), Float64Array, pc)]
      : ['passenger_count', fixed(new A.Int64(), BigInt64Array, pc.map((v) => BigInt(v)))],
    ['trip_distance', fixed(new A.Float64(), Float64Array, Array.from({ length: rows }, () => (rnd() % 3000) / 100))],
    ['Airport_fee', fixed(new A.Float64(), Float64Array, Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : (rnd() % 2) * 1.75)))],
  ]);
}

// --- writing ---
const C = W.Compression, V = W.WriterVersion, E = W.Encoding;
function props ({ codec = C.SNAPPY, v = V.V1, dict = true, rg, page, dictPage, enc, phys } = {}) {
  let b = new W.WriterPropertiesBuilder().setCompression(codec).setWriterVersion(v).setDictionaryEnabled(dict)
    .setStatisticsEnabled(W.EnabledStatistics.Page);
  if (rg) b = b.setMaxRowGroupSize(rg);
  if (page) b = b.setDataPageSizeLimit(page);
  if (dictPage) b = b.setDictionaryPageSizeLimit(dictPage);
  for (const [col, e] of Object.entries(enc ? enc(phys) : {})) b = b.setColumnEncoding(col, e);
  return b.build();
}
// encodings by physical type (arrow-rs refuses what a type cannot take); phys: column → type
const byType = (m) => (phys) => Object.fromEntries(Object.entries(phys).filter(([, t]) => m[t] !== undefined).map(([c, t]) => [c, m[t]]));
const encDelta = byType({ BOOLEAN: E.RLE, INT32: E.DELTA_BINARY_PACKED, INT64: E.DELTA_BINARY_PACKED, FLOAT: E.BYTE_STREAM_SPLIT,
  DOUBLE: E.BYTE_STREAM_SPLIT, BYTE_ARRAY: E.DELTA_LENGTH_BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY: E.DELTA_BYTE_ARRAY });
const encPrefix = byType({ BOOLEAN: E.PLAIN, INT32: E.PLAIN, INT64: E.PLAIN, FLOAT: E.PLAIN, DOUBLE: E.PLAIN,
  BYTE_ARRAY: E.DELTA_BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY: E.PLAIN });
const encSplit = byType({ BOOLEAN: E.RLE, INT32: E.BYTE_STREAM_SPLIT, INT64: E.BYTE_STREAM_SPLIT, FLOAT: E.BYTE_STREAM_SPLIT,
  DOUBLE: E.BYTE_STREAM_SPLIT, BYTE_ARRAY: E.DELTA_BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY: E.BYTE_STREAM_SPLIT });

const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await db.connect();
const rowsOf = async (sql) => (await con.runAndReadAll(sql)).getRows();
const sq = (s) => `'${s.replace(/'/g, "''")}'`;
function write (path, ipcBytes, p) {
  writeFileSync(path, W.writeParquet(W.Table.fromIPCStream(ipcBytes), p));   // writeParquet consumes its Table
  return path;
}
// a table's Parquet physical types as arrow-rs maps them, from the footer of a plain file
async function physOf (ipcBytes, path) {
  write(path, ipcBytes, props({ dict: false }));
  return Object.fromEntries(await rowsOf(`SELECT path_in_schema, type FROM parquet_metadata(${sq(path)}) WHERE row_group_id = 0`));
}

const groups = [];      // { files: [{ path, modes }] }: the files of one table
{
  const ipc = A.tableToIPC(typesTable, 'stream');
  const at = (n) => join(dir, `arrow_${n}.parquet`);
  const phys = await physOf(ipc, at('plain_v1'));               // dictionary off, page v1, snappy
  const files = [{ path: at('plain_v1'), modes: PLAIN }];
  const codecs = { uncompressed: C.UNCOMPRESSED, snappy: C.SNAPPY, gzip: C.GZIP, zstd: C.ZSTD, lz4_raw: C.LZ4_RAW, brotli: C.BROTLI, lz4: C.LZ4 };
  for (const [name, codec] of Object.entries(codecs))
    for (const [vn, v] of [['v1', V.V1], ['v2', V.V2]])
      // a codec changes no value, so sums (read row-aligned) and every batch mode on one pair
      files.push({ path: write(at(`${name}_${vn}`), ipc, props({ codec, v, rg: 6000 })),
        modes: name === 'zstd' ? DICT : PLAIN, sums: name === 'zstd' });
  files.push({ path: write(at('nodict_v2'), ipc, props({ dict: false, v: V.V2, codec: C.GZIP })), modes: PLAIN });
  for (const [vn, v] of [['v1', V.V1], ['v2', V.V2]]) {
    const base = { dict: false, v, page: 4096, phys };
    files.push({ path: write(at(`delta_${vn}`), ipc, props({ ...base, codec: C.SNAPPY, enc: encDelta })), modes: PLAIN });
    files.push({ path: write(at(`prefix_${vn}`), ipc, props({ ...base, codec: C.ZSTD, enc: encPrefix })), modes: PLAIN });
    files.push({ path: write(at(`split_${vn}`), ipc, props({ ...base, codec: C.LZ4_RAW, enc: encSplit })), modes: PLAIN });
    // a small dictionary page limit: chunks start dictionary-encoded and fall back mid-chunk
    files.push({ path: write(at(`fallback_${vn}`), ipc, props({ v, codec: C.ZSTD, page: 2048, dictPage: 2048 })), modes: DICT });
  }
  files.push({ path: write(at('small_rg'), ipc, props({ rg: 1000, codec: C.SNAPPY, v: V.V2 })), modes: DICT });
  files.push({ path: write(at('big_rg'), ipc, props({ rg: 1 << 20, codec: C.BROTLI })), modes: DICT });
  groups.push({ files });
}
{ // one large row group: 150,000 rows, a dictionary of 100,003 strings (indices 17 bits wide)
  const n = 150000, I = (f) => Array.from({ length: n }, (_, i) => f(i));
  const big = table([
    ['id', utf8(I((i) => `id-${(i * 7919) % 100003}`)), false],
    ['pc', fixed(new A.Int64(), BigInt64Array, I((i) => (i % 10 === 0 ? null : BigInt(i % 7))))],
    ['fare', fixed(new A.Float64(), Float64Array, I(() => (rnd() % 5000) / 100))],
  ]);
  const path = write(join(dir, 'arrow_big_150k.parquet'), A.tableToIPC(big, 'stream'),
    props({ rg: 1 << 20, codec: C.ZSTD, v: V.V2, dictPage: 1 << 24 }));
  groups.push({ files: [{ path, modes: DICT }] });
}
mkdirSync(join(dir, 'tlc'), { recursive: true });
for (const [name, pcDouble, p] of [
  ['2024-01', false, { codec: C.SNAPPY, rg: 1000 }],
  ['2024-02', true, { codec: C.ZSTD, v: V.V2 }],
  ['2024-03', false, { codec: C.GZIP, v: V.V2, dict: false }],
  ['2024-04', true, { codec: C.LZ4_RAW, dict: false, enc: encDelta, rg: 7000 }],
]) {
  const path = join(dir, 'tlc', `tlc_${name}.parquet`);
  const ipc = A.tableToIPC(tlcTable(15000, pcDouble), 'stream');
  const phys = p.enc ? await physOf(ipc, path) : undefined;
  groups.push({ files: [{ path: write(path, ipc, props({ ...p, phys })), modes: p.dict === false ? PLAIN : DICT }] });
}

// --- expectations (DuckDB's over each file) and what the footers hold ---
const { unread, rematerialised } = await duckManifests(con, dir, groups, SUMS);
const all = groups.flatMap((g) => g.files.map((f) => f.path));
const footers = await footerSummary(con, all, unread);
writeFileSync(join(dir, 'footers.txt'), footers);
console.log(`${footers.split('\n')[0]}; ${unread.length} file(s) DuckDB cannot read, ${rematerialised} column(s) DuckDB read ` +
  'differently from the reference file');
