#!/usr/bin/env bash
# Keys that are not UTF-8 (red team, session 9): `--format json` wrote their bytes as they were,
# so the output was not JSON (RFC 8259 wants UTF-8) and a strict parser refused the whole
# result. Each stray byte is now \ufffd, the trailing object says how many keys had any
# (keys_not_utf8), and stderr says so once. The counts are checked against Python's csv module
# reading the same bytes (surrogateescape, then each stray byte as U+FFFD), through scan and run.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 - "$T/in.csv" <<'PY'
import sys
rows = [b"k,v"] + [b"caf\xe9,1"] * 3 + [b"cafe,1"] * 2 + [b"na\xc3\xafve,1", b"\xff\xfe,1", b"\xe2\x82\xac,1"] * 4
open(sys.argv[1], "wb").write(b"\n".join(rows) + b"\n")
PY
for cmd in "scan" "run -q"; do
    # shellcheck disable=SC2086
    "$TALLY" $cmd --input "$T/in.csv" --group-by k --format json > "$T/out.json" 2> "$T/err.log" \
        || fail "$cmd: exit $? ($(cat "$T/err.log"))"
    /usr/bin/python3 - "$T/in.csv" "$T/out.json" <<'PY' || fail "$cmd: the JSON differs from Python's count"
import collections, csv, io, json, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "surrogateescape")
want = collections.Counter()
for row in csv.DictReader(io.StringIO(raw, newline="")):
    want["".join("\ufffd" if "\udc80" <= ch <= "\udcff" else ch for ch in row["k"])] += 1
out = json.loads(open(sys.argv[2], "rb").read().decode("utf-8"))    # strict: fails on stray bytes
got = {g["key"]: g["count"] for g in out["groups"]}
assert got == dict(want), (got, want)
assert out["keys_not_utf8"] == 2, out["keys_not_utf8"]
PY
    grep -q "2 key(s) are not valid UTF-8" "$T/err.log" || fail "$cmd: no warning ($(cat "$T/err.log"))"
done
pass "keys that are not UTF-8: valid JSON, stray bytes as U+FFFD, counted and said (scan and run)"
"$TALLY" scan --input "$T/in.csv" --group-by k --format csv > "$T/out.csv" || fail "csv: exit $?"
grep -q $'^caf\xe9,3$' "$T/out.csv" || fail "csv: the key's bytes changed"
pass "--format csv keeps the bytes"
