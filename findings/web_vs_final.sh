#!/bin/bash
# The dashboard's /api/state after the job vs the final table (watch --format csv).
T=${T:-/work/rt12/build-rel/tally}; W=/tmp/rt12/web; rm -rf $W; mkdir -p $W
D=${D:-/tmp/rt12/mixc}
RP=27721; PP=27722; BP=27723; WP=27724
Q=(--group-by trip_distance --agg sum:fare_amount)
$T reducer --listen tcp://127.0.0.1:$RP --publish tcp://127.0.0.1:$PP > $W/reducer.log 2>&1 & R=$!
$T watch --subscribe tcp://127.0.0.1:$PP --web 127.0.0.1:$WP > $W/webwatch.log 2>&1 & WW=$!
$T broker --listen tcp://127.0.0.1:$BP --reducer tcp://127.0.0.1:$RP --input $D/ "${Q[@]}" --split-size 512K -q > $W/broker.log 2>&1 & B=$!
$T mapper --broker tcp://127.0.0.1:$BP --slots 2 --rate-limit 1M > $W/mapper.log 2>&1 & M=$!
$T watch --subscribe tcp://127.0.0.1:$PP --until-done --format csv --timeout 120 > $W/final.csv 2> $W/watch.err
sleep 1
curl -s -H 'Host: 127.0.0.1' "http://127.0.0.1:$WP/api/state" > $W/state.json
curl -s -H 'Host: 127.0.0.1' "http://127.0.0.1:$WP/api/state?q=12.&top=5000" > $W/stateq.json
kill $WW $R $M $B 2>/dev/null; wait 2>/dev/null
python3 - $W <<'PY'
import csv, json, sys
w = sys.argv[1]
rows = list(csv.reader(open(w + "/final.csv")))
hdr, rows = rows[0], rows[1:]
fin = {r[0]: (int(r[1]), float(r[2])) for r in rows}
s = json.load(open(w + "/state.json"))
print("state keys:", sorted(s.keys())[:30])
g = s["result"]["groups"]
print("final groups", len(fin), "state groups shown", len(g), "group count field", {k: s[k] for k in s if "group" in k and k != "groups"})
def kv(x):
    if isinstance(x, dict): return x.get("key"), x.get("count"), x
    return x[0], x[1], x
bad = 0
for x in g:
    k, c, raw = kv(x)
    if k not in fin or fin[k][0] != c:
        bad += 1
        if bad < 5: print("MISMATCH", raw, fin.get(k))
print("mismatches", bad, "rows", s["result"].get("rows"), "ok", s["result"].get("ok"), sum(v[0] for v in fin.values()))
q = json.load(open(w + "/stateq.json"))
gq = q["result"]["groups"]; print("q matched", q.get("matched"), "shown", q.get("shown"))
want = {k: v for k, v in fin.items() if "12." in k}
got = {kv(x)[0]: kv(x)[1] for x in gq}
print("q=12. want", len(want), "got", len(got), "equal counts", all(want[k][0] == got.get(k) for k in want))
PY
