#!/usr/bin/env bash
# Exact or loud, the CSV header (red team, session 9): a header field in quotes that holds a
# comma ("x,y") is one column, as it is in every row, so the columns after it keep their
# numbers; it used to split there, and --group-by a counted column b's values, exit 0. A
# header whose quoted name holds a newline used to have its second line counted as a row
# (by number) or fail with "column not found": now the object fails naming the cause. Counts
# are checked against Python's csv module, in one task, in byte ranges, and with a query. A
# file whose lines end in a lone CR (old Mac) was read as one header line (0 rows, exit 0): it fails.
. "$(dirname "$0")/lib.sh"

# object_fails CAUSE FILE ARGS...: tally run (--format json) exits non-zero with ok:false and
# CAUSE in its result, and tally scan exits non-zero with CAUSE on stderr.
object_fails () {
    local cause=$1 file=$2 rc
    shift 2
    rc=0
    "$TALLY" run -q --input "$file" "$@" --format json > "$T/of.json" 2> /dev/null || rc=$?
    [ "$rc" -ne 0 ] && grep -q '"ok":false' "$T/of.json" && grep -q -- "$cause" "$T/of.json" \
        || fail "run $* on $(basename "$file"): exit $rc, $(cat "$T/of.json")"
    rc=0
    "$TALLY" scan --input "$file" "$@" > /dev/null 2> "$T/of.log" || rc=$?
    [ "$rc" -ne 0 ] && grep -q -- "$cause" "$T/of.log" || fail "scan $* on $(basename "$file"): exit $rc, $(cat "$T/of.log")"
}

python3 - "$T" <<'PY'
import random, sys
random.seed(9)
d = sys.argv[1]
with open(f"{d}/small.csv", "w") as f:
    f.write('"x,y",a,b\n1,A,p\n2,A,q\n3,B,r\n')
with open(f"{d}/big.csv", "w") as f:
    f.write('"x,y",a,"b""c",d\n')
    for i in range(60000):
        f.write(f'{i},{random.choice("ABC")},"q,{i % 3}",{i % 7}\n')
with open(f"{d}/nl.csv", "w") as f:
    f.write('"x\ny",a,b\n1,A,p\n2,A,q\n')
PY
expect () {   # expect FILE KEYCOLS [WHERE-COL WHERE-VAL]: key,count lines as Python's csv module counts them
    python3 - "$@" <<'PY'
import collections, csv, sys
path, keys = sys.argv[1], sys.argv[2].split(",")
r = csv.reader(open(path, newline=""))
h = next(r)
idx = [h.index(k) for k in keys]
w = (h.index(sys.argv[3]), sys.argv[4]) if len(sys.argv) > 3 else None
c = collections.Counter(tuple(x[i] for i in idx) for x in r if not w or x[w[0]] == w[1])
for k, n in sorted(c.items()):
    print(",".join(k) + f",{n}")
PY
}
got () {      # got CSV-OUTPUT: its rows as key,count (csv module, quotes undone), sorted
    python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
for r in sorted(rows): print(",".join(r))' "$1"
}

"$TALLY" scan --input "$T/small.csv" --group-by a --format csv > "$T/o1.csv"
[ "$(got "$T/o1.csv")" = "$(expect "$T/small.csv" a)" ] || { cat "$T/o1.csv"; fail "scan: a quoted header name with a comma moved column a"; }
pass "scan: '\"x,y\",a,b' groups by a, not b"

"$TALLY" run -q --input "$T/big.csv" --group-by 'a,b"c' --split-size 64K --mappers 2 --format csv > "$T/o2.csv"
[ "$(got "$T/o2.csv")" = "$(expect "$T/big.csv" 'a,b"c')" ] || { head "$T/o2.csv"; fail "run in byte ranges: wrong counts"; }
pass "run in byte ranges: two keys after a quoted header name with a comma, one of them quoted with \"\""

"$TALLY" run -q --input "$T/big.csv" --group-by d --where 'a=B' --split-size 64K --mappers 2 --format csv > "$T/o3.csv"
[ "$(got "$T/o3.csv")" = "$(expect "$T/big.csv" d a B)" ] || { head "$T/o3.csv"; fail "run with --where: wrong counts"; }
pass "run with --where on a column after the quoted name: exact"

for by in a 2; do
    object_fails "the header line ends inside a quoted column name" "$T/nl.csv" --group-by "$by"
done
pass "a newline inside a quoted header name fails the object, by name or number, run and scan"

# A file whose lines end in a lone CR (old Mac) was one long header line: 0 rows, exit 0.
printf 'a,b\r1,x\r2,y\r' > "$T/cr.csv"
for by in a 2; do
    object_fails "lone CR (old Mac files) are not supported" "$T/cr.csv" --group-by "$by"
done
pass "lines that end in a lone CR fail the object (they were one header line: 0 rows, exit 0)"

# A header that names a column twice, case aside (a,A,b), resolved to the first without a word
# (red team, session 9; Python's DictReader takes the last). Now the object fails, naming the
# cause, for a key, a --where and an --agg, in run and scan; by its position it counts, as Python.
printf 'a,A,b\n1,2,x\n3,4,y\n1,5,x\n' > "$T/dup.csv"
for q in "--group-by a" "--group-by b --where a=1" "--group-by b --agg sum:A"; do
    # shellcheck disable=SC2086
    object_fails "is named more than once in header" "$T/dup.csv" $q
done
"$TALLY" scan --input "$T/dup.csv" --group-by 2 --format csv > "$T/dup2.csv" || fail "by position"
python3 - "$T/dup.csv" "$T/dup2.csv" <<'PY' || fail "by position: $(cat "$T/dup2.csv")"
import collections, csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
want = collections.Counter(r[1] for r in rows)
got = {r[0]: int(r[1]) for r in list(csv.reader(open(sys.argv[2], newline="")))[1:]}
assert got == dict(want), (got, want)
PY
pass "a column named twice fails the object (key, where, agg; run and scan); by its position it counts as Python"

# Two other names of the asked column in two columns (Trip_Pickup_DateTime and pickup_datetime,
# asked for as tpep_pickup_datetime): the alias table's order picked one without a word (red
# team, session 12, F4). Now the object fails like a name twice; each name itself still counts.
printf 'Trip_Pickup_DateTime,pickup_datetime\nB,A\nC,A\n' > "$T/al.csv"
object_fails "two of its other names are, in two columns" "$T/al.csv" --group-by tpep_pickup_datetime
object_fails "two of its other names are, in two columns" "$T/al.csv" --group-by x --column-alias 'x=pickup_datetime|Trip_Pickup_DateTime'
"$TALLY" scan --input "$T/al.csv" --group-by pickup_datetime --format csv > "$T/al2.csv" || fail "by its own name"
[ "$(tail -n +2 "$T/al2.csv")" = "A,2" ] || fail "by its own name: $(cat "$T/al2.csv")"
pass "two aliases of the asked column in two columns fail the object; a name of its own counts"

# A column number past the header's fields made every row bad, and the job ended ok (red team,
# session 12, F6). Now the object fails as a missing name does, plain or in a query.
printf 'a,b\n1,2\n3,4\n' > "$T/w2.csv"
for q in "--group-by 5" "--group-by a --where 3=1" "--group-by 1,3" "--group-by a --agg sum:4"; do
    # shellcheck disable=SC2086
    object_fails "asked for, but header 'a,b' has 2 columns" "$T/w2.csv" $q
done
pass "a column number past the header's fields fails the object (key, where, agg; run and scan)"
