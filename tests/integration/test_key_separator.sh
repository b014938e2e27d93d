#!/usr/bin/env bash
# Exact or loud, group keys (red team, session 9): the parts of a multi-column key are joined
# with the byte 0x1F, so a value holding that byte made two tuples one group: ("x\x1fy", "z")
# and ("x", "y\x1fz") were counted together as "x,y" (and the "z" lost), exit 0. Such a row is
# now a bad row, counted and reported, in CSV and Parquet. A key of one column keeps its bytes:
# the csv output no longer cuts it at 0x1F (it printed "x" for "x\x1fy", next to a real "x").
. "$(dirname "$0")/lib.sh"

printf 'a,b\nx\037y,z\nx,y\037z\nx,y\nx\037y,z\n' > "$T/sep.csv"
for cmd in "scan" "run -q"; do
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/sep.csv" --group-by a,b --format json > "$T/m.json"
    python3 - "$T/m.json" <<'PY' || fail "$cmd, two keys: $(cat "$T/m.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert [(g["keys"], g["count"]) for g in r["groups"]] == [(["x", "y"], 1)], r["groups"]
assert r["rows"] == 1 and r["bad_rows"] == 3 and r["ok"], r
PY
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/sep.csv" --group-by a --format csv > "$T/one.csv"
    python3 - "$T/one.csv" <<'PY' || fail "$cmd, one key, csv: $(od -c "$T/one.csv")"
import collections, csv, sys
got = {r[0]: int(r[1]) for r in list(csv.reader(open(sys.argv[1], newline="")))[1:]}
assert got == {"x": 2, "x\x1fy": 2}, got
PY
done
pass "a 0x1F in one of two keys is a bad row (scan, run); one key keeps it whole in csv"

# The same in the bulk reader (lines of ~100 bytes, read 64 bytes a step; it looks for the byte
# once per buffer): 20,000 rows, every 997th holding 0x1F in one key, against Python's count.
python3 - "$T/bulk.csv" <<'PY'
import random, sys
random.seed(7)
with open(sys.argv[1], "w", newline="") as f:
    f.write("a,b,pad\n")
    for i in range(20000):
        a, b = "k%d" % random.randrange(50), "v%d" % random.randrange(40)
        if i % 997 == 5:
            a, b = (a + "\x1f" + b, "z") if i % 2 else (a, b + "\x1fz")
        f.write("%s,%s,%s\n" % (a, b, "p" * 90))
PY
for cmd in "scan" "run -q --split-size 256K"; do
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/bulk.csv" --group-by a,b --format json > "$T/bulk.json"
    python3 - "$T/bulk.csv" "$T/bulk.json" <<'PY' || fail "$cmd, bulk reader: $(head -c 300 "$T/bulk.json")"
import collections, csv, json, sys
want, bad = collections.Counter(), 0
with open(sys.argv[1], newline="") as f:
    rows = csv.reader(f)
    next(rows)
    for a, b, _ in rows:
        if "\x1f" in a or "\x1f" in b:
            bad += 1
        else:
            want[(a, b)] += 1
r = json.load(open(sys.argv[2]))
got = {tuple(g["keys"]): g["count"] for g in r["groups"]}
assert got == dict(want) and r["bad_rows"] == bad and bad == 21 and r["ok"], (len(got), len(want), r["bad_rows"], bad)
PY
done
pass "bulk reader: 21 rows with 0x1F in a key are bad rows, the other 19,979 equal Python's count (scan, run)"

if command -v node > /dev/null && [ -n "${PQ_NPM_DIR:-}" ] && [ -d "$PQ_NPM_DIR/duck/node_modules" ]; then
    node - "$PQ_NPM_DIR/duck/node_modules" "$T/sep.parquet" <<'JS'
const [mods, out] = process.argv.slice(2);
const { DuckDBInstance } = await import(mods + '/@duckdb/node-api/lib/index.js');
const c = await (await DuckDBInstance.create(':memory:')).connect();
await c.run(`COPY (SELECT * FROM (VALUES ('x' || chr(31) || 'y', 'z'), ('x', 'y' || chr(31) || 'z'), ('x', 'y'),
             ('x' || chr(31) || 'y', 'z')) t(a, b)) TO '${out}' (FORMAT parquet)`);
JS
    "$TALLY" run -q --input "$T/sep.parquet" --group-by a,b --format json > "$T/p.json"
    python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert [(g["keys"], g["count"]) for g in r["groups"]] == [(["x", "y"], 1)] and r["bad_rows"] == 3, r' "$T/p.json" \
        || fail "Parquet, two keys: $(cat "$T/p.json")"
    pass "Parquet: the same (DuckDB wrote the file)"
fi
[ -n "${PQ_NPM_DIR:-}" ] || echo "# the Parquet case needs PQ_NPM_DIR with duck/node_modules (@duckdb/node-api): not run"
