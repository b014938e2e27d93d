#!/usr/bin/env python3
# gen.py SEED OUT [mode]: a quirky CSV. mode: plain (no quoted newlines), nl (with quoted newlines)
import random, sys
seed=int(sys.argv[1]); out=sys.argv[2]; mode=sys.argv[3] if len(sys.argv)>3 else 'plain'
r=random.Random(seed)
eol = r.choice(['\n','\r\n','mix'])
bom = r.random()<0.3
lines=[]
def e():
    return r.choice(['\n','\r\n']) if eol=='mix' else eol
def val():
    k=r.random()
    if k<0.3: return str(r.randint(0,9))
    if k<0.45: return '"%s"' % r.choice(['a,b','x""y','""','q','1'])
    if k<0.55: return r.choice(['ab"c','x"','z"z']) if mode!='plain' else 'p'
    if k<0.6: return '"' + 'L'*r.choice([r.randint(100,1030),r.randint(100,9000)]) + '"'
    if k<0.65 and mode=='nl': return '"n\n%d"' % r.randint(0,3)
    if k<0.68 and mode=='nl': return '"c\r\n%d"' % r.randint(0,3)
    if k<0.7: return ''
    return r.choice(['a','b','c','dd','é'])
out_b=[]
hdr='k1,k2,k3'
s=('\ufeff' if bom else '')+hdr+e()
if r.random()<0.3: s+=e()
body=[]
n=r.randint(200,3000)
for i in range(n):
    k=r.random()
    if k<0.03: body.append(e()); continue      # blank line
    if k<0.05: body.append(val()+e()); continue   # narrow row
    if k<0.08: body.append(','.join(val() for _ in range(5))+e()); continue  # wide
    if k<0.09: body.append('X'*r.randint(4000,12000)+','+val()+',1'+e()); continue  # long line
    body.append(','.join(val() for _ in range(3))+e())
s+=''.join(body)
if r.random()<0.5: s=s.rstrip('\r\n')
open(out,'wb').write(s.encode('utf-8'))
