#!/usr/bin/env python3
# ref.py FILE COLNAME: tally's documented semantics on top of Python's csv module.
# Prints JSON {groups:{key:count}, rows, bad, blank}
import csv, sys, json, io
data=open(sys.argv[1],'rb').read()
if data.startswith(b'\xef\xbb\xbf'): data=data[3:]
txt=data.decode('utf-8','surrogateescape')
rd=csv.reader(io.StringIO(txt, newline=''))
csv.field_size_limit(1<<30)
hdr=None; groups={}; rows=bad=blank=0
for rec in rd:
    if hdr is None:
        if rec==[]: continue
        hdr=[h.strip(' \t').lower() for h in rec]; col=hdr.index(sys.argv[2].lower()); continue
    if rec==[]: blank+=1; continue
    if len(rec)<=col: bad+=1; continue
    v=rec[col]
    if len(v.encode('utf-8','surrogateescape'))>1024: bad+=1; continue
    groups[v]=groups.get(v,0)+1; rows+=1
print(json.dumps({'groups':groups,'rows':rows,'bad':bad,'blank':blank}))
