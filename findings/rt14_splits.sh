#!/usr/bin/env bash
# rt14: random quirky CSVs (BOM, CRLF/LF mix, blank lines, doubled quotes, commas in quotes,
# long lines over the split size, narrow and wide rows, no final newline; MODE=stray adds
# quotes inside unquoted fields, MODE=nl quoted newlines) counted by Python's csv module with
# tally's documented rules (findings/rt14_ref.py), by tally scan, and by tally run at several
# --split-size values. Prints SAME / DIFF / FAILED per run. A DIFF with ok is a finding.
# usage: TALLY=build-rel/tally bash findings/rt14_splits.sh SEED [MODE] 
: "${TALLY:?TALLY must point at the tally binary}"
H=$(cd "$(dirname "$0")" && pwd); s=$1; m=${2:-plain}; W=$(mktemp -d /tmp/rt14-splits.XXXXXX)
f=$W/g.csv
python3 "$H/rt14_gen.py" "$s" "$f" "$m"; python3 "$H/rt14_ref.py" "$f" k2 > "$W/ref.json"
out="seed=$s mode=$m size=$(stat -c %s "$f")"
"$TALLY" scan --input "$f" --group-by k2 --format json > "$W/t.json" 2>/dev/null
out="$out | scan rc=$? $(python3 "$H/rt14_cmp.py" "$W/ref.json" "$W/t.json")"
for sp in ${SPLITS:-4K 4097 5000 8K}; do
  "$TALLY" run -q --input "$f" --group-by k2 --format json --split-size "$sp" > "$W/t.json" 2>/dev/null
  out="$out | $sp rc=$? $(python3 "$H/rt14_cmp.py" "$W/ref.json" "$W/t.json" | cut -c1-120)"
done
echo "$out"; rm -rf "$W"
