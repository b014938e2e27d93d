// Reads tally's Parquet files back with DuckDB (an independent reader) and checks them exactly.
//
//   node pq_write_check.mjs matrix DIR          DIR/expect.json from `test_parquet_write --write-matrix DIR`
//   node pq_write_check.mjs gen DIR TRUTH       `tally gen --format parquet` output and its truth JSON
//
// @duckdb/node-api is loaded from $DUCKDB_NODE_DIR (an npm --prefix folder; default /tmp/pqw-duck).
// Exit 0 when everything matches; 1 with one line per mismatch otherwise; 2 when DuckDB is missing.
import { createRequire } from 'module';
import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';

const dir = process.env.DUCKDB_NODE_DIR || '/tmp/pqw-duck';
let DuckDBInstance;
try {
    ({ DuckDBInstance } = createRequire(join(dir, 'x.js'))('@duckdb/node-api'));
} catch (e) {
    console.error(`pq_write_check: cannot load @duckdb/node-api from ${dir}: ${e.message}`);
    process.exit(2);
}
const con = await (await DuckDBInstance.create(':memory:')).connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS();
const q = (s) => `'${s.replace(/'/g, "''")}'`;
const js = (o) => JSON.stringify(o, (k, v) => (typeof v === 'bigint' ? String(v) : v));
let bad = 0, checks = 0;
const guard = async (what, fn) => {
    try {
        await fn();
    } catch (e) {
        expect(false, `${what}: DuckDB failed: ${e.message}`);
    }
};
const expect = (ok, what) => {
    checks++;
    if (!ok) {
        bad++;
        if (bad <= 50) console.error(`MISMATCH: ${what}`);
    }
};

// Column kinds by name in the writer matrix: physical type, DuckDB type, converted and logical types.
const KINDS = {
    i32: { type: 'INT32', duck: 'INTEGER' },
    i64: { type: 'INT64', duck: 'BIGINT' },
    f64: { type: 'DOUBLE', duck: 'DOUBLE' },
    k: { type: 'DOUBLE', duck: 'DOUBLE' },
    str: { type: 'BYTE_ARRAY', duck: 'VARCHAR', conv: 'UTF8', logical: /^StringType/ },
    ts: { type: 'INT64', duck: 'TIMESTAMP', conv: 'TIMESTAMP_MICROS', logical: /isAdjustedToUTC=0.*MICROS=MicroSeconds\(\)/ },
    nul: { type: 'INT32', duck: 'INTEGER' },
};

// The value as key text (timestamps as epoch microseconds), and the sum DuckDB should agree on.
function valueExpr (col, duck) {
    if (duck === 'TIMESTAMP') return { key: `epoch_us("${col}")`, sum: `sum(epoch_us("${col}")::HUGEINT)` };
    if (duck === 'VARCHAR') return { key: `"${col}"`, sum: `sum(strlen("${col}"))::HUGEINT` };
    if (duck === 'DOUBLE') return { key: `"${col}"`, sum: `sum(round("${col}" * 100))::HUGEINT` };   // cents
    return { key: `"${col}"`, sum: `sum("${col}"::HUGEINT)` };
}

async function checkValues (file, col, duck, want) {
    const e = valueExpr(col, duck);
    const src = `read_parquet(${q(file)})`;
    const [t] = await rows(`SELECT count(*) - count("${col}") AS nulls, CAST(${e.sum} AS VARCHAR) AS s FROM ${src}`);
    expect(Number(t.nulls) === want.nulls, `${file} ${col}: ${t.nulls} NULLs, want ${want.nulls}`);
    if (want.sum !== undefined)
        expect((t.s ?? '0') === String(want.sum), `${file} ${col}: sum ${t.s}, want ${want.sum}`);
    if (!want.hist) return;
    const got = new Map();
    for (const r of await rows(`SELECT ${e.key} AS k, count(*) AS n FROM ${src} WHERE "${col}" IS NOT NULL GROUP BY 1`))
        got.set(String(r.k), Number(r.n));
    const keys = new Set([...got.keys(), ...Object.keys(want.hist)]);
    let diff = 0;
    for (const k of keys)
        if ((got.get(k) ?? 0) !== (want.hist[k] ?? 0) && diff++ < 3)
            expect(false, `${file} ${col}: value ${JSON.stringify(k)} counted ${got.get(k) ?? 0}, want ${want.hist[k] ?? 0}`);
    expect(diff === 0, `${file} ${col}: ${diff} values counted differently`);
}

// Row-group statistics against the data of each row group, as DuckDB reads it.
async function checkStats (file, col, duck, meta, rgRows) {
    const numeric = duck !== 'VARCHAR';
    const data = await rows(`SELECT file_row_number // ${rgRows} AS g, count(*) - count("${col}") AS nulls,
        min("${col}")::VARCHAR AS lo, max("${col}")::VARCHAR AS hi
        FROM read_parquet(${q(file)}, file_row_number = true) GROUP BY 1 ORDER BY 1`);
    for (const m of meta) {
        const d = data[Number(m.row_group_id)];
        expect(d && Number(m.stats_null_count) === Number(d.nulls), `${file} ${col} rg ${m.row_group_id}: null_count ${m.stats_null_count}, data has ${d?.nulls}`);
        if (!numeric || d?.lo === null) {
            expect(m.stats_min_value === null && m.stats_max_value === null, `${file} ${col}: unexpected min/max`);
            continue;
        }
        const norm = (s) => (duck === 'DOUBLE' ? String(Number(s)) : s);
        expect(norm(m.stats_min_value) === norm(d.lo) && norm(m.stats_max_value) === norm(d.hi),
            `${file} ${col} rg ${m.row_group_id}: stats ${m.stats_min_value}..${m.stats_max_value}, data ${d.lo}..${d.hi}`);
    }
}

function wantEncodings (mode, distinct, dictMax, optional) {
    const s = new Set();
    if (mode === 'plain' || distinct === 0) s.add('PLAIN');
    else if (mode === 'dict' || mode === 'fallback') ['PLAIN', 'RLE_DICTIONARY'].forEach((x) => s.add(x));
    else {
        s.add('PLAIN_DICTIONARY');
        if (mode === 'fallback_legacy' && distinct > dictMax) s.add('PLAIN');
    }
    if (optional) s.add('RLE');
    return s;
}

async function checkFileMeta (file, wantRows, wantGroups) {
    const [fm] = await rows(`SELECT * FROM parquet_file_metadata(${q(file)})`);
    expect(fm.created_by === 'tally gen', `${file}: created_by ${fm.created_by}`);
    expect(Number(fm.num_rows) === wantRows, `${file}: ${fm.num_rows} rows, want ${wantRows}`);
    if (wantGroups !== undefined)
        expect(Number(fm.num_row_groups) === wantGroups, `${file}: ${fm.num_row_groups} row groups, want ${wantGroups}`);
    return fm;
}

async function checkMatrix (d) {
    const ex = JSON.parse(readFileSync(join(d, 'expect.json'), 'utf8'));
    const seen = { codec: new Set(), enc: new Set(), nulls: 0, multiRg: 0 };
    for (const f of ex.files) await guard(f.path, async () => {
        await checkFileMeta(f.path, f.rows, f.row_groups);
        const schema = new Map((await rows(`SELECT * FROM parquet_schema(${q(f.path)})`)).map((r) => [r.name, r]));
        const meta = await rows(`SELECT * FROM parquet_metadata(${q(f.path)}) ORDER BY row_group_id, column_id`);
        for (const c of f.columns) {
            const kind = KINDS[c.name.split('_')[0]], optional = c.name.endsWith('_o'), s = schema.get(c.name);
            expect(s && s.type === kind.type && s.duckdb_type === kind.duck && s.repetition_type === (optional ? 'OPTIONAL' : 'REQUIRED') &&
                   s.converted_type === (kind.conv ?? null) && (kind.logical ? kind.logical.test(s.logical_type) : s.logical_type === null),
                   `${f.path} ${c.name}: schema ${js(s)}`);
            const cm = meta.filter((m) => m.path_in_schema === c.name);
            expect(cm.length === f.row_groups, `${f.path} ${c.name}: ${cm.length} chunks`);
            cm.forEach((m, g) => {
                const want = wantEncodings(f.mode, c.rg_distinct[g], f.dict_max, optional);
                const got = new Set(m.encodings.split(', '));
                got.forEach((e) => seen.enc.add(e));
                expect(got.size === want.size && [...want].every((e) => got.has(e)),
                    `${f.path} ${c.name} rg ${g}: encodings ${m.encodings}, want ${[...want].join(', ')}`);
                expect((m.dictionary_page_offset !== null) === (want.has('RLE_DICTIONARY') || want.has('PLAIN_DICTIONARY')),
                    `${f.path} ${c.name} rg ${g}: dictionary_page_offset ${m.dictionary_page_offset}`);
                expect(m.compression === f.codec, `${f.path} ${c.name}: compression ${m.compression}, want ${f.codec}`);
            });
            seen.codec.add(f.codec);
            seen.nulls += c.nulls;
            seen.multiRg += f.row_groups > 1;
            await checkValues(f.path, c.name, kind.duck, c);
            if (f.rows) await checkStats(f.path, c.name, kind.duck, cm, 1500);
        }
    });
    console.log(`pq_write_check: matrix: ${ex.files.length} files, codecs ${[...seen.codec].join('/')}, ` +
        `encodings ${[...seen.enc].join('/')}, ${seen.nulls} NULLs`);
}

// `tally gen --format parquet`: counts by passenger_count and VendorID, rows, NULLs and sums per file
// from the truth; the type drift, names, codecs and encodings from the metadata.
// The TLC's type drift and renames, from the month in the name (ANCHORS.md), independent of gen's code.
function driftRules (file, name, schema) {
    const m = /(\d{4})-(\d{2})/.exec(name), ym = Number(m[1]) * 100 + Number(m[2]);
    const type = (c) => schema.get(c)?.type;
    const ids = ym >= 202302 ? 'INT32' : 'INT64', pc = ym >= 201807 && ym <= 202301 ? 'DOUBLE' : 'INT64';
    for (const c of ['VendorID', 'PULocationID', 'DOLocationID'])
        expect(type(c) === ids, `${file}: ${c} is ${type(c)}, want ${ids}`);
    for (const c of ['passenger_count', 'RatecodeID'])
        expect(type(c) === pc, `${file}: ${c} is ${type(c)}, want ${pc}`);
    const fee = ym >= 202302 ? 'Airport_fee' : 'airport_fee';
    expect(schema.has(fee) && !schema.has(fee === 'Airport_fee' ? 'airport_fee' : 'Airport_fee'), `${file}: want ${fee}`);
    for (const c of ['tpep_pickup_datetime', 'tpep_dropoff_datetime'])
        expect(schema.get(c)?.duckdb_type === 'TIMESTAMP' && type(c) === 'INT64', `${file}: ${c} is ${schema.get(c)?.duckdb_type}`);
    expect(schema.get('store_and_fwd_flag')?.duckdb_type === 'VARCHAR', `${file}: store_and_fwd_flag`);
}

async function checkGen (d, truthPath) {
    const truth = JSON.parse(readFileSync(truthPath, 'utf8'));
    const files = readdirSync(d).filter((n) => n.endsWith('.parquet')).sort();
    expect(files.length === truth.files, `${files.length} files, truth says ${truth.files}`);
    const all = `read_parquet([${files.map((n) => q(join(d, n))).join(',')}], union_by_name = true)`;
    for (const [col, key] of [['passenger_count', 'passenger_count'], ['VendorID', '1']]) {
        const got = await rows(`SELECT coalesce(CAST(CAST("${col}" AS BIGINT) AS VARCHAR), '') AS k, count(*) AS n FROM ${all} GROUP BY 1`);
        const want = truth.by_column[key];
        expect(got.length === Object.keys(want).length && got.every((r) => want[r.k] === Number(r.n)),
            `${col} counts ${js(got)} vs truth ${js(want)}`);
    }
    const codecs = new Set(), encs = new Set(), reps = new Set();
    let multiRg = 0, pcNulls = 0;
    for (const pf of truth.parquet) await guard(pf.file, async () => {
        const file = join(d, pf.file);
        await checkFileMeta(file, pf.rows, pf.row_groups);
        const meta = await rows(`SELECT * FROM parquet_metadata(${q(file)}) ORDER BY row_group_id, column_id`);
        const schema = new Map((await rows(`SELECT * FROM parquet_schema(${q(file)})`)).map((r) => [r.name, r]));
        expect(schema.size === 20, `${file}: ${schema.size - 1} columns, want 19`);
        driftRules(file, pf.file, schema);
        multiRg += pf.row_groups > 1;
        for (const c of pf.columns) {
            const s = schema.get(c.name);
            reps.add(s?.repetition_type);
            if (c.name === 'passenger_count') pcNulls += c.nulls;
            expect(s && s.type === c.type && s.repetition_type === (c.optional ? 'OPTIONAL' : 'REQUIRED'),
                `${file} ${c.name}: schema ${s?.type} ${s?.repetition_type}, want ${c.type} optional=${c.optional}`);
            if (c.type === 'INT64' && c.name.includes('datetime'))
                expect(s.duckdb_type === 'TIMESTAMP' && s.converted_type === 'TIMESTAMP_MICROS', `${file} ${c.name}: ${s.duckdb_type}`);
            for (const m of meta.filter((x) => x.path_in_schema === c.name)) {
                expect(m.compression === pf.codec, `${file} ${c.name}: compression ${m.compression}, want ${pf.codec}`);
                m.encodings.split(', ').forEach((e) => encs.add(e));
            }
            const duck = s?.duckdb_type ?? 'BIGINT';
            await checkValues(file, c.name, duck, c);
            await checkStats(file, c.name, duck, meta.filter((x) => x.path_in_schema === c.name), pf.row_group_rows);
        }
        codecs.add(pf.codec);
    });
    // What a generated set is for: every codec, encoding and kind of column, several row groups.
    if (truth.files >= 6 && truth.rows >= 6 * 2000) {
        expect(codecs.size === 4, `codecs seen: ${[...codecs]}`);
        expect(['PLAIN', 'RLE_DICTIONARY', 'PLAIN_DICTIONARY', 'RLE'].every((e) => encs.has(e)), `encodings seen: ${[...encs]}`);
        expect(reps.has('REQUIRED') && reps.has('OPTIONAL'), `repetitions seen: ${[...reps]}`);
        expect(pcNulls > 0, 'no NULL passenger_count in the set');
    }
    console.log(`pq_write_check: gen: ${files.length} files, ${truth.rows} rows, codecs ${[...codecs].join('/')}, ` +
        `encodings ${[...encs].join('/')}`);
}

if (process.argv[2] === 'matrix') await checkMatrix(process.argv[3]);
else if (process.argv[2] === 'gen') await checkGen(process.argv[3], process.argv[4]);
else {
    console.error('usage: pq_write_check.mjs matrix DIR | gen DIR TRUTH');
    process.exit(2);
}
console.log(`pq_write_check: ${checks} checks, ${bad} mismatches`);
process.exit(bad ? 1 : 0);
