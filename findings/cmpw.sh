#!/bin/bash
# usage: cmpw.sh FILE 'col OP val'...  -> rows passing per tally (scan) vs DuckDB count(*) WHERE
f=$1; shift
T=${T:-/work/rt12/build-rel/tally}
for w in "$@"; do
  c=$(echo "$w" | sed 's/[<>=!].*//'); rest=${w#$c}
  t=$($T scan --input "$f" --group-by 1 --where "$w" --format json 2>&1 | python3 -c 'import json,sys
s=sys.stdin.read()
try:
  j=json.loads(s); print(j["rows"], "filt", j["filtered_rows"], "skipRG", j["skipped_row_groups"], "ok", j["ok"])
except Exception: print("ERR", s[:200])')
  d=$(node /work/rt12/findings/duck.mjs "select count(*) from '$f' where $c $rest" 2>&1 | tail -1)
  echo "$w | tally: $t | duck: $d"
done
