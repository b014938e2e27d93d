// Canonical text of values, as lib/core/parquet/value.c prints them, for the cross-checks:
// integral doubles below 2^63 as integers, other floats in the shortest form that reads back
// (C's %.{p}g layout), nan/inf/-inf; everything else arrives as text already. Then DuckDB as
// the oracle: its counts of a file's columns in that text, manifests of them for pq_dump's
// comparison (integration/pq_check.sh), and a summary of what a set of files' footers hold.
import { closeSync, openSync, readSync, writeFileSync } from 'fs';
import { basename, join } from 'path';

export function cg(x, p) {          // C's "%.{p}g"
  const [mant, ex] = x.toExponential(p - 1).split('e');
  const X = parseInt(ex, 10);
  const trim = (s) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (X < -4 || X >= p)
    return trim(mant) + 'e' + (X < 0 ? '-' : '+') + String(Math.abs(X)).padStart(2, '0');
  return trim(x.toFixed(Math.max(0, p - 1 - X)));
}

export function canonFloat(x, single) {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 9223372036854775808) return BigInt(x).toString();
  for (let p = 1; p <= 17; p++) {
    const s = cg(x, p);
    const back = Number(s);
    if (single ? Math.fround(back) === x : back === x) return s;
  }
  return String(x);
}

export function escape(s) {
  let o = s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
  if (o.startsWith('#')) o = '\\' + o;
  return o;
}

// counts: Map text → count. Returns pq_dump's output lines (sorted by UTF-8 bytes).
export function render(rows, counts) {
  const keys = [...counts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  let out = `# rows=${rows} meta_rows=${rows}\n`;
  for (const k of keys) out += `${escape(k)}\t${counts.get(k)}\n`;
  return out;
}

// DuckDB's own counts of a Parquet file's columns, in pq_dump's format (the oracle of the
// cross-checks): one scan, one narrow UNION ALL of a GROUP BY per column. Keys are DuckDB's
// values in the canonical text: floats through canonFloat, time-zoned timestamps as UTC wall
// time (as tally prints an instant), the rest as DuckDB's own VARCHAR cast, which matches
// already (integers, unsigned, DECIMAL with its scale, dates, times, timestamps with the
// fraction trimmed). con: a @duckdb/node-api connection; cols: [[name, DuckDB type]].
// Returns a Map name → expected text.
export async function duckCounts(con, file, cols) {
  const isFloat = (t) => t === 'DOUBLE' || t === 'FLOAT';
  const parts = cols.map(([c, type], i) => {
    const q = `"${c.replace(/"/g, '""')}"`;
    const k = isFloat(type) ? 'NULL::VARCHAR' : type === 'TIMESTAMP WITH TIME ZONE' ? `CAST(timezone('UTC', ${q}) AS VARCHAR)` : `CAST(${q} AS VARCHAR)`;
    const f = isFloat(type) ? `${q}::DOUBLE` : 'NULL::DOUBLE';
    return `SELECT ${i} AS c, ${k} AS k, ${f} AS f, ${q} IS NULL AS z, count(*)::BIGINT AS n FROM pq_src GROUP BY ALL`;
  });
  await con.run(`CREATE OR REPLACE TEMP TABLE pq_src AS SELECT * FROM read_parquet('${file.replace(/'/g, "''")}')`);
  const rows = (await con.runAndReadAll(parts.join(' UNION ALL '))).getRows();
  await con.run('DROP TABLE pq_src');
  const counts = cols.map(() => new Map()), totals = cols.map(() => 0);
  for (const [c, k, f, z, n] of rows) {
    const type = cols[c][1];
    const key = z ? '' : isFloat(type) ? canonFloat(f, type === 'FLOAT') : String(k);
    counts[c].set(key, (counts[c].get(key) || 0) + Number(n));
    totals[c] += Number(n);
  }
  return new Map(cols.map(([c], i) => [c, render(totals[i], counts[i])]));
}

// --- for writers whose files only DuckDB reads back (pq_arrow.mjs) ---
// The batch modes to read a file in: all three where chunks have dictionary pages (the modes
// differ only there), the mapper's own elsewhere.
export const DICT = 'runs indices values', PLAIN = 'runs';
const sq = (s) => `'${s.replace(/'/g, "''")}'`;
const dq = (s) => `"${s.replace(/"/g, '""')}"`;

// Writes DIR/manifest_dict.tsv and DIR/manifest_plain.tsv (pq_duckdb.mjs's manifest format) with
// DuckDB's counts of every column of every file, and its sums of the columns in sumCols.
// groups: [{ files: [{ path, modes, sums }] }], the files of a group holding one table in the
// same row order (sums: false leaves a file's sums out). Materialising each file's counts in JS
// is slow, so the first file DuckDB reads is the group's reference, materialised once, and
// every other file is compared with it row by row inside DuckDB (file_row_number): a column
// read the same has the same counts, and one read differently gets its own. A file DuckDB
// cannot read at all gets the reference's expectations and is returned in unread ([name,
// DuckDB's message]).
export async function duckManifests(con, dir, groups, sumCols) {
  const rowsOf = async (sql) => (await con.runAndReadAll(sql)).getRows();
  const manifest = { [DICT]: '', [PLAIN]: '' };
  const written = new Map();    // expected text → its file, shared by the files that agree
  const expectFile = (text) => {
    if (!written.has(text)) {
      written.set(text, join(dir, `expect_${written.size}.txt`));
      writeFileSync(written.get(text), text);
    }
    return written.get(text);
  };
  const unread = [];
  let rematerialised = 0;
  const readable = async (path) => {
    try {
      await con.run(`SELECT * FROM read_parquet(${sq(path)})`);
      return null;
    } catch (err) {
      return err.message.split('\n')[0];
    }
  };
  const sumsOf = async (path, cols) => {
    const s = cols.filter(([c]) => sumCols.has(c));
    if (!s.length) return new Map();
    const [row] = await rowsOf(`SELECT ${s.map(([c]) => `sum(${dq(c)})::DOUBLE, count(${dq(c)})::BIGINT`).join(', ')} FROM read_parquet(${sq(path)})`);
    return new Map(s.map(([c], i) => [c, [row[2 * i], Number(row[2 * i + 1])]]));
  };
  for (const g of groups) {
    let ref = null;
    for (const f of g.files) if (!(f.why = await readable(f.path)) && !ref) ref = f.path;
    if (!ref) throw new Error(`DuckDB reads none of ${g.files.map((f) => basename(f.path)).join(', ')}: ${g.files[0].why}`);
    const cols = await rowsOf(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${sq(ref)}))`);
    const refCounts = await duckCounts(con, ref, cols), refSums = await sumsOf(ref, cols);
    for (const f of g.files) {
      let counts = refCounts, sums = refSums;
      if (f.why) unread.push([basename(f.path), f.why]);
      else if (f.path !== ref) {
        const diff = cols.map(([c]) => `count(*) FILTER (WHERE a.${dq(c)} IS DISTINCT FROM b.${dq(c)})`).join(', ');
        const [row] = await rowsOf(`SELECT ${diff} FROM read_parquet(${sq(f.path)}, file_row_number = true) a
          FULL JOIN read_parquet(${sq(ref)}, file_row_number = true) b USING (file_row_number)`);
        const differ = cols.filter((_, i) => Number(row[i]) !== 0);
        if (differ.length) {
          counts = new Map([...refCounts, ...await duckCounts(con, f.path, differ)]);
          rematerialised += differ.length;
        }
        if (f.sums !== false) sums = await sumsOf(f.path, cols);
      }
      for (const [c] of cols) {
        let line = `${f.path}\t${c}\t${expectFile(counts.get(c))}`;
        if (sums.has(c) && f.sums !== false) line += `\t${c}\t${sums.get(c)[0]}\t${sums.get(c)[1]}`;
        manifest[f.modes] += line + '\n';
      }
    }
  }
  writeFileSync(join(dir, 'manifest_dict.tsv'), manifest[DICT]);
  writeFileSync(join(dir, 'manifest_plain.tsv'), manifest[PLAIN]);
  return { unread, rematerialised };
}

// What the files hold, by their footers (DuckDB's parquet_metadata and parquet_schema): the
// writer, codecs, encodings by physical type, chunks that mix dictionary pages with DELTA or
// BYTE_STREAM_SPLIT ones (a fallback), the kind of each chunk's first data page (read from the
// PageHeader: compact Thrift field 1 is 0x15 then the zigzag page type, 0 = v1, 3 = v2), the
// logical types, and the files DuckDB could not read.
export async function footerSummary(con, files, unread) {
  const rowsOf = async (sql) => (await con.runAndReadAll(sql)).getRows();
  const list = `[${files.map(sq).join(', ')}]`;
  const meta = await rowsOf(`SELECT file_name, type, compression, encodings, data_page_offset FROM parquet_metadata(${list})`);
  const codecs = new Set(), encs = new Map(), pages = new Map();
  let mixed = 0;
  const buf = Buffer.alloc(2);
  for (const [file, type, codec, e, off] of meta) {
    codecs.add(codec);
    if (!encs.has(type)) encs.set(type, new Set());
    for (const x of e.split(', ')) encs.get(type).add(x);
    if (/DICTIONARY/.test(e) && /DELTA|BYTE_STREAM_SPLIT/.test(e)) mixed++;
    const fd = openSync(file, 'r');
    readSync(fd, buf, 0, 2, Number(off));
    closeSync(fd);
    const kind = buf[0] === 0x15 && buf[1] === 0 ? 'v1' : buf[0] === 0x15 && buf[1] === 6 ? 'v2' : `unknown (${buf.toString('hex')})`;
    pages.set(kind, (pages.get(kind) || 0) + 1);
  }
  const by = (await rowsOf(`SELECT DISTINCT created_by FROM parquet_file_metadata(${list}) ORDER BY 1`)).map((r) => r[0]);
  const [[ver]] = await rowsOf('SELECT version()');
  const [[logical]] = await rowsOf(`SELECT string_agg(lt, ', ' ORDER BY lt) FROM (SELECT DISTINCT
    regexp_replace(coalesce(logical_type, converted_type, type), '\\(.*', '') AS lt FROM parquet_schema(${list}) WHERE type IS NOT NULL)`);
  let out = `${by.join(', ')}: ${files.length} files, ${meta.length} column chunks; oracle DuckDB ${ver}\n`;
  out += `codecs: ${[...codecs].sort().join(', ')}\n`;
  for (const [t, e] of [...encs].sort()) out += `encodings ${t}: ${[...e].sort().join(', ')}\n`;
  out += `chunks with dictionary and DELTA/BYTE_STREAM_SPLIT pages: ${mixed}\n`;
  out += `first data page of each chunk: ${[...pages].map(([k, n]) => `${k} ${n}`).join(', ')}\n`;
  out += `logical types: ${logical}\n`;
  for (const [f, why] of unread) out += `DuckDB cannot read ${f} (${why}): expectations from the same table in another file\n`;
  return out;
}
