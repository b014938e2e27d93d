#!/usr/bin/env bash
# rt14 F1: a quoted field longer than 1 MiB that holds newlines. Python's csv module reads the
# file as 2 rows of "ok" and one record with a 1.6 MB field; the old scanner resynchronised at
# the first newline past 1 MiB, inside the quotes, and counted 68,928 rows "FAKE", lost the
# last "ok" row, and said ok (exit 0). Fixed: the object fails, naming the record's byte.
# usage: TALLY=build-rel/tally bash findings/rt14_quote_open.sh
set -u
: "${TALLY:?TALLY must point at the tally binary}"
D=$(mktemp -d /tmp/rt14-quote.XXXXXX)
python3 - "$D/q.csv" <<'PY'
import sys
open(sys.argv[1], "wb").write(b'a,b\n1,ok\n2,"' + b'zz,FAKE\n' * 200000 + b'"\n3,ok\n')
PY
echo "== Python csv module:"
python3 -c "
import csv, sys, collections
csv.field_size_limit(1 << 30)
r = list(csv.reader(open(sys.argv[1], newline='')))[1:]
c = collections.Counter(x[1] if len(x[1]) < 20 else '<%d-byte field>' % len(x[1]) for x in r)
print(dict(c))" "$D/q.csv"
echo "== tally scan:"
"$TALLY" scan --input "$D/q.csv" --group-by b --format csv; echo "exit $?"
echo "== tally run:"
"$TALLY" run -q --input "$D/q.csv" --group-by b --format csv 2>&1 | tail -3; echo "exit ${PIPESTATUS[0]}"
rm -rf "$D"
