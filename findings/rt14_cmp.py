#!/usr/bin/env python3
# cmp.py REF.json TALLY.json -> prints DIFF or SAME; tally json groups/rows/bad_rows/blank_lines
import json,sys
a=json.load(open(sys.argv[1])); 
try: b=json.load(open(sys.argv[2]))
except Exception as ex: print("NOJSON",ex); sys.exit(2)
tg={g['key']:g['count'] for g in b['groups']}
d=[]
if not b.get('ok'): print("FAILED", b.get('error','')[:200]); sys.exit(3)
if tg!=a['groups']:
    ks=set(tg)|set(a['groups'])
    for k in sorted(ks):
        if tg.get(k)!=a['groups'].get(k): d.append((k[:40],a['groups'].get(k),tg.get(k)))
for f,g in (('rows','rows'),('bad','bad_rows'),('blank','blank_lines')):
    if a[f]!=b[g]: d.append((f,a[f],b[g]))
print("SAME" if not d else "DIFF %s"%d[:6]); sys.exit(1 if d else 0)
