// usage: node duck.mjs "SQL"  -> rows as tab-separated text (NULL as \N)
import { join } from 'path';
const modules = process.env.DUCK_MODULES || '/tmp/tally-duckdb/node_modules';
const { DuckDBInstance } = await import(join(modules, '@duckdb/node-api/lib/index.js'));
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();
const sqls = process.argv.slice(2);
for (const sql of sqls) {
  const r = await con.runAndReadAll(sql);
  for (const row of r.getRows()) console.log(row.map(v => v === null ? '\\N' : String(v)).join('\t'));
}
